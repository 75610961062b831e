//! Interval CSV: `account_id, start, duration_s (or end), quantity, unit`
//! at any interval length, as a meter head-end system exports it.
//!
//! `start`/`end` are epoch seconds, RFC 3339 with an offset
//! (`2026-03-08T01:00:00-08:00`), or local wall time in the configured zone
//! (`2026-03-08 01:00`). Local times that occur twice (the hour DST ends)
//! are read in order: the first row is the earlier hour, a repeat of it the
//! later one. Rows of one account must be in time order, as exports are.

use std::collections::BTreeMap;
use std::io::Read as IoRead;

use anyhow::Result;
use chrono::NaiveDateTime;

use super::mapping::{IntervalFormat, coded, yes_no_coded};
use super::series::{Accumulator, IntervalRules, Series};
use super::zone::Zone;
use crate::exception::Reason;
use crate::model::Unit;

/// Read an interval file into one [`Series`] per account.
pub fn read_intervals(
    input: impl IoRead,
    file: &str,
    file_index: u32,
    zone: Zone,
    rules: &IntervalRules,
) -> Result<BTreeMap<String, Series>> {
    read_intervals_as(
        input,
        file,
        file_index,
        zone,
        rules,
        &IntervalFormat::default(),
    )
}

/// [`read_intervals`] for an export written otherwise (`[mapping.interval]`).
pub fn read_intervals_as(
    input: impl IoRead,
    file: &str,
    file_index: u32,
    zone: Zone,
    rules: &IntervalRules,
    format: &IntervalFormat,
) -> Result<BTreeMap<String, Series>> {
    let renamed = format.columns.renamed();
    let dialect = super::Dialect {
        encoding: format.encoding,
        delimiter: format.delimiter.0,
        renamed: &renamed,
    };
    let mut meters: BTreeMap<String, Accumulator> = BTreeMap::new();
    // Column positions, found once from the header.
    let mut at: Option<[Option<usize>; 7]> = None;
    let cols = super::each_record(
        input,
        file,
        &["account_id", "start", "quantity", "unit"],
        &dialect,
        |cols, line, record, problem| {
            let [a_acc, rest @ ..] = *at.get_or_insert_with(|| {
                [
                    "account_id",
                    "start",
                    "duration_s",
                    "end",
                    "quantity",
                    "unit",
                    "estimated",
                ]
                .map(|n| cols.at(n))
            });
            let account = match problem {
                // A broken row: its account (if the row got that far) is defective.
                Some(_) => record.get(0).map(str::trim).filter(|a| !a.is_empty()),
                None => super::field(record, a_acc),
            };
            let Some(account) = account else {
                return Ok(());
            };
            let acc = match meters.get_mut(account) {
                Some(a) => a,
                None => meters
                    .entry(account.to_string())
                    .or_insert_with(|| Accumulator::new(zone, file, file_index, rules)),
            };
            if acc.is_defective() {
                return Ok(());
            }
            if let Some(why) = problem {
                acc.defect(Reason::MalformedRow, line, why);
                return Ok(());
            }
            match parse_row(record, acc, rest, format) {
                Ok((service, start, seconds, quantity, estimated)) => {
                    acc.push(service, start, seconds, quantity, estimated, line)
                }
                Err((reason, message)) => acc.defect(reason, line, message),
            }
            Ok(())
        },
    )?;
    anyhow::ensure!(
        cols.at("duration_s").is_some() || cols.at("end").is_some(),
        "{file}:1: header needs duration_s or end beside start"
    );
    Ok(meters
        .into_iter()
        .map(|(k, a)| (k, a.finish(rules)))
        .collect())
}

type Row = (crate::model::Service, i64, i64, f64, bool);

fn parse_row(
    r: &csv::StringRecord,
    acc: &Accumulator,
    [start, dur, end, qty, unit, est]: [Option<usize>; 6],
    format: &IntervalFormat,
) -> Result<Row, (Reason, String)> {
    let missing = |n: &str| (Reason::MissingField, format!("missing {n}"));
    let raw = super::field(r, start).ok_or_else(|| missing("start"))?;
    let start = parse_time(raw, acc.zone(), acc.last_end())
        .map_err(|m| (Reason::BadDate, format!("start {raw:?}: {m}")))?;
    let seconds = match (super::field(r, dur), super::field(r, end)) {
        (Some(d), _) => d.parse::<i64>().map_err(|_| {
            (
                Reason::BadValue,
                format!("duration_s {d:?} is not a whole number of seconds"),
            )
        })?,
        (None, Some(e)) => {
            parse_time(e, acc.zone(), Some(start + 1))
                .map_err(|m| (Reason::BadDate, format!("end {e:?}: {m}")))?
                - start
        }
        (None, None) => return Err(missing("duration_s or end")),
    };
    let q = super::field(r, qty).ok_or_else(|| missing("quantity"))?;
    let quantity: f64 = q
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            (
                Reason::BadQuantity,
                format!("quantity {q:?} is not a number"),
            )
        })?;
    let u = super::field(r, unit).ok_or_else(|| missing("unit"))?;
    let unit: Unit =
        coded(u, &format.values.unit).map_err(|e| (Reason::UnknownUnit, e.to_string()))?;
    let (service, factor) = unit.to_canonical();
    let estimated = match super::field(r, est) {
        None => false,
        Some(v) => yes_no_coded(v, &format.values.estimated).ok_or_else(|| {
            (
                Reason::BadValue,
                format!("estimated {v:?} is not true/false"),
            )
        })?,
    };
    Ok((service, start, seconds, quantity * factor, estimated))
}

/// Epoch seconds, RFC 3339 with an offset, or local wall time in `zone`
/// (interval and weather files alike).
pub(crate) fn parse_time(raw: &str, zone: Zone, after: Option<i64>) -> Result<i64, String> {
    if let Ok(secs) = raw.parse::<i64>() {
        return Ok(secs);
    }
    let text = raw.replacen(' ', "T", 1);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&text) {
        return Ok(t.timestamp());
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
        .ok_or("not epoch seconds, RFC 3339 or YYYY-MM-DD HH:MM[:SS]")?;
    zone.utc(local, after)
        .ok_or_else(|| "this local time does not exist (the clock skips it when DST starts)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: IntervalRules = IntervalRules {
        keep_days: false,
        keep_spans: None,
        min_coverage: 0.9,
        leak_hours: 24,
    };

    #[test]
    fn a_repeated_local_hour_is_the_later_one_the_second_time() {
        // The night DST ends in Chicago: 01:00 comes twice; 25 hours that day.
        let mut csv = String::from("account_id,start,duration_s,quantity,unit\n");
        for h in 0..=23 {
            csv.push_str(&format!("A,2026-11-01 {h:02}:00,3600,1,kWh\n"));
            if h == 1 {
                csv.push_str("A,2026-11-01 01:00,3600,1,kWh\n");
            }
        }
        let zone = Zone::named("America/Chicago").unwrap();
        let s = read_intervals(csv.as_bytes(), "i.csv", 1, zone, &RULES).unwrap();
        let a = &s["A"];
        assert_eq!(a.defect, None);
        // One day of November: far too little coverage for a bill.
        assert_eq!(a.incomplete.len(), 1);
        // November has 721 hours there: the repeated hour is one of them.
        assert!((a.incomplete[0].coverage - 25.0 / 721.0).abs() < 1e-9);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let csv = "account_id,start,end,quantity,unit\n\
                   A,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,1,kWh\n\
                   A,2026-01-01T01:00:00Z,2026-01-01T02:00:00Z,-1,kWh\n\
                   B,2026-03-08 02:30,2026-03-08 03:00,1,kWh\n\
                   C,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,1,gal\n";
        let zone = Zone::named("America/Chicago").unwrap();
        let s = read_intervals(csv.as_bytes(), "i.csv", 1, zone, &RULES).unwrap();
        let d = |a: &str| s[a].defect.clone().unwrap();
        assert_eq!(d("A").0, Reason::BadQuantity);
        assert!(d("A").1.starts_with("i.csv:3:"), "{}", d("A").1);
        assert_eq!(d("B").0, Reason::BadDate);
        assert!(d("B").1.starts_with("i.csv:4: start"), "{}", d("B").1);
        assert_eq!(s["C"].defect, None);
    }

    /// A head-end export with its own names, `;`, codes and CRLF: read
    /// through `[mapping.interval]`, each bad row named by its own line.
    #[test]
    fn a_mapped_export_with_crlf_names_its_lines() {
        let format: IntervalFormat = toml::from_str(
            "delimiter = \";\"\ncolumns = { account_id = \"METER ACCT\", start = \"TS\", \
             duration_s = \"SECS\", quantity = \"VAL\", unit = \"UOM\" }\n\
             values.unit = { KWH = \"kWh\" }\n",
        )
        .unwrap();
        let csv = "METER ACCT;TS;SECS;VAL;UOM\r\n\
                   A;2026-01-01T00:00:00Z;3600;1;KWH\r\n\
                   B;2026-01-01T00:00:00Z;3600\r\n\
                   A;2026-01-01T01:00:00Z;3600;-1;KWH\r\n";
        let zone = Zone::named("UTC").unwrap();
        let s = read_intervals_as(csv.as_bytes(), "i.csv", 1, zone, &RULES, &format).unwrap();
        let d = |a: &str| s[a].defect.clone().unwrap();
        assert_eq!(d("B").0, Reason::MalformedRow);
        assert!(d("B").1.starts_with("i.csv:3:"), "{}", d("B").1);
        assert_eq!(d("A").0, Reason::BadQuantity);
        assert!(d("A").1.starts_with("i.csv:4:"), "{}", d("A").1);
    }
}
