//! `neighborly enroll`: assign this period's households to treatment or
//! control and record it before the first mailing, then show how alike the
//! two groups are. The plan draws the groups (`enrol.rs`); this records them.

use anyhow::Result;
use serde::Serialize;

use super::{Plan, RunOptions, open_store, plan};
use crate::config::Config;
use crate::control::{Group, REPORTS};
use crate::model::{Bill, HouseholdIx};

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
    let grouped = plan.groups.iter().enumerate();
    for (i, g) in grouped.filter_map(|(i, g)| g.map(|g| (HouseholdIx::new(i), g))) {
        let use_per_day = plan
            .bills_of(i)
            .iter()
            .find(|b| b.period() == plan.period)
            .map_or(0.0, Bill::per_day);
        let slot = &mut sums[(g == Group::Control) as usize];
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
    let store = open_store(config, opts, false)?
        .ok_or_else(|| anyhow::anyhow!("state store unavailable"))?;
    let plan = plan(config, opts, &wording, Some(&store))?;
    let _lock = store.lock(plan.period, crate::shard::Shard::WHOLE)?;
    let added = store.assign(REPORTS, plan.enrolments.iter().map(|e| e.assigned(&plan)))?;
    Ok(balance(&plan, config, added))
}
