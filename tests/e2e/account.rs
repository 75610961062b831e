//! The agent's lookup: one household's letters, figures, bounce, opt-out
//! and responses, as the runs and the store recorded them.

use std::collections::HashMap;

use crate::common::*;

/// One month's manifest, its rows keyed by account id.
type Manifest = HashMap<String, HashMap<String, String>>;

const MONTHS: [&str; 3] = ["2026-08", "2026-09", "2026-10"];

#[test]
fn an_agent_sees_three_months_of_letters_a_bounce_and_an_opt_out() {
    let ws = Workspace::new("[control]\nshare = 0.0\n");
    ws.synth(200, false);
    let manifests = run_months(&ws);
    let id = mailed_every_month(&manifests);
    let config = ws.config();
    let cfg = config.to_str().unwrap();
    record_bounce_opt_out_and_response(&ws, &id, cfg);
    check_screen(&ws, &id, cfg, &manifests);
    check_json(&ws, &id, cfg, &manifests);

    // An id of no customer is refused.
    let o = ws.neighborly(&["account", "NOBODY", "--config", cfg]);
    assert!(!o.status.success());
}

/// Run each month and keep its manifest: the record the lookup must agree with.
fn run_months(ws: &Workspace) -> Vec<Manifest> {
    let mut manifests: Vec<Manifest> = Vec::new();
    for m in MONTHS {
        ws.run(&["--period", m]);
        manifests.push(
            read_csv(&ws.path(&format!("out/{m}/manifest.csv")))
                .into_iter()
                .map(|r| (r["account_id"].clone(), r))
                .collect(),
        );
    }
    manifests
}

/// A household mailed in all three months, so every month has a letter to show.
fn mailed_every_month(manifests: &[Manifest]) -> String {
    let mut ids: Vec<&String> = manifests[2]
        .keys()
        .filter(|a| manifests.iter().all(|m| m.contains_key(*a)))
        .collect();
    ids.sort();
    ids[0].clone()
}

/// The events an agent would look up: a hard bounce, an opt-out taken by
/// phone (the id typed in lower case) and a response.
fn record_bounce_opt_out_and_response(ws: &Workspace, id: &str, cfg: &str) {
    std::fs::write(
        ws.path("bounces.csv"),
        format!("kind,channel,address,account_id\nhard,email,old@example.com,{id}\n"),
    )
    .unwrap();
    let bounces = ws.path("bounces.csv");
    ok(ws.neighborly(&[
        "bounces",
        "import",
        bounces.to_str().unwrap(),
        "--config",
        cfg,
    ]));
    ok(ws.neighborly(&[
        "opt-out",
        &id.to_lowercase(),
        "--reason",
        "called: moving out",
        "--by",
        "agent 7",
        "--config",
        cfg,
    ]));
    std::fs::write(
        ws.path("responses.csv"),
        format!("account_id,date,event\n{id},2026-10-20,call\n"),
    )
    .unwrap();
    let responses = ws.path("responses.csv");
    ok(ws.neighborly(&[
        "responses",
        "import",
        responses.to_str().unwrap(),
        "--config",
        cfg,
    ]));
}

/// The screen an agent reads shows each event and each month's phase and usage.
fn check_screen(ws: &Workspace, id: &str, cfg: &str, manifests: &[Manifest]) {
    let screen = ok(ws.neighborly(&["account", &id.to_lowercase(), "--config", cfg]));
    assert!(screen.starts_with(&format!("account {id}\n")), "{screen}");
    assert!(
        screen.contains("by agent 7: called: moving out"),
        "{screen}"
    );
    assert!(
        screen.contains("email closed") && screen.contains("hard bounce"),
        "{screen}"
    );
    assert!(screen.contains("response 2026-10-20 call"), "{screen}");
    for (m, manifest) in MONTHS.iter().zip(manifests) {
        let row = &manifest[id];
        assert!(
            screen.contains(&format!("  {m} {}", row["phase"])),
            "{m}: {screen}"
        );
        assert!(
            screen.contains(&format!("used {} {}", row["usage_per_day"], row["unit"])),
            "{m}: {screen}"
        );
    }
}

/// The JSON a program reads carries the same letters, the PDFs and the events.
fn check_json(ws: &Workspace, id: &str, cfg: &str, manifests: &[Manifest]) {
    let json: serde_json::Value = serde_json::from_str(&ok(
        ws.neighborly(&["account", id, "--config", cfg, "--json"])
    ))
    .unwrap();
    let letters = json["store"]["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 3);
    for (letter, manifest) in letters.iter().zip(manifests) {
        let row = &manifest[id];
        assert_eq!(letter["phase"], row["phase"].as_str());
        assert_eq!(letter["mailed"], true);
        let tips: Vec<&str> = letter["tips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tips.join(";"), row["tips"]);
    }
    let reports = json["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 3);
    for r in reports {
        let pdf = std::path::Path::new(r["pdf"].as_str().unwrap());
        assert!(pdf.exists(), "{pdf:?}");
        assert!(pdf_text(pdf).contains(id), "the PDF is the account's");
    }
    assert_eq!(json["store"]["opted_out"]["by"], "agent 7");
    assert_eq!(json["store"]["blocked"][0]["channel"], "email");
}
