//! Shared helpers for the end-to-end tests: a scratch workspace with its own
//! config, data, store and output, and readers for what a run leaves behind.
#![allow(dead_code)]

pub mod glyphs;
pub mod pdf_tools;
pub mod postgres;
pub mod reference;
pub mod smtp;
pub mod windows;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_neighborly");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Start installing the Python tools some tests call (the PDF checkers and
/// the CalTRACK reference), each on a thread of its own. On a fresh machine
/// they take 17 s and 25 s; begun by the first workspace, the installs run
/// beside the tests that need neither, instead of holding up the first test
/// that needs one. A test that needs a tool still asks for it and waits; if
/// an install failed, it is tried again there and the test reports why.
fn start_tool_installs() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        std::thread::spawn(|| std::panic::catch_unwind(pdf_tools::python).is_ok());
        std::thread::spawn(|| std::panic::catch_unwind(reference::python).is_ok());
    });
}

/// A temporary workspace: `data/`, `state.sqlite`, `out/`, `config.toml`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(extra_config: &str) -> Workspace {
        start_tool_installs();
        let dir = tempfile::tempdir().unwrap();
        let templates = repo().join("report-templates");
        let config = format!(
            r#"[utility]
name = "Maple Valley Water"
return_address = ["PO Box 1200", "Maple Valley, CA 95616"]
phone = "(530) 555-0142"
website = "maplevalleywater.example/save"

[input]
customers = "data/customers.csv"
usage = "data/usage.csv"

[output]
dir = "out/{{period}}"

[render]
templates = "{}"
date = "2026-11-05"

[store]
path = "state.sqlite"

[assistance]
phone = "(530) 555-0199"
website = "maplevalleywater.example/help"
{extra_config}
"#,
            templates.display()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        Workspace { dir }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn config(&self) -> PathBuf {
        self.path("config.toml")
    }

    pub fn synth(&self, households: usize, broken: bool) {
        let mut args = vec!["synth", "--out"];
        let out = self.path("data");
        let out = out.to_str().unwrap().to_string();
        args.push(&out);
        let n = households.to_string();
        args.extend(["--households", &n]);
        if !broken {
            args.push("--clean");
        }
        let o = Command::new(BIN).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    pub fn neighborly(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// Run a period and insist it succeeded.
    pub fn run(&self, extra: &[&str]) -> String {
        let config = self.config();
        let mut args = vec!["run", "--config", config.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = self.neighborly(&args);
        assert!(
            o.status.success(),
            "run failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Workspace {
    /// The decisions in the workspace's store, without the runs that made
    /// them ([`decisions`]); none when no store file was created.
    pub fn decisions(&self) -> Vec<String> {
        let state = self.path("state.sqlite");
        if !state.exists() {
            return Vec::new();
        }
        let store =
            neighborly::store::Store::open_file(&state, neighborly::store::Store::DEFAULT_WAIT)
                .unwrap();
        decisions(&store)
    }

    /// A workspace whose config points at its own copy of the templates
    /// (`templates/`), for tests that edit them.
    pub fn with_own_templates() -> Workspace {
        let ws = Workspace::new("");
        copy_dir(&repo().join("report-templates"), &ws.path("templates"));
        let config = std::fs::read_to_string(ws.config()).unwrap();
        let config = config.replace(
            &repo().join("report-templates").display().to_string(),
            "templates",
        );
        std::fs::write(ws.config(), config).unwrap();
        ws
    }

    /// Render the sign-off proof (every variant) to `proof.pdf`; returns its path.
    pub fn proof(&self) -> PathBuf {
        let out = self.path("proof.pdf");
        let config = self.config();
        let o = self.neighborly(&[
            "proof",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    }

    /// Run a period that must fail; returns what it printed on stderr.
    pub fn run_failing(&self, period: &str) -> String {
        let config = self.config();
        let o = self.neighborly(&[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--period",
            period,
        ]);
        assert!(!o.status.success(), "run unexpectedly succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

/// A command's standard output, insisting it succeeded.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The text of a PDF, extracted from the file on disk.
pub fn pdf_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Normalize whitespace so phrases split across lines still match.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn page_count(path: &Path) -> usize {
    lopdf::Document::load(path).unwrap().get_pages().len()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Print files a run being written has finished (`print/*.done.json` in its
/// `.partial` folder): a killed run resumes from them.
pub fn finished_print_files(staging: &Path) -> usize {
    std::fs::read_dir(staging.join("print"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".done.json"))
                .count()
        })
        .unwrap_or(0)
}

/// Every file under `dir` (relative path -> bytes), `run.json` aside: it
/// holds the run's own timings.
pub fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                if rel != "run.json" {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    out
}

/// Decisions as recorded, without the run that recorded them (a failed run
/// and its restart are two runs; a single run and its shards are several).
pub fn decisions(store: &neighborly::store::Store) -> Vec<String> {
    store
        .dump_decisions()
        .unwrap()
        .into_iter()
        .map(|d| {
            let mut f: Vec<&str> = d.split('|').collect();
            f.remove(2);
            f.join("|")
        })
        .collect()
}

/// A parsed message's first recipient address.
pub fn recipient(m: &mail_parser::Message) -> String {
    m.to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_string()
}
