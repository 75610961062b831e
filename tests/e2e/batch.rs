//! End to end: the real binary on synthetic files, outputs read back from disk.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::common::*;

/// A CSV row, by column name.
type Row = HashMap<String, String>;

#[test]
fn every_household_lands_in_exactly_one_place_and_reports_read_right() {
    let ws = Workspace::new("");
    ws.synth(300, true);
    let summary = ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let manifest = read_csv(&out.join("manifest.csv"));
    let exceptions = read_csv(&out.join("exceptions.csv"));
    let customers = read_csv(&ws.path("data/customers.csv"));
    check_reconciliation(&ws, &summary, &customers, &manifest, &exceptions);
    check_broken_rows(&exceptions);
    check_page_counts(&out, &manifest);
    check_a_comparison_report(&out, &customers, &manifest);
    check_the_hostile_name(&out, &manifest);
}

/// Reconciliation against the input files, read independently: every
/// account in them is mailed or excepted, once.
fn check_reconciliation(
    ws: &Workspace,
    summary: &str,
    customers: &[Row],
    manifest: &[Row],
    exceptions: &[Row],
) {
    let mut input: HashSet<String> = customers.iter().map(|c| c["account_id"].clone()).collect();
    for u in read_csv(&ws.path("data/usage.csv")) {
        input.insert(u["account_id"].clone());
    }
    let mailed: Vec<&str> = manifest.iter().map(|r| r["account_id"].as_str()).collect();
    let excepted: Vec<&str> = exceptions
        .iter()
        .map(|r| r["account_id"].as_str())
        .collect();
    let mut seen = HashSet::new();
    for a in mailed.iter().chain(&excepted) {
        assert!(
            seen.insert(*a),
            "{a} appears twice across manifest and exceptions"
        );
    }
    assert_eq!(
        seen,
        input.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert!(
        summary.contains(&format!("households in: {}", input.len())),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("reports out: {}", manifest.len())),
        "{summary}"
    );
}

/// Each kind of broken row is reported, with file:line for data errors.
fn check_broken_rows(exceptions: &[Row]) {
    let by_account: HashMap<&str, &Row> = exceptions
        .iter()
        .map(|e| (e["account_id"].as_str(), e))
        .collect();
    let expect = [
        ("W000014", "bad-zip", "customers.csv:15:"),
        ("W000015", "missing-field", "customers.csv:16:"),
        ("W000016", "duplicate-account", "customers.csv:17:"),
        ("W000021", "bad-date", "usage.csv:"),
        ("W000022", "end-before-start", "usage.csv:"),
        ("W000023", "bad-quantity", "usage.csv:"),
        ("W000024", "bad-quantity", "usage.csv:"),
        ("W000025", "unknown-unit", "usage.csv:"),
        ("W000026", "unit-mismatch", "usage.csv:"),
        ("X999999", "unknown-account", "usage.csv:"),
    ];
    for (account, reason, detail) in expect {
        let e = by_account
            .get(account)
            .unwrap_or_else(|| panic!("{account} not in exceptions"));
        assert_eq!(e["reason"], reason, "{account}");
        assert!(
            e["detail"].starts_with(detail),
            "{account}: {}",
            e["detail"]
        );
    }
}

/// Every rendered PDF exists with the page count the manifest claims (2: one sheet).
fn check_page_counts(out: &std::path::Path, manifest: &[Row]) {
    for row in manifest {
        let pdf = out.join(&row["pdf"]);
        assert_eq!(page_count(&pdf), 2, "{}", row["pdf"]);
        assert_eq!(row["pages"], "2");
    }
}

/// Read a comparison report back: name, address and the manifest's figures.
fn check_a_comparison_report(out: &std::path::Path, customers: &[Row], manifest: &[Row]) {
    let row = manifest
        .iter()
        .find(|r| r["phase"] == "comparison" && r["language"] == "en")
        .unwrap();
    let customer = customers
        .iter()
        .find(|c| c["account_id"] == row["account_id"])
        .unwrap();
    let text = pdf_text(&out.join(&row["pdf"]));
    assert!(text.contains(&customer["name"]), "name missing: {text}");
    assert!(text.contains(&customer["address_line1"]), "address missing");
    let usage: f64 = row["usage_per_day"].parse().unwrap();
    let median: f64 = row["neighbors_median_per_day"].parse().unwrap();
    assert!(
        text.contains(&format!("you used {} gal/day", usage.round())),
        "usage {usage} missing: {text}"
    );
    // Chart labels come out of the PDF one glyph at a time: compare without spaces.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        compact.contains(&format!("Allneighbors{}gal/day", median.round())),
        "median {median} missing: {text}"
    );
}

/// The hostile name is printed verbatim, never evaluated.
fn check_the_hostile_name(out: &std::path::Path, manifest: &[Row]) {
    let hostile = manifest
        .iter()
        .find(|r| r["account_id"] == "W000011")
        .expect("hostile household mailed");
    let text = pdf_text(&out.join(&hostile["pdf"]));
    assert!(
        text.contains(neighborly::synth::HOSTILE_NAME),
        "hostile name not verbatim: {text}"
    );
    assert!(!text.contains("root:"), "a file was read");
}

#[test]
fn spanish_households_get_spanish_reports() {
    let ws = Workspace::new("");
    ws.synth(120, false);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let manifest = read_csv(&out.join("manifest.csv"));
    let es = manifest
        .iter()
        .find(|r| r["language"] == "es")
        .expect("a Spanish household");
    let text = pdf_text(&out.join(&es["pdf"]));
    assert!(text.contains("octubre 2026"), "{text}");
    assert!(text.contains("Informe de Agua del Hogar"));
    let en = manifest.iter().find(|r| r["language"] == "en").unwrap();
    assert!(pdf_text(&out.join(&en["pdf"])).contains("October 2026"));
}

/// Type-7 quantiles and the strict-lower percentile, recomputed here from the
/// raw usage file with an independent implementation.
#[test]
fn figures_match_an_independent_computation() {
    let ws = Workspace::new("[cohort]\nmin_size = 5\nmin_history_bills = 1\n");
    let mut customers =
        String::from("account_id,name,address_line1,city,state,zip,locality,occupants\n");
    let mut usage = String::from("account_id,period_start,period_end,quantity,unit\n");
    // 11 two-person homes with known uses; bills of different lengths and units.
    let per_day = [
        80.0, 95.0, 100.0, 100.0, 120.0, 130.0, 131.5, 150.0, 170.0, 210.0, 400.0,
    ];
    for (i, v) in per_day.iter().enumerate() {
        customers.push_str(&format!(
            "H{i:02},Home {i},{i} Elm St,Davis,CA,95616,elm,2\n"
        ));
        let days = 28 + (i as i64 % 4); // 28..31 day bills ending in October
        let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
            - chrono::Duration::days(days - 1);
        let (qty, unit) = if i % 2 == 0 {
            (v * days as f64, "gal")
        } else {
            (v * days as f64 / 748.052, "ccf")
        };
        usage.push_str(&format!("H{i:02},{start},2026-10-31,{qty},{unit}\n"));
    }
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    std::fs::write(ws.path("data/usage.csv"), usage).unwrap();
    ws.run(&["--period", "2026-10"]);
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    assert_eq!(manifest.len(), per_day.len());

    // numpy.percentile(per_day, [20, 50]) with the default (linear) method.
    let mut sorted = per_day.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (sorted.len() as f64 - 1.0);
        let (lo, frac) = (pos.floor() as usize, pos.fract());
        if lo + 1 < sorted.len() {
            sorted[lo] * (1.0 - frac) + sorted[lo + 1] * frac
        } else {
            sorted[lo]
        }
    };
    let (p20, p50) = (q(0.2), q(0.5));
    assert!((p20 - 100.0).abs() < 1e-9 && (p50 - 130.0).abs() < 1e-9);
    let rows: BTreeMap<&str, &HashMap<String, String>> = manifest
        .iter()
        .map(|r| (r["account_id"].as_str(), r))
        .collect();
    for (i, v) in per_day.iter().enumerate() {
        let r = rows[format!("H{i:02}").as_str()];
        let f = |k: &str| r[k].parse::<f64>().unwrap();
        // The manifest rounds as the page prints: whole gallons.
        assert_eq!(
            f("usage_per_day"),
            v.round(),
            "H{i:02} usage {}",
            r["usage_per_day"]
        );
        assert_eq!(f("neighbors_median_per_day"), p50.round());
        assert_eq!(f("efficient_per_day"), p20.round());
        let lower = per_day.iter().filter(|o| **o < *v).count() as f64;
        assert!(
            (f("percentile") - 100.0 * lower / 10.0).abs() < 0.051,
            "H{i:02} percentile {}",
            r["percentile"]
        );
        let rating = if *v <= p20 {
            "great"
        } else if *v <= p50 {
            "good"
        } else {
            "above-typical"
        };
        assert_eq!(r["rating"], rating, "H{i:02}");
        assert_eq!(r["cohort_id"], "elm/occupants:2");
        assert_eq!(r["cohort_size"], "11");
    }
}

#[test]
fn a_bad_template_stops_the_run_with_file_and_line() {
    let ws = Workspace::new("");
    ws.synth(40, false);
    // A copy of the templates with a syntax error on a known line.
    let templates = ws.path("templates");
    copy_dir(&repo().join("report-templates"), &templates);
    let main = templates.join("report.typ");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("\n#let broken = (1, 2\n");
    let line = text.lines().count();
    std::fs::write(&main, text).unwrap();
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let config = config.replace(
        &repo().join("report-templates").display().to_string(),
        "templates",
    );
    std::fs::write(ws.config(), config).unwrap();
    let err = ws.run_failing("2026-10");
    assert!(err.contains(&format!("report.typ:{line}:")), "{err}");
    assert!(
        !ws.path("out/2026-10").exists(),
        "a failed run must not leave a finished-looking folder"
    );
}

#[test]
fn templates_cannot_read_outside_their_folder() {
    let ws = Workspace::new("");
    let templates = ws.path("templates");
    copy_dir(&repo().join("report-templates"), &templates);
    std::fs::write(ws.path("secret.txt"), "TOP SECRET").unwrap();
    let renderer = neighborly::render::Renderer::new(
        &templates,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
    )
    .unwrap();
    for attempt in [
        "#read(\"../secret.txt\")",
        "#read(\"/../secret.txt\")",
        "#read(\"/etc/passwd\")",
    ] {
        let attempt = format!("{attempt}\n#set document(title: \"t\")");
        std::fs::write(templates.join("report.typ"), &attempt).unwrap();
        renderer.templates().reload();
        let err = renderer
            .render(b"{}".to_vec(), "x")
            .err()
            .unwrap_or_else(|| panic!("{attempt} was allowed"));
        let msg = err.to_string();
        eprintln!("{attempt}: {msg}");
        assert!(msg.contains("report.typ:1:"), "{msg}");
        assert!(
            msg.contains("not found") || msg.contains("outside"),
            "{msg}"
        );
    }
    // A file inside the folder is fine.
    std::fs::write(templates.join("note.txt"), "inside").unwrap();
    std::fs::write(
        templates.join("report.typ"),
        "#set document(title: \"t\")\n#read(\"note.txt\")",
    )
    .unwrap();
    renderer.templates().reload();
    assert!(renderer.render(b"{}".to_vec(), "x").is_ok());
}

#[test]
fn print_files_are_presorted_complete_and_hold_no_suppressed_account() {
    let ws = Workspace::new("[print]\npieces_per_file = 40\n");
    ws.synth(120, false);
    // Two households that would be mailed: hold them back.
    ws.run(&["--period", "2026-10", "--dry-run"]);
    ws.run(&["--period", "2026-10", "--out", "first"]);
    let first = read_csv(&ws.path("first/manifest.csv"));
    let held: Vec<String> = vec![
        first[3]["account_id"].clone(),
        first[50]["account_id"].clone(),
    ];
    std::fs::write(
        ws.path("suppress.txt"),
        format!("# returned mail\n{}\n{}\n", held[0], held[1]),
    )
    .unwrap();
    let suppress = ws.path("suppress.txt");
    ws.run(&[
        "--period",
        "2026-10",
        "--suppress",
        suppress.to_str().unwrap(),
    ]);
    let out = ws.path("out/2026-10");
    let manifest = read_csv(&out.join("manifest.csv"));
    let print = read_csv(&out.join("print-manifest.csv"));
    assert_eq!(print.len(), manifest.len());
    assert_eq!(manifest.len(), first.len() - 2);
    // Presort: ZIP, then street address, through the whole run.
    let streets: HashMap<String, String> = read_csv(&ws.path("data/customers.csv"))
        .into_iter()
        .map(|c| (c["account_id"].clone(), c["address_line1"].clone()))
        .collect();
    let keys: Vec<(&str, &str)> = print
        .iter()
        .map(|r| (r["zip"].as_str(), streets[&r["account_id"]].as_str()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
    // Every piece is one sheet printed on both sides.
    assert!(print.iter().all(|r| r["page_count"] == "2"));
    // Page counts of the print files equal the sum of their pieces, and the
    // pieces appear in the file in manifest order.
    let mut files: BTreeMap<&str, Vec<&HashMap<String, String>>> = BTreeMap::new();
    for r in &print {
        files.entry(r["file"].as_str()).or_default().push(r);
    }
    assert_eq!(files.len(), manifest.len().div_ceil(40));
    for (file, pieces) in &files {
        let pages: usize = pieces
            .iter()
            .map(|r| r["page_count"].parse::<usize>().unwrap())
            .sum();
        assert_eq!(page_count(&out.join(file)), pages, "{file}");
        let mut expected_first = 1;
        for r in pieces {
            assert_eq!(r["first_page"].parse::<usize>().unwrap(), expected_first);
            expected_first += r["page_count"].parse::<usize>().unwrap();
        }
        let text: String = pdf_text(&out.join(file))
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut last = 0;
        for r in pieces {
            let at = text[last..]
                .find(&format!("W{}", &r["account_id"][1..]))
                .unwrap_or_else(|| panic!("{} not in {file} after byte {last}", r["account_id"]));
            last += at + 1;
        }
        for h in &held {
            assert!(!text.contains(h.as_str()), "{file} holds suppressed {h}");
        }
    }
    let exceptions = read_csv(&out.join("exceptions.csv"));
    for h in &held {
        let e = exceptions.iter().find(|e| &e["account_id"] == h).unwrap();
        assert_eq!(e["reason"], "suppressed");
    }
}

#[test]
fn a_household_the_template_cannot_lay_out_does_not_take_its_print_file_down() {
    let ws = Workspace::new("[print]\npieces_per_file = 10\n");
    ws.synth(40, false);
    // A layout that fails for one household only.
    let templates = ws.path("templates");
    copy_dir(&repo().join("report-templates"), &templates);
    let layout = templates.join("layout.typ");
    let text = std::fs::read_to_string(&layout).unwrap().replace(
        "#let report(d) = [",
        "#let report(d) = [\n#if d.account_id == \"W000007\" { panic(\"cannot lay this one out\") }",
    );
    std::fs::write(&layout, text).unwrap();
    let config = std::fs::read_to_string(ws.config()).unwrap().replace(
        &repo().join("report-templates").display().to_string(),
        "templates",
    );
    std::fs::write(ws.config(), config).unwrap();
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let exceptions = read_csv(&out.join("exceptions.csv"));
    let failed: Vec<_> = exceptions
        .iter()
        .filter(|e| e["reason"] == "render-failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["account_id"], "W000007");
    assert!(
        failed[0]["detail"].contains("cannot lay this one out"),
        "{failed:?}"
    );
    // Every other household of its print file was mailed, and the print
    // files hold exactly the manifest's households.
    let manifest = read_csv(&out.join("manifest.csv"));
    let pieces = read_csv(&out.join("print-manifest.csv"));
    let mailed: Vec<&String> = manifest.iter().map(|r| &r["account_id"]).collect();
    let printed: Vec<&String> = pieces.iter().map(|r| &r["account_id"]).collect();
    assert_eq!(mailed, printed);
    assert!(!mailed.iter().any(|a| *a == "W000007"));
    let customers = read_csv(&ws.path("data/customers.csv")).len();
    assert_eq!(manifest.len() + exceptions.len(), customers);
}

#[test]
fn an_out_folder_holding_another_period_is_refused_and_left_as_it_is() {
    let ws = Workspace::new("");
    ws.synth(60, false);
    let held = ws.path("out/mailed");
    let held_str = held.to_str().unwrap().to_string();
    ws.run(&["--period", "2026-09", "--out", &held_str]);
    let before = files(&held);
    assert!(
        before.keys().any(|k| k.starts_with("print/")),
        "{:?}",
        before.keys()
    );

    // The next period, mistyped into the folder of the one before.
    let config = ws.config();
    let out = ws.neighborly(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--period",
        "2026-10",
        "--out",
        &held_str,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a mistyped --out must be refused");
    assert!(
        err.contains("mailed") && err.contains("reports of 2026-09") && err.contains("2026-10"),
        "{err}"
    );
    assert_eq!(files(&held), before, "the earlier folder changed");
    // Nothing was decided for the refused period.
    let decisions = ws.decisions();
    assert!(decisions.iter().any(|d| d.contains("2026-09")));
    assert!(
        !decisions.iter().any(|d| d.contains("2026-10")),
        "{decisions:?}"
    );
}

#[test]
fn a_run_that_can_mail_nobody_fails_naming_the_reasons_and_records_nothing() {
    let ws = Workspace::new("");
    ws.synth(40, false);
    // No household has a bill ending in this month.
    let err = ws.run_failing("2027-06");
    assert!(
        err.contains("no household of") && err.contains("2027-06"),
        "{err}"
    );
    assert!(err.contains("no-bill-for-period"), "{err}");
    assert!(!ws.path("out/2027-06").exists() && !ws.path("out/2027-06.partial").exists());
    assert!(ws.decisions().is_empty());
}
