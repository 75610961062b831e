//! Weather: outdoor temperatures per weather station, and the household
//! models that explain use by them ([`caltrack`]).
//!
//! A temperature file has one row per reading: `station`, `time` and
//! `temp_f` or `temp_c` (INPUTS.md, "Weather CSV"). Hourly readings become a
//! mean temperature per *local* day in the weather's time zone, as CalTRACK
//! asks: a day counts when more than half of its hours have a reading (a
//! DST day has 23 or 25), and its mean is the mean of the hours read. A
//! row with a date and no time is that day's mean already. Bad rows and
//! gaps in a station's hours are reported with their `file:line` and
//! never stop the reading.

pub mod caltrack;
pub mod insight;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::NaiveDate;

use crate::ingest::Zone;

/// One station's temperatures by local day.
#[derive(Debug, Clone, Default)]
pub struct Station {
    pub days: BTreeMap<NaiveDate, DayTemp>,
}

/// A local day's readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayTemp {
    /// Sum of the hours' temperatures (°F).
    sum: f64,
    /// Hours with a reading.
    pub hours: u32,
    /// Hours the day has (23, 24 or 25 where DST changes).
    pub length: u32,
}

impl DayTemp {
    /// A day known only by its mean temperature (a daily file, a sample).
    pub fn from_mean(t: f64) -> DayTemp {
        DayTemp {
            sum: t,
            hours: 1,
            length: 1,
        }
    }

    /// The day's mean temperature (°F), when more than half its hours were read.
    pub fn mean(&self) -> Option<f64> {
        (self.hours * 2 > self.length).then(|| self.sum / self.hours as f64)
    }
}

/// Every station's temperatures, and what was wrong in the file.
#[derive(Debug, Clone, Default)]
pub struct Weather {
    pub stations: HashMap<String, Station>,
    /// `file:line: why` for each row not used and each gap in a station's hours.
    pub problems: Vec<String>,
}

/// A reading's time: an hour (any minute in it) or a whole local day.
enum When {
    Hour(i64),
    Day(NaiveDate),
}

/// Read a temperature file. Only an unreadable file or a header without
/// `station`, `time` and a temperature column is an error.
pub fn read_weather(input: impl std::io::Read, file: &str, zone: Zone) -> Result<Weather> {
    let mut hours: HashMap<String, BTreeMap<i64, (f64, u64)>> = HashMap::new();
    let mut daily: HashMap<String, BTreeMap<NaiveDate, f64>> = HashMap::new();
    let mut problems = Vec::new();
    let cols = crate::ingest::each_record(
        input,
        file,
        &["station", "time"],
        &crate::ingest::Dialect::default(),
        |cols, line, record, problem| {
            if let Some(p) = problem {
                problems.push(format!("{file}:{line}: {p}"));
                return Ok(());
            }
            match reading(cols, record, zone) {
                Ok((station, When::Hour(h), t)) => {
                    let seen = hours.entry(station.clone()).or_default();
                    if let Some((_, first)) = seen.insert(h, (t, line)) {
                        seen.insert(h, (t, first));
                        problems.push(format!(
                            "{file}:{line}: station {station}: a second reading for the hour of line {first}; the first is kept"
                        ));
                    }
                }
                Ok((station, When::Day(d), t)) => {
                    daily.entry(station).or_default().insert(d, t);
                }
                Err(why) => problems.push(format!("{file}:{line}: {why}")),
            }
            Ok(())
        },
    )?;
    anyhow::ensure!(
        cols.at("temp_f").is_some() || cols.at("temp_c").is_some(),
        "{file}:1: header lacks a temperature column (temp_f or temp_c)"
    );
    let mut stations: HashMap<String, Station> = HashMap::new();
    for (name, readings) in hours {
        let station = stations.entry(name.clone()).or_default();
        let mut last: Option<(i64, u64)> = None;
        for (&hour, &(t, line)) in &readings {
            if let Some((prev, _)) = last
                && hour - prev > 3600
            {
                problems.push(format!(
                    "{file}:{line}: station {name}: {} hour(s) without a reading before this one",
                    (hour - prev) / 3600 - 1
                ));
            }
            last = Some((hour, line));
            let date = zone.local(hour).date();
            let day = station.days.entry(date).or_insert_with(|| DayTemp {
                length: day_hours(zone, date),
                ..DayTemp::default()
            });
            day.sum += t;
            day.hours += 1;
        }
    }
    for (name, days) in daily {
        let station = stations.entry(name).or_default();
        for (date, t) in days {
            station.days.insert(date, DayTemp::from_mean(t));
        }
    }
    problems.sort_by_key(|p| line_of(p));
    Ok(Weather { stations, problems })
}

/// The line a `file:line: ...` problem names, to list problems in file order.
fn line_of(problem: &str) -> u64 {
    problem
        .split(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// Hours in a local day (23 or 25 on the days DST starts and ends).
pub fn day_hours(zone: Zone, date: NaiveDate) -> u32 {
    (zone.month_seconds(date, date + chrono::Days::new(1)) / 3600) as u32
}

fn reading(
    cols: &crate::ingest::Columns,
    record: &csv::StringRecord,
    zone: Zone,
) -> Result<(String, When, f64), String> {
    let station = cols
        .get(record, "station")
        .ok_or("station is empty")?
        .to_string();
    let raw = cols.get(record, "time").ok_or("time is empty")?;
    let when = match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => When::Day(d),
        Err(_) => {
            let t = time(raw, zone)?;
            When::Hour(t - t.rem_euclid(3600))
        }
    };
    let number = |name: &str| -> Result<Option<f64>, String> {
        match cols.get(record, name) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && (-100.0..=150.0).contains(t))
                .map(Some)
                .ok_or_else(|| format!("{name} {v:?} is not a temperature")),
        }
    };
    let t = match (number("temp_f")?, number("temp_c")?) {
        (Some(f), _) => f,
        (None, Some(c)) => c * 9.0 / 5.0 + 32.0,
        (None, None) => return Err("no temperature (temp_f or temp_c is empty)".into()),
    };
    Ok((station, when, t))
}

/// RFC 3339 with an offset, local wall time in `zone`, or epoch seconds,
/// as interval files write them.
fn time(raw: &str, zone: Zone) -> Result<i64, String> {
    crate::ingest::interval::parse_time(raw, zone, None)
        .map_err(|why| format!("time {raw:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chicago() -> Zone {
        Zone::named("America/Chicago").unwrap()
    }

    #[test]
    fn hours_become_local_daily_means_and_gaps_are_named() {
        let mut csv = String::from("station,time,temp_c\n");
        // 2026-01-05 in Chicago is 06:00Z to 06:00Z next day; 13 hours read.
        for h in 6..19 {
            csv.push_str(&format!("ord,2026-01-05T{h:02}:00:00Z,10\n"));
        }
        // The next day: only 12 hours, not enough.
        for h in 6..18 {
            csv.push_str(&format!("ord,2026-01-06T{h:02}:30:00Z,0\n"));
        }
        csv.push_str("ord,2026-01-06T19:00:00Z,hot\n");
        let w = read_weather(csv.as_bytes(), "t.csv", chicago()).unwrap();
        let days = &w.stations["ord"].days;
        let d5 = days[&NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()];
        assert_eq!((d5.hours, d5.length), (13, 24));
        assert!((d5.mean().unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(
            days[&NaiveDate::from_ymd_opt(2026, 1, 6).unwrap()].mean(),
            None
        );
        assert_eq!(w.problems.len(), 2, "{:?}", w.problems);
        assert!(w.problems[0].starts_with("t.csv:15: station ord: 11 hour(s) without"));
        assert!(w.problems[1].starts_with("t.csv:27: temp_c \"hot\""));
    }

    #[test]
    fn a_dst_day_has_its_own_hours() {
        let zone = chicago();
        assert_eq!(
            day_hours(zone, NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
            23
        );
        assert_eq!(
            day_hours(zone, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            25
        );
        assert_eq!(
            day_hours(zone, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()),
            24
        );
    }

    #[test]
    fn a_header_without_temperature_is_refused() {
        let e = read_weather(
            "station,time\nx,2026-01-01\n".as_bytes(),
            "w.csv",
            chicago(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("w.csv:1: header lacks a temperature"),
            "{e}"
        );
    }
}
