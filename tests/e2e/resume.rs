//! A run killed with SIGKILL part-way and started again with the same
//! arguments finishes the same run: the print files it had finished are kept,
//! and every output is byte for byte what an uninterrupted run writes.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const SMALL_FILES: &str = "\n[print]\npieces_per_file = 20\n";

/// Print files of 20 and a water tariff (whose first rate a test changes).
const WITH_TARIFF: &str = "\n[print]\npieces_per_file = 20\n\
    [tariff.water]\nunit = \"kgal\"\nfixed = 18.50\n\
    tiers = [{ up_to = 6, rate = 4.10 }, { rate = 5.60 }]\n";

#[test]
fn a_killed_run_resumes_and_writes_what_an_uninterrupted_run_writes() {
    let whole = Workspace::new(WITH_TARIFF);
    whole.synth(400, false);
    whole.run(&["--period", "2026-10"]);

    let ws = Workspace::new(WITH_TARIFF);
    ws.synth(400, false);
    let staging = ws.path("out/2026-10.partial");
    let kept = kill_after_three_print_files(&ws, &staging);
    let finished = finished_files(&staging);
    assert!(
        !ws.path("out/2026-10").exists(),
        "an interrupted run published its folder"
    );

    check_changed_inputs_are_refused(&ws, &staging, kept);
    let config = ws.config();
    let settings = std::fs::read_to_string(&config).unwrap();
    check_changed_settings_are_refused(&ws, &staging, kept, &settings);
    check_changed_rate_and_templates_are_refused(&ws, &staging, kept, &settings);
    std::fs::write(&config, &settings).unwrap();

    let out = ws.run(&["--period", "2026-10"]);
    assert!(
        out.contains(&format!(
            "resumed an interrupted run: {kept} print file(s) were already finished and kept"
        )),
        "{out}"
    );
    check_finished_files_were_kept(&ws, &finished);
    check_the_same_files(&whole, &ws, kept);
}

/// Start a run and SIGKILL it once three print files are finished;
/// returns how many were finished by then.
fn kill_after_three_print_files(ws: &Workspace, staging: &std::path::Path) -> usize {
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while finished_print_files(staging) < 3 {
        assert!(Instant::now() < deadline, "no print file finished in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    finished_print_files(staging)
}

/// The files of the finished print files, as the killed run left them,
/// with when each was written.
fn finished_files(staging: &std::path::Path) -> BTreeMap<String, std::time::SystemTime> {
    let mut finished: BTreeMap<String, std::time::SystemTime> = BTreeMap::new();
    for e in std::fs::read_dir(staging.join("print")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".done.json") else {
            continue;
        };
        let outcomes: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        let mut names = vec![format!("print/{stem}.pdf")];
        names.extend(
            outcomes
                .iter()
                .filter_map(|o| o["Ok"]["pdf"].as_str().map(String::from)),
        );
        for n in names {
            let modified = std::fs::metadata(staging.join(&n))
                .unwrap()
                .modified()
                .unwrap();
            finished.insert(n, modified);
        }
    }
    finished
}

/// Changed inputs: refused, with how to start over; nothing touched.
fn check_changed_inputs_are_refused(ws: &Workspace, staging: &std::path::Path, kept: usize) {
    let usage = ws.path("data/usage.csv");
    let original = std::fs::read(&usage).unwrap();
    let mut changed = original.clone();
    changed.extend_from_slice(b"\n");
    std::fs::write(&usage, &changed).unwrap();
    let err = ws.run_failing("2026-10");
    assert!(
        err.contains("holds an interrupted run of other inputs"),
        "{err}"
    );
    assert!(err.contains("rm -r"), "{err}");
    assert_eq!(finished_print_files(staging), kept);
    std::fs::write(&usage, &original).unwrap();
}

/// Changed settings that change letters (a barcode under every address,
/// an explicit date) are refused the same way: every setting counts.
fn check_changed_settings_are_refused(
    ws: &Workspace,
    staging: &std::path::Path,
    kept: usize,
    settings: &str,
) {
    let config = ws.config();
    for change in [
        format!("{settings}\n[print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n"),
        settings.replace("date = \"2026-11-05\"", "date = \"2026-11-06\""),
    ] {
        assert_ne!(change, settings);
        std::fs::write(&config, &change).unwrap();
        let err = ws.run_failing("2026-10");
        assert!(
            err.contains("holds an interrupted run of other inputs"),
            "{err}"
        );
        assert_eq!(finished_print_files(staging), kept);
    }
}

/// A tariff's rate, and the templates: a sentence of the wording, a
/// line of the layout (in a copy the config is pointed at).
fn check_changed_rate_and_templates_are_refused(
    ws: &Workspace,
    staging: &std::path::Path,
    kept: usize,
    settings: &str,
) {
    let config = ws.config();
    let own = ws.path("templates");
    copy_dir(&repo().join("report-templates"), &own);
    let at_own = settings.replace(
        &repo().join("report-templates").display().to_string(),
        own.to_str().unwrap(),
    );
    let edits: [(&str, &str, &str); 2] = [
        ("wording/en.toml", "\n", "\n# edited\n"),
        ("layout.typ", "\n", "\n// edited\n"),
    ];
    for (i, change) in [settings.replace("rate = 4.10", "rate = 4.15")]
        .into_iter()
        .chain(edits.iter().map(|_| at_own.clone()))
        .enumerate()
    {
        if i >= 1 {
            let (file, from, to) = edits[i - 1];
            let path = own.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        }
        std::fs::write(&config, &change).unwrap();
        let err = ws.run_failing("2026-10");
        assert!(
            err.contains("holds an interrupted run of other inputs") && err.contains("rm -r"),
            "change {i}: {err}"
        );
        assert_eq!(finished_print_files(staging), kept);
    }
}

/// Those files were kept, not written again; every other report was.
fn check_finished_files_were_kept(
    ws: &Workspace,
    finished: &BTreeMap<String, std::time::SystemTime>,
) {
    let done = ws.path("out/2026-10");
    for (name, modified) in finished {
        let now = std::fs::metadata(done.join(name))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(&now, modified, "{name} was written again");
    }
    let reports = std::fs::read_dir(done.join("reports")).unwrap().count();
    let kept_reports = finished
        .keys()
        .filter(|n| n.starts_with("reports/"))
        .count();
    assert!(
        kept_reports > 0 && kept_reports < reports,
        "{kept_reports} of {reports}"
    );
    eprintln!(
        "resumed: {kept_reports} of {reports} reports kept, {} laid out again",
        reports - kept_reports
    );
}

/// Every output is byte for byte what the uninterrupted run wrote.
fn check_the_same_files(whole: &Workspace, ws: &Workspace, kept: usize) {
    let a = files(&whole.path("out/2026-10"));
    let b = files(&ws.path("out/2026-10"));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &a {
        assert!(&b[name] == bytes, "{name} differs after the resume");
    }
    assert!(a.keys().filter(|k| k.starts_with("print/")).count() > kept);
}

/// A household that opts out between a kill and the restart gets no letter:
/// its PDF from the killed run is gone, no print file holds it, and the run
/// counts only the print files it really kept.
#[test]
fn an_opt_out_between_a_kill_and_the_restart_leaves_no_letter_behind() {
    let ws = Workspace::new(SMALL_FILES);
    ws.synth(600, false);
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = ws.path("out/2026-10.partial");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Two files are laid out at once and may finish in either order.
    let finished = |n: u32| {
        staging
            .join(format!("print/print-{n:03}.done.json"))
            .exists()
    };
    while !(finished(1) && finished(2)) {
        assert!(Instant::now() < deadline, "no print file finished in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A household of the second print file asks to stop.
    let outcomes: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(staging.join("print/print-002.done.json")).unwrap())
            .unwrap();
    let account = outcomes
        .iter()
        .find_map(|o| o["Ok"]["print"]["account_id"].as_str())
        .unwrap()
        .to_string();
    let pdf = format!("reports/{account}.pdf");
    assert!(staging.join(&pdf).exists());
    ok(ws.neighborly(&[
        "opt-out",
        &account,
        "--config",
        config.to_str().unwrap(),
        "--reason",
        "asked on the phone",
    ]));

    let out = ws.run(&["--period", "2026-10"]);
    // print-001 is as it was; every later file shifts by one piece.
    assert!(
        out.contains("resumed an interrupted run: 1 print file(s) were already finished and kept"),
        "{out}"
    );
    let done = ws.path("out/2026-10");
    assert!(
        !done.join(&pdf).exists(),
        "{pdf} left in the delivered folder"
    );
    let exceptions = read_csv(&done.join("exceptions.csv"));
    assert!(
        exceptions
            .iter()
            .any(|e| e["account_id"] == account && e["reason"] == "opted-out")
    );
    let manifest = read_csv(&done.join("manifest.csv"));
    assert!(manifest.iter().all(|r| r["account_id"] != account));
    assert!(
        read_csv(&done.join("print-manifest.csv"))
            .iter()
            .all(|r| r["account_id"] != account)
    );
    // Every PDF delivered is a letter of the manifest, and every letter has its PDF.
    let listed: std::collections::BTreeSet<String> =
        manifest.iter().map(|r| r["pdf"].clone()).collect();
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(done.join("reports"))
        .unwrap()
        .flatten()
        .map(|e| format!("reports/{}", e.file_name().to_string_lossy()))
        .collect();
    assert_eq!(listed, on_disk);
}
