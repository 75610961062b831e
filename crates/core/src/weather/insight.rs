//! What a letter can say about the weather: how much of this bill's change
//! from the same bill a year earlier the weather explains, and where the
//! household's use went over the last 12 months (base load, heating,
//! cooling), both from the household's own CalTRACK model fitted on those
//! 12 months of bills.
//!
//! Said only where the model earns it: CalTRACK's own sufficiency (the
//! bills it used cover 90% of the year), a heating or cooling slope (an
//! intercept-only model means the weather does not move this home's use),
//! at least `min_r2` adjusted R² and `min_bills` bills behind it.

use chrono::Days;

use super::Station;
use super::caltrack::{self, Granularity, Model, ModelType, Predicted, Rules, Usage};
use crate::model::{Bill, Period, Service};

/// The floor a model must clear before a letter quotes it.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    pub min_r2: f64,
    pub min_bills: usize,
}

/// The weather block's figures, all in use per day.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub model: Model,
    pub change: Option<YearChange>,
    /// The last 12 months' use as the model splits it, per day.
    pub split: Predicted,
}

/// This bill against the same bill a year earlier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearChange {
    /// The period of the earlier bill.
    pub last_period: Period,
    /// Mean temperature this bill less the earlier one's (°F).
    pub warmer_by: f64,
    /// Use per day this bill less the earlier one's.
    pub use_change: f64,
    /// What the weather alone changed: the model's prediction for this
    /// bill's days less its prediction for the earlier bill's, per day.
    pub weather_change: f64,
    /// The rest: the household's own doing.
    pub own_change: f64,
}

/// The mean of the days' mean temperatures from `b.start` to `b.end`.
fn mean_temperature(b: &Bill, station: &Station) -> Option<f64> {
    let temps: Vec<f64> = b
        .start
        .iter_days()
        .take_while(|d| *d <= b.end)
        .filter_map(|d| station.days.get(&d).and_then(|t| t.mean()))
        .collect();
    (temps.len() as f64 >= 0.9 * b.days as f64)
        .then(|| temps.iter().sum::<f64>() / temps.len() as f64)
}

/// The weather block for the bill of `period`, or `None` when the model
/// does not clear `floor` (or there is no such bill).
pub fn insight(
    bills: &[Bill],
    period: Period,
    service: Service,
    station: &Station,
    floor: Floor,
) -> Option<Insight> {
    let this = bills.iter().find(|b| b.period() == period)?;
    let year_start = this.end.checked_sub_days(Days::new(364))?;
    let year: Vec<&Bill> = bills
        .iter()
        .filter(|b| b.start >= year_start && b.end <= this.end)
        .collect();
    let rules = Rules::caltrack(Granularity::Billing, service != Service::Gas);
    let used: Vec<Usage> = year.iter().map(|b| Usage::from(*b)).collect();
    let model = caltrack::fit(&used, station, &rules)?;
    if model.model_type == ModelType::InterceptOnly
        || model.n_days < caltrack::MIN_BASELINE_COVERAGE * 365.0
        || model.r2_adj < floor.min_r2
        || model.n_periods < floor.min_bills
    {
        return None;
    }
    let mut split = Predicted::default();
    let mut days = 0.0;
    for b in &year {
        if let Some(p) = model.predict(b.start, b.end, station, Granularity::Billing) {
            split.base += p.base;
            split.heating += p.heating;
            split.cooling += p.cooling;
            days += b.days as f64;
        }
    }
    if days == 0.0 {
        return None;
    }
    split.base /= days;
    split.heating /= days;
    split.cooling /= days;
    let change = year_change(bills, this, &model, station);
    Some(Insight {
        model,
        change,
        split,
    })
}

fn year_change(
    bills: &[Bill],
    this: &Bill,
    model: &Model,
    station: &Station,
) -> Option<YearChange> {
    let last_period = this.period().offset(-12);
    let last = bills
        .iter()
        .find(|b| b.period() == last_period && b.months() == this.months())?;
    let per_day = |b: &Bill| {
        model
            .predict(b.start, b.end, station, Granularity::Billing)
            .map(|p| p.total() / b.days as f64)
    };
    let weather_change = per_day(this)? - per_day(last)?;
    let use_change = this.per_day() - last.per_day();
    Some(YearChange {
        last_period,
        warmer_by: mean_temperature(this, station)? - mean_temperature(last, station)?,
        use_change,
        weather_change,
        own_change: use_change - weather_change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::DayTemp;
    use chrono::NaiveDate;

    fn day(i: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(i as u64)
    }

    fn temp(i: i64) -> f64 {
        // Two years alike but the second 3 °F warmer in its last month.
        let base = 60.0 - 25.0 * ((i as f64 - 15.0) / 365.25 * std::f64::consts::TAU).cos();
        base + ((i * 7919) % 7) as f64 - 3.0 + if i >= 690 { 3.0 } else { 0.0 }
    }

    /// Monthly bills of a home that heats below 60 °F (2 kWh per degree
    /// day) over 15 kWh a day, the last one (a milder December) 20% lower
    /// than the weather says.
    fn bills_and_station() -> (Vec<Bill>, Station) {
        let mut station = Station::default();
        for i in 0..731 {
            station.days.insert(
                day(i),
                DayTemp {
                    sum: temp(i) * 24.0,
                    hours: 24,
                    length: 24,
                },
            );
        }
        let mut bills = Vec::new();
        let mut start = 0;
        while start + 30 < 731 {
            let end = start + 29;
            let mut q: f64 = (start..=end)
                .map(|i| 15.0 + 2.0 * (60.0 - temp(i)).max(0.0))
                .sum();
            if end >= 719 {
                q *= 0.8;
            }
            bills.push(Bill {
                quantity: q,
                days: 30,
                estimated: false,
                start: day(start),
                end: day(end),
                file: 0,
                line: 0,
            });
            start += 30;
        }
        (bills, station)
    }

    #[test]
    fn the_weather_and_the_household_each_get_their_share_of_the_change() {
        let (bills, station) = bills_and_station();
        let last = bills.last().unwrap().period();
        let floor = Floor {
            min_r2: 0.5,
            min_bills: 9,
        };
        let i = insight(&bills, last, Service::Electric, &station, floor).unwrap();
        let c = i.change.unwrap();
        assert_eq!(c.last_period, last.offset(-12));
        // Independently: this bill's and last year's use per day by the planted rule.
        let this = bills.last().unwrap();
        let before = bills.iter().find(|b| b.period() == c.last_period).unwrap();
        let rule = |b: &Bill| {
            (0..30)
                .map(|k| {
                    let d = (b.start - day(0)).num_days() + k;
                    15.0 + 2.0 * (60.0 - temp(d)).max(0.0)
                })
                .sum::<f64>()
                / 30.0
        };
        let weather = rule(this) - rule(before);
        assert!((c.use_change - (this.per_day() - before.per_day())).abs() < 1e-9);
        assert!(
            (c.weather_change - weather).abs() < 0.05 * weather.abs().max(1.0),
            "{c:?} vs {weather}"
        );
        // The household's own change is the 20% cut it made.
        assert!(
            (c.own_change + 0.2 * rule(this)).abs() < 0.1 * rule(this),
            "{c:?}"
        );
        assert!(
            i.split.heating > 0.0 && i.split.cooling == 0.0,
            "{:?}",
            i.split
        );
        assert!(c.warmer_by > 2.0 && c.weather_change < 0.0, "{c:?}");
    }

    #[test]
    fn a_home_the_weather_does_not_move_gets_no_block() {
        let (mut bills, station) = bills_and_station();
        for b in &mut bills {
            b.quantity = 450.0 + (b.period().month % 3) as f64;
        }
        let last = bills.last().unwrap().period();
        let floor = Floor {
            min_r2: 0.5,
            min_bills: 9,
        };
        assert_eq!(
            insight(&bills, last, Service::Electric, &station, floor),
            None
        );
    }
}
