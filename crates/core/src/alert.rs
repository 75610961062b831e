//! Bill-to-date alerts: which households' bills are heading well above
//! their usual, told while there is still time to act.
//!
//! The rules, in the order they are applied:
//!
//! - **The bill period** a date falls in continues the household's own
//!   cycle: its last bill before the date, repeated at that bill's length
//!   until it reaches the date. A household billed by calendar month (or
//!   with no bill yet) is in the date's calendar month.
//! - **Use so far** is the sum of the period's local days up to and including
//!   the as-of date, each of which must be a complete day of interval data:
//!   a projection from a day that is missing would be a guess. At least
//!   `min_days` of the period must have passed.
//! - **The projection** adds the rest of the period's days at the
//!   household's own recent rate: the mean of its last `recent_days`
//!   complete days. With a weather model, the rest is instead the model's
//!   use for each remaining day at the temperature of the same day a year
//!   earlier (the best guess for weather not yet here), scaled by how the
//!   household's recent days compared with what the model expected of
//!   their own temperatures.
//! - **The usual bill** is the household's use per day in the bill that
//!   covered the same time a year earlier, else its last three bills
//!   together, scaled to this period's days. Both bills go through the
//!   tariff at this period's dates, so a tier or a season counts the same.
//! - **High** means the projected bill is at least `high_bill_pct` percent
//!   and `min_dollars` above the usual one.
//! - **Likely causes**: the weather, when the model expects at least 10%
//!   more use from this period's temperatures so far than from the same
//!   days' a year earlier; a continuous flow, when the leak check found one
//!   inside the period.
//!
//! Pure: the caller reads the files and the store.

use chrono::{Datelike, Days, NaiveDate};

use crate::model::{Bill, FlowRun, Period};
use crate::weather::Station;
use crate::weather::caltrack::{Granularity, Model};

/// `[alerts]` as the rules need them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertRules {
    pub high_bill_pct: f64,
    pub min_dollars: f64,
    pub recent_days: usize,
    pub min_days: i64,
}

/// A household's bill period, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BillPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl BillPeriod {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    fn calendar_month(date: NaiveDate) -> BillPeriod {
        let p = Period::of(date);
        BillPeriod {
            start: p.first_day(),
            end: p.last_day(),
        }
    }
}

/// The bill period `as_of` falls in (see the module's rules).
pub fn current_period(bills: &[Bill], as_of: NaiveDate) -> BillPeriod {
    let Some(last) = bills.iter().rev().find(|b| b.end < as_of) else {
        return BillPeriod::calendar_month(as_of);
    };
    let monthly = last.start.day() == 1 && last.end == Period::of(last.end).last_day();
    if monthly {
        return BillPeriod::calendar_month(as_of);
    }
    let length = last.days.max(1) as u64;
    let mut start = last.end + Days::new(1);
    loop {
        let end = start + Days::new(length - 1);
        if end >= as_of {
            return BillPeriod { start, end };
        }
        start = end + Days::new(1);
    }
}

/// Why a household has no projection.
#[derive(Debug, Clone, PartialEq)]
pub enum NoProjection {
    /// A day of the period up to the as-of date has no complete data.
    MissingDay(NaiveDate),
    /// Fewer than `min_days` of the period have passed.
    TooEarly { days: i64 },
    /// The period ends on the as-of date: its bill is what it is.
    Ended,
}

impl std::fmt::Display for NoProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoProjection::MissingDay(d) => write!(f, "no complete interval data for {d}"),
            NoProjection::TooEarly { days } => {
                write!(f, "only {days} day(s) of the bill period have passed")
            }
            NoProjection::Ended => write!(f, "the bill period ends on the as-of date"),
        }
    }
}

/// A household's model and its station's temperatures.
#[derive(Clone, Copy)]
pub struct WeatherModel<'a> {
    pub model: &'a Model,
    pub station: &'a Station,
}

impl WeatherModel<'_> {
    /// The model's use on `day` at `day`'s own temperature.
    fn on(&self, day: NaiveDate) -> Option<f64> {
        self.model
            .predict(day, day, self.station, Granularity::Daily)
            .map(|p| p.total())
    }

    /// The model's use on `day` at the temperature of the same day a year earlier.
    fn typical(&self, day: NaiveDate) -> Option<f64> {
        self.on(year_before(day)?)
    }

    fn mean_temp(&self, day: NaiveDate) -> Option<f64> {
        self.station.days.get(&day)?.mean()
    }
}

/// The same date a year earlier (28 February for 29 February).
pub fn year_before(day: NaiveDate) -> Option<NaiveDate> {
    day.with_year(day.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(day.year() - 1, day.month(), 28))
}

/// How the weather so far compares with the same days a year earlier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeatherSoFar {
    /// The model's use from this period's temperatures so far over its use
    /// from the same days' a year earlier, less 1, in percent.
    pub change_pct: f64,
    /// Mean temperature of the days so far less that of the same days a
    /// year earlier (°F).
    pub warmer_f: f64,
}

/// A household's bill period so far and where it is heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub period: BillPeriod,
    pub days_so_far: i64,
    pub used_so_far: f64,
    /// Mean use per day over the recent days the projection starts from.
    pub recent_per_day: f64,
    pub projected_use: f64,
    pub weather_adjusted: bool,
    pub weather: Option<WeatherSoFar>,
}

/// Project a household's period from its local days (sorted by date, as
/// the interval reader keeps them).
pub fn project(
    days: &[crate::ingest::series::DayUse],
    period: BillPeriod,
    as_of: NaiveDate,
    rules: &AlertRules,
    weather: Option<WeatherModel<'_>>,
) -> Result<Projection, NoProjection> {
    if as_of >= period.end {
        return Err(NoProjection::Ended);
    }
    let days_so_far = (as_of - period.start).num_days() + 1;
    if days_so_far < rules.min_days {
        return Err(NoProjection::TooEarly { days: days_so_far });
    }
    let complete = |d: NaiveDate| {
        days.binary_search_by_key(&d, |u| u.date)
            .ok()
            .map(|k| &days[k])
            .filter(|u| u.complete)
            .map(|u| u.quantity)
    };
    let mut used = 0.0;
    for d in period.start.iter_days().take(days_so_far as usize) {
        used += complete(d).ok_or(NoProjection::MissingDay(d))?;
    }
    // The recent days: the last `recent_days` before and on the as-of
    // date, reaching before the period only where that day is complete.
    let mut recent: Vec<(NaiveDate, f64)> = Vec::new();
    let mut d = as_of;
    while recent.len() < rules.recent_days {
        match complete(d) {
            Some(q) => recent.push((d, q)),
            None if d < period.start => break,
            None => return Err(NoProjection::MissingDay(d)),
        }
        d = d.pred_opt().ok_or(NoProjection::MissingDay(d))?;
    }
    let recent_per_day = recent.iter().map(|r| r.1).sum::<f64>() / recent.len() as f64;
    let rest: Vec<NaiveDate> = (as_of + Days::new(1))
        .iter_days()
        .take_while(|d| *d <= period.end)
        .collect();
    let plain = used + recent_per_day * rest.len() as f64;
    let adjusted = weather.and_then(|w| {
        let expected: f64 = recent.iter().map(|(d, _)| w.on(*d)).sum::<Option<f64>>()?;
        let ahead: f64 = rest.iter().map(|d| w.typical(*d)).sum::<Option<f64>>()?;
        (expected > 0.0).then(|| used + ahead * recent_per_day * recent.len() as f64 / expected)
    });
    let so_far_days: Vec<NaiveDate> = period
        .start
        .iter_days()
        .take(days_so_far as usize)
        .collect();
    Ok(Projection {
        period,
        days_so_far,
        used_so_far: used,
        recent_per_day,
        projected_use: adjusted.unwrap_or(plain),
        weather_adjusted: adjusted.is_some(),
        weather: weather.and_then(|w| weather_so_far(w, &so_far_days)),
    })
}

fn weather_so_far(w: WeatherModel<'_>, days: &[NaiveDate]) -> Option<WeatherSoFar> {
    let mut now = 0.0;
    let mut then = 0.0;
    let mut warmer = 0.0;
    for d in days {
        now += w.on(*d)?;
        then += w.typical(*d)?;
        warmer += w.mean_temp(*d)? - w.mean_temp(year_before(*d)?)?;
    }
    (then > 0.0).then(|| WeatherSoFar {
        change_pct: (now / then - 1.0) * 100.0,
        warmer_f: warmer / days.len() as f64,
    })
}

/// Where the usual bill comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsualBasis {
    /// The bill that covered the same time a year earlier.
    LastYear,
    /// The last three bills before the period.
    LastThree,
}

impl UsualBasis {
    pub fn code(self) -> &'static str {
        match self {
            UsualBasis::LastYear => "same-period-last-year",
            UsualBasis::LastThree => "last-three-bills",
        }
    }
}

/// A household's usual use over a bill period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usual {
    /// Use over the period's days, at the usual rate.
    pub quantity: f64,
    pub basis: UsualBasis,
}

/// The household's usual use for `period` (see the module's rules); `None`
/// with neither a bill a year earlier nor three bills before.
pub fn usual(bills: &[Bill], period: BillPeriod) -> Option<Usual> {
    let days = period.days() as f64;
    let middle = period.start + Days::new((period.days() / 2) as u64);
    let a_year_before = year_before(middle)?;
    if let Some(b) = bills
        .iter()
        .find(|b| b.start <= a_year_before && a_year_before <= b.end && b.days > 0)
    {
        return Some(Usual {
            quantity: b.per_day() * days,
            basis: UsualBasis::LastYear,
        });
    }
    let before: Vec<&Bill> = bills.iter().filter(|b| b.end < period.start).collect();
    let last = before.get(before.len().checked_sub(3)?..)?;
    let (q, d) = last.iter().fold((0.0, 0i64), |(q, d), b| {
        (q + b.quantity, d + i64::from(b.days))
    });
    (d > 0).then(|| Usual {
        quantity: q / d as f64 * days,
        basis: UsualBasis::LastThree,
    })
}

/// How far the projected bill is above the usual one, in percent, when it
/// is high enough to alert.
pub fn high(projected_cost: f64, usual_cost: f64, rules: &AlertRules) -> Option<f64> {
    if usual_cost <= 0.0 {
        return None;
    }
    let pct = (projected_cost / usual_cost - 1.0) * 100.0;
    (pct >= rules.high_bill_pct && projected_cost - usual_cost >= rules.min_dollars).then_some(pct)
}

/// What the alert names as likely behind a high bill.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// The weather so far asks more of the home than a year earlier did.
    Weather(WeatherSoFar),
    /// Water never stopped flowing for this many hours, inside the period.
    Flow { hours: f64 },
}

/// The weather rises above noise at this much more expected use.
const WEATHER_CAUSE_PCT: f64 = 10.0;

/// The likely causes of a household's high projection.
pub fn causes(projection: &Projection, runs: &[FlowRun]) -> Vec<Cause> {
    let mut out = Vec::new();
    if let Some(w) = projection
        .weather
        .filter(|w| w.change_pct >= WEATHER_CAUSE_PCT)
    {
        out.push(Cause::Weather(w));
    }
    let (start, end) = (projection.period.start, projection.period.end);
    if let Some(run) = runs
        .iter()
        .filter(|r| r.end.date() >= start && r.start.date() <= end)
        .max_by(|a, b| a.hours.total_cmp(&b.hours))
    {
        out.push(Cause::Flow { hours: run.hours });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::series::DayUse;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn bill(start: NaiveDate, end: NaiveDate, quantity: f64) -> Bill {
        Bill {
            quantity,
            days: (end - start).num_days() as i32 + 1,
            estimated: false,
            start,
            end,
            file: 0,
            line: 0,
        }
    }

    const RULES: AlertRules = AlertRules {
        high_bill_pct: 30.0,
        min_dollars: 10.0,
        recent_days: 7,
        min_days: 7,
    };

    #[test]
    fn the_period_continues_the_households_own_cycle() {
        let bills = [bill(d(2026, 9, 6), d(2026, 10, 5), 300.0)];
        // The next period, 30 days from the 6th of October.
        assert_eq!(
            current_period(&bills, d(2026, 10, 20)),
            BillPeriod {
                start: d(2026, 10, 6),
                end: d(2026, 11, 4)
            }
        );
        // A missed bill: the cycle rolls on.
        assert_eq!(
            current_period(&bills, d(2026, 11, 20)).start,
            d(2026, 11, 5)
        );
        // Calendar-month bills, or none: the date's month.
        let monthly = [bill(d(2026, 9, 1), d(2026, 9, 30), 300.0)];
        let october = BillPeriod::calendar_month(d(2026, 10, 20));
        assert_eq!(current_period(&monthly, d(2026, 10, 20)), october);
        assert_eq!(current_period(&[], d(2026, 10, 20)), october);
    }

    fn days(from: NaiveDate, values: &[f64]) -> Vec<DayUse> {
        from.iter_days()
            .zip(values)
            .map(|(date, q)| DayUse {
                date,
                quantity: *q,
                complete: true,
            })
            .collect()
    }

    #[test]
    fn the_rest_of_the_period_goes_at_the_recent_rate() {
        let period = BillPeriod::calendar_month(d(2026, 11, 1));
        // Ten days at 10, then five at 20: the last seven average 100/7 + ...
        let mut values = vec![10.0; 10];
        values.extend([20.0; 5]);
        let data = days(d(2026, 11, 1), &values);
        let p = project(&data, period, d(2026, 11, 15), &RULES, None).unwrap();
        let recent = (2.0 * 10.0 + 5.0 * 20.0) / 7.0;
        assert_eq!(p.used_so_far, 200.0);
        assert!((p.recent_per_day - recent).abs() < 1e-12);
        assert!((p.projected_use - (200.0 + 15.0 * recent)).abs() < 1e-9);
        assert!(!p.weather_adjusted);
    }

    #[test]
    fn with_a_weather_model_the_rest_goes_at_last_years_weather_scaled_by_recent_days() {
        use crate::weather::DayTemp;
        use crate::weather::caltrack::{Rules, Usage, fit};
        let first = d(2025, 1, 1);
        let temp = |x: NaiveDate| {
            let t = (x - first).num_days() as f64 * std::f64::consts::TAU / 365.0;
            50.0 - 18.0 * t.cos() + f64::from((x.ordinal() * 7919) % 5) - 2.0
        };
        let mut station = Station::default();
        for x in first.iter_days().take(730) {
            station.days.insert(x, DayTemp::from_mean(temp(x)));
        }
        // A home heating below 60 °F: 15 a day plus 2 per degree day.
        let truth = |x: NaiveDate| 15.0 + 2.0 * (60.0 - temp(x)).max(0.0);
        let baseline: Vec<Usage> = first
            .iter_days()
            .take(365)
            .map(|x| Usage {
                start: x,
                end: x,
                quantity: truth(x),
            })
            .collect();
        let model = fit(
            &baseline,
            &station,
            &Rules::caltrack(Granularity::Daily, false),
        )
        .unwrap();
        // November 2026: the home uses 20% more than its weather says.
        let period = BillPeriod::calendar_month(d(2026, 11, 1));
        let values: Vec<f64> = d(2026, 11, 1)
            .iter_days()
            .take(15)
            .map(|x| 1.2 * truth(x))
            .collect();
        let data = days(d(2026, 11, 1), &values);
        let w = WeatherModel {
            model: &model,
            station: &station,
        };
        let p = project(&data, period, d(2026, 11, 15), &RULES, Some(w)).unwrap();
        assert!(p.weather_adjusted);
        let rest: f64 = d(2026, 11, 16)
            .iter_days()
            .take(15)
            .map(|x| 1.2 * truth(year_before(x).unwrap()))
            .sum();
        let want = values.iter().sum::<f64>() + rest;
        assert!(
            (p.projected_use - want).abs() / want < 0.01,
            "{} vs {want}",
            p.projected_use
        );
        // The plain projection would differ: the days ahead are colder.
        let plain = project(&data, period, d(2026, 11, 15), &RULES, None).unwrap();
        assert!((plain.projected_use - want).abs() / want > 0.02);
    }

    #[test]
    fn a_missing_or_partial_day_or_an_early_date_gives_no_projection() {
        let period = BillPeriod::calendar_month(d(2026, 11, 1));
        let mut data = days(d(2026, 11, 1), &[10.0; 15]);
        assert_eq!(
            project(&data, period, d(2026, 11, 5), &RULES, None),
            Err(NoProjection::TooEarly { days: 5 })
        );
        data[3].complete = false;
        assert_eq!(
            project(&data, period, d(2026, 11, 15), &RULES, None),
            Err(NoProjection::MissingDay(d(2026, 11, 4)))
        );
        assert_eq!(
            project(&data, period, d(2026, 11, 30), &RULES, None),
            Err(NoProjection::Ended)
        );
    }

    #[test]
    fn the_usual_bill_is_last_years_else_the_last_three() {
        let period = BillPeriod::calendar_month(d(2026, 11, 1));
        let last_year = bill(d(2025, 10, 20), d(2025, 11, 19), 310.0);
        let recent = [
            bill(d(2026, 7, 1), d(2026, 7, 31), 620.0),
            bill(d(2026, 8, 1), d(2026, 8, 31), 620.0),
            bill(d(2026, 9, 1), d(2026, 9, 30), 600.0),
            bill(d(2026, 10, 1), d(2026, 10, 31), 310.0),
        ];
        let mut all = vec![last_year];
        all.extend(recent);
        let u = usual(&all, period).unwrap();
        assert_eq!(u.basis, UsualBasis::LastYear);
        assert!((u.quantity - 300.0).abs() < 1e-9);
        let u = usual(&recent, period).unwrap();
        assert_eq!(u.basis, UsualBasis::LastThree);
        assert!((u.quantity - 1530.0 / 92.0 * 30.0).abs() < 1e-9);
        assert_eq!(usual(&recent[2..], period), None);
    }

    #[test]
    fn high_needs_both_the_percent_and_the_dollars() {
        assert!(high(130.0, 100.0, &RULES).is_some_and(|p| (p - 30.0).abs() < 1e-9));
        assert_eq!(high(129.0, 100.0, &RULES), None);
        // 50% above, but only $5.
        assert_eq!(high(15.0, 10.0, &RULES), None);
        assert_eq!(high(15.0, 0.0, &RULES), None);
    }
}
