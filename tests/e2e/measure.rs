//! Measuring: a planted saving and a planted response-rate difference are
//! recovered by `evaluate`; with nothing planted, the interval holds zero.
//! The savings figure is also recomputed here from the usage file and the
//! store's assignments, independently of the library.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;
use neighborly::control::{Group, REPORTS};
use neighborly::store::Store;
use rand::{Rng, SeedableRng};

const HOUSEHOLDS: &str = "6000";
const PRE: &str = "2024-10..2025-09";
const POST: &str = "2025-10..2026-09";

fn synth(ws: &Workspace, out: &str, extra: &[&str]) {
    let out = ws.path(out);
    let mut args = vec![
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--households",
        HOUSEHOLDS,
        "--clean",
    ];
    args.extend_from_slice(extra);
    ok(ws.neighborly(&args));
}

fn evaluate(ws: &Workspace, usage: &str, out: &str) -> HashMap<String, HashMap<String, String>> {
    evaluate_windows(ws, usage, out, PRE, POST).0
}

/// `evaluate` over the given windows: evaluation.csv by group, and what it printed.
fn evaluate_windows(
    ws: &Workspace,
    usage: &str,
    out: &str,
    pre: &str,
    post: &str,
) -> (HashMap<String, HashMap<String, String>>, String) {
    evaluate_with(ws, usage, out, pre, post, &[])
}

/// `evaluate_windows` with more arguments (`--method caltrack ...`).
fn evaluate_with(
    ws: &Workspace,
    usage: &str,
    out: &str,
    pre: &str,
    post: &str,
    extra: &[&str],
) -> (HashMap<String, HashMap<String, String>>, String) {
    let config = ws.config();
    let usage = ws.path(usage);
    let out_dir = ws.path(out);
    let mut args = vec![
        "evaluate",
        "--config",
        config.to_str().unwrap(),
        "--usage",
        usage.to_str().unwrap(),
        "--pre",
        pre,
        "--post",
        post,
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let said = ok(ws.neighborly(&args));
    let rows = read_csv(&out_dir.join("evaluation.csv"))
        .into_iter()
        .map(|r| (r["group"].clone(), r))
        .collect();
    (rows, said)
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap()
}

/// Savings in percent computed from the raw usage file: per household, use
/// per day in each window (gallons over days) and the log of their ratio,
/// then the difference of the groups' mean log changes, as a saving
/// (1 - e^difference).
fn independent_savings_pct(usage: &Path, groups: &HashMap<String, Group>) -> f64 {
    let gallons = |unit: &str| match unit {
        "gal" => 1.0,
        "kgal" => 1000.0,
        "ccf" => 748.052,
        "m3" => 264.172,
        other => panic!("unit {other}"),
    };
    // (pre quantity, pre days, post quantity, post days) per account.
    let mut sums: HashMap<String, [f64; 4]> = HashMap::new();
    for r in read_csv(usage) {
        let start = chrono::NaiveDate::parse_from_str(&r["period_start"], "%Y-%m-%d").unwrap();
        let end = chrono::NaiveDate::parse_from_str(&r["period_end"], "%Y-%m-%d").unwrap();
        let month = end.format("%Y-%m").to_string();
        let days = ((end - start).num_days() + 1) as f64;
        let q = r["quantity"].parse::<f64>().unwrap() * gallons(&r["unit"]);
        let slot = if ("2024-10".."2025-10").contains(&month.as_str()) {
            0
        } else if ("2025-10".."2026-10").contains(&month.as_str()) {
            2
        } else {
            continue;
        };
        let e = sums.entry(r["account_id"].clone()).or_default();
        e[slot] += q;
        e[slot + 1] += days;
    }
    let mut diffs: HashMap<Group, Vec<f64>> = HashMap::new();
    for (account, group) in groups {
        let Some(s) = sums.get(account) else { continue };
        if s[0] == 0.0 || s[2] == 0.0 {
            continue;
        }
        let (pre, post) = (s[0] / s[1], s[2] / s[3]);
        diffs.entry(*group).or_default().push((post / pre).ln());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let did = mean(&diffs[&Group::Treatment]) - mean(&diffs[&Group::Control]);
    100.0 * (1.0 - did.exp())
}

/// `evaluation.csv`: each row by its group.
type ByGroup = HashMap<String, HashMap<String, String>>;

#[test]
fn evaluate_recovers_a_planted_saving_and_response_rate_and_finds_none_when_none_was_planted() {
    let ws = Workspace::new(
        "[control]\nshare = 0.2\nsalt = \"measure-test\"\n\
         [weather]\nstation = \"maple-valley\"\ntimezone = \"America/Los_Angeles\"\n",
    );
    synth(&ws, "data", &[]);
    let groups = enroll(&ws);
    plant_a_saving(&ws);
    import_responses(&ws, &groups);

    let planted = check_the_planted_saving(&ws, &groups);
    let said = check_seasons(&ws);
    check_subgroups(&ws, &planted, &said);
    let rates = read_csv(&ws.path("eval-planted/responses.csv"));
    let kit = rates
        .iter()
        .find(|r| r["event"] == "kit-requested")
        .unwrap();
    let (low, high) = (num(kit, "ci_low_pct"), num(kit, "ci_high_pct"));
    assert!(low > 0.0 && low <= 6.0 && 6.0 <= high, "{kit:?}");
    check_the_page(&ws, &planted["all"]);

    check_caltrack(&ws, &groups);
    check_none_planted(&ws, &groups);
}

/// Set up the control group before the first letters (after the 2025-09
/// bills); returns each household's group.
fn enroll(ws: &Workspace) -> HashMap<String, Group> {
    let config = ws.config();
    let balance = ok(ws.neighborly(&[
        "enroll",
        "--config",
        config.to_str().unwrap(),
        "--period",
        "2025-09",
    ]));
    assert!(balance.contains("control:"), "{balance}");
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    let groups: HashMap<String, Group> = store
        .assignments(REPORTS)
        .unwrap()
        .into_values()
        .map(|a| (a.account_id, a.group))
        .collect();
    let control = groups.values().filter(|g| **g == Group::Control).count();
    assert!(groups.len() > 5000, "{} assigned", groups.len());
    let share = control as f64 / groups.len() as f64;
    assert!((share - 0.2).abs() < 0.01, "control share {share}");
    groups
}

/// The same households and reads, with treated ones using 2% less from 2025-10.
fn plant_a_saving(ws: &Workspace) {
    let state = ws.path("state.sqlite");
    synth(
        ws,
        "planted",
        &[
            "--effect-pct",
            "2",
            "--effect-from",
            "2025-10",
            "--effect-state",
            state.to_str().unwrap(),
        ],
    );
}

/// Responses: 10% of treated and 4% of control households request a kit.
fn import_responses(ws: &Workspace, groups: &HashMap<String, Group>) {
    let config = ws.config();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut events = String::from("account_id,date,event\n");
    let mut accounts: Vec<(&String, &Group)> = groups.iter().collect();
    accounts.sort();
    for (account, group) in accounts {
        let p = if *group == Group::Treatment {
            0.10
        } else {
            0.04
        };
        if rng.gen_bool(p) {
            events.push_str(&format!(
                "{account},2026-02-{:02},kit-requested\n",
                rng.gen_range(1..=28)
            ));
        }
    }
    let file = ws.path("events.csv");
    std::fs::write(&file, events).unwrap();
    ok(ws.neighborly(&[
        "responses",
        "import",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]));
}

/// The planted 2% lies in the interval, and the figure is the one
/// recomputed here from the usage file.
fn check_the_planted_saving(ws: &Workspace, groups: &HashMap<String, Group>) -> ByGroup {
    let planted = evaluate(ws, "planted/usage.csv", "eval-planted");
    let all = &planted["all"];
    let (low, high) = (num(all, "ci_low_pct"), num(all, "ci_high_pct"));
    assert!(low > 0.0 && low <= 2.0 && 2.0 <= high, "{all:?}");
    let expected = independent_savings_pct(&ws.path("planted/usage.csv"), groups);
    assert!(
        (num(all, "savings_pct") - expected).abs() < 1e-6,
        "evaluate says {}, recomputed {expected}",
        all["savings_pct"]
    );
    assert_eq!(
        num(all, "treatment_households") + num(all, "control_households"),
        groups.len() as f64
    );
    planted
}

/// Six-month windows in different seasons (summer before, winter after)
/// still recover it, and the output warns about the windows. Returns what
/// that evaluation printed.
fn check_seasons(ws: &Workspace) -> String {
    let (seasons, said) = evaluate_windows(
        ws,
        "planted/usage.csv",
        "eval-seasons",
        "2025-04..2025-09",
        "2025-10..2026-03",
    );
    let all6 = &seasons["all"];
    let (low6, high6) = (num(all6, "ci_low_pct"), num(all6, "ci_high_pct"));
    assert!(low6 > 0.0 && low6 <= 2.0 && 2.0 <= high6, "{all6:?}");
    assert!(
        said.contains("warning: the pre window (2025-04..2025-09) and the post window"),
        "{said}"
    );
    assert!(
        said.contains("pre-period balance: standardized difference"),
        "{said}"
    );
    assert!(!said.contains("control household(s) received"), "{said}");
    said
}

/// Fairness: the saving within assistance participants and not, and by
/// language, each holds the planted 2%; so do kit requests by subgroup.
fn check_subgroups(ws: &Workspace, planted: &ByGroup, said: &str) {
    for group in [
        "assistance:yes",
        "assistance:no",
        "language:en",
        "language:es",
    ] {
        let row = &planted[group];
        let (low, high) = (num(row, "ci_low_pct"), num(row, "ci_high_pct"));
        assert!(low <= 2.0 && 2.0 <= high, "{group}: {row:?}");
        assert!(num(row, "treatment_households") > 100.0, "{group}: {row:?}");
    }
    assert!(planted.keys().any(|k| k.starts_with("locality:")));
    let by_group = read_csv(&ws.path("eval-planted/responses-by-group.csv"));
    let es_kits = by_group
        .iter()
        .find(|r| r["subgroup"] == "language:es" && r["event"] == "kit-requested")
        .unwrap();
    let (low, high) = (num(es_kits, "ci_low_pct"), num(es_kits, "ci_high_pct"));
    assert!(low <= 6.0 && 6.0 <= high, "{es_kits:?}");
    assert!(
        said.contains("boomerang check: households rated Great"),
        "{said}"
    );
    // By rating at enrolment and by pre-period quintile, too.
    assert!(planted.contains_key("rating:above-typical"));
    assert!((1..=5).all(|q| planted.contains_key(&format!("pre-use-quintile:{q}"))));
}

/// The one-page report's headline gives the saving evaluation.csv holds.
fn check_the_page(ws: &Workspace, all: &HashMap<String, String>) {
    let text = pdf_text(&ws.path("eval-planted/evaluation.pdf"));
    assert_eq!(page_count(&ws.path("eval-planted/evaluation.pdf")), 1);
    let headline = format!(
        "used {:.1}% less than the control group",
        num(all, "savings_pct")
    );
    assert!(text.contains(&headline), "{headline:?} not in {text}");
    assert!(text.contains("difference in differences"), "{text}");
}

/// Weather-normalized (CalTRACK): each household against its own model of
/// the pre year run on the post year's weather; the planted 2% again, and
/// the page says which method; with nothing planted, the interval holds 0.
fn check_caltrack(ws: &Workspace, groups: &HashMap<String, Group>) {
    let weather = ws.path("data/weather.csv");
    let weather = weather.to_str().unwrap();
    let caltrack = ["--method", "caltrack", "--weather", weather];
    let (normalized, said) = evaluate_with(
        ws,
        "planted/usage.csv",
        "eval-caltrack",
        PRE,
        POST,
        &caltrack,
    );
    let all = &normalized["all"];
    let (low, high) = (num(all, "ci_low_pct"), num(all, "ci_high_pct"));
    assert!(low > 0.0 && low <= 2.0 && 2.0 <= high, "{all:?}\n{said}");
    assert!(said.contains("(method caltrack)"), "{said}");
    // Households without a model that meets CalTRACK's rules are left out.
    let counted = num(all, "treatment_households") + num(all, "control_households");
    assert!(
        counted > 0.5 * groups.len() as f64,
        "{counted} of {}",
        groups.len()
    );
    let text = pdf_text(&ws.path("eval-caltrack/evaluation.pdf"));
    assert!(text.contains("weather-normalized (CalTRACK 2.0)"), "{text}");
    let (unplanted, _) = evaluate_with(
        ws,
        "data/usage.csv",
        "eval-caltrack-none",
        PRE,
        POST,
        &caltrack,
    );
    let all = &unplanted["all"];
    let (low, high) = (num(all, "ci_low_pct"), num(all, "ci_high_pct"));
    assert!(low < 0.0 && 0.0 < high, "{all:?}");
}

/// With nothing planted, the interval holds zero and the page says so.
fn check_none_planted(ws: &Workspace, groups: &HashMap<String, Group>) {
    let none = evaluate(ws, "data/usage.csv", "eval-none");
    let all = &none["all"];
    let (low, high) = (num(all, "ci_low_pct"), num(all, "ci_high_pct"));
    assert!(low < 0.0 && 0.0 < high, "{all:?}");
    let expected = independent_savings_pct(&ws.path("data/usage.csv"), groups);
    assert!((num(all, "savings_pct") - expected).abs() < 1e-6);
    let text = pdf_text(&ws.path("eval-none/evaluation.pdf"));
    assert!(text.contains("includes zero"), "{text}");
}

#[test]
fn response_imports_report_bad_rows_and_never_add_twice() {
    let ws = Workspace::new(
        "[segments.all]\ndescription = \"everyone\"\n\
         [campaigns.kit]\nsegment = \"all\"\n",
    );
    let file = ws.path("events.csv");
    std::fs::write(
        &file,
        "account_id,date,event,campaign\n\
         W000001,2026-03-02,call,\n\
         W000002,2026-03-05,kit-requested,kit\n\
         W000003,2026-02-30,call,\n\
         ,2026-03-05,call,\n\
         W000004,2026-03-05,Called Us,\n\
         W000005,2026-03-05,call,mystery\n\
         W000002,2026-03-06,sample-returned,kit\n\
         W000006,2026-03-07,opt-out,\n",
    )
    .unwrap();
    let config = ws.config();
    let import = || {
        ws.neighborly(&[
            "responses",
            "import",
            file.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
    };
    let first = import();
    let out = ok(first.clone());
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        out.contains("4 event(s) added, 0 already present, 4 row(s) rejected"),
        "{out}"
    );
    let name = file.display().to_string();
    for line in [4, 5, 6, 7] {
        assert!(
            err.contains(&format!("{name}:{line}:")),
            "line {line} not reported: {err}"
        );
    }
    assert!(err.contains("campaign \"mystery\""), "{err}");
    let again = ok(import());
    assert!(
        again.contains("0 event(s) added, 4 already present"),
        "{again}"
    );
    // The opt-out event opts its household out, as `neighborly opt-out` does.
    assert!(out.contains("1 household(s) opted out"), "{out}");
    assert!(again.contains("0 household(s) opted out"), "{again}");
    let store = Store::open_file(&ws.path("state.sqlite"), Store::DEFAULT_WAIT).unwrap();
    assert_eq!(store.response_count().unwrap(), 4);
    let opted = store.opt_outs().unwrap();
    assert_eq!(opted.keys().collect::<Vec<_>>(), ["W000006"]);
    assert!(opted["W000006"].contains("2026-03-07"), "{opted:?}");
}

/// Calls planted at 5% of September's entering notice letters are
/// attributed to them, give a learned notice rate whose interval holds 5%,
/// and the October forecast uses it; the brief sets September's forecast
/// beside the calls that came.
#[test]
fn call_rates_are_learned_from_calls_and_used_in_the_next_forecast() {
    let ws = Workspace::new(
        "[control]\nshare = 0.0\n[phase]\ncall_window_days = 30\nmin_letters_for_rate = 40\n",
    );
    ws.synth(400, false);
    let config = ws.config();
    let cfg = config.to_str().unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    // Each month's letters are laid out early the next month.
    let run = |period: &str, mailed: &str| {
        std::fs::write(
            &config,
            text.replace("date = \"2026-11-05\"", &format!("date = \"{mailed}\"")),
        )
        .unwrap();
        ws.run(&["--period", period])
    };
    run("2026-08", "2026-09-05");
    run("2026-09", "2026-10-05");
    let september = read_csv(&ws.path("out/2026-09/manifest.csv"));
    let entering: Vec<&String> = september
        .iter()
        .filter(|r| r["phase"] == "notice" && r["entered_phase"] == "true")
        .map(|r| &r["account_id"])
        .collect();
    assert!(entering.len() >= 60, "{} entering notices", entering.len());
    let callers: Vec<&&String> = entering.iter().step_by(20).collect();
    let mut events = String::from("account_id,date,event\n");
    for a in &callers {
        events.push_str(&format!("{a},2026-10-12,call\n"));
    }
    // A call long after any letter is no letter's.
    events.push_str(&format!("{},2026-12-30,call\n", september[0]["account_id"]));
    std::fs::write(ws.path("calls.csv"), events).unwrap();
    let calls = ws.path("calls.csv");
    ok(ws.neighborly(&[
        "responses",
        "import",
        calls.to_str().unwrap(),
        "--config",
        cfg,
    ]));

    let said = run("2026-10", "2026-11-05");
    let forecast = read_csv(&ws.path("out/2026-10/forecast.csv"));
    let notice = forecast.iter().find(|r| r["phase"] == "notice").unwrap();
    let f = |k: &str| notice[k].parse::<f64>().unwrap();
    let (n, k) = (entering.len() as f64, callers.len() as f64);
    assert_eq!(f("learned_from_letters"), n, "{notice:?}");
    assert!((f("learned_rate") - k / n).abs() < 1e-9, "{notice:?}");
    assert!(
        f("learned_low") < 0.05 && 0.05 < f("learned_high"),
        "{notice:?}"
    );
    assert!(
        (f("call_rate") - k / n).abs() < 1e-9,
        "the learned rate is used"
    );
    assert!((f("configured_rate") - 0.01).abs() < 1e-12);
    assert!(
        (f("expected_calls") - f("entering") * k / n).abs() < 1e-9,
        "{notice:?}"
    );
    assert!(said.contains("learned"), "{said}");
    // Comparison letters have no calls behind them yet: configured rate.
    let comparison = forecast
        .iter()
        .find(|r| r["phase"] == "comparison")
        .unwrap();
    assert_eq!(comparison["call_rate"], "0.03");

    let brief = std::fs::read_to_string(ws.path("out/2026-10/agent-brief.md")).unwrap();
    assert!(
        brief.contains("## Last run (2026-09): forecast and the calls that came"),
        "{brief}"
    );
    let expected = format!("| notice | {} | 1.00% |", entering.len());
    let line = brief
        .lines()
        .find(|l| l.starts_with(&expected))
        .unwrap_or_else(|| panic!("{expected}\n{brief}"));
    assert!(line.ends_with(&format!("| {} |", callers.len())), "{line}");
}
