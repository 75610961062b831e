//! Local time for interval data: a bill is a *local* calendar month, so every
//! interval's UTC instant is placed in the utility's time zone, DST included.
//!
//! Two kinds of zone: an IANA zone from the config (`[reads] timezone`), and
//! the one a Green Button file states in its `LocalTimeParameters` (a
//! standard offset, a DST offset and two bit-encoded DST rules).

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Weekday};

/// A time zone that turns UTC epoch seconds into local wall time and back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Espi(EspiTime),
}

/// Green Button `LocalTimeParameters`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EspiTime {
    /// Standard time's offset from UTC, seconds (e.g. -28800 for Pacific).
    pub tz_offset: i64,
    /// Added during daylight time (usually 3600; 0 = no DST).
    pub dst_offset: i64,
    pub dst_start: u32,
    pub dst_end: u32,
}

impl Zone {
    /// Parse an IANA name such as `America/Los_Angeles` or `UTC`.
    pub fn named(name: &str) -> Result<Zone, crate::model::ParseError> {
        name.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            crate::model::ParseError::unknown(
                "time zone",
                name,
                "an IANA name such as America/Chicago",
            )
        })
    }

    /// Local wall time of a UTC instant.
    pub fn local(&self, utc: i64) -> NaiveDateTime {
        let t = chrono::DateTime::from_timestamp(utc, 0).unwrap_or_default();
        match self {
            Zone::Named(tz) => t.with_timezone(tz).naive_local(),
            Zone::Espi(e) => t.naive_utc() + chrono::TimeDelta::seconds(e.offset_at(utc)),
        }
    }

    /// The UTC instant of a local wall time. A time that occurs twice (the
    /// hour DST ends) gives its earlier instant unless `after` says the
    /// earlier one was already used; a time that never occurs (the hour DST
    /// starts) is `None`.
    pub fn utc(&self, local: NaiveDateTime, after: Option<i64>) -> Option<i64> {
        let pick = |a: i64, b: i64| {
            let (early, late) = (a.min(b), a.max(b));
            match after {
                Some(t) if early < t => late,
                _ => early,
            }
        };
        match self {
            Zone::Named(tz) => match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => Some(t.timestamp()),
                chrono::LocalResult::Ambiguous(a, b) => Some(pick(a.timestamp(), b.timestamp())),
                chrono::LocalResult::None => None,
            },
            Zone::Espi(e) => {
                let wall = local.and_utc().timestamp();
                let standard = wall - e.tz_offset;
                let daylight = wall - e.tz_offset - e.dst_offset;
                let ok_std = e.offset_at(standard) == e.tz_offset;
                let ok_dst = e.offset_at(daylight) == e.tz_offset + e.dst_offset;
                match (ok_std, ok_dst) {
                    (true, true) if e.dst_offset != 0 => Some(pick(standard, daylight)),
                    (true, _) => Some(standard),
                    (false, true) => Some(daylight),
                    (false, false) => None,
                }
            }
        }
    }

    /// Seconds in a local calendar month (DST months are an hour short or long).
    pub fn month_seconds(&self, first: NaiveDate, next: NaiveDate) -> i64 {
        let at = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
            // Midnight is never inside a DST change in the zones utilities use;
            // if it were, the day's first valid hour stands in.
            (0..3)
                .find_map(|h| self.utc(midnight + chrono::TimeDelta::hours(h), None))
                .unwrap_or(midnight.and_utc().timestamp())
        };
        at(next) - at(first)
    }
}

impl EspiTime {
    /// The offset from UTC in force at a UTC instant.
    pub fn offset_at(&self, utc: i64) -> i64 {
        if self.dst_offset == 0 {
            return self.tz_offset;
        }
        let standard_wall = chrono::DateTime::from_timestamp(utc + self.tz_offset, 0)
            .unwrap_or_default()
            .naive_utc();
        let year = standard_wall.year();
        let (Some(start), Some(end)) = (
            rule_instant(self.dst_start, year),
            rule_instant(self.dst_end, year),
        ) else {
            return self.tz_offset;
        };
        // The start rule is written in standard time, the end rule in
        // daylight time: both compared on the standard-time clock.
        let end = end - chrono::TimeDelta::seconds(self.dst_offset);
        let in_dst = if start <= end {
            standard_wall >= start && standard_wall < end
        } else {
            // Southern hemisphere: daylight time spans the new year.
            standard_wall >= start || standard_wall < end
        };
        self.tz_offset + if in_dst { self.dst_offset } else { 0 }
    }
}

/// When a Green Button DST rule falls in a year, as local wall time.
///
/// The rule is a bit map (NAESB ESPI `DstRuleType`): bits 0-11 seconds,
/// 12-16 hours, 17-19 day of week (1 = Monday), 20-24 day of month, 25-27
/// an operator, 28-31 the month. Operators: 0 the day of the month; 1 the
/// weekday on or after that day; 2-6 the first to fifth such weekday of the
/// month; 7 the last one. `FFFFFFFF` means no rule.
pub fn rule_instant(rule: u32, year: i32) -> Option<NaiveDateTime> {
    if rule == 0xFFFF_FFFF {
        return None;
    }
    let seconds = rule & 0xFFF;
    let hours = (rule >> 12) & 0x1F;
    let weekday = (rule >> 17) & 0x7;
    let day = (rule >> 20) & 0x1F;
    let operator = (rule >> 25) & 0x7;
    let month = rule >> 28;
    let wd = || Weekday::try_from((weekday as u8 + 6) % 7).ok();
    let date = match operator {
        0 => NaiveDate::from_ymd_opt(year, month, day)?,
        1 => {
            let from = NaiveDate::from_ymd_opt(year, month, day)?;
            let wd = wd()?;
            from + Days::new(u64::from(wd.days_since(from.weekday())))
        }
        2..=6 => {
            let first = NaiveDate::from_ymd_opt(year, month, 1)?;
            let wd = wd()?;
            let d = first
                + Days::new(u64::from(wd.days_since(first.weekday())))
                + Days::new(7 * u64::from(operator - 2));
            (d.month() == month).then_some(d)?
        }
        _ => {
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)?
            };
            let last = next.pred_opt()?;
            let wd = wd()?;
            last - Days::new(u64::from(last.weekday().days_since(wd)))
        }
    };
    date.and_hms_opt(hours, seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn north_american_rules_decode_to_second_and_first_sunday() {
        // The rules in the Green Button samples: second Sunday of March and
        // first Sunday of November, at 2:00.
        assert_eq!(
            rule_instant(0x360E_2000, 2011),
            Some(at("2011-03-13 02:00"))
        );
        assert_eq!(
            rule_instant(0xB40E_2000, 2011),
            Some(at("2011-11-06 02:00"))
        );
        assert_eq!(
            rule_instant(0x360E_2000, 2026),
            Some(at("2026-03-08 02:00"))
        );
        assert_eq!(
            rule_instant(0xB40E_2000, 2026),
            Some(at("2026-11-01 02:00"))
        );
        assert_eq!(rule_instant(0xFFFF_FFFF, 2026), None);
    }

    #[test]
    fn espi_offsets_agree_with_the_iana_zone() {
        let espi = Zone::Espi(EspiTime {
            tz_offset: -28800,
            dst_offset: 3600,
            dst_start: 0x360E_2000,
            dst_end: 0xB40E_2000,
        });
        let named = Zone::named("America/Los_Angeles").unwrap();
        // Every hour of 2026, both DST changes included.
        let start = at("2026-01-01 08:00").and_utc().timestamp();
        for h in 0..(366 * 24) {
            let t = start + h * 3600;
            assert_eq!(espi.local(t), named.local(t), "hour {h}");
        }
        for zone in [espi, named] {
            let march = zone.month_seconds(
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            );
            assert_eq!(march, (31 * 24 - 1) * 3600);
            // 1:30 on the day DST ends happens twice.
            let first = zone.utc(at("2026-11-01 01:30"), None).unwrap();
            let second = zone.utc(at("2026-11-01 01:30"), Some(first + 1)).unwrap();
            assert_eq!(second - first, 3600);
            // 2:30 on the day DST starts never happens.
            assert_eq!(zone.utc(at("2026-03-08 02:30"), None), None);
        }
    }
}
