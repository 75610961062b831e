//! Savings by difference in differences (US DOE Uniform Methods Project,
//! chapter 17), intention to treat: every household *assigned* to receive
//! letters counts as treated, mailed or not.
//!
//! Each household contributes one number, the log of its post-period use
//! per day over its pre-period use per day (total quantity over total days
//! of the bills in each window). That is the two-way fixed-effects model
//! `ln use = household + window + saving x treated x post` on windows, with
//! errors clustered by household: the household effect cancels in the
//! difference, and the window effect (the season, the weather of those
//! months) is the control group's mean change. In logs, a home that uses
//! twice as much and swings twice as much between seasons changes by the
//! same amount as any other, so windows that cover different months (a
//! summer before, a winter after) leave a precise estimate instead of one
//! drowned in seasonal swings. The estimate is the treated households' mean
//! log change minus the control households'; its 95% interval and p-value
//! come from Welch's t on those household-level changes. Savings in percent
//! are `1 - exp(estimate)`.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::compare::quantile_type7;
use crate::control::Group;

/// One evaluated household.
#[derive(Debug, Clone)]
pub struct HouseholdUse {
    pub group: Group,
    /// Rating when it was assigned (`none` without a comparison).
    pub rating: String,
    /// The subgroups fairness is measured in: `assistance:yes|no`,
    /// `language:en|es`, `locality:NAME`.
    pub subgroups: Vec<String>,
    pub pre: f64,
    pub post: f64,
}

/// One row of `evaluation.csv`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Estimate {
    pub group: String,
    pub treatment_households: usize,
    pub control_households: usize,
    pub treatment_pre_per_day: f64,
    pub treatment_post_per_day: f64,
    pub control_pre_per_day: f64,
    pub control_post_per_day: f64,
    /// Use per day the treated households saved (positive: they used less).
    pub savings_per_day: f64,
    pub savings_pct: f64,
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    pub p_value: f64,
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (n, s) = xs.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    s / n.max(1) as f64
}

/// The estimate over `units`; None when either group has fewer than two households.
pub fn estimate(label: &str, units: &[&HouseholdUse]) -> Option<Estimate> {
    let arm = |g: Group| -> Vec<&HouseholdUse> {
        units.iter().copied().filter(|u| u.group == g).collect()
    };
    let (treated, control) = (arm(Group::Treatment), arm(Group::Control));
    debug_assert!(units.iter().all(|u| u.pre > 0.0 && u.post > 0.0));
    if treated.len() < 2 || control.len() < 2 {
        return None;
    }
    let diffs = |us: &[&HouseholdUse]| us.iter().map(|u| (u.post / u.pre).ln()).collect::<Vec<_>>();
    let (mt, vt) = mean_var(&diffs(&treated));
    let (mc, vc) = mean_var(&diffs(&control));
    let (nt, nc) = (treated.len() as f64, control.len() as f64);
    let did = mt - mc;
    let (a, b) = (vt / nt, vc / nc);
    let se = (a + b).sqrt();
    let control_post = mean(control.iter().map(|u| u.post));
    let (t_crit, p_value) = if se > 0.0 {
        // Welch–Satterthwaite degrees of freedom.
        let df = (a + b).powi(2) / (a * a / (nt - 1.0) + b * b / (nc - 1.0));
        let t = StudentsT::new(0.0, 1.0, df).expect("positive degrees of freedom");
        (t.inverse_cdf(0.975), 2.0 * (1.0 - t.cdf((did / se).abs())))
    } else {
        (0.0, if did == 0.0 { 1.0 } else { 0.0 })
    };
    // A log change of x is a saving of 1 - e^x.
    let pct = |x: f64| -100.0 * x.exp_m1();
    let treatment_post = mean(treated.iter().map(|u| u.post));
    Some(Estimate {
        group: label.to_string(),
        treatment_households: treated.len(),
        control_households: control.len(),
        treatment_pre_per_day: mean(treated.iter().map(|u| u.pre)),
        treatment_post_per_day: treatment_post,
        control_pre_per_day: mean(control.iter().map(|u| u.pre)),
        control_post_per_day: control_post,
        // What the treated would have used without letters, less what they used.
        savings_per_day: treatment_post * (-did).exp_m1(),
        savings_pct: pct(did),
        ci_low_pct: pct(did + t_crit * se),
        ci_high_pct: pct(did - t_crit * se),
        p_value,
    })
}

/// Overall, by rating at enrolment, and by quintile of pre-period use
/// (cut over both groups together, so each quintile compares like with like).
pub fn evaluate(units: &[HouseholdUse]) -> Vec<Estimate> {
    let all: Vec<&HouseholdUse> = units.iter().collect();
    let mut out: Vec<Estimate> = estimate("all", &all).into_iter().collect();
    for rating in crate::config::RATING_NAMES {
        let subset: Vec<&HouseholdUse> = units.iter().filter(|u| u.rating == rating).collect();
        out.extend(estimate(&format!("rating:{rating}"), &subset));
    }
    // Fairness: the same estimate within each subgroup.
    let mut keys: Vec<&String> = units.iter().flat_map(|u| &u.subgroups).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let subset: Vec<&HouseholdUse> =
            units.iter().filter(|u| u.subgroups.contains(key)).collect();
        out.extend(estimate(key, &subset));
    }
    let mut pre: Vec<f64> = units.iter().map(|u| u.pre).collect();
    pre.sort_by(f64::total_cmp);
    if !pre.is_empty() {
        let cuts: Vec<f64> = (1..5)
            .map(|q| quantile_type7(&pre, q as f64 / 5.0))
            .collect();
        let quintile = |x: f64| 1 + cuts.iter().filter(|&&c| x > c).count();
        for q in 1..=5 {
            let subset: Vec<&HouseholdUse> =
                units.iter().filter(|u| quintile(u.pre) == q).collect();
            out.extend(estimate(&format!("pre-use-quintile:{q}"), &subset));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(group: Group, pre: f64, post: f64) -> HouseholdUse {
        HouseholdUse {
            group,
            rating: "good".into(),
            subgroups: vec![],
            pre,
            post,
        }
    }

    #[test]
    fn difference_in_differences_by_hand() {
        // Treated change in logs: ln 0.9 twice; control: ln 0.99, ln 1.01.
        let units = [
            unit(Group::Treatment, 100.0, 90.0),
            unit(Group::Treatment, 200.0, 180.0),
            unit(Group::Control, 100.0, 99.0),
            unit(Group::Control, 100.0, 101.0),
        ];
        let refs: Vec<&HouseholdUse> = units.iter().collect();
        let e = estimate("all", &refs).unwrap();
        let did = 0.9f64.ln() - (0.99f64.ln() + 1.01f64.ln()) / 2.0;
        assert!(
            (e.savings_pct - 100.0 * (1.0 - did.exp())).abs() < 1e-9,
            "{e:?}"
        );
        // The treated used 135 a day; without letters, 135 / e^did.
        assert!((e.savings_per_day - (135.0 / did.exp() - 135.0)).abs() < 1e-9);
        // Treated variance 0; control variance of (ln .99, ln 1.01):
        // Welch's df = 1, t(0.975, 1) = 12.7062.
        let vc = (0.99f64.ln() - 1.01f64.ln()).powi(2) / 2.0;
        let se = (vc / 2.0).sqrt();
        let high = 100.0 * (1.0 - (did - 12.7062 * se).exp());
        let low = 100.0 * (1.0 - (did + 12.7062 * se).exp());
        assert!((e.ci_high_pct - high).abs() < 0.01, "{e:?} {high}");
        assert!((e.ci_low_pct - low).abs() < 0.01, "{e:?} {low}");
    }
}
