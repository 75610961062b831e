//! `usage.csv`: one row per meter read (DESIGN.md section 4).

use std::collections::{BTreeMap, HashMap};
use std::io::Read as IoRead;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use super::customers::parse_bool;
use super::{Columns, Dataset, line_of};
use crate::exception::{Exception, Reason};
use crate::model::{Read, Unit};

const REQUIRED: [&str; 5] = [
    "account_id",
    "period_start",
    "period_end",
    "quantity",
    "unit",
];

/// Stream the usage file into `data`. A bad read moves its household to the
/// exceptions (first problem wins); reads for accounts the customer file does
/// not have are reported once per account.
pub fn read_usage(input: impl IoRead, file: &str, data: &mut Dataset) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader
        .headers()
        .with_context(|| format!("{file}: cannot read header row"))?
        .clone();
    let cols = Columns::new(&headers, file, &REQUIRED)?;

    let index: HashMap<String, usize> = data
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| (h.account_id.clone(), i))
        .collect();
    // Accounts already rejected by the customer file: their reads are moot.
    let rejected: std::collections::HashSet<String> = data
        .exceptions
        .iter()
        .map(|e| e.account_id.clone())
        .collect();
    let mut defects: BTreeMap<usize, Exception> = BTreeMap::new();
    let mut unknown: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(e).with_context(|| format!("cannot read {file}"));
                }
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let account = record.get(0).unwrap_or("").trim();
                if let Some(&i) = index.get(account) {
                    defects.entry(i).or_insert_with(|| {
                        Exception::new(account, Reason::MalformedRow, format!("{file}:{line}: {e}"))
                    });
                }
                continue;
            }
        }
        let line = line_of(&record);
        let account = cols.get(&record, "account_id").unwrap_or("");
        let Some(&i) = index.get(account) else {
            if !rejected.contains(account) {
                let entry = unknown.entry(account.to_string()).or_insert((line, 0));
                entry.1 += 1;
            }
            continue;
        };
        if defects.contains_key(&i) {
            continue;
        }
        match parse_read(&record, &cols, data.households[i].service) {
            Ok(read) => data.reads[i].push(read),
            Err((reason, msg)) => {
                defects.insert(
                    i,
                    Exception::new(account, reason, format!("{file}:{line}: {msg}")),
                );
            }
        }
    }

    for (account, (line, rows)) in unknown {
        let detail =
            format!("{file}:{line}: {rows} usage row(s) for an account not in the customer file");
        data.exceptions
            .push(Exception::new(account, Reason::UnknownAccount, detail));
    }
    // Move defective households out, keeping households and reads aligned.
    if !defects.is_empty() {
        let households = std::mem::take(&mut data.households);
        let reads = std::mem::take(&mut data.reads);
        for (i, (h, r)) in households.into_iter().zip(reads).enumerate() {
            if let Some(ex) = defects.remove(&i) {
                data.exceptions.push(ex);
            } else {
                data.households.push(h);
                data.reads.push(r);
            }
        }
    }
    for reads in &mut data.reads {
        reads.sort_by_key(|r| (r.end, r.start));
    }
    Ok(())
}

fn parse_read(
    r: &csv::StringRecord,
    cols: &Columns,
    service: crate::model::Service,
) -> Result<Read, (Reason, String)> {
    let date = |name: &str| -> Result<NaiveDate, (Reason, String)> {
        let v = cols
            .get(r, name)
            .ok_or((Reason::MissingField, format!("missing {name}")))?;
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            (
                Reason::BadDate,
                format!("{name} {v:?} is not an ISO date (YYYY-MM-DD)"),
            )
        })
    };
    let start = date("period_start")?;
    let end = date("period_end")?;
    if end < start {
        return Err((
            Reason::EndBeforeStart,
            format!("period_end {end} is before period_start {start}"),
        ));
    }
    let raw = cols
        .get(r, "quantity")
        .ok_or((Reason::MissingField, "missing quantity".to_string()))?;
    let quantity: f64 = raw
        .parse()
        .ok()
        .filter(|q: &f64| q.is_finite() && *q >= 0.0)
        .ok_or_else(|| {
            (
                Reason::BadQuantity,
                format!("quantity {raw:?} is not a non-negative number"),
            )
        })?;
    let unit_raw = cols
        .get(r, "unit")
        .ok_or((Reason::MissingField, "missing unit".to_string()))?;
    let unit: Unit = unit_raw.parse().map_err(|e| (Reason::UnknownUnit, e))?;
    let (unit_service, factor) = unit.to_canonical();
    if unit_service != service {
        return Err((
            Reason::UnitMismatch,
            format!(
                "unit {unit_raw:?} measures {} but the account is {}",
                unit_service.as_str(),
                service.as_str()
            ),
        ));
    }
    let estimated = match cols.get(r, "estimated") {
        None => false,
        Some(v) => parse_bool(v).ok_or((
            Reason::BadValue,
            format!("estimated {v:?} is not true/false"),
        ))?,
    };
    Ok(Read {
        start,
        end,
        quantity: quantity * factor,
        estimated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::read_customers;
    use crate::model::Service;

    fn dataset(usage: &str) -> Dataset {
        let customers = "account_id,name,address_line1,city,state,zip,locality\n\
                         A,Ann,1 Elm,Davis,CA,95616,n\nB,Bo,2 Elm,Davis,CA,95616,n\n";
        let mut d = read_customers(customers.as_bytes(), "customers.csv", Service::Water).unwrap();
        let body = format!("account_id,period_start,period_end,quantity,unit\n{usage}");
        read_usage(body.as_bytes(), "usage.csv", &mut d).unwrap();
        d
    }

    #[test]
    fn converts_units_and_keeps_good_households() {
        let d = dataset("A,2026-01-01,2026-01-31,2,ccf\nA,2026-02-01,2026-02-28,3.1,kgal\n");
        assert_eq!(d.households.len(), 2);
        assert!((d.reads[0][0].quantity - 1496.104).abs() < 1e-9);
        assert!((d.reads[0][1].quantity - 3100.0).abs() < 1e-9);
    }

    #[test]
    fn each_kind_of_bad_read_is_reported_with_its_line() {
        let cases = [
            ("A,2026-01-01,2026-13-01,1,gal\n", Reason::BadDate),
            ("A,2026-01-31,2026-01-01,1,gal\n", Reason::EndBeforeStart),
            ("A,2026-01-01,2026-01-31,-4,gal\n", Reason::BadQuantity),
            ("A,2026-01-01,2026-01-31,lots,gal\n", Reason::BadQuantity),
            ("A,2026-01-01,2026-01-31,4,liters\n", Reason::UnknownUnit),
            ("A,2026-01-01,2026-01-31,4,kWh\n", Reason::UnitMismatch),
            ("A,2026-01-01,2026-01-31,4\n", Reason::MalformedRow),
        ];
        for (row, reason) in cases {
            let d = dataset(&format!("B,2026-01-01,2026-01-31,1,gal\n{row}"));
            assert_eq!(d.households.len(), 1, "{row}");
            assert_eq!(d.households[0].account_id, "B");
            assert_eq!(d.exceptions.len(), 1, "{row}");
            assert_eq!(d.exceptions[0].reason, reason, "{row}");
            assert!(
                d.exceptions[0].detail.starts_with("usage.csv:3:"),
                "{}",
                d.exceptions[0].detail
            );
        }
    }

    #[test]
    fn unknown_accounts_are_reported_once() {
        let d = dataset("Z,2026-01-01,2026-01-31,1,gal\nZ,2026-02-01,2026-02-28,1,gal\n");
        assert_eq!(d.exceptions.len(), 1);
        assert_eq!(d.exceptions[0].reason, Reason::UnknownAccount);
        assert!(d.exceptions[0].detail.contains("2 usage row(s)"));
    }
}
