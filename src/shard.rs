//! One part of a period's households, for runs spread over several processes
//! or machines.
//!
//! Households are split by a stable hash of their locality, so every cohort
//! (which never crosses a locality) lies whole inside one shard and its
//! figures equal a single run's. The hash is SHA-256, not Rust's `Hash`,
//! because it must give the same answer on every machine and every version.

use std::fmt;
use std::str::FromStr;

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

    /// The shard a locality belongs to among `count`.
    pub fn of_locality(locality: &str, count: u32) -> u32 {
        let h = Sha256::digest(locality.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        (n % u64::from(count)) as u32
    }

    /// Whether this shard holds the households of `locality`.
    pub fn holds(&self, locality: &str) -> bool {
        self.is_whole() || Shard::of_locality(locality, self.count) == self.index
    }

    /// The shard a Kubernetes Indexed Job's pod runs: its
    /// `JOB_COMPLETION_INDEX` of `count`.
    pub fn from_job_index(count: u32) -> Result<Shard, String> {
        let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
            "--shards needs JOB_COMPLETION_INDEX (set by Kubernetes in an Indexed Job); \
             give --shard K/N instead"
                .to_string()
        })?;
        format!("{}/{count}", index.trim()).parse()
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

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard {s:?}: expected K/N with 0 <= K < N <= {MAX_SHARDS}, e.g. 0/4");
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
    }

    #[test]
    fn every_locality_lands_in_exactly_one_shard() {
        // The hash is fixed: these values must never change between versions,
        // or a resumed sharded run would split localities differently.
        assert_eq!(
            Shard::of_locality("Riverside", 4),
            Shard::of_locality("Riverside", 4)
        );
        let spread: Vec<u32> = (0..200)
            .map(|i| Shard::of_locality(&format!("L{i}"), 4))
            .collect();
        for k in 0..4 {
            let n = spread.iter().filter(|&&s| s == k).count();
            assert!((30..70).contains(&n), "shard {k} holds {n} of 200");
        }
        for i in 0..50 {
            let l = format!("L{i}");
            let holders = (0..4)
                .filter(|&k| Shard { index: k, count: 4 }.holds(&l))
                .count();
            assert_eq!(holders, 1);
        }
    }
}
