//! The randomized control group of the monthly reports: assigned once and
//! kept, drawn per cohort, never mailed, always accounted for.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::common::*;
use neighborly::control::{Group, REPORTS};
use neighborly::store::{Assigned, Store};

fn assignments(ws: &Workspace) -> HashMap<String, Assigned> {
    Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT)
        .unwrap()
        .assignments(REPORTS)
        .unwrap()
}

fn control_set(a: &HashMap<String, Assigned>) -> HashSet<String> {
    a.values()
        .filter(|a| a.group == Group::Control)
        .map(|a| a.account_id.clone())
        .collect()
}

fn set_share(ws: &Workspace, share: f64) {
    let path = ws.config();
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("share = ").unwrap();
    let end = start + text[start..].find('\n').unwrap();
    let text = format!("{}share = {share}{}", &text[..start], &text[end..]);
    std::fs::write(path, text).unwrap();
}

#[test]
fn control_households_are_never_mailed_and_keep_their_group_for_good() {
    let ws = Workspace::new("[control]\nshare = 0.2\nsalt = \"control-test\"\n");
    ws.synth(500, true);
    // A dry run assigns nobody.
    ws.run(&["--period", "2026-09", "--dry-run"]);
    assert!(assignments(&ws).is_empty());

    ws.run(&["--period", "2026-09"]);
    let first = assignments(&ws);
    let control = control_set(&first);
    assert!(!control.is_empty());

    // Stratified: each cohort (stratum) holds round(0.2 * its size) control homes.
    let mut strata: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for a in first.values() {
        let e = strata.entry(a.stratum.as_str()).or_default();
        e.0 += 1;
        e.1 += (a.group == Group::Control) as usize;
    }
    assert!(strata.len() >= 5, "{strata:?}");
    for (stratum, (n, c)) in &strata {
        assert_eq!(
            *c,
            (0.2 * *n as f64).round() as usize,
            "{stratum}: {c} of {n}"
        );
    }

    // Never mailed: not in the manifest, the reports folder or the print
    // files; each is in exceptions.csv exactly once, as control-group.
    let out = ws.path("out/2026-09");
    let manifest = read_csv(&out.join("manifest.csv"));
    let exceptions = read_csv(&out.join("exceptions.csv"));
    let print = read_csv(&out.join("print-manifest.csv"));
    for row in manifest.iter().chain(&print) {
        assert!(!control.contains(&row["account_id"]), "{row:?}");
    }
    let pdfs: HashSet<String> = std::fs::read_dir(out.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for account in &control {
        assert!(
            !pdfs.contains(&format!("{account}.pdf")),
            "{account} has a PDF"
        );
        let rows: Vec<_> = exceptions
            .iter()
            .filter(|e| &e["account_id"] == account)
            .collect();
        assert_eq!(rows.len(), 1, "{account}: {rows:?}");
        assert_eq!(rows[0]["reason"], "control-group");
    }
    let control_rows = exceptions
        .iter()
        .filter(|e| e["reason"] == "control-group")
        .count();
    assert_eq!(control_rows, control.len());
    // The control households are still neighbors: the cohorts count them.
    let cohorts = read_csv(&out.join("cohorts.csv"));
    let sizes: HashMap<&str, usize> = cohorts
        .iter()
        .map(|c| (c["cohort_id"].as_str(), c["size"].parse().unwrap()))
        .collect();
    for (stratum, (n, _)) in &strata {
        if let Some(size) = sizes.get(stratum) {
            assert!(
                size >= n,
                "cohort {stratum} of {size} lost members ({n} assigned)"
            );
        }
    }

    // A re-run of the period changes nothing.
    ws.run(&["--period", "2026-09", "--replace"]);
    assert_eq!(assignments(&ws), first);

    // Doubling the share later moves nobody already assigned.
    set_share(&ws, 0.4);
    ws.run(&["--period", "2026-10"]);
    let later = assignments(&ws);
    for (account, a) in &first {
        assert_eq!(&later[account], a, "{account} changed");
    }
    let out = ws.path("out/2026-10");
    let control_later = control_set(&later);
    for row in read_csv(&out.join("manifest.csv")) {
        assert!(!control_later.contains(&row["account_id"]));
    }
}
