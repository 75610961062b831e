//! Glue between the plan and the control group: which households of this
//! period are new to the monthly reports' experiment, which group each falls
//! in, and `enroll`, which records the assignment before any mailing.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use super::{Plan, RunOptions, open_store, plan};
use crate::cohort::{Assignment, CohortPlan};
use crate::compare::Comparison;
use crate::config::Config;
use crate::control::{self, Group, Newcomer, REPORTS};
use crate::model::{Bill, Household, Period};
use crate::store::{Assigned, Store};

pub(super) struct Enrolment {
    pub groups: HashMap<usize, Group>,
    pub enrolments: Vec<Assigned>,
    /// Why each control household gets nothing, for `exceptions.csv`.
    pub control_detail: HashMap<usize, String>,
}

/// The stratum a compared household is drawn in: its cohort, or its
/// locality when the locality is too small for one.
fn stratum(h: &Household, assignment: &Assignment, plan: &CohortPlan) -> String {
    match assignment {
        Assignment::Cohort(c) => plan.cohorts[*c].id.clone(),
        Assignment::TooFew { .. } => format!("{}/too-few", h.locality),
    }
}

/// Groups of this period's compared households: earlier assignments from the
/// store as they are, newcomers drawn now (and returned for recording).
pub(super) fn groups(
    config: &Config,
    store: Option<&Store>,
    period: Period,
    households: &[Household],
    candidates: &[usize],
    cohorts: &CohortPlan,
    comparisons: &[Option<Comparison>],
) -> Result<Enrolment> {
    let (earlier, counts) = match store {
        Some(s) => (s.assignments(REPORTS)?, s.stratum_counts(REPORTS)?),
        None => Default::default(),
    };
    let strata: Vec<String> = candidates
        .iter()
        .zip(&cohorts.assignments)
        .map(|(&i, a)| stratum(&households[i], a, cohorts))
        .collect();
    let mut groups = HashMap::new();
    let mut control_detail = HashMap::new();
    let mut new_idx = Vec::new();
    let mut newcomers = Vec::new();
    for (k, &i) in candidates.iter().enumerate() {
        let id = households[i].account_id.as_str();
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
        &counts,
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
            account_id: households[i].account_id.clone(),
            group,
            period,
            stratum: strata[k].clone(),
            rating: Some(
                comparisons[k]
                    .as_ref()
                    .map_or("none", |c| c.rating.code())
                    .to_string(),
            ),
        });
    }
    Ok(Enrolment {
        groups,
        enrolments,
        control_detail,
    })
}

/// How the two groups compare on the enrolment period's use: a randomized
/// draw should leave them alike, and an analyst checks that before mailing.
#[derive(Debug, Default, Serialize)]
pub struct Balance {
    pub period: String,
    pub newly_assigned: usize,
    pub treatment: usize,
    pub control: usize,
    pub treatment_mean_per_day: f64,
    pub control_mean_per_day: f64,
    pub unit: String,
}

impl Balance {
    pub fn render_text(&self) -> String {
        format!(
            "period {}\nnewly assigned: {}\ntreatment: {} households, {:.1} {}/day on average\ncontrol: {} households, {:.1} {}/day on average\n",
            self.period,
            self.newly_assigned,
            self.treatment,
            self.treatment_mean_per_day,
            self.unit,
            self.control,
            self.control_mean_per_day,
            self.unit
        )
    }
}

fn balance(plan: &Plan, config: &Config, newly_assigned: usize) -> Balance {
    let mut sums = [(0usize, 0.0f64); 2];
    for (&i, g) in &plan.groups {
        let use_per_day = plan.bills[i]
            .iter()
            .find(|b| b.period == plan.period)
            .map_or(0.0, Bill::per_day);
        let slot = &mut sums[(*g == Group::Control) as usize];
        slot.0 += 1;
        slot.1 += use_per_day;
    }
    let mean = |(n, s): (usize, f64)| if n == 0 { 0.0 } else { s / n as f64 };
    Balance {
        period: plan.period.to_string(),
        newly_assigned,
        treatment: sums[0].0,
        control: sums[1].0,
        treatment_mean_per_day: mean(sums[0]),
        control_mean_per_day: mean(sums[1]),
        unit: config.utility.service.canonical_unit().to_string(),
    }
}

/// Assign this period's households to treatment or control and record it,
/// without rendering or mailing anything: set up the control group before
/// the first mailing, then check the balance.
pub fn enroll(config: &Config, opts: &RunOptions) -> Result<Balance> {
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let mut store = open_store(config, opts, false)?
        .ok_or_else(|| anyhow::anyhow!("state store unavailable"))?;
    let plan = plan(config, opts, &wording, Some(&store))?;
    let _lock = store.lock(plan.period, crate::shard::Shard::WHOLE)?;
    let added = store.assign(REPORTS, &plan.enrolments)?;
    Ok(balance(&plan, config, added))
}
