//! The agent's lookup: one household's letters, figures, bounce, opt-out
//! and responses, as the runs and the store recorded them.

use std::collections::HashMap;

use crate::common::*;

#[test]
fn an_agent_sees_three_months_of_letters_a_bounce_and_an_opt_out() {
    let ws = Workspace::new("[control]\nshare = 0.0\n");
    ws.synth(200, false);
    let months = ["2026-08", "2026-09", "2026-10"];
    let mut manifests: Vec<HashMap<String, HashMap<String, String>>> = Vec::new();
    for m in months {
        ws.run(&["--period", m]);
        manifests.push(
            read_csv(&ws.path(&format!("out/{m}/manifest.csv")))
                .into_iter()
                .map(|r| (r["account_id"].clone(), r))
                .collect(),
        );
    }
    // A household mailed in all three months.
    let mut ids: Vec<&String> = manifests[2]
        .keys()
        .filter(|a| manifests.iter().all(|m| m.contains_key(*a)))
        .collect();
    ids.sort();
    let id = ids[0].clone();
    let config = ws.config();
    let cfg = config.to_str().unwrap();
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
    for (m, manifest) in months.iter().zip(&manifests) {
        let row = &manifest[&id];
        assert!(
            screen.contains(&format!("  {m} {}", row["phase"])),
            "{m}: {screen}"
        );
        assert!(
            screen.contains(&format!("used {} {}", row["usage_per_day"], row["unit"])),
            "{m}: {screen}"
        );
    }

    let json: serde_json::Value = serde_json::from_str(&ok(
        ws.neighborly(&["account", &id, "--config", cfg, "--json"])
    ))
    .unwrap();
    let letters = json["store"]["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 3);
    for (letter, manifest) in letters.iter().zip(&manifests) {
        let row = &manifest[&id];
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
        assert!(pdf_text(pdf).contains(&id), "the PDF is the account's");
    }
    assert_eq!(json["store"]["opted_out"]["by"], "agent 7");
    assert_eq!(json["store"]["blocked"][0]["channel"], "email");

    // An id of no customer is refused.
    let o = ws.neighborly(&["account", "NOBODY", "--config", cfg]);
    assert!(!o.status.success());
}
