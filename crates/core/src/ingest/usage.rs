//! `usage.csv`: one row per meter read (INPUTS.md, "usage.csv").

use std::collections::BTreeMap;
use std::io::Read as IoRead;

use anyhow::Result;
use chrono::NaiveDate;

use super::customers::parse_bool;
use super::{Columns, Dataset, blocks};
use crate::exception::{Exception, Reason};
use crate::model::{Read, Unit};

const REQUIRED: [&str; 5] = [
    "account_id",
    "period_start",
    "period_end",
    "quantity",
    "unit",
];

/// What one piece of a block held.
#[derive(Default)]
struct PieceResult {
    reads: Vec<(usize, Read)>,
    /// (household, exception), first problem first.
    defects: Vec<(usize, Exception)>,
    /// (account, line) of every row for an account the customer file lacks.
    unknown: Vec<(String, u64)>,
}

/// Stream the usage file into `data`. A bad read moves its household to the
/// exceptions (first problem wins); reads for accounts the customer file does
/// not have are reported once per account. Blocks of the file are parsed on
/// all cores (`ingest/blocks.rs`).
pub fn read_usage(input: impl IoRead, file: &str, data: &mut Dataset) -> Result<()> {
    read_usage_in_blocks(input, file, data, blocks::BLOCK)
}

fn read_usage_in_blocks(
    input: impl IoRead,
    file: &str,
    data: &mut Dataset,
    block_size: usize,
) -> Result<()> {
    let mut input = std::io::BufReader::with_capacity(1 << 20, super::LineLimit::new(input, file));
    let headers = blocks::read_header(&mut input, file)?;
    let cols = Columns::new(&headers, file, &REQUIRED)?;

    let index: rustc_hash::FxHashMap<&str, usize> = data
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| (h.account_id.as_str(), i))
        .collect();
    // Accounts already rejected by the customer file: their reads are moot.
    let rejected: std::collections::HashSet<&str> = data
        .exceptions
        .iter()
        .map(|e| e.account_id.as_str())
        .collect();
    let households = &data.households;
    let mut defects: BTreeMap<usize, Exception> = BTreeMap::new();
    let mut unknown: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut new_reads: Vec<Vec<Read>> = vec![Vec::new(); households.len()];
    let pieces = 4 * rayon::current_num_threads();
    blocks::for_each_block(&mut input, file, block_size, pieces, |parts| {
        let results: Vec<PieceResult> = {
            use rayon::prelude::*;
            parts
                .par_iter()
                .map(|p| parse_piece(p, file, &cols, &headers, &index, households))
                .collect()
        };
        for r in results {
            for (i, read) in r.reads {
                new_reads[i].push(read);
            }
            for (i, e) in r.defects {
                defects.entry(i).or_insert(e);
            }
            for (account, line) in r.unknown {
                if !rejected.contains(account.as_str()) {
                    unknown.entry(account).or_insert((line, 0)).1 += 1;
                }
            }
        }
        Ok(())
    })?;
    for (reads, new) in data.reads.iter_mut().zip(new_reads) {
        reads.extend(new);
    }

    for (account, (line, rows)) in unknown {
        let detail =
            format!("{file}:{line}: {rows} usage row(s) for an account not in the customer file");
        data.exceptions
            .push(Exception::new(account, Reason::UnknownAccount, detail));
    }
    data.reject(defects);
    Ok(())
}

/// The usage file's columns, found once per piece: 14 reads a household
/// make name lookups per field a measurable share of the plan stage.
struct At {
    account: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    quantity: Option<usize>,
    unit: Option<usize>,
    estimated: Option<usize>,
}

impl At {
    fn new(cols: &Columns) -> At {
        At {
            account: cols.at("account_id"),
            start: cols.at("period_start"),
            end: cols.at("period_end"),
            quantity: cols.at("quantity"),
            unit: cols.at("unit"),
            estimated: cols.at("estimated"),
        }
    }
}

fn parse_read(
    r: &csv::StringRecord,
    at: &At,
    service: crate::model::Service,
) -> Result<Read, (Reason, String)> {
    let date = |name: &str, col: Option<usize>| -> Result<NaiveDate, (Reason, String)> {
        let v = super::field(r, col)
            .ok_or_else(|| (Reason::MissingField, format!("missing {name}")))?;
        super::parse_iso_date(v).ok_or_else(|| {
            (
                Reason::BadDate,
                format!("{name} {v:?} is not an ISO date (YYYY-MM-DD)"),
            )
        })
    };
    let start = date("period_start", at.start)?;
    let end = date("period_end", at.end)?;
    if end < start {
        return Err((
            Reason::EndBeforeStart,
            format!("period_end {end} is before period_start {start}"),
        ));
    }
    let raw = super::field(r, at.quantity)
        .ok_or_else(|| (Reason::MissingField, "missing quantity".to_string()))?;
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
    let unit_raw = super::field(r, at.unit)
        .ok_or_else(|| (Reason::MissingField, "missing unit".to_string()))?;
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
    let estimated = match super::field(r, at.estimated) {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| {
            (
                Reason::BadValue,
                format!("estimated {v:?} is not true/false"),
            )
        })?,
    };
    Ok(Read {
        start,
        end,
        quantity: quantity * factor,
        estimated,
        file: 0,
        line: 0,
    })
}

/// Parse one piece of a block (whole records).
fn parse_piece(
    piece: &blocks::Piece<'_>,
    file: &str,
    cols: &Columns,
    headers: &csv::StringRecord,
    index: &rustc_hash::FxHashMap<&str, usize>,
    households: &[crate::model::Household],
) -> PieceResult {
    let mut out = PieceResult::default();
    let at = At::new(cols);
    let mut defective: rustc_hash::FxHashSet<usize> = Default::default();
    blocks::for_each_row(piece, headers.len(), |line, record, problem| {
        if let Some(detail) = problem {
            let account = record.get(0).unwrap_or("").trim();
            if let Some(&i) = index.get(account)
                && defective.insert(i)
            {
                let detail = format!("{file}:{line}: {detail}");
                out.defects
                    .push((i, Exception::new(account, Reason::MalformedRow, detail)));
            }
            return;
        }
        let account = super::field(record, at.account).unwrap_or("");
        let Some(&i) = index.get(account) else {
            out.unknown.push((account.to_string(), line));
            return;
        };
        if defective.contains(&i) {
            return;
        }
        match parse_read(record, &at, households[i].service) {
            Ok(mut read) => {
                read.line = u32::try_from(line).unwrap_or(u32::MAX);
                out.reads.push((i, read))
            }
            Err((reason, msg)) => {
                defective.insert(i);
                out.defects.push((
                    i,
                    Exception::new(account, reason, format!("{file}:{line}: {msg}")),
                ));
            }
        }
    });
    out
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
    fn small_blocks_read_the_same_as_one_block() {
        // Many reads, a malformed row, a quoted newline and an unknown
        // account: cut into 64-byte blocks, the result is identical. The
        // quoted row spans lines 26-27, so the unknown account is on 28.
        let mut body = String::new();
        for m in 1..=12 {
            for a in ["A", "B"] {
                body.push_str(&format!("{a},2026-{m:02}-01,2026-{m:02}-28,{m}.5,gal\n"));
            }
        }
        body.push_str("B,2026-12-01,2026-12-28,\"7\",\"g\nal\"\nZ,2026-01-01,2026-01-31,1,gal\n");
        let read = |block: usize| {
            let customers = "account_id,name,address_line1,city,state,zip,locality\n\
                             A,Ann,1 Elm,Davis,CA,95616,n\nB,Bo,2 Elm,Davis,CA,95616,n\n";
            let mut d =
                read_customers(customers.as_bytes(), "customers.csv", Service::Water).unwrap();
            let text = format!("account_id,period_start,period_end,quantity,unit\n{body}");
            read_usage_in_blocks(text.as_bytes(), "usage.csv", &mut d, block).unwrap();
            d
        };
        let (whole, small) = (read(1 << 20), read(64));
        assert_eq!(whole.reads, small.reads);
        assert_eq!(whole.exceptions, small.exceptions);
        assert_eq!(whole.households.len(), 1);
        assert_eq!(whole.reads[0].len(), 12);
        let problems: Vec<&str> = whole.exceptions.iter().map(|e| e.detail.as_str()).collect();
        assert!(
            problems.contains(
                &"usage.csv:26: unknown unit \"g\\nal\" (expected gal, kgal, ccf, m3, kWh or therm)"
            ),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("usage.csv:28: 1 usage row(s)")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_accounts_are_reported_once() {
        let d = dataset("Z,2026-01-01,2026-01-31,1,gal\nZ,2026-02-01,2026-02-28,1,gal\n");
        assert_eq!(d.exceptions.len(), 1);
        assert_eq!(d.exceptions[0].reason, Reason::UnknownAccount);
        assert!(d.exceptions[0].detail.contains("2 usage row(s)"));
    }
}
