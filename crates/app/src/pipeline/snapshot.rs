//! What the store knows that a plan needs, read once before deciding, so
//! that [`super::plan::decide`] touches no database.

use std::collections::HashMap;

use anyhow::Result;

use crate::control::StratumCount;
use crate::model::Period;
use crate::store::{Assigned, History, Recorded, Store};

/// What the store knows that a plan needs, read once. Empty without a store.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Account -> why it opted out.
    pub opted_out: HashMap<String, String>,
    /// The channels closed to households, and why.
    pub channel_blocks: crate::model::ChannelBlocks,
    /// Each account's last mailed letter before the period.
    pub history: HashMap<String, History>,
    /// Decisions recorded for this period by a finished run: a re-run
    /// reproduces them.
    pub recorded: HashMap<String, Recorded>,
    /// The monthly reports' control-group assignments, and their counts.
    pub assignments: HashMap<String, Assigned>,
    pub stratum_counts: HashMap<String, StratumCount>,
}

impl Snapshot {
    pub fn read(store: Option<&Store>, period: Period) -> Result<Snapshot> {
        let Some(s) = store else {
            return Ok(Snapshot::default());
        };
        Ok(Snapshot {
            opted_out: s.opt_outs()?,
            channel_blocks: s.channel_blocks()?,
            history: s.history_before(period)?,
            recorded: s.recorded(period)?,
            assignments: s.assignments(crate::control::REPORTS)?,
            stratum_counts: s.stratum_counts(crate::control::REPORTS)?,
        })
    }
}
