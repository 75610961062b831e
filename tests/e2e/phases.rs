//! Phased bad news across consecutive runs, with the state store.

use crate::common::*;
use neighborly::model::Period;
use neighborly::phase::Phase;
use neighborly::store::Store;

/// 24 ordinary two-person homes and one that always uses far more.
fn write_neighborhood(ws: &Workspace) {
    let mut customers =
        String::from("account_id,name,address_line1,city,state,zip,locality,occupants,language\n");
    let mut usage = String::from("account_id,period_start,period_end,quantity,unit\n");
    for i in 0..25 {
        let lang = if i % 5 == 1 { "es" } else { "en" };
        customers.push_str(&format!(
            "H{i:02},Home {i},{i} Elm St,Davis,CA,95616,elm,2,{lang}\n"
        ));
        let per_day = if i == 0 { 600.0 } else { 90.0 + 4.0 * i as f64 };
        for m in 6..=10 {
            let p = Period {
                year: 2026,
                month: m,
            };
            let (start, end) = (p.first_day(), p.last_day());
            let days = (end - start).num_days() + 1;
            usage.push_str(&format!(
                "H{i:02},{start},{end},{},gal\n",
                per_day * days as f64
            ));
        }
    }
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    std::fs::write(ws.path("data/usage.csv"), usage).unwrap();
}

const CONFIG: &str = "[cohort]\nmin_size = 10\nmin_history_bills = 1\n";

#[test]
fn a_persistent_high_user_gets_tips_notice_comparison_and_reruns_are_idempotent() {
    let ws = Workspace::new(CONFIG);
    write_neighborhood(&ws);
    let months = ["2026-07", "2026-08", "2026-09", "2026-10"];
    let mut phases = Vec::new();
    for m in months {
        ws.run(&["--period", m]);
        let manifest = read_csv(&ws.path(&format!("out/{m}/manifest.csv")));
        let row = manifest.iter().find(|r| r["account_id"] == "H00").unwrap();
        assert_eq!(row["rating"], "above-typical");
        phases.push(row["phase"].clone());
        // The PDF carries the variant the manifest names.
        let text = pdf_text(&ws.path(&format!("out/{m}/{}", row["pdf"])));
        let median = row["neighbors_median_per_day"]
            .parse::<f64>()
            .unwrap()
            .round();
        let neighbors_figure = format!("{median} gal/day");
        match row["phase"].as_str() {
            "tips" => {
                assert!(text.contains("Ideas to save water"), "{text}");
                assert!(
                    !text.contains("All neighbors") && !text.contains(&neighbors_figure),
                    "tips letter shows neighbors"
                );
            }
            "notice" => {
                assert!(text.contains("above the norm"), "{text}");
                assert!(
                    !text.contains("All neighbors") && !text.contains(&neighbors_figure),
                    "notice shows neighbors"
                );
            }
            _ => assert!(
                text.contains("Above typical") && text.contains(&neighbors_figure),
                "{text}"
            ),
        }
    }
    assert_eq!(phases, ["tips", "notice", "comparison", "comparison"]);

    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let before = store.dump_decisions().unwrap();
    let opt_before = store.opt_outs().unwrap();
    drop(store);
    // Its folder may be at the mail house: a re-run needs --replace, and
    // moves the earlier folder aside instead of deleting it.
    let earlier = files(&ws.path("out/2026-08"));
    let err = ws.run_failing("2026-08");
    assert!(
        err.contains("--replace") && err.contains("finished run"),
        "{err}"
    );
    assert_eq!(files(&ws.path("out/2026-08")), earlier);
    ws.run(&["--period", "2026-08", "--replace"]);
    assert_eq!(files(&ws.path("out/2026-08.replaced-1")), earlier);
    let manifest = read_csv(&ws.path("out/2026-08/manifest.csv"));
    let row = manifest.iter().find(|r| r["account_id"] == "H00").unwrap();
    assert_eq!(row["phase"], "notice");
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    assert_eq!(
        store.dump_decisions().unwrap(),
        before,
        "re-running a period changed decisions"
    );
    assert_eq!(store.opt_outs().unwrap(), opt_before);
    assert_eq!(
        store.phase_of("H00", "2026-09".parse().unwrap()).unwrap(),
        Some(Phase::Comparison)
    );
}

#[test]
fn a_period_earlier_than_one_already_run_is_refused_and_decides_nothing() {
    let ws = Workspace::new(CONFIG);
    write_neighborhood(&ws);
    ws.run(&["--period", "2026-09"]);
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let before = store.dump_decisions().unwrap();
    drop(store);

    let err = ws.run_failing("2026-07");
    assert!(
        err.contains("2026-07") && err.contains("2026-09") && err.contains("state.sqlite"),
        "{err}"
    );
    assert!(!ws.path("out/2026-07").exists());
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    assert_eq!(store.dump_decisions().unwrap(), before);
    drop(store);

    // The period already run may be run again, and the next one follows.
    ws.run(&["--period", "2026-09", "--replace"]);
    ws.run(&["--period", "2026-10"]);
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    let row = manifest.iter().find(|r| r["account_id"] == "H00").unwrap();
    assert_eq!(row["phase"], "notice", "the ladder moved one step");
}

#[test]
fn a_second_run_is_refused_while_one_holds_the_lock() {
    let ws = Workspace::new(CONFIG);
    write_neighborhood(&ws);
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let _held = store
        .lock("2026-10".parse().unwrap(), neighborly::shard::Shard::WHOLE)
        .unwrap();
    let err = ws.run_failing("2026-10");
    assert!(err.contains("another neighborly run is writing"), "{err}");
    assert!(err.contains("period 2026-10"), "{err}");
    assert!(!ws.path("out/2026-10").exists());
    // Another period is refused too: its letters would be decided beside
    // this one's, not after them.
    let err = ws.run_failing("2026-09");
    assert!(err.contains("a run of another period is writing"), "{err}");
    assert!(err.contains("period 2026-10"), "{err}");
    assert!(!ws.path("out/2026-09").exists());
    drop(_held);
    // The lock file stays behind, free: the next run takes it.
    assert!(ws.path("state.2026-10.lock").exists());
    ws.run(&["--period", "2026-10"]);
}

#[test]
fn forecast_is_entering_households_times_call_rate_and_brief_lists_them() {
    let ws = Workspace::new(&format!(
        "{CONFIG}[phase]\ncall_rate_tips = 0.05\ncall_rate_notice = 0.2\ncall_rate_comparison = 0.5\n"
    ));
    ws.synth(200, false);
    // Two periods so that some households enter the notice.
    for m in ["2026-09", "2026-10"] {
        ws.run(&["--period", m]);
        let out = ws.path(&format!("out/{m}"));
        let manifest = read_csv(&out.join("manifest.csv"));
        let forecast = read_csv(&out.join("forecast.csv"));
        assert_eq!(forecast.len(), 3);
        for f in &forecast {
            let entering = manifest
                .iter()
                .filter(|r| r["phase"] == f["phase"] && r["entered_phase"] == "true")
                .count();
            let letters = manifest.iter().filter(|r| r["phase"] == f["phase"]).count();
            assert_eq!(
                f["entering"].parse::<usize>().unwrap(),
                entering,
                "{m} {}",
                f["phase"]
            );
            assert_eq!(f["households"].parse::<usize>().unwrap(), letters);
            let rate: f64 = f["call_rate"].parse().unwrap();
            let expected = entering as f64 * rate;
            assert!((f["expected_calls"].parse::<f64>().unwrap() - expected).abs() < 1e-9);
        }
        let brief = std::fs::read_to_string(out.join("agent-brief.md")).unwrap();
        for r in manifest
            .iter()
            .filter(|r| r["entered_phase"] == "true" && r["phase"] != "tips")
        {
            assert!(
                brief.contains(&format!("| {} |", r["account_id"])),
                "{} missing from brief",
                r["account_id"]
            );
        }
        if m == "2026-10" {
            assert!(
                manifest
                    .iter()
                    .any(|r| r["phase"] == "notice" && r["entered_phase"] == "true")
            );
        }
    }
}

#[test]
fn opted_out_households_are_never_mailed_and_dry_run_changes_nothing() {
    let ws = Workspace::new(CONFIG);
    write_neighborhood(&ws);
    let config = ws.config();
    let o = ws.neighborly(&[
        "opt-out",
        "H03",
        "--reason",
        "called in",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // An id of no customer is refused, not recorded against nobody; one in
    // the wrong case finds its one account (INPUTS.md, "Account lists"),
    // and opt-in undoes it.
    let cfg = config.to_str().unwrap();
    let o = ws.neighborly(&["opt-out", "H99", "--config", cfg]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("the command line:1: \"H99\" is no household")
            && err.contains("customers.csv"),
        "{err}"
    );
    let said = ok(ws.neighborly(&["opt-out", "h04", "--by", "agent 7", "--config", cfg]));
    assert!(said.contains("H04 opted out"), "{said}");
    let said = ok(ws.neighborly(&["opt-in", "H04", "--by", "agent 7", "--config", cfg]));
    assert!(said.contains("H04 opted in again"), "{said}");
    // A list with a byte-order mark and one unknown line records nothing.
    std::fs::write(
        ws.path("out.txt"),
        "\u{feff}H05\r\n# from the portal\r\nH98\r\n",
    )
    .unwrap();
    let list = ws.path("out.txt");
    let o = ws.neighborly(&["opt-out", "--file", list.to_str().unwrap(), "--config", cfg]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("out.txt:3: \"H98\" is no household"),
        "{err}"
    );
    {
        let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
        let opted = store.opt_outs().unwrap();
        assert_eq!(opted.keys().collect::<Vec<_>>(), ["H03"], "{opted:?}");
        let h04: Vec<(String, String)> = store
            .opt_out_history("H04")
            .unwrap()
            .into_iter()
            .map(|(action, _, by, _)| (action, by))
            .collect();
        assert_eq!(
            h04,
            [
                ("opt-out".to_string(), "agent 7".to_string()),
                ("opt-in".to_string(), "agent 7".to_string())
            ]
        );
    }

    let o = ws.neighborly(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--period",
        "2026-10",
        "--dry-run",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("opted-out: 1") && text.contains("forecast tips"),
        "{text}"
    );
    assert!(!ws.path("out/2026-10").exists(), "dry run wrote output");
    assert!(
        Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT)
            .unwrap()
            .dump_decisions()
            .unwrap()
            .is_empty()
    );

    ws.run(&["--period", "2026-10"]);
    let exceptions = read_csv(&ws.path("out/2026-10/exceptions.csv"));
    let e = exceptions
        .iter()
        .find(|e| e["account_id"] == "H03")
        .unwrap();
    assert_eq!(e["reason"], "opted-out");
    assert!(
        read_csv(&ws.path("out/2026-10/manifest.csv"))
            .iter()
            .all(|r| r["account_id"] != "H03")
    );
}
