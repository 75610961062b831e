//! Peak events: a few hours on one day when the utility asks households to
//! use less, each household's use in them against its own baseline, and
//! what the messages did against a holdout.
//!
//! - **The window** is local wall time in the utility's zone on one day,
//!   written `YYYY-MM-DDTHH:MM..HH:MM`.
//! - **Use in a window** is the sum of the intervals inside it, an interval
//!   that straddles an edge counted for its share of seconds inside. Every
//!   second of the window must be covered, or there is no figure.
//! - **The baseline** follows the peak-time rebate programs' "X of Y"
//!   rule: of the last `days` similar days before the event (weekdays for a
//!   weekday event, weekend days for a weekend one; earlier event days left
//!   out), the `highest` with the most use in the same hours are averaged.
//!   A similar day whose hours are not fully covered cannot be one of the
//!   highest; with fewer than `highest` covered days there is no baseline.
//! - **The effect of the messages** is the treated households' mean use in
//!   the window against the holdout's: the reduction per household and in
//!   percent of the holdout's mean, with Welch's 95% interval (the percent's
//!   by the delta method, since the holdout's mean is estimated too) and
//!   its two-sided p-value.
//!
//! Pure: the caller reads the intervals and the store.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::ingest::Zone;
use crate::model::{Interval, ParseError};

/// An event's hours on its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventWindow {
    pub date: NaiveDate,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl std::str::FromStr for EventWindow {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::format("event window", s, "YYYY-MM-DDTHH:MM..HH:MM");
        let (day, hours) = s.trim().split_once('T').ok_or_else(bad)?;
        let (from, to) = hours.split_once("..").ok_or_else(bad)?;
        let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| bad());
        let (from, to) = (time(from)?, time(to)?);
        if to <= from {
            // A window is within one day.
            return Err(ParseError::Reversed {
                what: "event window",
                value: s.to_string(),
            });
        }
        Ok(EventWindow { date, from, to })
    }
}

impl std::fmt::Display for EventWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}T{}..{}",
            self.date,
            self.from.format("%H:%M"),
            self.to.format("%H:%M")
        )
    }
}

impl EventWindow {
    /// The same hours on another day.
    pub fn on(&self, date: NaiveDate) -> EventWindow {
        EventWindow { date, ..*self }
    }

    /// The window in UTC seconds (end excluded); `None` when a time does
    /// not exist that day (inside the hour DST starts).
    pub fn utc(&self, zone: Zone) -> Option<(i64, i64)> {
        let from = zone.utc(self.date.and_time(self.from), None)?;
        let to = zone.utc(self.date.and_time(self.to), Some(from))?;
        (to > from).then_some((from, to))
    }

    pub fn hours(&self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 3600.0
    }
}

/// Use in `from..to` (UTC seconds) from intervals in time order; `None`
/// unless they cover every second of it.
pub fn use_in(intervals: &[Interval], from: i64, to: i64) -> Option<f64> {
    let first = intervals.partition_point(|i| i.end() <= from);
    let mut used = 0.0;
    let mut covered = 0;
    for i in &intervals[first..] {
        if i.start >= to {
            break;
        }
        let inside = i.end().min(to) - i.start.max(from);
        if inside > 0 {
            used += i.quantity * inside as f64 / i.seconds as f64;
            covered += inside;
        }
    }
    (covered == to - from).then_some(used)
}

/// `[peak]` as the baseline needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineRules {
    pub days: usize,
    pub highest: usize,
}

/// A household's baseline for an event's hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub quantity: f64,
    /// The days averaged, latest first.
    pub days: Vec<NaiveDate>,
}

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The similar days an event's baseline looks at, latest first.
pub fn similar_days(
    window: &EventWindow,
    excluded: &BTreeSet<NaiveDate>,
    rules: &BaselineRules,
) -> Vec<NaiveDate> {
    let kind = weekend(window.date);
    let mut out = Vec::with_capacity(rules.days);
    let mut d = window.date;
    // Ten weekend days reach back five weeks; 120 days is far beyond any rule.
    for _ in 0..120 {
        let Some(prev) = d.pred_opt() else { break };
        d = prev;
        if weekend(d) == kind && !excluded.contains(&d) {
            out.push(d);
            if out.len() == rules.days {
                break;
            }
        }
    }
    out
}

/// The household's baseline (see the module's rules).
pub fn baseline(
    intervals: &[Interval],
    zone: Zone,
    window: &EventWindow,
    excluded: &BTreeSet<NaiveDate>,
    rules: &BaselineRules,
) -> Option<Baseline> {
    let mut covered: Vec<(f64, NaiveDate)> = similar_days(window, excluded, rules)
        .into_iter()
        .filter_map(|d| {
            let (from, to) = window.on(d).utc(zone)?;
            Some((use_in(intervals, from, to)?, d))
        })
        .collect();
    if covered.len() < rules.highest {
        return None;
    }
    // Highest use first; of equal use, the later day.
    covered.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    covered.truncate(rules.highest);
    let quantity = covered.iter().map(|c| c.0).sum::<f64>() / covered.len() as f64;
    covered.sort_by_key(|c| std::cmp::Reverse(c.1));
    Some(Baseline {
        quantity,
        days: covered.into_iter().map(|c| c.1).collect(),
    })
}

/// One household's event: its use in the window against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub window_use: f64,
    pub baseline_use: f64,
    /// Baseline less window use: positive when the household used less.
    pub reduction: f64,
    /// The reduction in percent of the baseline (0 with a zero baseline).
    pub reduction_pct: f64,
}

pub fn outcome(window_use: f64, baseline_use: f64) -> Outcome {
    let reduction = baseline_use - window_use;
    Outcome {
        window_use,
        baseline_use,
        reduction,
        reduction_pct: if baseline_use > 0.0 {
            reduction / baseline_use * 100.0
        } else {
            0.0
        },
    }
}

/// What an event's messages did: treated against holdout in the window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EventEstimate {
    pub treatment_households: usize,
    pub control_households: usize,
    pub treatment_mean: f64,
    pub control_mean: f64,
    /// Holdout mean less treated mean.
    pub reduction_per_household: f64,
    pub reduction_pct: f64,
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    pub p_value: f64,
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The event's effect (see the module's rules); `None` with fewer than two
/// households in a group or a holdout that used nothing.
pub fn estimate(treated: &[f64], control: &[f64]) -> Option<EventEstimate> {
    if treated.len() < 2 || control.len() < 2 {
        return None;
    }
    let (mt, vt) = mean_var(treated);
    let (mc, vc) = mean_var(control);
    if mc <= 0.0 {
        return None;
    }
    let (nt, nc) = (treated.len() as f64, control.len() as f64);
    let (st, sc) = (vt / nt, vc / nc);
    let se = (st + sc).sqrt();
    // Welch-Satterthwaite degrees of freedom.
    let df = if se > 0.0 {
        (st + sc).powi(2) / (st * st / (nt - 1.0) + sc * sc / (nc - 1.0))
    } else {
        nt + nc - 2.0
    };
    let t = StudentsT::new(0.0, 1.0, df.max(1.0)).ok()?;
    let crit = t.inverse_cdf(0.975);
    let reduction = mc - mt;
    let p_value = if se > 0.0 {
        2.0 * (1.0 - t.cdf((reduction / se).abs()))
    } else if reduction == 0.0 {
        1.0
    } else {
        0.0
    };
    let ratio = 1.0 - mt / mc;
    let se_ratio = (st / (mc * mc) + mt * mt * sc / mc.powi(4)).sqrt();
    Some(EventEstimate {
        treatment_households: treated.len(),
        control_households: control.len(),
        treatment_mean: mt,
        control_mean: mc,
        reduction_per_household: reduction,
        reduction_pct: ratio * 100.0,
        ci_low_pct: (ratio - crit * se_ratio) * 100.0,
        ci_high_pct: (ratio + crit * se_ratio) * 100.0,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(from: i64, values: &[f64]) -> Vec<Interval> {
        values
            .iter()
            .enumerate()
            .map(|(k, q)| Interval {
                start: from + 3600 * k as i64,
                seconds: 3600,
                quantity: *q,
            })
            .collect()
    }

    #[test]
    fn a_window_parses_and_prints_back() {
        let w: EventWindow = "2026-08-12T16:00..20:00".parse().unwrap();
        assert_eq!(w.to_string(), "2026-08-12T16:00..20:00");
        assert_eq!(w.hours(), 4.0);
        assert!("2026-08-12T20:00..16:00".parse::<EventWindow>().is_err());
        assert!("2026-08-12 16:00..20:00".parse::<EventWindow>().is_err());
    }

    #[test]
    fn use_in_prorates_edges_and_needs_every_second() {
        let iv = hourly(0, &[1.0, 2.0, 3.0]);
        assert_eq!(use_in(&iv, 1800, 9000), Some(0.5 + 2.0 + 1.5));
        assert_eq!(use_in(&iv, 0, 3 * 3600 + 1), None);
        let gap = [iv[0], iv[2]];
        assert_eq!(use_in(&gap, 0, 3 * 3600), None);
    }

    #[test]
    fn the_baseline_averages_the_highest_similar_days() {
        let zone = Zone::named("UTC").unwrap();
        // Wednesday 12 August 2026, 16:00-18:00 UTC; a day's hours 0..24.
        let w: EventWindow = "2026-08-12T16:00..18:00".parse().unwrap();
        let start = NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        // Every day's window hours use its day of the month (two hours).
        let values: Vec<f64> = (0..42 * 24)
            .map(|h| {
                let day = 1 + h / 24;
                let hour = h % 24;
                if (16..18).contains(&hour) {
                    f64::from(day % 31 + 1) / 2.0
                } else {
                    0.1
                }
            })
            .collect();
        let iv = hourly(start, &values);
        let rules = BaselineRules {
            days: 10,
            highest: 3,
        };
        let event_day = NaiveDate::from_ymd_opt(2026, 7, 29).unwrap();
        let excluded = BTreeSet::from([event_day]);
        let days = similar_days(&w, &excluded, &rules);
        // Weekdays back from 11 August, without 29 July: 11, 10, 7, 6, 5, 4, 3, 31 Jul, 30 Jul, 28 Jul.
        let want: Vec<NaiveDate> = [
            (8, 11),
            (8, 10),
            (8, 7),
            (8, 6),
            (8, 5),
            (8, 4),
            (8, 3),
            (7, 31),
            (7, 30),
            (7, 28),
        ]
        .iter()
        .map(|(m, d)| NaiveDate::from_ymd_opt(2026, *m, *d).unwrap())
        .collect();
        assert_eq!(days, want);
        let b = baseline(&iv, zone, &w, &excluded, &rules).unwrap();
        // The three highest of the ten by the rule the data was made with.
        let value = |d: NaiveDate| {
            let day = (d - NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()).num_days() + 1;
            (day % 31 + 1) as f64
        };
        let mut by_value: Vec<(f64, NaiveDate)> = want.iter().map(|d| (value(*d), *d)).collect();
        by_value.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        let top: f64 = by_value[..3].iter().map(|v| v.0).sum::<f64>() / 3.0;
        assert!((b.quantity - top).abs() < 1e-9, "{} vs {top}", b.quantity);
        assert_eq!(b.days.len(), 3);
    }

    #[test]
    fn a_planted_reduction_is_found_and_none_where_none_was_planted() {
        let control: Vec<f64> = (0..200).map(|k| 10.0 + (k % 7) as f64).collect();
        let treated: Vec<f64> = control.iter().map(|c| c * 0.9).collect();
        let e = estimate(&treated, &control).unwrap();
        assert!((e.reduction_pct - 10.0).abs() < 1e-9);
        assert!(e.ci_low_pct > 0.0 && e.ci_high_pct > 10.0 && e.ci_low_pct < 10.0);
        assert!(e.p_value < 0.001);
        let same = estimate(&control, &control).unwrap();
        assert!(same.reduction_pct.abs() < 1e-9 && same.ci_low_pct < 0.0 && same.ci_high_pct > 0.0);
        assert!((same.p_value - 1.0).abs() < 1e-9);
        assert_eq!(estimate(&treated[..1], &control), None);
    }
}
