//! Money on the report: what a bill cost through the utility's tariff, what
//! a household would save a year by using like its efficient neighbors or by
//! following a tip, and amounts written as each language writes them.
//!
//! Costs go through the tiers, never a flat average rate: the last gallons
//! of a high user cost the most, so a saving is worth more than its share of
//! the bill. Without a tariff for the service nothing here is computed, and
//! the report shows no money at all.
//!
//! A bill whose days fall in two seasons is split by days: each season's
//! share of the use goes through that season's tiers, with the tier bounds
//! scaled by the same share (how utilities prorate a rate change).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::config::tariff::{Budget, Tariff, Tier};
use crate::model::{Bill, Household, Language, Period, bill_months};

/// The household's water budget per day (canonical gallons), or None when
/// the customer file does not say how many people live there.
pub fn budget_per_day(b: &Budget, h: &Household) -> Option<f64> {
    let people = f64::from(h.occupants?);
    let irrigable: f64 = h
        .extra
        .get("irrigable_sqft")
        .and_then(|v| v.trim().parse().ok())
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .unwrap_or(0.0);
    Some(b.indoor_per_person_per_day * people + b.outdoor_per_sqft_per_day * irrigable)
}

/// One line of a bill: `quantity` (tariff units) charged at `rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Charge {
    pub quantity: f64,
    pub rate: f64,
}

impl Charge {
    pub fn amount(&self) -> f64 {
        self.quantity * self.rate
    }
}

/// `q` units through `tiers` whose bounds are multiplied by `scale`: the
/// part of the use that falls in each tier, in order.
fn through(q: f64, tiers: &[(Option<f64>, f64)], scale: f64, out: &mut Vec<Charge>) {
    let mut lower = 0.0;
    for &(bound, rate) in tiers {
        let upper = bound.map_or(f64::INFINITY, |b| b * scale);
        let quantity = (q.min(upper) - lower).max(0.0);
        if quantity > 0.0 {
            out.push(Charge { quantity, rate });
        }
        if q <= upper {
            break;
        }
        lower = upper;
    }
}

fn plain(tiers: &[Tier]) -> Vec<(Option<f64>, f64)> {
    tiers.iter().map(|t| (t.up_to, t.rate)).collect()
}

/// The variable part of a bill, line by line: `quantity` (canonical units:
/// gal, kWh) used over `days` days ending on `end`. None for a budget
/// tariff when the household's budget is unknown.
pub fn charges(
    t: &Tariff,
    h: &Household,
    quantity: f64,
    days: i64,
    end: NaiveDate,
) -> Option<Vec<Charge>> {
    let q = quantity.max(0.0) / t.factor;
    let days = days.max(1);
    let mut out = Vec::new();
    match &t.budget {
        Some(b) => {
            let budget = budget_per_day(b, h)? * days as f64 / t.factor;
            let tiers: Vec<(Option<f64>, f64)> = b
                .tiers
                .iter()
                .map(|x| (x.up_to_pct.map(|p| p / 100.0 * budget), x.rate))
                .collect();
            through(q, &tiers, 1.0, &mut out);
        }
        None => {
            // Days of the bill per set of tiers (index into seasons, or base).
            let mut by_tiers: BTreeMap<Option<usize>, i64> = BTreeMap::new();
            for k in 0..days {
                let day = end - chrono::Duration::days(k);
                let season = t
                    .seasons
                    .iter()
                    .position(|s| s.months.contains(&day.month()));
                *by_tiers.entry(season).or_default() += 1;
            }
            // Tiers are a month's: a bill of two or three months gets
            // two or three months' worth of each tier.
            let months = bill_months(days);
            for (season, n) in &by_tiers {
                let share = *n as f64 / days as f64;
                let tiers = match season {
                    Some(i) => plain(&t.seasons[*i].tiers),
                    None => plain(&t.tiers),
                };
                through(q * share, &tiers, share * months, &mut out);
            }
        }
    }
    Some(out)
}

/// The cost of a bill, fixed charge included (see [`charges`]).
pub fn cost(t: &Tariff, h: &Household, quantity: f64, days: i64, end: NaiveDate) -> Option<f64> {
    let lines = charges(t, h, quantity, days, end)?;
    Some(fixed(t, days) + lines.iter().map(Charge::amount).sum::<f64>())
}

/// The service charge of a bill of `days` days (one per month billed).
pub fn fixed(t: &Tariff, days: i64) -> f64 {
    t.fixed * bill_months(days)
}

/// The last day and the length of the bill after `period`'s, for a
/// household billed every `months` months: the goal's next bill.
pub fn next_bill_days(period: Period, months: i32) -> (NaiveDate, i64) {
    let end = period.offset(months.max(1)).last_day();
    (end, (end - period.last_day()).num_days())
}

/// The bills of the 12 months ending with `period`.
fn last_year(bills: &[Bill], period: Period) -> impl Iterator<Item = &Bill> {
    bills
        .iter()
        .filter(move |b| b.period() <= period && b.period().index() > period.index() - 12)
}

/// What a change of use would save over a year: the change applied to each
/// of the last 12 months' bills through the tiers, scaled to 365 days when
/// fewer months are on record. None without bills or a known budget.
pub fn yearly_saving(
    t: &Tariff,
    h: &Household,
    bills: &[Bill],
    period: Period,
    change: impl Fn(&Bill) -> f64,
) -> Option<f64> {
    let mut saved = 0.0;
    let mut days = 0;
    for b in last_year(bills, period) {
        let now = cost(t, h, b.quantity, b.days.into(), b.end)?;
        let then = cost(t, h, change(b).clamp(0.0, b.quantity), b.days.into(), b.end)?;
        saved += now - then;
        days += i64::from(b.days);
    }
    (days > 0).then(|| saved * 365.0 / days as f64)
}

/// An amount as the language writes it: `$1,234.56` in English,
/// `1234,56 $` in Spanish (no grouping for four digits, a space from five).
pub fn format(amount: f64, symbol: &str, lang: Language, cents: bool) -> String {
    let rounded = if cents {
        (amount * 100.0).round() / 100.0
    } else {
        amount.round()
    };
    let whole = rounded.trunc().abs() as u64;
    let frac = ((rounded.abs() - rounded.abs().trunc()) * 100.0).round() as u64;
    let sign = if rounded < 0.0 { "-" } else { "" };
    let digits = whole_number(whole, lang);
    match lang {
        Language::En => {
            let mut s = format!("{sign}{symbol}{digits}");
            if cents {
                s.push_str(&format!(".{frac:02}"));
            }
            s
        }
        Language::Es => {
            let mut s = digits;
            if cents {
                s.push_str(&format!(",{frac:02}"));
            }
            format!("{sign}{s}\u{a0}{symbol}")
        }
    }
}

/// A whole number as the language writes it: `12,345` in English; in
/// Spanish `1234` and `12 345` (a no-break space from five digits, as the
/// RAE recommends).
pub fn whole_number(n: u64, lang: Language) -> String {
    let digits = n.to_string();
    let sep = match lang {
        Language::En => ",",
        Language::Es if digits.len() > 4 => "\u{a0}",
        Language::Es => return digits,
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_each_language_does() {
        assert_eq!(format(1234.5, "$", Language::En, true), "$1,234.50");
        assert_eq!(format(1234.5, "$", Language::Es, true), "1234,50\u{a0}$");
        assert_eq!(
            format(12345.678, "$", Language::Es, true),
            "12\u{a0}345,68\u{a0}$"
        );
        assert_eq!(format(84.4, "$", Language::En, false), "$84");
        assert_eq!(format(0.0, "$", Language::En, true), "$0.00");
        assert_eq!(format(1_000_000.0, "$", Language::En, false), "$1,000,000");
    }

    #[test]
    fn tiers_are_filled_in_order() {
        let tiers = [(Some(10.0), 1.0), (Some(20.0), 2.0), (None, 5.0)];
        let total = |q: f64, scale: f64| {
            let mut out = Vec::new();
            through(q, &tiers, scale, &mut out);
            out.iter().map(Charge::amount).sum::<f64>()
        };
        assert_eq!(total(0.0, 1.0), 0.0);
        assert_eq!(total(10.0, 1.0), 10.0);
        assert_eq!(total(20.0, 1.0), 30.0);
        assert_eq!(total(21.0, 1.0), 35.0);
        assert_eq!(total(10.0, 0.5), 5.0 + 5.0 * 2.0);
    }
}
