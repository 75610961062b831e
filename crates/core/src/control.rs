//! The randomized control group: who receives nothing, so that what the
//! letters did can be measured (US DOE Uniform Methods Project, chapter 17:
//! randomized design, difference in differences).
//!
//! A household is assigned once, the first time a real run (or `enroll`)
//! sees it, and the store keeps that assignment for good: changing the share
//! later only affects households not yet seen. The draw is *stratified*: the
//! newcomers of each stratum (a cohort, for the monthly reports) are ordered
//! by a salted SHA-256 of their account id, and the first ones go to control
//! until the stratum, counting earlier assignments, holds its share. So every
//! cohort keeps its share, the draw does not depend on file order, and nobody
//! can pick their own group.
//!
//! Pure: the caller supplies earlier assignments and records the new ones.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// The experiment of the monthly reports; campaigns use `campaign:NAME`.
pub const REPORTS: &str = "reports";

pub fn campaign_experiment(name: &str) -> String {
    format!("campaign:{name}")
}

/// Which arm of an experiment a household is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Assigned to receive letters (intention to treat: whether or not one was mailed).
    Treatment,
    /// Held back: receives nothing from this experiment.
    Control,
}

impl Group {
    pub fn code(self) -> &'static str {
        match self {
            Group::Treatment => "treatment",
            Group::Control => "control",
        }
    }
}

impl std::str::FromStr for Group {
    type Err = crate::model::ParseError;
    fn from_str(s: &str) -> Result<Self, crate::model::ParseError> {
        match s {
            "treatment" => Ok(Group::Treatment),
            "control" => Ok(Group::Control),
            other => Err(crate::model::ParseError::unknown(
                "group",
                other,
                "treatment or control",
            )),
        }
    }
}

/// A household seen for the first time, with the stratum it is drawn in.
#[derive(Debug, Clone)]
pub struct Newcomer<'a> {
    pub account_id: &'a str,
    pub stratum: &'a str,
}

/// How many households of a stratum were assigned before, and how many of them to control.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StratumCount {
    pub assigned: usize,
    pub control: usize,
}

/// Position of an account in the draw: the first 8 bytes of
/// SHA-256(salt, experiment, account) as a number.
pub fn draw_key(salt: &str, experiment: &str, account_id: &str) -> u64 {
    Draw::new(salt, experiment).key(account_id)
}

/// The draw of one experiment: SHA-256 over the salt and the experiment
/// hashed once, then finished with each account.
#[derive(Clone)]
struct Draw(Sha256);

impl Draw {
    fn new(salt: &str, experiment: &str) -> Draw {
        let mut h = Sha256::new();
        for part in [salt, experiment] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        Draw(h)
    }

    fn key(&self, account_id: &str) -> u64 {
        let mut h = self.0.clone();
        h.update((account_id.len() as u64).to_le_bytes());
        h.update(account_id.as_bytes());
        let digest = h.finalize();
        u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

/// Assign newcomers, stratum by stratum, so each stratum's control count is
/// `round(share * (earlier + new))` as nearly as the newcomers allow (earlier
/// assignments never move). Returns one group per newcomer, in input order.
pub fn assign(
    newcomers: &[Newcomer<'_>],
    earlier: &HashMap<String, StratumCount>,
    share: f64,
    salt: &str,
    experiment: &str,
) -> Vec<Group> {
    use rayon::prelude::*;
    let mut groups = vec![Group::Treatment; newcomers.len()];
    if share <= 0.0 {
        return groups;
    }
    let draw = Draw::new(salt, experiment);
    let keys: Vec<u64> = newcomers
        .par_iter()
        .map(|n| draw.key(n.account_id))
        .collect();
    // Each stratum is drawn on its own, so the order they are visited in
    // does not matter: a hash map groups them.
    let mut by_stratum: rustc_hash::FxHashMap<&str, Vec<usize>> = Default::default();
    for (i, n) in newcomers.iter().enumerate() {
        by_stratum.entry(n.stratum).or_default().push(i);
    }
    for (stratum, mut members) in by_stratum {
        let before = earlier.get(stratum).copied().unwrap_or_default();
        let total = before.assigned + members.len();
        let wanted = (share * total as f64).round() as usize;
        let take = wanted.saturating_sub(before.control).min(members.len());
        members.sort_unstable_by_key(|&i| (keys[i], newcomers[i].account_id));
        for &i in &members[..take] {
            groups[i] = Group::Control;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The draw is SHA-256 over length-prefixed parts; these values were
    /// computed apart, with Python's hashlib, and must never change: a
    /// household's group would move between runs.
    #[test]
    fn draw_keys_are_the_ones_computed_apart() {
        assert_eq!(
            draw_key("neighborly", "reports", "W000001"),
            12181141626465444380
        );
        assert_eq!(draw_key("s", "e", ""), 5147764106706931776);
    }

    fn newcomers<'a>(ids: &'a [String], stratum: &'static str) -> Vec<Newcomer<'a>> {
        ids.iter()
            .map(|a| Newcomer {
                account_id: a,
                stratum,
            })
            .collect()
    }

    #[test]
    fn each_stratum_holds_its_share_whatever_the_order() {
        let ids: Vec<String> = (0..103).map(|i| format!("A{i:04}")).collect();
        let mut people = newcomers(&ids[..60], "north");
        people.extend(newcomers(&ids[60..], "south"));
        let groups = assign(&people, &HashMap::new(), 0.2, "salt", REPORTS);
        let count = |s: &str| {
            people
                .iter()
                .zip(&groups)
                .filter(|(n, g)| n.stratum == s && **g == Group::Control)
                .count()
        };
        assert_eq!(count("north"), 12);
        assert_eq!(count("south"), 9); // round(0.2 * 43) = 9
        let mut reversed = people.clone();
        reversed.reverse();
        let mut again = assign(&reversed, &HashMap::new(), 0.2, "salt", REPORTS);
        again.reverse();
        assert_eq!(groups, again);
        // Another salt draws other households.
        assert_ne!(
            groups,
            assign(&people, &HashMap::new(), 0.2, "pepper", REPORTS)
        );
    }

    #[test]
    fn earlier_assignments_count_toward_the_share() {
        let ids: Vec<String> = (0..10).map(|i| format!("B{i}")).collect();
        let earlier = HashMap::from([(
            "north".to_string(),
            StratumCount {
                assigned: 40,
                control: 10,
            },
        )]);
        // 50 homes at 0.2 want 10 in control, which the earlier 40 already hold.
        let groups = assign(&newcomers(&ids, "north"), &earlier, 0.2, "s", REPORTS);
        assert!(groups.iter().all(|g| *g == Group::Treatment));
        let groups = assign(&newcomers(&ids, "north"), &earlier, 0.3, "s", REPORTS);
        assert_eq!(groups.iter().filter(|g| **g == Group::Control).count(), 5);
    }
}
