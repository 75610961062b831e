//! One part of a period's households, for runs spread over several processes
//! or machines.
//!
//! Households are split by locality, so every cohort (which never crosses a
//! locality) lies whole inside one shard and its figures equal a single
//! run's. Localities are dealt out largest first, each to the shard with the
//! fewest households so far ([`Shard::plan`]): every shard reads the same
//! customer file, so every shard computes the same split, and the shards
//! come out nearly equal (a hash of the locality alone left one shard 1.5
//! times another's size with 60 localities). Ties are broken by a SHA-256 of
//! the locality, not Rust's `Hash`, so every machine and version agrees.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::model::ParseError;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Shard `index` of `count` (Kubernetes numbers an Indexed Job's pods from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// More shards than this would leave most of them empty and make every
/// IMb serial range tiny; a utility has far fewer localities.
pub const MAX_SHARDS: u32 = 1000;

impl Shard {
    /// The whole period in one process.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Which of `count` shards each locality goes to, given how many
    /// households each has: largest first, each to the shard holding the
    /// fewest households so far (the lowest index on a tie). A pure function
    /// of the counts, so every shard of a period agrees.
    pub fn plan<'a>(
        households_per_locality: impl IntoIterator<Item = (&'a str, usize)>,
        count: u32,
    ) -> HashMap<&'a str, u32> {
        let mut localities: Vec<(&str, usize, [u8; 32])> = households_per_locality
            .into_iter()
            .map(|(l, n)| (l, n, Sha256::digest(l.as_bytes()).into()))
            .collect();
        localities.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(b.0)));
        let mut load = vec![0usize; count as usize];
        let mut out = HashMap::with_capacity(localities.len());
        for (l, n, _) in localities {
            let k = (0..load.len()).min_by_key(|&k| (load[k], k)).unwrap_or(0);
            load[k] += n;
            out.insert(l, k as u32);
        }
        out
    }

    /// The shard a Kubernetes Indexed Job's pod runs: its
    /// `JOB_COMPLETION_INDEX` of `count`.
    pub fn from_job_index(count: u32) -> Result<Shard, ShardError> {
        let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| ShardError::NoJobIndex)?;
        Ok(format!("{}/{count}", index.trim()).parse()?)
    }

    /// The suffix that names this shard's lock: `shard-1-of-4`.
    pub fn label(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a shard is written; [`MAX_SHARDS`] is its upper bound.
const SHARD_FORMAT: &str = "K/N with 0 <= K < N <= 1000, e.g. 0/4";

/// Why a pod's shard cannot be known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error(
        "--shards needs JOB_COMPLETION_INDEX (set by Kubernetes in an Indexed Job); give --shard K/N instead"
    )]
    NoJobIndex,
    #[error("JOB_COMPLETION_INDEX: {0}")]
    Bad(#[from] ParseError),
}

impl FromStr for Shard {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Shard, ParseError> {
        let bad = || ParseError::format("shard", s, SHARD_FORMAT);
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count || count > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "-1/4", "0/0", "a/b", "0/1001"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let e = "0/1001".parse::<Shard>().unwrap_err().to_string();
        assert!(e.contains(&format!("N <= {MAX_SHARDS}")), "{e}");
    }

    #[test]
    fn localities_are_dealt_largest_first_to_the_lightest_shard() {
        let sizes = [
            ("a", 50),
            ("b", 40),
            ("c", 30),
            ("d", 20),
            ("e", 10),
            ("f", 10),
        ];
        let plan = Shard::plan(sizes.iter().map(|&(l, n)| (l, n)), 2);
        // 50 -> 0; 40 -> 1; 30 -> 1 (40 < 50); 20 -> 0 (50 < 70);
        // 10 -> 0 (70 = 70, lower index); 10 -> 1.
        let load = |k| {
            sizes
                .iter()
                .filter(|(l, _)| plan[l] == k)
                .map(|(_, n)| n)
                .sum::<usize>()
        };
        assert_eq!((load(0), load(1)), (80, 80));
        assert_eq!(plan.len(), sizes.len());
        // The same counts in another order give the same split.
        let again = Shard::plan(sizes.iter().rev().map(|&(l, n)| (l, n)), 2);
        assert_eq!(plan, again);
    }

    #[test]
    fn sixty_similar_localities_split_into_four_nearly_equal_shards() {
        let names: Vec<String> = (0..60).map(|i| format!("district-{i:03}")).collect();
        let sizes: Vec<(&str, usize)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), 300 + (i * 37) % 80))
            .collect();
        let plan = Shard::plan(sizes.iter().copied(), 4);
        let mut load = [0usize; 4];
        for (l, n) in &sizes {
            load[plan[l] as usize] += n;
        }
        let (lo, hi) = (*load.iter().min().unwrap(), *load.iter().max().unwrap());
        assert!(hi - lo <= 80, "{load:?}");
    }
}
