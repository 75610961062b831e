//! A personal goal for next period: concrete and reachable, set by this
//! period's letter and checked by the next one.
//!
//! - Compared and Above typical: the typical similar home's use (the median
//!   the letter shows).
//! - Great or Good: this period's use (keep it there).
//! - Not shown a comparison (tips and notice letters, or no cohort): a tenth
//!   less than this period's use.
//!
//! A goal is met when the next period's use per day, as printed, is not
//! above the goal as printed: the household reads both numbers, and a goal
//! "missed" by a rounding error would be a letter that lies.

use serde::Serialize;

use crate::compare::{Comparison, Rating};
use crate::phase::Phase;

/// What a goal asks, as the letter words it (the wording's `goal.typical`,
/// `goal.keep` and `goal.less`; templates see `typical`, `keep`, `less`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoalKind {
    /// Down to the typical similar home's use.
    Typical,
    /// Keep this period's use.
    Keep,
    /// A tenth less than this period's use.
    Less,
}

impl GoalKind {
    /// The wording key under `goal.`, as templates see it.
    pub fn code(self) -> &'static str {
        match self {
            GoalKind::Typical => "typical",
            GoalKind::Keep => "keep",
            GoalKind::Less => "less",
        }
    }

    /// The kind of goal a letter of `phase` with `comparison` sets.
    pub fn of(comparison: Option<&Comparison>, phase: Phase) -> GoalKind {
        match comparison.filter(|_| phase == Phase::Comparison) {
            Some(c) if c.rating == Rating::AboveTypical => GoalKind::Typical,
            Some(_) => GoalKind::Keep,
            None => GoalKind::Less,
        }
    }
}

/// How the goal the last letter set went (templates see `met`, `missed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoalOutcome {
    Met,
    Missed,
}

impl GoalOutcome {
    /// The wording key under `goal.`, as templates see it.
    pub fn code(self) -> &'static str {
        match self {
            GoalOutcome::Met => "met",
            GoalOutcome::Missed => "missed",
        }
    }
}

/// The goal (use per day, canonical unit) for the period after this one.
pub fn next(usage_per_day: f64, comparison: Option<&Comparison>, phase: Phase) -> Option<f64> {
    if !(usage_per_day.is_finite() && usage_per_day > 0.0) {
        return None;
    }
    Some(match (GoalKind::of(comparison, phase), comparison) {
        (GoalKind::Typical, Some(c)) => c.median_per_day,
        (GoalKind::Less, _) => usage_per_day * 0.9,
        _ => usage_per_day,
    })
}

/// Whether the use met the goal, compared as printed (`shown` formats a
/// use per day the way the report does).
pub fn met(usage_per_day: f64, goal: f64, shown: impl Fn(f64) -> String) -> bool {
    let parse = |s: String| s.replace(',', "").parse::<f64>().ok();
    match (parse(shown(usage_per_day)), parse(shown(goal))) {
        (Some(u), Some(g)) => u <= g,
        _ => usage_per_day <= goal,
    }
}

/// [`met`] as the outcome a letter reports.
pub fn outcome(usage_per_day: f64, goal: f64, shown: impl Fn(f64) -> String) -> GoalOutcome {
    if met(usage_per_day, goal, shown) {
        GoalOutcome::Met
    } else {
        GoalOutcome::Missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_is_judged_on_the_printed_figures() {
        let shown = |v: f64| format!("{v:.0}");
        assert!(met(120.4, 120.0, shown));
        assert!(!met(120.6, 120.0, shown));
        assert!(met(90.0, 120.0, shown));
    }
}
