//! neighborly: monthly neighbor-comparison usage reports for water and
//! electric utilities.
//!
//! The batch is a pipeline, one module per stage (see ARCHITECTURE.md):
//! [`ingest`] → [`cohort`] → [`compare`] → [`phase`] → [`chart`] → [`render`]
//! → [`print`](mod@print) → [`output`], with [`store`] remembering phases, control-group
//! assignments and responses between runs, and [`pipeline`] tying the stages
//! together for the command line. Above the pipeline, [`target`] reaches
//! chosen segments with campaigns and [`measure`] evaluates what the letters
//! did against the randomized control group ([`control`]). Between the
//! reports, [`alerts`] warns of high bills and [`events`] speaks before and
//! after peak events, both through [`outreach`].

pub use neighborly_core::{
    alert, calls, cohort, compare, config, control, exception, goal, imb, ingest, model, money,
    peak, phase, plausible, shard, weather, wording,
};
pub use neighborly_render::{self as render, chart};
pub use neighborly_store as store;

pub mod account;
pub mod alerts;
pub mod brief;
pub mod channel;
pub mod check;
pub mod drill;
pub mod events;
pub mod import;
pub mod insight;
pub mod mailing;
pub mod measure;
pub mod merge;
pub mod output;
pub mod outreach;
pub mod pipeline;
pub mod print;
pub mod proof;
pub mod quality;
pub mod report;
pub mod studio;
pub mod synth;
pub mod target;
pub mod watch;
