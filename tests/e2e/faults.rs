//! Write failures are run failures: a file that cannot be written (here a
//! file-size limit, `RLIMIT_FSIZE`, as a full disk would) stops the run with
//! the path named; no household is blamed, no `*.tmp` is left, and the same
//! command run again once the fault is gone writes what a clean run writes.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::common::*;

/// A file-size limit every single PDF, CSV and the store of `clean`'s run
/// stay under, and every print file is over.
fn limit_between(clean: &Workspace, reference: &BTreeMap<String, Vec<u8>>) -> u64 {
    let sizes = |print: bool| {
        reference
            .iter()
            .filter(move |(n, _)| n.starts_with("print/") == print)
            .map(|(_, b)| b.len() as u64)
    };
    let store = std::fs::metadata(clean.path("state.sqlite")).unwrap().len();
    let small = sizes(false).max().unwrap().max(store);
    let print = sizes(true).min().unwrap();
    assert!(
        small * 2 < print,
        "no limit tells them apart: {small} vs {print}"
    );
    (small + print) / 2
}

/// The command `run --period 2026-10` in `ws`, not yet started.
fn run_october(ws: &Workspace) -> Command {
    let config = ws.config();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(ws.dir.path()).args([
        "run",
        "--config",
        config.to_str().unwrap(),
        "--period",
        "2026-10",
    ]);
    cmd
}

/// `run --period 2026-10` under a file-size limit (`RLIMIT_FSIZE`).
fn run_limited(ws: &Workspace, limit: u64) -> std::process::Output {
    let mut cmd = run_october(ws);
    // SAFETY: between fork and exec only async-signal-safe calls are made.
    unsafe {
        cmd.pre_exec(move || {
            // Ignored, SIGXFSZ becomes EFBIG from write(2), as ENOSPC would.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rl = libc::rlimit {
                rlim_cur: limit,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// A clean run of 300 synthetic households' October, and its files.
fn clean_run() -> (Workspace, BTreeMap<String, Vec<u8>>) {
    let clean = Workspace::new("");
    clean.synth(300, false);
    clean.run(&["--period", "2026-10"]);
    let files = files(&clean.path("out/2026-10"));
    (clean, files)
}

/// `after` holds exactly `reference`'s files, byte for byte.
fn assert_same_files(after: &BTreeMap<String, Vec<u8>>, reference: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in reference {
        assert!(after[name] == *bytes, "{name} differs from a clean run's");
    }
}

#[test]
fn a_file_that_cannot_be_written_stops_the_run_and_the_restart_matches_a_clean_run() {
    let (clean, reference) = clean_run();
    let limit = limit_between(&clean, &reference);

    let ws = Workspace::new("");
    ws.synth(300, false);
    let out = run_limited(&ws, limit);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failed write must fail the run");
    assert!(
        err.contains("cannot write") && err.contains("print/print-0"),
        "the message names the file: {err}"
    );
    assert!(
        !ws.path("out/2026-10").exists(),
        "an unfinished run was delivered"
    );
    let staging = ws.path("out/2026-10.partial");
    let left = files(&staging);
    assert!(
        !left.keys().any(|k| k.ends_with(".tmp")),
        "temporary files left: {:?}",
        left.keys()
            .filter(|k| k.ends_with(".tmp"))
            .collect::<Vec<_>>()
    );
    assert!(
        !left.contains_key("exceptions.csv") && !left.contains_key("manifest.csv"),
        "no household was blamed for the disk"
    );

    // The fault is gone: the same command finishes the same run.
    ws.run(&["--period", "2026-10"]);
    assert_same_files(&files(&ws.path("out/2026-10")), &reference);
    assert_eq!(ws.decisions(), clean.decisions());
}

#[test]
fn decisions_of_a_run_that_failed_are_made_again_from_corrected_inputs() {
    let (clean, reference) = clean_run();
    let limit = limit_between(&clean, &reference);
    let ws = Workspace::new("");
    ws.synth(300, false);
    let usage_path = ws.path("data/usage.csv");
    let good = std::fs::read_to_string(&usage_path).unwrap();
    // A mailed household's October read keyed in ten times too low.
    let mailed = read_csv(&clean.path("out/2026-10/manifest.csv"))[0]["account_id"].clone();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let row = lines
        .iter()
        .position(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[0] == mailed && f[2].starts_with("2026-10")
        })
        .unwrap();
    let mut fields: Vec<String> = lines[row].split(',').map(String::from).collect();
    let quantity: f64 = fields[3].parse().unwrap();
    fields[3] = format!("{:.2}", quantity / 10.0);
    lines[row] = fields.join(",");
    std::fs::write(&usage_path, lines.join("\n") + "\n").unwrap();

    // The run decides from the bad read, then fails writing a print file.
    let out = run_limited(&ws, limit);
    assert!(!out.status.success());
    assert_ne!(
        ws.decisions(),
        clean.decisions(),
        "the bad read changed nothing"
    );

    // The read corrected: the unfinished folder is of other inputs, so the
    // run is refused until it is removed, then decides again.
    std::fs::write(&usage_path, &good).unwrap();
    let err = ws.run_failing("2026-10");
    assert!(err.contains("rm -r"), "{err}");
    std::fs::remove_dir_all(ws.path("out/2026-10.partial")).unwrap();
    ws.run(&["--period", "2026-10"]);
    assert_same_files(&files(&ws.path("out/2026-10")), &reference);
    assert_eq!(ws.decisions(), clean.decisions());
}

/// A pipe as an input (`--usage <(zcat usage.csv.gz)`) would be read empty
/// the second time, for the fingerprint, or block: it is refused at once,
/// naming the file, before anything is read or recorded.
#[test]
fn a_pipe_as_an_input_file_is_refused_at_once_naming_it() {
    let ws = Workspace::new("");
    ws.synth(60, false);
    let fifo = ws.path("data/usage-pipe.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let config = ws.config();
    let mut child = Command::new(BIN)
        .current_dir(ws.dir.path())
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--period",
            "2026-10",
        ])
        .args(["--usage", fifo.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the run waited on the pipe");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("{} is not a regular file", fifo.display())),
        "{err}"
    );
    assert!(ws.decisions().is_empty(), "decisions were recorded");
    assert!(!ws.path("out/2026-10").exists());
}

/// The control group's newcomers are drawn for good only with the letters
/// they shaped: a run that fails writing its files leaves nobody assigned,
/// and the next run draws exactly what a clean run draws.
#[test]
fn a_failed_run_assigns_nobody_to_the_control_group() {
    const CONTROL: &str = "[control]\nshare = 0.2\nsalt = \"fault-salt\"\n";
    let assigned = |ws: &Workspace| -> std::collections::BTreeMap<String, String> {
        let store = neighborly::store::Store::open_file(
            &ws.path("state.sqlite"),
            neighborly::store::Store::DEFAULT_WAIT,
        )
        .unwrap();
        store
            .assignments("reports")
            .unwrap()
            .into_iter()
            .map(|(a, x)| (a, format!("{} {}", x.group.code(), x.stratum)))
            .collect()
    };
    let clean = Workspace::new(CONTROL);
    clean.synth(300, false);
    clean.run(&["--period", "2026-10"]);
    let want = assigned(&clean);
    assert!(want.values().any(|g| g.starts_with("control")));

    let ws = Workspace::new(CONTROL);
    ws.synth(300, false);
    // Room for the store and a few PDFs, not for a print file.
    let out = run_limited(&ws, 200_000);
    assert!(!out.status.success(), "the run did not fail");
    assert!(assigned(&ws).is_empty(), "a failed run assigned households");
    ws.run(&["--period", "2026-10"]);
    assert_eq!(assigned(&ws), want);
}

/// A state file that is not a database (a copy gone wrong, another
/// program's file) stops the command with the file named.
#[test]
fn a_state_file_that_is_not_a_database_is_named() {
    let ws = Workspace::new("");
    ws.synth(60, false);
    std::fs::write(
        ws.path("state.sqlite"),
        b"not a database, just text\n".repeat(200),
    )
    .unwrap();
    let err = ws.run_failing("2026-10");
    let state = ws.path("state.sqlite");
    assert!(
        err.contains(&format!("state database {}", state.display())),
        "{err}"
    );
    assert!(!ws.path("out/2026-10").exists());
}

/// Print files of 20, so that a run of 600 households writes 30 of them
/// and a fault can land between two.
const SMALL_FILES: &str = "\n[print]\npieces_per_file = 20\n";

/// `run --period 2026-10` without the capabilities that let root write
/// where permissions forbid it (`CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`,
/// `CAP_FOWNER`), so a read-only folder refuses it as it would refuse an
/// operator's account.
fn spawn_unprivileged(ws: &Workspace) -> std::process::Child {
    let mut cmd = run_october(ws);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: between fork and exec only prctl(2) is called.
    unsafe {
        cmd.pre_exec(|| {
            // capability.h: DAC_OVERRIDE 1, DAC_READ_SEARCH 2, FOWNER 3.
            // Without root there is nothing to drop (EPERM is fine).
            for cap in [1, 2, 3] {
                libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
            }
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

/// Start a run of `ws`, do `fault` to its staging folder once two print
/// files are finished, and return the run's exit and its error output.
fn fault_mid_run(ws: &Workspace, fault: impl FnOnce(&std::path::Path)) -> (bool, String) {
    let staging = ws.path("out/2026-10.partial");
    let mut child = spawn_unprivileged(ws);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while finished_print_files(&staging) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no print file finished"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the fault"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    fault(&staging);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// After a fault that failed a run: nothing was published, no household
/// was blamed, and the same command, once the fault is gone, writes what a
/// clean run writes and records what it records.
fn assert_failed_then_recovers(
    ws: &Workspace,
    clean: &Workspace,
    reference: &BTreeMap<String, Vec<u8>>,
) {
    assert!(!ws.path("out/2026-10").exists(), "a failed run published");
    let staging = ws.path("out/2026-10.partial");
    if staging.exists() {
        let left = files(&staging);
        assert!(
            !left.contains_key("manifest.csv") && !left.contains_key("exceptions.csv"),
            "households were blamed for the folder"
        );
    }
    ws.run(&["--period", "2026-10"]);
    let after = files(&ws.path("out/2026-10"));
    assert!(!after.keys().any(|k| k.ends_with(".tmp")));
    assert_same_files(&after, reference);
    assert_eq!(ws.decisions(), clean.decisions());
}

#[test]
fn a_folder_made_read_only_or_removed_mid_run_stops_it_and_the_restart_matches_a_clean_run() {
    let clean = Workspace::new(SMALL_FILES);
    clean.synth(300, false);
    clean.run(&["--period", "2026-10"]);
    let reference = files(&clean.path("out/2026-10"));

    // The print and reports folders turn read-only (a mount remounted
    // read-only, permissions changed by someone else).
    let ws = Workspace::new(SMALL_FILES);
    ws.synth(300, false);
    let modes = std::cell::RefCell::new(Vec::new());
    let (ok, err) = fault_mid_run(&ws, |staging| {
        use std::os::unix::fs::PermissionsExt;
        for d in ["print", "reports"] {
            let dir = staging.join(d);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            modes.borrow_mut().push((dir, mode));
        }
    });
    assert!(!ok, "a run that could not write succeeded");
    assert!(
        err.contains("cannot write")
            && err.contains("2026-10.partial/")
            && err.contains("Permission denied"),
        "the message names the file and why: {err}"
    );
    for (dir, mode) in modes.into_inner() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    assert_failed_then_recovers(&ws, &clean, &reference);

    // The staging folder removed under the run (a clean-up script, a
    // mistaken rm -r).
    let ws = Workspace::new(SMALL_FILES);
    ws.synth(300, false);
    let (ok, err) = fault_mid_run(&ws, |staging| {
        // The run may add a file between the listing and the last rmdir.
        while staging.exists() {
            let _ = std::fs::remove_dir_all(staging);
        }
    });
    assert!(!ok, "a run whose folder vanished succeeded");
    assert!(
        err.contains("2026-10.partial/") && err.contains("No such file or directory"),
        "the message names the file and why: {err}"
    );
    assert_failed_then_recovers(&ws, &clean, &reference);
}

/// A store whose file was damaged (a disk error, a copy cut short) stops
/// the command naming the file and what SQLite found.
#[test]
fn a_damaged_state_file_is_named() {
    let ws = Workspace::new("");
    ws.synth(60, false);
    ws.run(&["--period", "2026-09"]);
    let state = ws.path("state.sqlite");
    let mut bytes = std::fs::read(&state).unwrap();
    assert!(bytes.len() > 3 * 4096, "{} bytes", bytes.len());
    // Pages 3 and after: tables and indexes, not the header.
    for b in &mut bytes[2 * 4096..] {
        *b = 0xff;
    }
    std::fs::write(&state, &bytes).unwrap();
    let err = ws.run_failing("2026-10");
    assert!(
        err.contains(&format!("state database {}", state.display())) && err.contains("malformed"),
        "{err}"
    );
    assert!(!ws.path("out/2026-10").exists());
}
