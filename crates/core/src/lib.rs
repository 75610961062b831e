//! neighborly's core: what a household, a bill, a cohort and a letter's
//! decisions are, and the functions that compute them.
//!
//! It owns the vocabulary ([`model`]), the validated settings ([`config`]),
//! the input readers ([`ingest`], each an `impl Read` plus a file name, so
//! errors name `file:line`), cohort formation ([`cohort`]), percentile
//! comparisons ([`compare`]), the phase ladder ([`phase`]), the randomized
//! control group ([`control`]), bills and savings in money ([`money`]), goals
//! ([`goal`]), plausibility holds ([`plausible`]), call rates learned from
//! calls ([`calls`]), bill-to-date alerts ([`alert`]), peak events
//! ([`peak`]), the editable wording
//! ([`wording`]), the split of a run into shards ([`shard`]) and the mail
//! barcode's serials ([`imb`]).
//!
//! It never renders, serves, or opens a database: no Typst, no HTTP server,
//! no SQL. That keeps it quick to build and test, and keeps every decision a
//! letter carries a function of its inputs.

pub mod alert;
pub mod calls;
pub mod cohort;
pub mod compare;
pub mod config;
pub mod control;
pub mod exception;
pub mod goal;
pub mod imb;
pub mod ingest;
pub mod located;
pub mod model;
pub mod money;
pub mod peak;
pub mod phase;
pub mod plausible;
pub mod shard;
pub mod weather;
pub mod wording;
