//! The CalTRACK reference implementation (`eemeter`, pinned from PyPI) in a
//! venv that `tests/reference/caltrack/setup.sh` makes once:
//! `NEIGHBORLY_CALTRACK_VENV`, else `~/.cache/neighborly/caltrack-venv`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::repo;

/// The reference venv's python, made on first use (a second call, or a
/// later test run, returns at once).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = std::env::var_os("NEIGHBORLY_CALTRACK_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").unwrap())
                    .join(".cache/neighborly/caltrack-venv")
            });
        let setup = repo().join("tests/reference/caltrack/setup.sh");
        let o = Command::new("bash")
            .arg(&setup)
            .arg(&venv)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "setup.sh: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        venv.join("bin/python")
    })
}
