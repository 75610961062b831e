//! Glue between the plan and the control group: which households of this
//! period are new to the monthly reports' experiment and which group each
//! falls in. Only a real run or `enroll` (`enroll.rs`) records them.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::cohort::{Assignment, CohortPlan};
use crate::config::Config;
use crate::control::{self, Group, Newcomer, REPORTS};
use crate::model::{Household, HouseholdIx, Period};
use crate::store::Assigned;

use super::snapshot::Snapshot;

pub(super) struct Enrolment {
    /// Each household's group, by household index; none when it was not
    /// compared. A list, not a map: a first run puts every compared
    /// household in it.
    pub groups: Vec<Option<Group>>,
    pub enrolments: Vec<Enrolled>,
    /// Why each control household gets nothing, for `exceptions.csv`.
    pub control_detail: FxHashMap<HouseholdIx, String>,
}

/// A newcomer drawn this period, as the plan keeps it: 16 bytes, where the
/// store's record ([`Assigned`]) holds three strings. A first run draws
/// every household; [`Enrolled::assigned`] spells one out as it is stored.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled {
    pub household: HouseholdIx,
    pub group: Group,
    /// Its cohort, or none when its locality was too small for one.
    pub cohort: Option<u32>,
}

impl Enrolled {
    /// The store's record of it: the stratum as [`stratum`] names it, the
    /// rating of this period's comparison (`none` without one).
    pub fn assigned(&self, plan: &super::plan::Plan) -> Assigned {
        let h = plan.household(self.household);
        let stratum = match self.cohort {
            Some(c) => plan.cohorts[c as usize].id.clone(),
            None => too_few(h),
        };
        let rating = plan.comparisons[self.household.get()]
            .as_ref()
            .map_or("none", |c| c.rating.code());
        Assigned {
            account_id: h.account_id.to_string(),
            group: self.group,
            period: plan.period,
            stratum,
            rating: Some(rating.to_string()),
        }
    }
}

/// The stratum of a household whose locality is too small for a cohort.
fn too_few(h: &Household) -> String {
    format!("{}/too-few", h.locality)
}

/// The stratum a compared household is drawn in: its cohort, or its
/// locality when the locality is too small for one.
fn stratum<'a>(h: &Household, assignment: &Assignment, plan: &'a CohortPlan) -> Cow<'a, str> {
    match assignment {
        Assignment::Cohort(c) => Cow::Borrowed(&plan.cohorts[*c].id),
        Assignment::TooFew { .. } => Cow::Owned(too_few(h)),
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
) -> Enrolment {
    let (earlier, counts) = (&snapshot.assignments, &snapshot.stratum_counts);
    let strata: Vec<Cow<str>> = candidates
        .iter()
        .zip(&cohorts.assignments)
        .map(|(&i, a)| stratum(&households[i.get()], a, cohorts))
        .collect();
    let mut groups = vec![None; households.len()];
    let mut control_detail = FxHashMap::default();
    let mut new_idx = Vec::new();
    let mut newcomers = Vec::new();
    for (k, &i) in candidates.iter().enumerate() {
        let id = households[i.get()].account_id.as_str();
        match earlier.get(id) {
            Some(a) => {
                groups[i.get()] = Some(a.group);
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
        groups[i.get()] = Some(group);
        if group == Group::Control {
            control_detail.insert(
                i,
                format!(
                    "assigned to the control group in {period} (stratum {})",
                    strata[k]
                ),
            );
        }
        enrolments.push(Enrolled {
            household: i,
            group,
            cohort: match &cohorts.assignments[k] {
                Assignment::Cohort(c) => Some(u32::try_from(*c).expect("fewer than 2^32 cohorts")),
                Assignment::TooFew { .. } => None,
            },
        });
    }
    Enrolment {
        groups,
        enrolments,
        control_detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newcomer_is_16_bytes() {
        // A first run keeps one for each of a million compared households.
        assert_eq!(std::mem::size_of::<Enrolled>(), 16);
    }
}
