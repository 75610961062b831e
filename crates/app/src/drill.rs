//! Fault drills: `NEIGHBORLY_KILL_AT=STEP` makes a monthly run kill itself
//! with `SIGKILL` (what a power cut, the OOM killer or `kill -9` do) the
//! moment it reaches STEP. A campaign shares two of the steps (`marked`,
//! `unmarked`: its print files and its folder) and stops there too.
//!
//! A run's promise is that the same command, started again after a kill at
//! any moment, ends where an uninterrupted run ends: the same files, the
//! same decisions, every message once. Timing an outside `kill -9` to land
//! between two particular writes is a matter of luck; a drill lands there
//! every time, so each step's recovery can be seen on real files (FAULTS.md
//! lists the steps and what the restart does after each). Unset, a step
//! costs one read of a value looked up once.

use std::sync::OnceLock;

use anyhow::{Result, bail};

/// The moments of a run a drill can stop it at, in the order a run reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The plan is made; nothing is recorded or written.
    Planned,
    /// The decisions are recorded; no letter is laid out.
    Decided,
    /// The first print file is finished (its marker is on disk).
    Marked,
    /// Every print file is finished and every e-mail sent; the manifest is written.
    LaidOut,
    /// The store marks the letters mailed.
    Mailed,
    /// Every file of the run folder is written, `run.json` last.
    Written,
    /// The markers a resumed run needs are removed; the folder is not yet renamed.
    Unmarked,
    /// The folder is renamed into place; its texts are not yet recorded.
    Published,
    /// The texts are recorded as handed over; the run is not yet closed in the store.
    Recorded,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Planned,
        Step::Decided,
        Step::Marked,
        Step::LaidOut,
        Step::Mailed,
        Step::Written,
        Step::Unmarked,
        Step::Published,
        Step::Recorded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Planned => "planned",
            Step::Decided => "decided",
            Step::Marked => "marked",
            Step::LaidOut => "laid-out",
            Step::Mailed => "mailed",
            Step::Written => "written",
            Step::Unmarked => "unmarked",
            Step::Published => "published",
            Step::Recorded => "recorded",
        }
    }
}

const VARIABLE: &str = "NEIGHBORLY_KILL_AT";

/// The step named by `NEIGHBORLY_KILL_AT`, read once.
fn armed() -> &'static std::result::Result<Option<Step>, String> {
    static ARMED: OnceLock<std::result::Result<Option<Step>, String>> = OnceLock::new();
    ARMED.get_or_init(|| match std::env::var(VARIABLE) {
        Err(_) => Ok(None),
        Ok(name) => Step::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .map(Some)
            .ok_or(name),
    })
}

/// Refuse a drill naming no step: a misspelt one would never fire, and the
/// drill would seem to show that nothing happens.
pub fn check() -> Result<()> {
    if let Err(name) = armed() {
        let steps: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        bail!(
            "{VARIABLE}={name:?} names no step of a run; the steps are {}",
            steps.join(", ")
        );
    }
    Ok(())
}

/// The run has reached `step`: die here if the drill says so.
pub fn reach(step: Step) {
    if let Ok(Some(at)) = armed()
        && *at == step
    {
        tracing::warn!("{VARIABLE}={}: killing this run", step.name());
        // SAFETY: raise(3) sends a signal to this process; SIGKILL cannot
        // be caught, so nothing runs after it.
        unsafe {
            libc::raise(libc::SIGKILL);
        }
    }
}
