//! The PDF checkers the tests call: qpdf (through pikepdf) and the `page`
//! PDF/UA-1 and PDF/A validator, both from PyPI. They are installed by the
//! tests themselves into a virtual environment under cargo's target folder
//! (pinned in `tests/tools/requirements.txt`), so `cargo test` needs nothing
//! but `python3` on the machine, and later runs reuse the environment.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::repo;

fn requirements() -> PathBuf {
    repo().join("tests/tools/requirements.txt")
}

/// The environment's python, installing it on first use. A file lock keeps
/// test processes running side by side from installing it twice.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pdf-tools");
        std::fs::create_dir_all(&root).unwrap();
        let lock = File::create(root.join(".lock")).unwrap();
        lock.lock().unwrap();
        let venv = root.join("venv");
        let python = venv.join("bin/python");
        let wanted = std::fs::read_to_string(requirements()).unwrap();
        let stamp = venv.join("installed-requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            let _ = std::fs::remove_dir_all(&venv);
            let status = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed to install the PDF checkers");
            assert!(status.success(), "python3 -m venv failed");
            let status = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    // Python compiles what the checkers import when they
                    // first run; compiling every module at install took
                    // a sixth of it.
                    "--no-compile",
                    "--disable-pip-version-check",
                ])
                .arg("-r")
                .arg(requirements())
                .status()
                .unwrap();
            assert!(status.success(), "pip install of the PDF checkers failed");
            std::fs::write(&stamp, wanted).unwrap();
        }
        python
    })
}

/// Run `tests/tools/pdf_check.py` (qpdf structure, embedded fonts, PDF/UA-1,
/// PDF/A-2a) over `files`; panics with every problem found.
pub fn check_pdfs(files: &[PathBuf]) {
    assert!(!files.is_empty(), "no PDFs to check");
    let out = Command::new(python())
        .arg(repo().join("tests/tools/pdf_check.py"))
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let checked = stdout.lines().filter(|l| l.starts_with('{')).count();
    assert!(
        out.status.success() && checked == files.len(),
        "PDF checks failed ({checked} of {} files reported):\n{}\n{}",
        files.len(),
        stdout
            .lines()
            .filter(|l| !l.contains("\"problems\": []"))
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}
