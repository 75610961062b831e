//! Reads nobody should believe: a bill far above the household's own
//! history, or beyond what any home can use. Such a bill is held as an
//! exception (`implausible-read`) so that it is never compared and never
//! moves a neighbor's percentile; staff check the meter or the export.

use crate::cohort::{Assignment, CohortPlan};
use crate::model::{Bill, Period, Service};

/// Use per day no single home reaches: a meter or export error. Water:
/// 100,000 gallons (a large estate irrigates a few thousand); electricity:
/// 2,000 kWh (over 80 kW around the clock); gas: 300 therms.
pub fn ceiling_per_day(service: Service) -> f64 {
    match service {
        Service::Water => 100_000.0,
        Service::Electric => 2_000.0,
        Service::Gas => 300.0,
    }
}

/// The first implausible bill up to `period`, as (bill, why). Every bill of
/// the last 25 months is held to the ceiling; the period's bill also to
/// `factor` times the median per day of the 12 months before it (when at
/// least 3 of them have bills).
pub fn implausible(
    bills: &[Bill],
    period: Period,
    factor: f64,
    service: Service,
) -> Option<(&Bill, String)> {
    let unit = service.canonical_unit();
    let ceiling = ceiling_per_day(service);
    let window = period.index() - 24..=period.index();
    if let Some(b) = bills
        .iter()
        .filter(|b| window.contains(&b.period().index()))
        .find(|b| b.per_day().is_nan() || b.per_day() > ceiling)
    {
        return Some((
            b,
            format!(
                "the {} bill is {:.4e} {unit} a day, beyond any home ({ceiling} {unit} a day)",
                b.period(),
                b.per_day()
            ),
        ));
    }
    let this = bills.iter().find(|b| b.period() == period)?;
    let mut before: Vec<f64> = bills
        .iter()
        .filter(|b| b.period() < period && b.period().index() >= period.index() - 12)
        .map(Bill::per_day)
        .collect();
    if before.len() < 3 {
        return None;
    }
    before.sort_by(f64::total_cmp);
    let n = before.len();
    let median = if n % 2 == 1 {
        before[n / 2]
    } else {
        (before[n / 2 - 1] + before[n / 2]) / 2.0
    };
    (median > 0.0 && this.per_day() > factor * median).then(|| {
        (
            this,
            format!(
                "{:.1} {unit} a day in {period} is {:.0} times this home's 12-month median ({:.1}); \
                 check the meter read",
                this.per_day(),
                this.per_day() / median,
                median
            ),
        )
    })
}

/// Candidates whose use per day is above `factor` times the median of
/// their cohort (by position in `usage`), with that median and the cohort's
/// size. A home that uses ten times what its neighbors do is more often a
/// meter register read as use, a unit slip or a meter multiplier than a
/// real home: held for review, it never moves its neighbors' percentiles.
/// Consistent over months, such reads pass [`implausible`]; only the
/// neighbors show them.
pub fn above_neighbors(plan: &CohortPlan, usage: &[f64], factor: f64) -> Vec<(usize, f64, usize)> {
    let medians: Vec<f64> = plan
        .cohorts
        .iter()
        .map(|c| {
            let mut v: Vec<f64> = c.members.iter().map(|&m| usage[m]).collect();
            median(&mut v)
        })
        .collect();
    plan.assignments
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Assignment::Cohort(c) => {
                let m = medians[*c];
                (m > 0.0 && usage[i] > factor * m).then(|| (i, m, plan.cohorts[*c].members.len()))
            }
            Assignment::TooFew { .. } => None,
        })
        .collect()
}

/// The median of `v` (reordered); 0 when empty.
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let (_, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..n / 2].iter().copied().fold(f64::MIN, f64::max);
        (lower + upper) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_read_as_use_stands_out_from_its_neighbors() {
        let plan = CohortPlan {
            cohorts: vec![crate::cohort::Cohort {
                id: "elm/all".into(),
                locality: "elm".into(),
                similarity: crate::cohort::Similarity::Locality,
                members: (0..5).collect(),
            }],
            assignments: vec![Assignment::Cohort(0); 5],
            relaxed: vec![],
        };
        // Median of [100, 120, 150, 200, 13684] is 150: only the register stands out.
        let usage = [120.0, 100.0, 13684.0, 150.0, 200.0];
        assert_eq!(above_neighbors(&plan, &usage, 10.0), [(2, 150.0, 5)]);
        assert!(above_neighbors(&plan, &usage, 100.0).is_empty());
        let mut even = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(median(&mut even), 2.5);
    }

    fn bill(p: &str, per_day: f64) -> Bill {
        let period: Period = p.parse().unwrap();
        Bill {
            quantity: per_day * 30.0,
            days: 30,
            estimated: false,
            start: period.last_day() - chrono::Days::new(29),
            end: period.last_day(),
            file: 0,
            line: 7,
        }
    }

    #[test]
    fn spikes_and_absurd_values_are_held_but_ordinary_swings_are_not() {
        let p: Period = "2026-10".parse().unwrap();
        let history: Vec<Bill> = (1..=9)
            .map(|m| bill(&format!("2026-{m:02}"), 200.0 + m as f64 * 10.0))
            .collect();
        let with = |per_day: f64| {
            let mut b = history.clone();
            b.push(bill("2026-10", per_day));
            b
        };
        assert!(implausible(&with(600.0), p, 10.0, Service::Water).is_none());
        let spiked = with(3000.0);
        let (b, why) = implausible(&spiked, p, 10.0, Service::Water).unwrap();
        assert_eq!(b.period(), p);
        assert!(why.contains("12 times"), "{why}");
        assert!(implausible(&with(f64::MAX), p, 10.0, Service::Water).is_some());
        // A new home: no history to judge by, but the ceiling still holds.
        assert!(implausible(&[bill("2026-10", 5000.0)], p, 10.0, Service::Water).is_none());
        assert!(implausible(&[bill("2026-10", 1e308)], p, 10.0, Service::Water).is_some());
    }
}
