//! Compare: a household's usage against its cohort.
//!
//! *All neighbors* is the cohort median and *efficient neighbors* its 20th
//! percentile, both Hyndman & Fan type 7 (linear interpolation between closest
//! ranks, the default of numpy and R) over every household of the cohort. The
//! household's `percentile` is the percent of the *other* households whose
//! usage per day is strictly lower. Cohorts are independent, so they are
//! computed in parallel with rayon.

use rayon::prelude::*;
use serde::Serialize;
use statrs::statistics::Statistics;

use crate::cohort::{Assignment, CohortPlan};

/// The injunctive judgement every comparison carries (Schultz et al. 2007):
/// without it, low users drift up toward the norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Great,
    Good,
    AboveTypical,
}

impl Rating {
    pub const ALL: [Rating; 3] = [Rating::Great, Rating::Good, Rating::AboveTypical];

    pub fn code(self) -> &'static str {
        match self {
            Rating::Great => "great",
            Rating::Good => "good",
            Rating::AboveTypical => "above-typical",
        }
    }

    /// Great at or below efficient neighbors, Good at or below the median.
    pub fn of(usage: f64, efficient: f64, median: f64) -> Rating {
        if usage <= efficient {
            Rating::Great
        } else if usage <= median {
            Rating::Good
        } else {
            Rating::AboveTypical
        }
    }
}

impl std::str::FromStr for Rating {
    type Err = crate::model::ParseError;
    fn from_str(s: &str) -> Result<Self, crate::model::ParseError> {
        Rating::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| {
                crate::model::ParseError::unknown("rating", s, "great, good or above-typical")
            })
    }
}

/// One household's standing in its cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub cohort: usize,
    pub cohort_size: usize,
    pub usage_per_day: f64,
    pub median_per_day: f64,
    pub efficient_per_day: f64,
    pub percentile: f64,
    pub rating: Rating,
}

/// Summary figures of one cohort, for analysts (`cohorts.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortStats {
    pub size: usize,
    pub mean: f64,
    pub std_dev: f64,
    pub efficient: f64,
    pub median: f64,
}

/// Type-7 quantile of ascending `sorted` values at probability `p`.
pub fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of an empty cohort");
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Percent of the other `n - 1` values strictly below `value` (0 for a lone household).
pub fn percentile_rank(sorted: &[f64], value: f64) -> f64 {
    if sorted.len() < 2 {
        return 0.0;
    }
    let below = sorted.partition_point(|v| *v < value);
    100.0 * below as f64 / (sorted.len() - 1) as f64
}

/// Compare every candidate with its cohort. `usage[i]` is candidate `i`'s usage
/// per day; the result has one entry per candidate (`None`: no cohort).
pub fn compare(plan: &CohortPlan, usage: &[f64]) -> (Vec<Option<Comparison>>, Vec<CohortStats>) {
    compare_spans(plan, usage, &[], |_, _| None)
}

/// Compare every candidate with its cohort over the months its bill covers.
/// `span[i]` is how many months candidate `i`'s bill for the period covers
/// (1 when `span` is empty). A monthly bill is compared with each
/// neighbor's own bill for the period. A bill of two or three months is
/// compared with the neighbors' use per day over those same months,
/// `over(m, months)` (None: the neighbor's bills cover too little of them,
/// and it is left out of that comparison). So at most three distributions
/// are computed per cohort, whatever the households' read dates.
pub fn compare_spans(
    plan: &CohortPlan,
    usage: &[f64],
    span: &[i32],
    over: impl Fn(usize, i32) -> Option<f64> + Sync,
) -> (Vec<Option<Comparison>>, Vec<CohortStats>) {
    let span_of = |i: usize| span.get(i).copied().unwrap_or(1).max(1);
    let stats: Vec<(Vec<f64>, CohortStats)> = plan
        .cohorts
        .par_iter()
        .map(|c| {
            let mut values: Vec<f64> = c.members.iter().map(|&m| usage[m]).collect();
            values.sort_by(f64::total_cmp);
            let stats = summary(&values);
            (values, stats)
        })
        .collect();
    // The longer spans each cohort's households need, and their values.
    let mut wanted: Vec<(usize, i32)> = plan
        .assignments
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Assignment::Cohort(c) if span_of(i) > 1 => Some((*c, span_of(i))),
            _ => None,
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let longer: rustc_hash::FxHashMap<(usize, i32), (Vec<f64>, CohortStats)> = wanted
        .par_iter()
        .map(|&(c, k)| {
            let mut values: Vec<f64> = plan.cohorts[c]
                .members
                .iter()
                .filter_map(|&m| {
                    if span_of(m) == k {
                        Some(usage[m])
                    } else {
                        over(m, k)
                    }
                })
                .collect();
            values.sort_by(f64::total_cmp);
            let stats = summary(&values);
            ((c, k), (values, stats))
        })
        .collect();
    let comparisons = plan
        .assignments
        .par_iter()
        .enumerate()
        .map(|(i, a)| match a {
            Assignment::Cohort(c) => {
                let (sorted, s) = match span_of(i) {
                    1 => &stats[*c],
                    k => &longer[&(*c, k)],
                };
                Some(Comparison {
                    cohort: *c,
                    cohort_size: s.size,
                    usage_per_day: usage[i],
                    median_per_day: s.median,
                    efficient_per_day: s.efficient,
                    percentile: percentile_rank(sorted, usage[i]),
                    rating: Rating::of(usage[i], s.efficient, s.median),
                })
            }
            Assignment::TooFew { .. } => None,
        })
        .collect();
    (comparisons, stats.into_iter().map(|(_, s)| s).collect())
}

/// A cohort's figures from its ascending values (at least the household's own).
fn summary(values: &[f64]) -> CohortStats {
    CohortStats {
        size: values.len(),
        mean: values.iter().mean(),
        std_dev: if values.len() > 1 {
            values.iter().std_dev()
        } else {
            0.0
        },
        efficient: quantile_type7(values, 0.2),
        median: quantile_type7(values, 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_matches_numpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [20, 50]) == [1.8, 3.0]
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert!((quantile_type7(&v, 0.2) - 1.8).abs() < 1e-12);
        assert_eq!(quantile_type7(&v, 0.5), 3.0);
        // numpy.percentile([1, 2, 3, 4], 50) == 2.5
        assert_eq!(quantile_type7(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile_type7(&[7.0], 0.2), 7.0);
    }

    #[test]
    fn percentile_counts_others_strictly_lower() {
        let v = [1.0, 2.0, 2.0, 5.0, 9.0];
        assert_eq!(percentile_rank(&v, 1.0), 0.0);
        assert_eq!(percentile_rank(&v, 2.0), 25.0);
        assert_eq!(percentile_rank(&v, 9.0), 100.0);
    }

    #[test]
    fn rating_boundaries_are_inclusive() {
        assert_eq!(Rating::of(5.0, 5.0, 8.0), Rating::Great);
        assert_eq!(Rating::of(8.0, 5.0, 8.0), Rating::Good);
        assert_eq!(Rating::of(8.01, 5.0, 8.0), Rating::AboveTypical);
    }

    #[test]
    fn a_bimonthly_bill_meets_its_neighbors_over_the_same_two_months() {
        let plan = CohortPlan {
            cohorts: vec![crate::cohort::Cohort {
                id: "elm/all".into(),
                locality: "elm".into(),
                similarity: crate::cohort::Similarity::Locality,
                members: vec![0, 1, 2, 3],
            }],
            assignments: vec![Assignment::Cohort(0); 4],
            relaxed: vec![],
        };
        // Monthly homes use 100, 200, 300 a day in October; over September
        // and October 90, 180, 270. Home 3 is billed every two months.
        let usage = [100.0, 200.0, 300.0, 150.0];
        let two_months = [90.0, 180.0, 270.0];
        let (c, _) = compare_spans(&plan, &usage, &[1, 1, 1, 2], |m, k| {
            assert_eq!(k, 2);
            two_months.get(m).copied()
        });
        let monthly = c[0].as_ref().unwrap();
        assert_eq!((monthly.median_per_day, monthly.cohort_size), (175.0, 4));
        let bimonthly = c[3].as_ref().unwrap();
        assert_eq!(
            (bimonthly.median_per_day, bimonthly.cohort_size),
            (165.0, 4)
        );
        assert_eq!(bimonthly.percentile, 100.0 / 3.0);
    }
}
