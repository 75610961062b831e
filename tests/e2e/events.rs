//! Peak events: a planted 10% cut in the messaged households' use during
//! the event is found by `evaluate --event` (its interval holds 10% and
//! not 0), none is found on a day without one, and every household's
//! results (window use, baseline, reduction) equal the ones computed here
//! from the interval file by the 3-of-10 rule INPUTS.md states.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};

use crate::common::{Workspace, ok, read_csv};

const ZONE: &str = "America/Los_Angeles";
const WINDOW: &str = "2026-08-12T16:00..20:00";

fn workspace() -> Workspace {
    let ws = Workspace::new(&format!(
        "[reads]\ntimezone = \"{ZONE}\"\n\
         [channels]\ndefault = \"email\"\nlink_salt = \"peak-salt\"\n\
         [email]\nfrom = \"Maple Valley Power <events@maplevalleypower.example>\"\n\
         unsubscribe_url = \"https://maplevalleypower.example/unsubscribe?t={{token}}\"\n\
         [peak]\nholdout = 0.3\n"
    ));
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let config = config.replace(
        "name = \"Maple Valley Water\"",
        "name = \"Maple Valley Power\"\nservice = \"electric\"",
    );
    std::fs::write(ws.config(), config).unwrap();
    let data = ws.path("data");
    ok(ws.neighborly(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--households",
        "400",
        "--clean",
        "--service",
        "electric",
    ]));
    let path = ws.path("data/customers.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut headers = reader.headers().unwrap().clone();
    headers.push_field("email");
    let mut rows = vec![headers];
    for (i, r) in reader.records().enumerate() {
        let mut r = r.unwrap();
        r.push_field(&format!("home{i}@example.org"));
        rows.push(r);
    }
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in rows {
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    ws
}

fn run(ws: &Workspace, args: &[&str]) -> String {
    let config = ws.config();
    let mut all = vec![args[0], "--config", config.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    ok(ws.neighborly(&all))
}

/// kWh in each local hour: the household's own size, the hour of the day,
/// a little from the day itself; and 10% less in the event's hours for
/// the messaged households.
fn kwh(scale: f64, local: chrono::NaiveDateTime, cut: bool) -> f64 {
    let profile = [
        0.4, 0.35, 0.3, 0.3, 0.3, 0.35, 0.5, 0.7, 0.8, 0.7, 0.6, 0.6, 0.65, 0.7, 0.8, 0.9, 1.2,
        1.5, 1.7, 1.6, 1.3, 1.0, 0.7, 0.5,
    ];
    let day = 1.0 + 0.04 * f64::from((local.day() * 7) % 5);
    let in_event = local.date() == NaiveDate::from_ymd_opt(2026, 8, 12).unwrap()
        && (16..20).contains(&local.hour());
    let factor = if cut && in_event { 0.9 } else { 1.0 };
    scale * profile[local.hour() as usize] * day * factor
}

/// The interval file, and each account's kWh by local (date, hour).
fn write_intervals(
    ws: &Workspace,
    treated: &BTreeSet<String>,
) -> BTreeMap<String, HashMap<(NaiveDate, u32), f64>> {
    let zone = neighborly::ingest::Zone::named(ZONE).unwrap();
    let accounts: Vec<String> = read_csv(&ws.path("data/customers.csv"))
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    let from = zone
        .utc(
            NaiveDate::from_ymd_opt(2026, 7, 15)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            None,
        )
        .unwrap();
    let to = zone
        .utc(
            NaiveDate::from_ymd_opt(2026, 8, 14)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            None,
        )
        .unwrap();
    let mut out = String::from("account_id,start,duration_s,quantity,unit\n");
    let mut by_hour = BTreeMap::new();
    for (k, account) in accounts.iter().enumerate() {
        let scale = 0.8 + 0.4 * ((k * 37) % 101) as f64 / 100.0;
        let cut = treated.contains(account);
        let mut hours = HashMap::new();
        let mut t = from;
        while t < to {
            let local = zone.local(t);
            let q = kwh(scale, local, cut);
            out.push_str(&format!("{account},{t},3600,{q:.6},kWh\n"));
            hours.insert((local.date(), local.hour()), q);
            t += 3600;
        }
        by_hour.insert(account.clone(), hours);
    }
    std::fs::write(ws.path("data/interval.csv"), out).unwrap();
    by_hour
}

/// Use from 16:00 to 20:00 on `day`.
fn window_use(hours: &HashMap<(NaiveDate, u32), f64>, day: NaiveDate) -> f64 {
    (16..20).map(|h| hours[&(day, h)]).sum()
}

/// The 3 highest of the last 10 weekdays before the event, averaged.
fn baseline(hours: &HashMap<(NaiveDate, u32), f64>) -> f64 {
    let mut days = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(2026, 8, 12).unwrap();
    while days.len() < 10 {
        d = d.pred_opt().unwrap();
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(window_use(hours, d));
        }
    }
    days.sort_by(|a, b| b.total_cmp(a));
    days[..3].iter().sum::<f64>() / 3.0
}

/// The delivery the outreach rules give a household: the holdout first,
/// then a closed or vacant account, then do-not-mail; else its e-mail.
fn delivery(customer: &HashMap<String, String>, held: bool) -> &'static str {
    match (
        held,
        customer["status"].as_str(),
        customer["do_not_mail"].as_str(),
    ) {
        (true, _, _) => "held-out",
        (_, "vacant", _) => "vacant",
        (_, "closed", _) => "closed",
        (_, _, "true") => "do-not-mail",
        _ => "written",
    }
}

fn groups(ws: &Workspace) -> (BTreeSet<String>, BTreeSet<String>) {
    let store = neighborly::store::Store::open_file(
        &ws.path("state.sqlite"),
        neighborly::store::Store::DEFAULT_WAIT,
    )
    .unwrap();
    let mut treated = BTreeSet::new();
    let mut control = BTreeSet::new();
    for (account, a) in store.assignments("peak-events").unwrap() {
        match a.group {
            neighborly::control::Group::Treatment => treated.insert(account),
            neighborly::control::Group::Control => control.insert(account),
        };
    }
    (treated, control)
}

/// A CSV row, by column name.
type Row = HashMap<String, String>;

#[test]
fn a_planted_cut_is_measured_and_every_household_s_results_recomputed() {
    let ws = workspace();
    // Notify: every household is drawn, the holdout hears nothing.
    let eml = ws.path("eml-notify");
    run(
        &ws,
        &[
            "peak-event",
            "--window",
            WINDOW,
            "--stage",
            "notify",
            "--emails-to",
            eml.to_str().unwrap(),
        ],
    );
    let (treated, control) = groups(&ws);
    assert_eq!(treated.len() + control.len(), 400);
    assert!(
        (100..=140).contains(&control.len()),
        "{} held out",
        control.len()
    );
    let customers: HashMap<String, Row> = read_csv(&ws.path("data/customers.csv"))
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect();
    check_notify(&ws, &eml, &control, &customers);

    // The event happens: the messaged households cut 10%.
    let hours = write_intervals(&ws, &treated);
    let interval = ws.path("data/interval.csv");
    let eml = ws.path("eml-results");
    run(
        &ws,
        &[
            "peak-event",
            "--window",
            WINDOW,
            "--stage",
            "results",
            "--interval",
            interval.to_str().unwrap(),
            "--emails-to",
            eml.to_str().unwrap(),
        ],
    );
    let results = read_csv(&ws.path("out/peak-20260812T1600-2000/peak-results.csv"));
    check_results(&results, &hours, &control, &customers);
    check_result_messages(&results, &eml, &customers);

    check_the_event_s_effect(&ws, &interval, &treated, &control);
    check_none_the_day_before(&ws, &interval);
}

/// Each household's notice went as the outreach rules say, and a message
/// was written for each one that was to get one.
fn check_notify(
    ws: &Workspace,
    eml: &std::path::Path,
    control: &BTreeSet<String>,
    customers: &HashMap<String, Row>,
) {
    let notify = read_csv(&ws.path("out/peak-20260812T1600-2000/peak-notify.csv"));
    let mut written = 0;
    for r in &notify {
        let held = control.contains(&r["account_id"]);
        let want = delivery(&customers[&r["account_id"]], held);
        assert_eq!(r["delivery"], want, "{r:?}");
        written += usize::from(want == "written");
    }
    assert!(written > 200, "{written} written");
    assert_eq!(std::fs::read_dir(eml).unwrap().count(), written);
}

/// Every household's window use, baseline and reduction equal the ones
/// computed here by the 3-of-10 rule.
fn check_results(
    results: &[Row],
    hours: &BTreeMap<String, HashMap<(NaiveDate, u32), f64>>,
    control: &BTreeSet<String>,
    customers: &HashMap<String, Row>,
) {
    let event_day = NaiveDate::from_ymd_opt(2026, 8, 12).unwrap();
    assert_eq!(results.len(), 400);
    for r in results {
        let h = &hours[&r["account_id"]];
        let (used, base) = (window_use(h, event_day), baseline(h));
        let close = |k: &str, v: f64, tol: f64| {
            let got: f64 = r[k].parse().unwrap();
            assert!(
                (got - v).abs() <= tol,
                "{} {k}: {got} vs {v}",
                r["account_id"]
            );
        };
        close("window_use", used, 0.001);
        close("baseline_use", base, 0.001);
        close("reduction", base - used, 0.002);
        close("reduction_pct", (base - used) / base * 100.0, 0.06);
        let held = control.contains(&r["account_id"]);
        assert_eq!(r["delivery"], delivery(&customers[&r["account_id"]], held));
    }
}

/// Each message carries its own figures, in its language.
fn check_result_messages(results: &[Row], eml: &std::path::Path, customers: &HashMap<String, Row>) {
    let mut languages = BTreeSet::new();
    for r in results
        .iter()
        .filter(|r| r["delivery"] == "written")
        .take(40)
    {
        let raw = std::fs::read(eml.join(format!("{}.eml", r["account_id"]))).unwrap();
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = m.body_text(0).unwrap().to_string();
        let lang = customers[&r["account_id"]]["language"].as_str();
        languages.insert(lang.to_string());
        let used: f64 = r["window_use"].parse().unwrap();
        let figure = format!("{used:.1} kWh");
        let figure = if lang == "es" {
            figure.replace('.', ",")
        } else {
            figure
        };
        assert!(
            text.contains(&figure),
            "{}: {figure} not in\n{text}",
            r["account_id"]
        );
    }
    assert_eq!(languages.len(), 2, "{languages:?}");
}

/// The event's effect: the planted 10% cut lies in its interval, 0 does not.
fn check_the_event_s_effect(
    ws: &Workspace,
    interval: &std::path::Path,
    treated: &BTreeSet<String>,
    control: &BTreeSet<String>,
) {
    let out = ws.path("evaluation-event");
    run(
        ws,
        &[
            "evaluate",
            "--event",
            WINDOW,
            "--interval",
            interval.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let e = &read_csv(&out.join("event.csv"))[0];
    let v = |k: &str| e[k].parse::<f64>().unwrap();
    assert_eq!(v("treatment_households") as usize, treated.len());
    assert_eq!(v("control_households") as usize, control.len());
    assert!(
        v("ci_low_pct") > 0.0 && v("ci_low_pct") < 10.0 && v("ci_high_pct") > 10.0,
        "{e:?}"
    );
    assert!(v("p_value") < 0.05, "{e:?}");
    let text = crate::common::pdf_text(&out.join("event.pdf"));
    assert!(
        text.contains("less in its hours than the holdout"),
        "{text}"
    );
    assert_eq!(crate::common::page_count(&out.join("event.pdf")), 1);
}

/// The day before, when nobody cut: the interval holds 0.
fn check_none_the_day_before(ws: &Workspace, interval: &std::path::Path) {
    let before = ws.path("evaluation-before");
    run(
        ws,
        &[
            "evaluate",
            "--event",
            "2026-08-11T16:00..20:00",
            "--interval",
            interval.to_str().unwrap(),
            "--out",
            before.to_str().unwrap(),
        ],
    );
    let e = &read_csv(&before.join("event.csv"))[0];
    let v = |k: &str| e[k].parse::<f64>().unwrap();
    assert!(v("ci_low_pct") < 0.0 && v("ci_high_pct") > 0.0, "{e:?}");
}
