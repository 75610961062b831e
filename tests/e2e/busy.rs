//! A state database another process holds: the command waits the configured
//! time, then stops with a message naming the file, and nothing is written.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn a_store_held_by_another_process_is_refused_after_the_wait_naming_the_file() {
    let ws = Workspace::new("");
    ws.synth(40, false);
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let config = config.replace(
        "path = \"state.sqlite\"",
        "path = \"state.sqlite\"\nwait_seconds = 2",
    );
    std::fs::write(ws.config(), config).unwrap();
    // A first run creates the file, so the holder locks a real store.
    ws.run(&["--period", "2026-09"]);
    let before = std::fs::read(ws.path("state.sqlite")).unwrap();

    // Python's sqlite3 is a separate program and a separate SQLite library:
    // its exclusive transaction is what an analyst's open session would be.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\n\
             c=sqlite3.connect(sys.argv[1],isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('held',flush=True)\n\
             sys.stdin.read()\n\
             c.execute('ROLLBACK')\n",
            ws.path("state.sqlite").to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");

    let started = Instant::now();
    let out = ws.neighborly(&[
        "run",
        "--config",
        ws.config().to_str().unwrap(),
        "--period",
        "2026-10",
    ]);
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a held store must stop the run");
    assert!(
        stderr.contains("state.sqlite") && stderr.contains("busy"),
        "the message names the file: {stderr}"
    );
    assert!(stderr.contains("wait_seconds"), "{stderr}");
    // The wait is the configured 2 s (the run's own start-up around it),
    // not 30 s times a hundred attempts.
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(20),
        "waited {waited:?}"
    );
    assert!(!ws.path("out/2026-10").exists() && !ws.path("out/2026-10.partial").exists());

    holder.stdin.take().unwrap().write_all(b"done").unwrap();
    assert!(holder.wait().unwrap().success());
    assert_eq!(std::fs::read(ws.path("state.sqlite")).unwrap(), before);
    // Once the holder is gone, the same command runs.
    ws.run(&["--period", "2026-10"]);
}
