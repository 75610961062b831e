//! The command line's library: the application crate (`neighborly-app`)
//! under the program's own name, which the binary and the end-to-end tests
//! both use. See ARCHITECTURE.md for the crates and what each owns.

pub use neighborly_app::*;
