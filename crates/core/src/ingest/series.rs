//! One meter's intervals, streamed in time order, turned into monthly reads.
//!
//! Interval CSV and Green Button both end here, so both follow the same
//! rules: an interval up to a day long is added to the *local* calendar
//! month it falls in (split by seconds when it straddles midnight at a
//! month's end); a longer one (a billing period) is a read of its own. A
//! month whose intervals cover less than `min_coverage` of its hours is not
//! a bill (it is listed as incomplete, with its first gap); a month with a
//! small gap is scaled up to the whole month and marked estimated. A
//! duplicate, an overlap or a negative value is the meter's first defect
//! and stops it, as a bad row does in `usage.csv` (billing periods may
//! overlap by one hour: exports that write local dates as UTC shift by the
//! DST hour). Water flowing without a
//! stop for `leak_hours` is kept as a [`FlowRun`].

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::zone::Zone;
use crate::exception::Reason;
pub use crate::model::FlowRun;
use crate::model::{Interval, Period, Read, Service};

/// The settings interval data is read with (`[reads]` in the config).
#[derive(Debug, Clone)]
pub struct IntervalRules {
    /// Share of a month's hours the intervals must cover for a bill.
    pub min_coverage: f64,
    /// Hours of uninterrupted water flow that count as a possible leak.
    pub leak_hours: u32,
    /// Keep each meter's use per local day too (for weather models, which
    /// fit daily data); a monthly run does not need it.
    pub keep_days: bool,
    /// Keep the intervals that overlap these stretches (UTC seconds, end
    /// excluded; sorted, not overlapping) as they were read: a peak event
    /// compares a few hours on a few days, and keeps only those.
    pub keep_spans: Option<std::sync::Arc<[(i64, i64)]>>,
}

/// One local day of a meter's use, from the intervals inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct DayUse {
    pub date: NaiveDate,
    pub quantity: f64,
    /// The intervals cover every second of the day.
    pub complete: bool,
}

/// A month left out for low coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Incomplete {
    pub period: Period,
    pub coverage: f64,
    /// `file:line: ...` naming the first gap.
    pub detail: String,
}

/// The longest interval read: a billing period is a month or two, never a year.
const MAX_INTERVAL: i64 = 366 * 86_400;
/// Instants a meter can have read at (1970-01-01 and 2200-01-01, UTC):
/// outside them a timestamp is an export error, and local time is undefined.
const FIRST_INSTANT: i64 = 0;
const LAST_INSTANT: i64 = 7_258_118_400;

/// What one meter's intervals became.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub service: Option<Service>,
    pub reads: Vec<Read>,
    pub incomplete: Vec<Incomplete>,
    pub runs: Vec<FlowRun>,
    /// Use per local day, when [`IntervalRules::keep_days`] asks for it.
    pub days: Vec<DayUse>,
    /// The intervals inside [`IntervalRules::keep_spans`], in time order.
    pub intervals: Vec<Interval>,
    /// The first defect: the meter's data is not used.
    pub defect: Option<(Reason, String)>,
}

#[derive(Default)]
struct Month {
    sum: f64,
    covered: i64,
    line: u32,
    estimated: bool,
    /// The first gap inside the month: (local time it starts, line after it).
    gap: Option<(NaiveDateTime, u32)>,
}

struct Run {
    start: i64,
    end: i64,
    min_per_hour: f64,
}

/// Builds a [`Series`] from intervals pushed in time order.
pub struct Accumulator {
    zone: Zone,
    file: String,
    file_index: u32,
    series: Series,
    months: BTreeMap<Period, Month>,
    last: Option<(i64, i64, u64)>,
    run: Option<Run>,
    leak_seconds: i64,
    /// Use and seconds covered per local day, when kept.
    days: Option<BTreeMap<NaiveDate, (f64, i64)>>,
    keep_spans: Option<std::sync::Arc<[(i64, i64)]>>,
}

impl Accumulator {
    pub fn new(zone: Zone, file: &str, file_index: u32, rules: &IntervalRules) -> Accumulator {
        Accumulator {
            zone,
            file: file.to_string(),
            file_index,
            series: Series::default(),
            months: BTreeMap::new(),
            last: None,
            run: None,
            leak_seconds: i64::from(rules.leak_hours) * 3600,
            days: rules.keep_days.then(BTreeMap::new),
            keep_spans: rules.keep_spans.clone(),
        }
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    /// The end of the last interval pushed, to resolve a repeated local hour.
    pub fn last_end(&self) -> Option<i64> {
        self.last.map(|(_, end, _)| end)
    }

    pub fn is_defective(&self) -> bool {
        self.series.defect.is_some()
    }

    /// Record the meter's first defect; later ones are moot.
    pub fn defect(&mut self, reason: Reason, line: u64, message: String) {
        if self.series.defect.is_none() {
            self.series.defect = Some((reason, format!("{}:{line}: {message}", self.file)));
        }
    }

    /// One interval: `start` in UTC epoch seconds, `seconds` long, `quantity`
    /// in the service's canonical unit.
    pub fn push(
        &mut self,
        service: Service,
        start: i64,
        seconds: i64,
        quantity: f64,
        estimated: bool,
        line: u64,
    ) {
        if self.is_defective() {
            return;
        }
        if let Err((reason, message)) = self.check(service, start, seconds, quantity, line) {
            return self.defect(reason, line, message);
        }
        let end = start + seconds;
        let line32 = u32::try_from(line).unwrap_or(u32::MAX);
        self.last = Some((start, end, line));
        self.track_flow(service, start, end, quantity);
        self.keep_if_in_span(start, seconds, quantity);
        if seconds > 25 * 3600 {
            self.push_billing_period(start, end, quantity, estimated, line32);
            return;
        }
        self.add_to_months(start, seconds, quantity, estimated, line32);
        self.add_to_days(start, seconds, quantity);
    }

    /// The interval's first problem, if any. The order of the checks
    /// decides which problem a defect names, so it is kept as it was; the
    /// meter's service is taken from its first interval even when a later
    /// check fails.
    fn check(
        &mut self,
        service: Service,
        start: i64,
        seconds: i64,
        quantity: f64,
        line: u64,
    ) -> Result<(), Problem> {
        self.check_service(service)?;
        check_interval(start, seconds, quantity)?;
        self.check_order(start, seconds, line)
    }

    /// A meter measures one service: a different one means two meters'
    /// data were mixed under one id.
    fn check_service(&mut self, service: Service) -> Result<(), Problem> {
        match self.series.service {
            Some(s) if s != service => Err((
                Reason::UnitMismatch,
                format!(
                    "a {} interval on a meter whose earlier intervals are {}",
                    service.as_str(),
                    s.as_str()
                ),
            )),
            _ => {
                self.series.service = Some(service);
                Ok(())
            }
        }
    }

    /// Intervals must come in time order without repeats or overlaps; a
    /// gap is allowed but noted in its month, so a month left incomplete
    /// can say where its data stops.
    fn check_order(&mut self, start: i64, seconds: i64, line: u64) -> Result<(), Problem> {
        let Some((last_start, last_end, last_line)) = self.last else {
            return Ok(());
        };
        if start == last_start {
            return Err((
                Reason::DuplicateInterval,
                format!(
                    "a second interval starting {} (the first is on line {last_line})",
                    self.zone.local(start)
                ),
            ));
        }
        // Billing periods exported in UTC from local dates overlap by
        // the DST hour twice a year: dates, not hours, matter there.
        let billing = seconds > 25 * 3600 && last_end - last_start > 25 * 3600;
        if start < last_end && !(billing && last_end - start <= 3600) {
            return Err((
                Reason::OverlappingInterval,
                format!(
                    "interval starting {} begins before the one on line {last_line} ends ({}); \
                     intervals of a meter must not overlap and must be in time order",
                    self.zone.local(start),
                    self.zone.local(last_end)
                ),
            ));
        }
        if start > last_end && !billing {
            let line32 = u32::try_from(line).unwrap_or(u32::MAX);
            let at = self.zone.local(last_end);
            let month = self.months.entry(Period::of(at.date())).or_default();
            month.gap.get_or_insert((at, line32));
        }
        Ok(())
    }

    /// A peak event compares a few hours on a few days: only intervals
    /// inside its stretches are worth keeping as read.
    fn keep_if_in_span(&mut self, start: i64, seconds: i64, quantity: f64) {
        let end = start + seconds;
        if let Some(spans) = &self.keep_spans
            && spans
                .get(spans.partition_point(|s| s.1 <= start))
                .is_some_and(|s| s.0 < end)
        {
            self.series.intervals.push(Interval {
                start,
                seconds,
                quantity,
            });
        }
    }

    /// A billing period is already a bill: one read of its own, by local
    /// dates, rather than spread over the months it touches.
    fn push_billing_period(
        &mut self,
        start: i64,
        end: i64,
        quantity: f64,
        estimated: bool,
        line32: u32,
    ) {
        let first = self.zone.local(start).date();
        let last = self.zone.local(end - 1).date();
        self.series.reads.push(Read {
            start: first,
            end: last,
            quantity,
            estimated,
            file: self.file_index,
            line: line32,
        });
    }

    /// Bills are by local calendar month, so an interval is split at local
    /// month boundaries (it crosses at most one) by its seconds.
    fn add_to_months(
        &mut self,
        start: i64,
        seconds: i64,
        quantity: f64,
        estimated: bool,
        line32: u32,
    ) {
        let months = &mut self.months;
        split_local(
            self.zone,
            start,
            start + seconds,
            |d| Some(Period::of(d).offset(1).first_day()),
            |date, piece| {
                let month = months.entry(Period::of(date)).or_default();
                if month.covered == 0 && month.sum == 0.0 {
                    month.line = line32;
                }
                month.sum += quantity * (piece as f64 / seconds as f64);
                month.covered += piece;
                month.estimated |= estimated;
            },
        );
    }

    /// Weather models fit daily use, so when asked the interval is also
    /// split at local midnights.
    fn add_to_days(&mut self, start: i64, seconds: i64, quantity: f64) {
        if let Some(days) = self.days.as_mut() {
            split_local(
                self.zone,
                start,
                start + seconds,
                |d| d.succ_opt(),
                |date, piece| {
                    let day = days.entry(date).or_default();
                    day.0 += quantity * piece as f64 / seconds as f64;
                    day.1 += piece;
                },
            );
        }
    }

    /// Continuous flow: consecutive intervals of an hour or less, each with
    /// some use. Only water: a house always draws some power or gas.
    fn track_flow(&mut self, service: Service, start: i64, end: i64, quantity: f64) {
        if service != Service::Water || self.leak_seconds == 0 {
            return;
        }
        let flowing = quantity > 0.0 && end - start <= 3600;
        let per_hour = quantity * 3600.0 / (end - start) as f64;
        match &mut self.run {
            Some(run) if flowing && run.end == start => {
                run.end = end;
                run.min_per_hour = run.min_per_hour.min(per_hour);
            }
            _ => {
                self.close_run();
                if flowing {
                    self.run = Some(Run {
                        start,
                        end,
                        min_per_hour: per_hour,
                    });
                }
            }
        }
    }

    fn close_run(&mut self) {
        if let Some(run) = self.run.take()
            && run.end - run.start >= self.leak_seconds
        {
            self.series.runs.push(FlowRun {
                start: self.zone.local(run.start),
                end: self.zone.local(run.end),
                hours: (run.end - run.start) as f64 / 3600.0,
                base_per_day: run.min_per_hour * 24.0,
            });
        }
    }

    /// The meter's monthly reads, incomplete months and flow runs.
    pub fn finish(mut self, rules: &IntervalRules) -> Series {
        self.close_run();
        if self.series.defect.is_some() {
            return Series {
                reads: vec![],
                runs: vec![],
                incomplete: vec![],
                days: vec![],
                intervals: vec![],
                ..self.series
            };
        }
        for (period, m) in std::mem::take(&mut self.months) {
            if m.covered == 0 {
                continue;
            }
            let first: NaiveDate = period.first_day();
            let total = self.zone.month_seconds(first, period.offset(1).first_day());
            let coverage = (m.covered as f64 / total as f64).min(1.0);
            if coverage + 1e-9 < rules.min_coverage {
                let gap = match m.gap {
                    Some((at, line)) => format!("{}:{line}: first gap from {at}", self.file),
                    None => format!(
                        "{}:{}: intervals start or stop inside the month",
                        self.file, m.line
                    ),
                };
                self.series.incomplete.push(Incomplete {
                    period,
                    coverage,
                    detail: format!(
                        "{gap}; intervals cover {:.1}% of {period} ({:.0}% needed)",
                        coverage * 100.0,
                        rules.min_coverage * 100.0
                    ),
                });
                continue;
            }
            self.series.reads.push(Read {
                start: first,
                end: period.last_day(),
                quantity: m.sum / coverage,
                estimated: m.estimated || coverage < 1.0 - 1e-9,
                file: self.file_index,
                line: m.line,
            });
        }
        self.series.reads.sort_by_key(|r| (r.end, r.start));
        for (date, (quantity, covered)) in self.days.take().unwrap_or_default() {
            let seconds = self.zone.month_seconds(date, date + chrono::Days::new(1));
            self.series.days.push(DayUse {
                date,
                quantity,
                complete: covered >= seconds,
            });
        }
        self.series
    }
}

/// An interval's reason to be refused and the message saying why.
type Problem = (Reason, String);

/// Values no meter can report: refused before they reach local time, which
/// is undefined outside [`FIRST_INSTANT`]..[`LAST_INSTANT`].
fn check_interval(start: i64, seconds: i64, quantity: f64) -> Result<(), Problem> {
    if seconds <= 0 {
        return Err((
            Reason::BadValue,
            format!("interval length {seconds} s is not positive"),
        ));
    }
    if seconds > MAX_INTERVAL {
        return Err((
            Reason::BadValue,
            format!("interval length {seconds} s is longer than a year"),
        ));
    }
    let in_range = |t: i64| (FIRST_INSTANT..=LAST_INSTANT).contains(&t);
    if !in_range(start) || !in_range(start.saturating_add(seconds)) {
        return Err((
            Reason::BadDate,
            format!("interval starting at {start} s is not between 1970 and 2200"),
        ));
    }
    if !quantity.is_finite() || quantity < 0.0 {
        return Err((
            Reason::BadQuantity,
            format!("quantity {quantity} is not a non-negative number"),
        ));
    }
    Ok(())
}

/// Walk `start..end` (UTC seconds) in pieces that end at the local
/// midnights `next` names after each piece's local date (a month's or a
/// day's end), giving each piece's date and length.
fn split_local(
    zone: Zone,
    start: i64,
    end: i64,
    next: impl Fn(NaiveDate) -> Option<NaiveDate>,
    mut each: impl FnMut(NaiveDate, i64),
) {
    let mut from = start;
    while from < end {
        let date = zone.local(from).date();
        let boundary = next(date)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| zone.utc(t, None))
            .unwrap_or(end);
        let to = end.min(boundary.max(from + 1));
        each(date, to - from);
        from = to;
    }
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

    fn utc(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    #[test]
    fn hours_fall_in_their_local_month() {
        let zone = Zone::named("America/New_York").unwrap();
        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        // 2026-03-01 00:00 local is 05:00 UTC; every hour of March and April.
        let mut t = utc("2026-03-01 05:00");
        let mut line = 2;
        while t < utc("2026-05-01 04:00") {
            acc.push(Service::Water, t, 3600, 1.0, false, line);
            t += 3600;
            line += 1;
        }
        let s = acc.finish(&RULES);
        assert_eq!(s.reads.len(), 2);
        // March loses an hour to DST.
        assert_eq!(s.reads[0].quantity, 743.0);
        assert_eq!(s.reads[1].quantity, 720.0);
        assert!(!s.reads[0].estimated);
        assert_eq!(s.reads[1].line, 745);
        assert!(s.incomplete.is_empty());
    }

    #[test]
    fn gaps_overlaps_and_duplicates() {
        let zone = Zone::named("UTC").unwrap();
        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        acc.push(Service::Water, utc("2026-01-01 00:00"), 3600, 1.0, false, 2);
        acc.push(Service::Water, utc("2026-01-20 00:00"), 3600, 1.0, false, 3);
        let s = acc.finish(&RULES);
        assert!(s.reads.is_empty());
        assert_eq!(s.incomplete.len(), 1);
        assert!(
            s.incomplete[0]
                .detail
                .starts_with("i.csv:3: first gap from 2026-01-01 01:00:00"),
            "{}",
            s.incomplete[0].detail
        );

        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        acc.push(Service::Water, utc("2026-01-01 00:00"), 3600, 1.0, false, 2);
        acc.push(Service::Water, utc("2026-01-01 00:00"), 3600, 1.0, false, 3);
        let (reason, detail) = acc.finish(&RULES).defect.unwrap();
        assert_eq!(reason, Reason::DuplicateInterval);
        assert!(detail.starts_with("i.csv:3:"), "{detail}");

        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        acc.push(Service::Water, utc("2026-01-01 00:00"), 3600, 1.0, false, 2);
        acc.push(Service::Water, utc("2026-01-01 00:30"), 3600, 1.0, false, 3);
        assert_eq!(
            acc.finish(&RULES).defect.unwrap().0,
            Reason::OverlappingInterval
        );
    }

    #[test]
    fn only_unbroken_flow_is_a_run() {
        let zone = Zone::named("UTC").unwrap();
        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        let t0 = utc("2026-01-01 00:00");
        // 30 hours of flow (lowest 2 gal/h), a zero hour, then 10 more.
        for h in 0..41 {
            let q = match h {
                30 => 0.0,
                5 => 2.0,
                _ => 6.0,
            };
            acc.push(Service::Water, t0 + h * 3600, 3600, q, false, h as u64 + 2);
        }
        let s = acc.finish(&RULES);
        assert_eq!(s.runs.len(), 1);
        assert_eq!(s.runs[0].hours, 30.0);
        assert_eq!(s.runs[0].base_per_day, 48.0);
    }

    /// Found by fuzzing (fuzz/artifacts/interval/crash-73d72f46...): a
    /// duration of seven million years made a read that ended in 1969.
    #[test]
    fn intervals_longer_than_a_year_or_outside_any_meter_s_life_are_defects() {
        let zone = Zone::named("UTC").unwrap();
        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        acc.push(
            Service::Water,
            utc("2025-11-01 00:00"),
            222_222_222_223_600,
            1.5,
            false,
            2,
        );
        let (reason, detail) = acc.finish(&RULES).defect.unwrap();
        assert_eq!(reason, Reason::BadValue);
        assert_eq!(
            detail,
            "i.csv:2: interval length 222222222223600 s is longer than a year"
        );
        let mut acc = Accumulator::new(zone, "i.csv", 1, &RULES);
        acc.push(Service::Water, -86_400 * 365 * 3000, 3600, 1.5, false, 2);
        assert_eq!(acc.finish(&RULES).defect.unwrap().0, Reason::BadDate);
    }
}
