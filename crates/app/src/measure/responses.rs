//! Response events: reading the files the CIS, the call center or the lab
//! export (`account_id, date, event[, campaign]`), and comparing how often
//! treated and held-back households responded.
//!
//! A response rate is the share of a group's households with at least one
//! event of that kind in the window. The difference between groups gets a
//! Wald 95% interval and a two-sided z test (unpooled standard error), which
//! is what program evaluations report for rates at these sample sizes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::control::Group;
use crate::store::{Response, Store};

pub use crate::ingest::responses::{KNOWN_EVENTS, Parsed};

/// Opt-out events stop the household's letters, as `neighborly opt-out`
/// does: a response file is how a call center's or a portal's opt-outs
/// arrive in bulk. Returns how many households were newly opted out.
pub fn apply_opt_outs(store: &Store, file: &Path, events: &[Response]) -> Result<usize> {
    let mut opted = 0;
    for e in events.iter().filter(|e| e.event == "opt-out") {
        let reason = format!("opt-out event of {} in {}", e.date, file.display());
        if store.opt_out(&e.account_id, &reason, "responses import")? {
            opted += 1;
        }
    }
    Ok(opted)
}

/// Read a responses file (see [`crate::ingest::responses::read`]).
pub fn read(path: &Path, campaigns: &BTreeSet<String>) -> Result<Parsed> {
    let name = path.display().to_string();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open responses file {name}"))?;
    crate::ingest::responses::read(file, &name, campaigns)
}

/// One row of `responses.csv`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RateRow {
    /// `all`, or the channel that reached the treated households compared
    /// (`mail`, `email`, `sms`) against the whole control group.
    pub channel: String,
    /// `all`, or the subgroup compared within (`assistance:yes`,
    /// `language:es`, `locality:NAME`).
    pub subgroup: String,
    pub event: String,
    pub treatment_households: usize,
    pub control_households: usize,
    pub treatment_responders: usize,
    pub control_responders: usize,
    pub treatment_rate_pct: f64,
    pub control_rate_pct: f64,
    /// Treated minus control, in percentage points.
    pub difference_pct: f64,
    pub ci_low_pct: f64,
    pub ci_high_pct: f64,
    pub p_value: f64,
}

/// Rates per event among the households of `groups`, from `events` (already
/// limited to the window and the campaign).
pub fn rates(groups: &HashMap<String, Group>, events: &[Response]) -> Vec<RateRow> {
    let mut responders: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for e in events {
        if groups.contains_key(&e.account_id) {
            responders
                .entry(e.event.as_str())
                .or_default()
                .insert(&e.account_id);
        }
    }
    let size = |g: Group| groups.values().filter(|&&x| x == g).count();
    let (nt, nc) = (size(Group::Treatment), size(Group::Control));
    let z = Normal::new(0.0, 1.0).expect("standard normal");
    let z_crit = z.inverse_cdf(0.975);
    let mut out = Vec::new();
    for (event, who) in responders {
        let count = |g: Group| who.iter().filter(|a| groups[**a] == g).count();
        let (rt, rc) = (count(Group::Treatment), count(Group::Control));
        let (pt, pc) = (rt as f64 / nt.max(1) as f64, rc as f64 / nc.max(1) as f64);
        let diff = pt - pc;
        let se = (pt * (1.0 - pt) / nt.max(1) as f64 + pc * (1.0 - pc) / nc.max(1) as f64).sqrt();
        let p_value = if se > 0.0 {
            2.0 * (1.0 - z.cdf((diff / se).abs()))
        } else if diff == 0.0 {
            1.0
        } else {
            0.0
        };
        out.push(RateRow {
            channel: "all".into(),
            subgroup: "all".into(),
            event: event.to_string(),
            treatment_households: nt,
            control_households: nc,
            treatment_responders: rt,
            control_responders: rc,
            treatment_rate_pct: 100.0 * pt,
            control_rate_pct: 100.0 * pc,
            difference_pct: 100.0 * diff,
            ci_low_pct: 100.0 * (diff - z_crit * se),
            ci_high_pct: 100.0 * (diff + z_crit * se),
            p_value,
        });
    }
    out
}

/// The same rates with the treated households split by the channel that
/// reached them (`channels`: account -> channel; paper when absent), each
/// against the whole control group. Households choose their channel, so
/// these rows describe; only the `all` rows measure.
pub fn rates_by_channel(
    groups: &HashMap<String, Group>,
    channels: &HashMap<String, String>,
    events: &[Response],
) -> Vec<RateRow> {
    let mut out = Vec::new();
    for channel in ["mail", "email", "sms"] {
        let subset: HashMap<String, Group> = groups
            .iter()
            .filter(|(a, g)| {
                **g == Group::Control || channels.get(*a).map_or("mail", String::as_str) == channel
            })
            .map(|(a, g)| (a.clone(), *g))
            .collect();
        if !subset.values().any(|g| *g == Group::Treatment) {
            continue;
        }
        for mut row in rates(&subset, events) {
            row.channel = channel.into();
            out.push(row);
        }
    }
    out
}

/// Rates per subgroup of households (`subgroup` says which, e.g.
/// `assistance:yes`, `language:es`): each subgroup's treated households
/// against its own control households, so fairness is measured like with
/// like. Subgroups without households in both arms are left out.
pub fn rates_by_subgroup(
    groups: &HashMap<String, Group>,
    subgroup_of: &HashMap<String, Vec<String>>,
    events: &[Response],
) -> Vec<RateRow> {
    let mut members: BTreeMap<&str, HashMap<String, Group>> = BTreeMap::new();
    for (account, group) in groups {
        for key in subgroup_of.get(account).into_iter().flatten() {
            members
                .entry(key.as_str())
                .or_default()
                .insert(account.clone(), *group);
        }
    }
    let mut out = Vec::new();
    for (key, subset) in members {
        let both = [Group::Treatment, Group::Control]
            .iter()
            .all(|g| subset.values().any(|x| x == g));
        if !both {
            continue;
        }
        for mut row in rates(&subset, events) {
            row.subgroup = key.to_string();
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_count_households_not_events() {
        let mut groups = HashMap::new();
        for i in 0..100 {
            let g = if i < 20 {
                Group::Control
            } else {
                Group::Treatment
            };
            groups.insert(format!("A{i}"), g);
        }
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let ev = |a: &str| Response {
            account_id: a.into(),
            date: day,
            event: "call".into(),
            campaign: String::new(),
        };
        // 2 of 20 control, 16 of 80 treated; A50 calls twice; X1 is not in the experiment.
        let mut events: Vec<Response> = ["A0", "A1", "X1"].iter().map(|a| ev(a)).collect();
        events.extend((50..66).map(|i| ev(&format!("A{i}"))));
        events.push(ev("A50"));
        let r = &rates(&groups, &events)[0];
        assert_eq!((r.treatment_responders, r.control_responders), (16, 2));
        assert!((r.treatment_rate_pct - 20.0).abs() < 1e-9);
        assert!((r.difference_pct - 10.0).abs() < 1e-9);
        // se = sqrt(.2*.8/80 + .1*.9/20) = sqrt(0.0065)
        let half = 1.959964 * 0.0065f64.sqrt() * 100.0;
        assert!((r.ci_high_pct - (10.0 + half)).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn rates_by_channel_split_the_treated_and_keep_the_whole_control_group() {
        let groups: HashMap<String, Group> = [
            ("T1", Group::Treatment),
            ("T2", Group::Treatment),
            ("C1", Group::Control),
            ("C2", Group::Control),
        ]
        .into_iter()
        .map(|(a, g)| (a.to_string(), g))
        .collect();
        let channels = HashMap::from([("T1".to_string(), "email".to_string())]);
        let event = |a: &str| Response {
            account_id: a.into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 10, 3).unwrap(),
            event: "cap-enrolled".into(),
            campaign: String::new(),
        };
        let rows = rates_by_channel(&groups, &channels, &[event("T1"), event("C1")]);
        let by: Vec<(&str, usize, usize, f64, f64)> = rows
            .iter()
            .map(|r| {
                (
                    r.channel.as_str(),
                    r.treatment_households,
                    r.control_households,
                    r.treatment_rate_pct,
                    r.control_rate_pct,
                )
            })
            .collect();
        assert_eq!(
            by,
            [("mail", 1, 2, 0.0, 50.0), ("email", 1, 2, 100.0, 50.0)]
        );
    }
}
