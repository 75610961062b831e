//! The core's tests on its public face, in one binary (one link instead of
//! one per file): input limits, properties on generated inputs, and cohort
//! formation against a plain reference.

mod cohorts;
mod limits;
mod properties;
