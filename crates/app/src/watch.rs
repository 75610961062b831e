//! `preview --watch`: re-render whenever a template, wording or config file
//! changes, so comms staff can keep the PDF open beside their editor.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};

/// Call `render` once, then again after every burst of changes under `paths`
/// (changes within 150 ms are one burst: editors write files in several steps).
/// Runs until the process is stopped.
pub fn watch(paths: &[PathBuf], mut render: impl FnMut()) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && (e.kind.is_modify() || e.kind.is_create() || e.kind.is_remove())
        {
            let _ = tx.send(());
        }
    })
    .context("cannot start the file watcher")?;
    for p in paths {
        watcher
            .watch(p, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {}", p.display()))?;
    }
    render();
    while rx.recv().is_ok() {
        while rx.recv_timeout(Duration::from_millis(150)).is_ok() {}
        render();
    }
    Ok(())
}
