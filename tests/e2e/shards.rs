//! A period run in shards (`run --shard K/N`, or `--shards N` with
//! Kubernetes' `JOB_COMPLETION_INDEX`) and merged equals the same period run
//! whole: the same reports byte for byte, the same manifest rows, the same
//! exceptions, cohorts, forecast and decisions. With SQLite the shards run
//! one after another; with a real PostgreSQL server they run at once and one
//! of them is killed and started again.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::postgres::Postgres;
use crate::common::*;
use neighborly::shard::Shard;
use neighborly::store::Store;
use neighborly::store::StoreLocation;

const SMALL_FILES: &str = "\n[print]\npieces_per_file = 20\n";
const CONFIG: &str = "\n[print]\npieces_per_file = 20\n\n[print.imb]\nservice_type = \"300\"\nmailer_id = \"123456\"\n";

fn run_args(config: &str, state: &str, out: &str) -> Vec<String> {
    [
        "run", "--config", config, "--period", "2026-10", "--state", state, "--out", out,
    ]
    .map(String::from)
    .to_vec()
}

fn merge(ws: &Workspace, parts: &Path, n: u32) -> String {
    let config = ws.config();
    let mut args = vec![
        "merge".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--period".into(),
        "2026-10".into(),
        "--out".into(),
        parts.display().to_string(),
    ];
    for k in 0..n {
        args.push(parts.join(format!("shard-{k}")).display().to_string());
    }
    ok(ws.neighborly(&args.iter().map(String::as_str).collect::<Vec<_>>()))
}

/// A merge that must fail; what it said on stderr.
fn merge_failing(ws: &Workspace, out: &Path, dirs: &[std::path::PathBuf]) -> String {
    let o = std::process::Command::new(BIN)
        .args(["merge", "--config"])
        .arg(ws.config())
        .args(["--period", "2026-10", "--out"])
        .arg(out)
        .args(dirs)
        .output()
        .unwrap();
    assert!(!o.status.success(), "the merge succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The manifest's rows without the columns that say where a file sits
/// (`sequence`, `pdf`), sorted: what was decided for each household.
fn decided(manifest: &Path) -> Vec<Vec<(String, String)>> {
    let mut rows: Vec<Vec<(String, String)>> = read_csv(manifest)
        .into_iter()
        .map(|r| {
            let mut v: Vec<(String, String)> = r
                .into_iter()
                .filter(|(k, _)| k != "sequence" && k != "pdf")
                .collect();
            v.sort();
            v
        })
        .collect();
    rows.sort();
    rows
}

/// Everything a single run of the period wrote equals what the merge of
/// the shards wrote.
fn assert_union_equals_single(single: &Path, parts: &Path, n: u32, barcodes: bool) {
    for f in ["exceptions.csv", "cohorts.csv", "leaks.csv", "forecast.csv"] {
        assert_eq!(
            std::fs::read_to_string(single.join(f)).unwrap(),
            std::fs::read_to_string(parts.join(f)).unwrap(),
            "{f} differs"
        );
    }
    let one = decided(&single.join("manifest.csv"));
    assert!(one.len() > 100, "{} letters", one.len());
    assert_eq!(one, decided(&parts.join("manifest.csv")));

    // Every report is the same file, found through the merged manifest;
    // with barcodes, whose serials come from each shard's own range, the
    // same text.
    let merged = read_csv(&parts.join("manifest.csv"));
    for (i, r) in merged.iter().enumerate() {
        let name = Path::new(&r["pdf"]).file_name().unwrap();
        let (a, b) = (single.join("reports").join(name), parts.join(&r["pdf"]));
        if barcodes {
            if i % 5 == 0 {
                assert_eq!(pdf_text(&a), pdf_text(&b), "{} differs", r["pdf"]);
            }
        } else {
            let same = std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap();
            assert!(same, "{} differs from the single run's", r["pdf"]);
        }
    }
    // Each shard has a part, and no household is in two.
    let mut per_shard = vec![0; n as usize];
    for r in &merged {
        let k: usize = r["pdf"]
            .strip_prefix("shard-")
            .and_then(|s| s.split('/').next())
            .unwrap()
            .parse()
            .unwrap();
        per_shard[k] += 1;
    }
    assert!(per_shard.iter().all(|&c| c > 0), "{per_shard:?}");
    let accounts: BTreeSet<&str> = merged.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(accounts.len(), merged.len());

    // Print: the same pieces, each barcode serial used once across shards,
    // and every listed print file exists with the pages it claims.
    let print = read_csv(&parts.join("print-manifest.csv"));
    let single_print = read_csv(&single.join("print-manifest.csv"));
    let pieces = |rows: &[std::collections::HashMap<String, String>]| -> BTreeSet<String> {
        rows.iter().map(|r| r["account_id"].clone()).collect()
    };
    assert_eq!(pieces(&print), pieces(&single_print));
    if barcodes {
        let serials: BTreeSet<&str> = print.iter().map(|r| r["imb_serial"].as_str()).collect();
        assert_eq!(serials.len(), print.len(), "an IMb serial repeats");
    }
    let files = read_csv(&parts.join("print-files.csv"));
    let listed: usize = files
        .iter()
        .map(|f| f["pieces"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(listed, print.len());
    for f in &files {
        assert_eq!(
            page_count(&parts.join(&f["file"])),
            f["pages"].parse::<usize>().unwrap()
        );
    }

    let one: serde_json::Value =
        serde_json::from_slice(&std::fs::read(single.join("run.json")).unwrap()).unwrap();
    let all: serde_json::Value =
        serde_json::from_slice(&std::fs::read(parts.join("run.json")).unwrap()).unwrap();
    for key in [
        "households_in",
        "reports",
        "exceptions",
        "exceptions_by_reason",
        "by_phase",
        "by_rating",
        "forecast",
    ] {
        assert_eq!(one[key], all[key], "run.json {key}");
    }
    // The brief lists the same households (the table rows, in any order).
    let rows = |p: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(p.join("agent-brief.md"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    };
    assert_eq!(rows(single), rows(parts));
}

/// The period run whole, with its own store: what the shards must equal.
fn single_run(ws: &Workspace) -> std::path::PathBuf {
    let single = ws.path("single");
    ws.run(&[
        "--period",
        "2026-10",
        "--state",
        ws.path("single.sqlite").to_str().unwrap(),
        "--out",
        single.to_str().unwrap(),
    ]);
    single
}

#[test]
fn shards_run_one_after_another_on_sqlite_merge_into_the_single_run() {
    let ws = Workspace::new(CONFIG);
    ws.synth(300, true);
    let config = ws.config().display().to_string();
    let single = single_run(&ws);

    let parts = ws.path("parts");
    let state = ws.path("shards.sqlite").display().to_string();
    let out = parts.display().to_string();
    // A merge before every shard ran names the missing ones.
    for k in 0..3 {
        let mut args = run_args(&config, &state, &out);
        args.extend(["--shard".into(), format!("{k}/3")]);
        ok(ws.neighborly(&args.iter().map(String::as_str).collect::<Vec<_>>()));
        if k == 1 {
            let err = merge_failing(&ws, &parts, &[parts.join("shard-0"), parts.join("shard-1")]);
            assert!(err.contains("shard(s) 2/3 missing"), "{err}");
        }
    }
    let said = merge(&ws, &parts, 3);
    assert!(said.contains("3 shards merged"), "{said}");
    assert_union_equals_single(&single, &parts, 3, true);
    assert_eq!(
        decisions(&Store::open_file(&ws.path("single.sqlite"), Store::DEFAULT_WAIT).unwrap()),
        decisions(&Store::open_file(&ws.path("shards.sqlite"), Store::DEFAULT_WAIT).unwrap())
    );

    // A shard of other inputs is refused by the merge.
    let other = ws.path("other");
    let usage = ws.path("data/usage.csv");
    let mut bytes = std::fs::read(&usage).unwrap();
    bytes.extend_from_slice(b"\n");
    std::fs::write(&usage, bytes).unwrap();
    let mut args = run_args(&config, &state, other.to_str().unwrap());
    args.extend(["--shard".into(), "2/3".into()]);
    ok(ws.neighborly(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let err = merge_failing(
        &ws,
        &ws.path("mixed"),
        &[
            parts.join("shard-0"),
            parts.join("shard-1"),
            other.join("shard-2"),
        ],
    );
    assert!(err.contains("different inputs"), "{err}");
}

#[test]
fn the_same_shard_twice_is_refused_naming_the_holder_with_sqlite() {
    let ws = Workspace::new(CONFIG);
    ws.synth(120, false);
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let shard: Shard = "1/2".parse().unwrap();
    let held = store.lock("2026-10".parse().unwrap(), shard).unwrap();
    let config = ws.config().display().to_string();
    // Relative, as an operator types it: the lock files sit beside it.
    let state = "state.sqlite".to_string();
    let mut args = run_args(&config, &state, "out");
    args.extend(["--shard".into(), "1/2".into()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ws.neighborly(&argv);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another neighborly run is writing"), "{err}");
    assert!(err.contains("period 2026-10, shard 1/2, pid"), "{err}");
    assert!(!ws.path("out/shard-1").exists());
    // Nor may the period run split another way, or whole, beside it.
    for other in [vec!["--shard", "3/4"], vec![]] {
        let mut args = run_args(&config, &state, "out-other");
        args.extend(other.iter().map(|a| a.to_string()));
        let o = ws.neighborly(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!o.status.success(), "{other:?} ran beside shard 1/2");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("split another way"), "{err}");
        assert!(err.contains("shard 1/2, pid"), "{err}");
    }
    // The other shard of the period is not held up.
    let mut other = run_args(&config, &state, "out");
    other.extend(["--shard".into(), "0/2".into()]);
    ok(ws.neighborly(&other.iter().map(String::as_str).collect::<Vec<_>>()));
    drop(held);
    ok(ws.neighborly(&argv));
}

/// One pod of the Indexed Job: `run --shards N` with its index in the environment.
fn pod(ws: &Workspace, args: &[String], index: u32, log: &Path) -> Child {
    Command::new(BIN)
        .current_dir(ws.dir.path())
        .args(args)
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .env("HOSTNAME", format!("neighborly-{index}"))
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (bool, String) {
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn shards_at_once_on_postgresql_one_killed_and_restarted_merge_into_the_single_run() {
    let pg = Postgres::start();
    let url = pg.database("neighborly_shards");
    let ws = Workspace::new(SMALL_FILES);
    ws.synth(400, true);
    let config = ws.config().display().to_string();
    let single = single_run(&ws);

    let parts = ws.path("parts");
    let mut args = run_args(&config, &url, parts.to_str().unwrap());
    args.extend(["--shards".into(), "3".into()]);

    // Shard 1 is already being run elsewhere: its pod is refused, naming the holder.
    let store = Store::open(&StoreLocation::Url(url.clone()), Store::DEFAULT_WAIT).unwrap();
    let held = store
        .lock("2026-10".parse().unwrap(), "1/3".parse().unwrap())
        .unwrap();
    let (ok1, err) = finish(pod(&ws, &args, 1, &ws.path("pod-1.log")));
    assert!(!ok1);
    assert!(err.contains("another neighborly run is writing"), "{err}");
    assert!(err.contains("shard 1/3, pid"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    // A whole-period run beside the shards would reach their households.
    let whole = run_args(&config, &url, ws.path("whole").to_str().unwrap());
    let o = ws.neighborly(&whole.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("split another way"), "{err}");
    drop(held);

    // All three at once; shard 1 is killed once it has finished a print file.
    let pods: Vec<Child> = (0..3)
        .map(|k| pod(&ws, &args, k, &ws.path(&format!("pod-{k}.log"))))
        .collect();
    let mut pods: Vec<Option<Child>> = pods.into_iter().map(Some).collect();
    let staging = parts.join("shard-1.partial");
    let deadline = Instant::now() + Duration::from_secs(300);
    while finished_print_files(&staging) < 1 {
        assert!(
            Instant::now() < deadline,
            "shard 1 finished no print file in time"
        );
        let c = pods[1].as_mut().unwrap();
        assert!(
            c.try_wait().unwrap().is_none(),
            "shard 1 ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut killed = pods[1].take().unwrap();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    assert!(!parts.join("shard-1").exists());
    for k in [0, 2] {
        let (ok, err) = finish(pods[k].take().unwrap());
        assert!(ok, "shard {k}: {err}");
    }
    // The killed pod is started again (as the Job's backoff would) and resumes.
    let (ok1, err) = finish(pod(&ws, &args, 1, &ws.path("pod-1b.log")));
    assert!(ok1, "{err}");
    let said = std::fs::read_to_string(ws.path("pod-1b.log")).unwrap();
    assert!(said.contains("resumed an interrupted run"), "{said}");

    merge(&ws, &parts, 3);
    assert_union_equals_single(&single, &parts, 3, false);
    assert_eq!(
        decisions(&Store::open_file(&ws.path("single.sqlite"), Store::DEFAULT_WAIT).unwrap()),
        decisions(&store)
    );
}
