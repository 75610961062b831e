//! neighborly: monthly neighbor-comparison usage reports for water and
//! electric utilities.
//!
//! The batch is a pipeline, one module per stage (see ARCHITECTURE.md):
//! [`ingest`] → [`cohort`] → [`compare`] → [`phase`] → [`chart`] → [`render`]
//! → [`print`](mod@print) → [`output`], with [`store`] remembering phases, control-group
//! assignments and responses between runs, and [`pipeline`] tying the stages
//! together for the command line. Above the pipeline, [`target`] reaches
//! chosen segments with campaigns and [`measure`] evaluates what the letters
//! did against the randomized control group ([`control`]).

pub mod brief;
pub mod channel;
pub mod chart;
pub mod check;
pub mod cohort;
pub mod compare;
pub mod config;
pub mod control;
pub mod exception;
pub mod goal;
pub mod imb;
pub mod import;
pub mod ingest;
pub mod measure;
pub mod merge;
pub mod model;
pub mod money;
pub mod output;
pub mod phase;
pub mod pipeline;
pub mod plausible;
pub mod print;
pub mod proof;
pub mod render;
pub mod report;
pub mod shard;
pub mod store;
pub mod studio;
pub mod synth;
pub mod target;
pub mod watch;
pub mod wording;
