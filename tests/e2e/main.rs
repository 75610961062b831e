//! The end-to-end tests: each runs the real `neighborly` binary on real
//! files (and real PostgreSQL, SMTP and Chromium programs on loopback) and
//! reads back what it left: PDF text, CSV manifests, the store, messages.
//!
//! One test binary rather than one per file: each binary links the whole
//! Typst stack, so one link instead of sixteen keeps the test build short.

mod common;

mod account;
mod alerts;
mod batch;
mod busy;
mod caltrack;
mod channels;
mod control;
mod deploy;
mod events;
mod exports;
mod faults;
mod kills;
mod measure;
mod money;
mod phases;
mod print;
mod private;
mod resume;
mod shards;
mod smartmeter;
mod store_postgres;
mod studio;
mod target;
mod templates;
mod weather;
