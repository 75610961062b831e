//! Glue between the plan and the control group: which households of this
//! period are new to the monthly reports' experiment and which group each
//! falls in. Only a real run or `enroll` (`enroll.rs`) records them.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::cohort::{Assignment, CohortPlan};
use crate::compare::Comparison;
use crate::config::Config;
use crate::control::{self, Group, Newcomer, REPORTS};
use crate::model::{Household, HouseholdIx, Period};
use crate::store::Assigned;

use super::snapshot::Snapshot;

pub(super) struct Enrolment {
    pub groups: FxHashMap<HouseholdIx, Group>,
    pub enrolments: Vec<Assigned>,
    /// Why each control household gets nothing, for `exceptions.csv`.
    pub control_detail: FxHashMap<HouseholdIx, String>,
}

/// The stratum a compared household is drawn in: its cohort, or its
/// locality when the locality is too small for one.
fn stratum<'a>(h: &Household, assignment: &Assignment, plan: &'a CohortPlan) -> Cow<'a, str> {
    match assignment {
        Assignment::Cohort(c) => Cow::Borrowed(&plan.cohorts[*c].id),
        Assignment::TooFew { .. } => Cow::Owned(format!("{}/too-few", h.locality)),
    }
}

/// Groups of this period's compared households: earlier assignments from the
/// store as they are, newcomers drawn now (and returned for recording).
pub(super) fn groups(
    config: &Config,
    snapshot: &Snapshot,
    period: Period,
    households: &[Household],
    candidates: &[HouseholdIx],
    cohorts: &CohortPlan,
    comparisons: &[Option<Comparison>],
) -> Enrolment {
    let (earlier, counts) = (&snapshot.assignments, &snapshot.stratum_counts);
    let strata: Vec<Cow<str>> = candidates
        .iter()
        .zip(&cohorts.assignments)
        .map(|(&i, a)| stratum(&households[i.get()], a, cohorts))
        .collect();
    let mut groups = FxHashMap::default();
    let mut control_detail = FxHashMap::default();
    let mut new_idx = Vec::new();
    let mut newcomers = Vec::new();
    for (k, &i) in candidates.iter().enumerate() {
        let id = households[i.get()].account_id.as_str();
        match earlier.get(id) {
            Some(a) => {
                groups.insert(i, a.group);
                if a.group == Group::Control {
                    control_detail.insert(
                        i,
                        format!(
                            "assigned to the control group in {} (stratum {})",
                            a.period, a.stratum
                        ),
                    );
                }
            }
            None => {
                new_idx.push(k);
                newcomers.push(Newcomer {
                    account_id: id,
                    stratum: &strata[k],
                });
            }
        }
    }
    let drawn = control::assign(
        &newcomers,
        counts,
        config.control.share,
        &config.control.salt,
        REPORTS,
    );
    let mut enrolments = Vec::with_capacity(drawn.len());
    for (&k, group) in new_idx.iter().zip(drawn) {
        let i = candidates[k];
        groups.insert(i, group);
        if group == Group::Control {
            control_detail.insert(
                i,
                format!(
                    "assigned to the control group in {period} (stratum {})",
                    strata[k]
                ),
            );
        }
        enrolments.push(Assigned {
            account_id: households[i.get()].account_id.to_string(),
            group,
            period,
            stratum: strata[k].to_string(),
            rating: Some(
                comparisons[k]
                    .as_ref()
                    .map_or("none", |c| c.rating.code())
                    .to_string(),
            ),
        });
    }
    Enrolment {
        groups,
        enrolments,
        control_detail,
    }
}
