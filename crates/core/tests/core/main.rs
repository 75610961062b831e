//! The core's tests on its public face, in one binary (one link instead of
//! one per file): input limits and properties on generated inputs.

mod limits;
mod properties;
