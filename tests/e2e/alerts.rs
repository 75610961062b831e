//! Bill-to-date alerts against a real SMTP server (aiosmtpd on loopback):
//! households with a planted high bill, and no one else, get exactly one
//! alert per bill period across daily runs, a killed run and its restart;
//! the holdout gets none; every projection and bill equals the one
//! computed here from the input files by the rules INPUTS.md states.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Timelike};

use crate::common::smtp::SmtpServer;
use crate::common::{Workspace, read_csv, recipient};

const ZONE: &str = "America/Los_Angeles";
/// The test tariff: $20 a month and $5 per thousand gallons.
const FIXED: f64 = 20.0;
const RATE_PER_KGAL: f64 = 5.0;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A bill as `usage.csv` gives it, in gallons.
#[derive(Clone, Copy, Debug)]
struct Bill {
    start: NaiveDate,
    end: NaiveDate,
    gallons: f64,
}

impl Bill {
    fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// Every account's bills, merged per month of their end as billing does.
fn bills(ws: &Workspace) -> BTreeMap<String, Vec<Bill>> {
    let factor = |u: &str| match u {
        "gal" => 1.0,
        "kgal" => 1000.0,
        "ccf" | "hcf" => 748.052,
        "m3" => 264.172,
        other => panic!("unit {other}"),
    };
    let mut by_month: BTreeMap<String, BTreeMap<(i32, u32), Bill>> = BTreeMap::new();
    for r in read_csv(&ws.path("data/usage.csv")) {
        let start = NaiveDate::parse_from_str(&r["period_start"], "%Y-%m-%d").unwrap();
        let end = NaiveDate::parse_from_str(&r["period_end"], "%Y-%m-%d").unwrap();
        let q = r["quantity"].parse::<f64>().unwrap() * factor(&r["unit"]);
        let b = by_month
            .entry(r["account_id"].clone())
            .or_default()
            .entry((end.year(), end.month()))
            .or_insert(Bill {
                start,
                end,
                gallons: 0.0,
            });
        b.start = b.start.min(start);
        b.end = b.end.max(end);
        b.gallons += q;
    }
    by_month
        .into_iter()
        .map(|(a, m)| (a, m.into_values().collect()))
        .collect()
}

/// The bill period `as_of` is in: the last bill's cycle rolled on.
fn period(bills: &[Bill], as_of: NaiveDate) -> (NaiveDate, NaiveDate) {
    let last = bills.iter().rev().find(|b| b.end < as_of).unwrap();
    let mut start = last.end.succ_opt().unwrap();
    loop {
        let end = start + chrono::Days::new(last.days() as u64 - 1);
        if end >= as_of {
            return (start, end);
        }
        start = end.succ_opt().unwrap();
    }
}

/// Usual gallons per day: the bill covering the middle day a year
/// earlier, else the last three bills together.
fn usual_per_day(bills: &[Bill], (start, end): (NaiveDate, NaiveDate)) -> Option<f64> {
    let days = (end - start).num_days() + 1;
    let middle = start + chrono::Days::new((days / 2) as u64);
    let year_ago = middle.with_year(middle.year() - 1).unwrap();
    if let Some(b) = bills
        .iter()
        .find(|b| b.start <= year_ago && year_ago <= b.end)
    {
        return Some(b.gallons / b.days() as f64);
    }
    let before: Vec<&Bill> = bills.iter().filter(|b| b.end < start).collect();
    let last = &before[before.len().checked_sub(3)?..];
    Some(
        last.iter().map(|b| b.gallons).sum::<f64>()
            / last.iter().map(|b| b.days()).sum::<i64>() as f64,
    )
}

fn cost(gallons: f64, days: i64) -> f64 {
    let months = (days as f64 / (365.25 / 12.0)).round().max(1.0);
    FIXED * months + RATE_PER_KGAL * gallons / 1000.0
}

/// Each account's use per local day, and the hourly interval file that
/// adds up to it (UTC hours, use from 6:00 to midnight local, none at night,
/// so no water runs without a stop).
fn write_intervals(ws: &Workspace, daily: &BTreeMap<String, BTreeMap<NaiveDate, f64>>) {
    let zone = neighborly::ingest::Zone::named(ZONE).unwrap();
    let mut out = String::from("account_id,start,duration_s,quantity,unit\n");
    for (account, days) in daily {
        let first = *days.keys().next().unwrap();
        let last = *days.keys().last().unwrap();
        let from = zone.utc(first.and_hms_opt(0, 0, 0).unwrap(), None).unwrap();
        let to = zone
            .utc(last.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap(), None)
            .unwrap();
        let mut t = from;
        while t < to {
            let local = zone.local(t);
            let q = if local.hour() >= 6 {
                days[&local.date()] / 18.0
            } else {
                0.0
            };
            out.push_str(&format!("{account},{t},3600,{q:.6},gal\n"));
            t += 3600;
        }
    }
    std::fs::write(ws.path("data/interval.csv"), out).unwrap();
}

/// 240 households, every eleventh by text and the rest by e-mail; `relay`
/// is the `[email]` lines that say where e-mail goes.
fn workspace(relay: &str, holdout: f64) -> Workspace {
    let ws = Workspace::new(&format!(
        "[reads]\ntimezone = \"{ZONE}\"\n\
         [channels]\ndefault = \"email\"\nlink_salt = \"alert-salt\"\n\
         [email]\nfrom = \"Maple Valley Water <alerts@maplevalleywater.example>\"\n\
         {relay}\n\
         unsubscribe_url = \"https://maplevalleywater.example/unsubscribe?t={{token}}\"\n\
         [sms]\nlink = \"https://mvw.example/a/{{token}}\"\n\
         [tariff.water]\nunit = \"kgal\"\nfixed = {FIXED}\ntiers = [{{ rate = {RATE_PER_KGAL} }}]\n\
         [alerts]\nholdout = {holdout}\n"
    ));
    ws.synth(240, false);
    // Every household by e-mail, but every eleventh by text.
    let path = ws.path("data/customers.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut headers = reader.headers().unwrap().clone();
    for h in ["channel", "email", "mobile", "sms_consent"] {
        headers.push_field(h);
    }
    let mut rows = vec![headers];
    for (i, r) in reader.records().enumerate() {
        let mut r = r.unwrap();
        let fields = if i % 11 == 5 {
            [
                "sms".to_string(),
                String::new(),
                format!("(530) 555-{i:04}"),
                "yes".into(),
            ]
        } else {
            [
                "email".to_string(),
                format!("home{i}@example.org"),
                String::new(),
                String::new(),
            ]
        };
        for f in &fields {
            r.push_field(f);
        }
        rows.push(r);
    }
    let mut w = csv::Writer::from_path(&path).unwrap();
    for r in rows {
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    ws
}

/// The days every account's use is generated for.
const FIRST_DAY: (i32, u32, u32) = (2026, 10, 1);
const LAST_DAY: (i32, u32, u32) = (2026, 11, 25);

/// Use per day: the household's usual rate, and for the planted ones
/// (every other account whose usual bill has over $25 of use) twice that from
/// 1 November. Returns the daily use and the planted accounts.
fn plant(
    bills: &BTreeMap<String, Vec<Bill>>,
    as_of: NaiveDate,
    every: usize,
) -> (BTreeMap<String, BTreeMap<NaiveDate, f64>>, BTreeSet<String>) {
    let mut daily = BTreeMap::new();
    let mut planted = BTreeSet::new();
    for (k, (account, b)) in bills.iter().enumerate() {
        let p = period(b, as_of);
        let usual = usual_per_day(b, p).unwrap_or(0.0);
        let days = (p.1 - p.0).num_days() + 1;
        let big = usual * days as f64 / 1000.0 * RATE_PER_KGAL > 25.0;
        let high = k % every == 0 && big;
        if high {
            planted.insert(account.clone());
        }
        let first = d(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2);
        let last = d(LAST_DAY.0, LAST_DAY.1, LAST_DAY.2);
        let use_of: BTreeMap<NaiveDate, f64> = first
            .iter_days()
            .take_while(|x| *x <= last)
            .map(|x| {
                let factor = if high && x >= d(2026, 11, 1) {
                    2.0
                } else {
                    1.0
                };
                (x, usual * factor)
            })
            .collect();
        daily.insert(account.clone(), use_of);
    }
    (daily, planted)
}

/// What the rules say of one account on `as_of`.
enum Expected {
    NoProjection,
    NoUsualBill,
    /// Period, used so far, projected, projected cost, usual cost.
    Figures((NaiveDate, NaiveDate), f64, f64, f64, f64),
}

fn expected(b: &[Bill], days: &BTreeMap<NaiveDate, f64>, as_of: NaiveDate) -> Expected {
    let p = period(b, as_of);
    let so_far = (as_of - p.0).num_days() + 1;
    if as_of >= p.1 || so_far < 7 {
        return Expected::NoProjection;
    }
    let used: f64 =
        p.0.iter_days()
            .take(so_far as usize)
            .map(|x| days[&x])
            .sum();
    let recent: f64 = (0..7)
        .map(|k| days[&(as_of - chrono::Days::new(k))])
        .sum::<f64>()
        / 7.0;
    let rest = (p.1 - as_of).num_days() as f64;
    let projected = used + recent * rest;
    let n = (p.1 - p.0).num_days() + 1;
    let Some(usual) = usual_per_day(b, p) else {
        return Expected::NoUsualBill;
    };
    let usual = usual * n as f64;
    Expected::Figures(p, used, projected, cost(projected, n), cost(usual, n))
}

fn alerts_csv(ws: &Workspace, as_of: &str) -> Vec<HashMap<String, String>> {
    read_csv(&ws.path(&format!("out/alerts-{as_of}/alerts.csv")))
}

fn run_alert(ws: &Workspace, as_of: &str) -> String {
    let config = ws.config();
    let interval = ws.path("data/interval.csv");
    crate::common::ok(ws.neighborly(&[
        "alert",
        "--config",
        config.to_str().unwrap(),
        "--interval",
        interval.to_str().unwrap(),
        "--as-of",
        as_of,
    ]))
}

/// (recipient, Message-ID) of every message the server took.
fn received(server: &SmtpServer) -> Vec<(String, String)> {
    server
        .messages()
        .iter()
        .map(|raw| {
            let m = mail_parser::MessageParser::default().parse(raw).unwrap();
            (recipient(&m), m.message_id().unwrap().to_string())
        })
        .collect()
}

/// Each household alerted in a period: the period's start and how it was
/// alerted (`sent` by e-mail, `listed` for the text gateway).
type Alerted = BTreeMap<String, (NaiveDate, String)>;

/// What the expected figures are computed from.
struct Planted<'a> {
    bills: &'a BTreeMap<String, Vec<Bill>>,
    daily: &'a BTreeMap<String, BTreeMap<NaiveDate, f64>>,
    planted: &'a BTreeSet<String>,
    first_day: NaiveDate,
}

#[test]
fn planted_high_bills_get_one_alert_per_period_across_days_a_kill_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(dir.path());
    let ws = workspace(
        &format!(
            "smtp_url = \"smtp://127.0.0.1:{}\"\nper_second = 4",
            server.port
        ),
        0.2,
    );
    let bills = bills(&ws);
    let first_day = d(2026, 11, 18);
    let (daily, planted) = plant(&bills, first_day, 2);
    assert!(planted.len() >= 15, "{} planted", planted.len());
    write_intervals(&ws, &daily);
    let emails = account_by_email(&ws);

    let before = kill_the_first_day(&ws, &server);

    let plan = Planted {
        bills: &bills,
        daily: &daily,
        planted: &planted,
        first_day,
    };
    let mut alerted: Alerted = BTreeMap::new();
    for day in ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-20"] {
        run_alert(&ws, day);
        check_day(&ws, &plan, day, &mut alerted);
    }
    let held_out: BTreeSet<String> = alerts_csv(&ws, "2026-11-20")
        .into_iter()
        .filter(|r| r["delivery"] == "held-out")
        .map(|r| r["account_id"].clone())
        .collect();
    assert!(!held_out.is_empty(), "no household was held out");
    assert!(
        before < alerted.len(),
        "the run was killed too late to test anything"
    );
    check_messages(&server, &emails, &alerted, &held_out);
    check_texts(&ws);
}

/// The account of each e-mail address, to tell whose alert the server took.
fn account_by_email(ws: &Workspace) -> HashMap<String, String> {
    read_csv(&ws.path("data/customers.csv"))
        .into_iter()
        .filter(|r| r["channel"] == "email")
        .map(|r| (r["email"].clone(), r["account_id"].clone()))
        .collect()
}

/// The first day's run, killed once a few alerts have gone out. Returns
/// how many messages the server had taken by then.
fn kill_the_first_day(ws: &Workspace, server: &SmtpServer) -> usize {
    let config = ws.config();
    let interval = ws.path("data/interval.csv");
    let mut child = std::process::Command::new(crate::common::BIN)
        .current_dir(ws.dir.path())
        .args(["alert", "--config", config.to_str().unwrap()])
        .args([
            "--interval",
            interval.to_str().unwrap(),
            "--as-of",
            "2026-11-18",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no alert arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(60));
    child.kill().unwrap();
    child.wait().unwrap();
    server.count()
}

/// One day's `alerts.csv`: a row per household, each as the rules say.
fn check_day(ws: &Workspace, plan: &Planted, day: &str, alerted: &mut Alerted) {
    let as_of = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    let rows = alerts_csv(ws, day);
    assert_eq!(
        rows.len(),
        plan.bills.len(),
        "a row per household with interval data"
    );
    for r in &rows {
        check_row(plan, as_of, r, alerted);
    }
}

/// One household's figures against those computed here, and whether it
/// is high against whether it was planted.
fn check_row(plan: &Planted, as_of: NaiveDate, r: &HashMap<String, String>, alerted: &mut Alerted) {
    let account = &r["account_id"];
    let (p, used, projected, projected_cost, usual_cost) =
        match expected(&plan.bills[account], &plan.daily[account], as_of) {
            Expected::NoProjection => {
                assert!(r["delivery"].starts_with("no-projection"), "{r:?}");
                return;
            }
            Expected::NoUsualBill => {
                assert!(r["delivery"].starts_with("no-usual-bill"), "{r:?}");
                return;
            }
            Expected::Figures(p, u, pr, pc, uc) => (p, u, pr, pc, uc),
        };
    assert_eq!(r["bill_start"], p.0.to_string(), "{account}");
    assert_eq!(r["bill_end"], p.1.to_string(), "{account}");
    let close = |k: &str, v: f64| {
        let got: f64 = r[k].parse().unwrap();
        assert!((got - v).abs() <= 0.011, "{account} {k}: {got} vs {v}");
    };
    close("used_so_far", used);
    close("projected_use", projected);
    close("projected_cost", projected_cost);
    close("usual_cost", usual_cost);
    let pct = (projected_cost / usual_cost - 1.0) * 100.0;
    let high = pct >= 30.0 && projected_cost - usual_cost >= 10.0;
    // In the period the households were planted for, the planted
    // ones and no one else are high.
    if p == period(&plan.bills[account], plan.first_day) {
        assert_eq!(high, plan.planted.contains(account), "{account}: {pct:.1}%");
    }
    check_delivery(account, r["delivery"].as_str(), p.0, high, alerted);
}

/// A high household is alerted once in its period or held out; no one
/// else is alerted at all.
fn check_delivery(
    account: &str,
    delivery: &str,
    start: NaiveDate,
    high: bool,
    alerted: &mut Alerted,
) {
    if !high {
        assert_eq!(delivery, "not-high", "{account}");
        return;
    }
    match delivery {
        "held-out" => assert!(!alerted.contains_key(account), "{account}"),
        "sent" | "listed" => {
            let first = alerted.insert(account.to_string(), (start, delivery.to_string()));
            assert!(first.is_none(), "{account} alerted twice in {start}");
        }
        // Sent before the kill, or on an earlier day.
        "already-sent" => {
            let first = alerted
                .entry(account.to_string())
                .or_insert((start, "sent".to_string()));
            assert_eq!(first.0, start, "{account}");
        }
        other => panic!("{account}: {other}"),
    }
}

/// What the server took: one alert (one Message-ID) per e-mailed household.
fn check_messages(
    server: &SmtpServer,
    emails: &HashMap<String, String>,
    alerted: &Alerted,
    held_out: &BTreeSet<String>,
) {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (to, id) in received(server) {
        ids.entry(emails[&to].clone()).or_default().insert(id);
    }
    let emailed: BTreeSet<&String> = alerted
        .iter()
        .filter(|(_, (_, how))| how == "sent")
        .map(|(a, _)| a)
        .collect();
    assert_eq!(ids.keys().collect::<BTreeSet<_>>(), emailed);
    assert!(ids.values().all(|s| s.len() == 1), "{ids:?}");
    // A message in flight at the kill may reach the relay once more, under
    // its one Message-ID; nothing else is ever sent twice.
    assert!(
        server.count() <= emailed.len() + 1,
        "{} messages",
        server.count()
    );
    assert!(held_out.iter().all(|a| !ids.contains_key(a)));
}

/// Texts: listed for the gateway once, within their segments.
fn check_texts(ws: &Workspace) {
    let texts = read_csv(&ws.path("out/alerts-2026-11-18/alerts-sms.csv"));
    let later = read_csv(&ws.path("out/alerts-2026-11-20/alerts-sms.csv"));
    assert!(later.is_empty(), "texts listed again: {later:?}");
    for t in &texts {
        assert!(t["text"].contains("https://mvw.example/a/") && t["text"].contains("STOP"));
        let most = if t["encoding"] == "gsm-7" { 1 } else { 2 };
        assert!(t["segments"].parse::<usize>().unwrap() <= most, "{t:?}");
    }
}

/// `evaluate --alerts`: the households drawn when they first qualified,
/// treated against held out, by their bills before and after. A planted
/// 10% saving in the treated households' later bills is found.
#[test]
fn evaluate_alerts_finds_a_saving_planted_in_the_alerted_households() {
    let ws = workspace("", 0.5);
    let bills = bills(&ws);
    let (daily, planted) = plant(&bills, d(2026, 11, 18), 1);
    write_intervals(&ws, &daily);
    let eml = ws.path("eml");
    let config = ws.config();
    let interval = ws.path("data/interval.csv");
    // Daily runs: households qualify as their periods go on.
    let mut high: BTreeSet<String> = BTreeSet::new();
    for day in ["2026-11-14", "2026-11-18", "2026-11-22", "2026-11-25"] {
        crate::common::ok(ws.neighborly(&[
            "alert",
            "--config",
            config.to_str().unwrap(),
            "--interval",
            interval.to_str().unwrap(),
            "--as-of",
            day,
            "--emails-to",
            eml.to_str().unwrap(),
        ]));
        high.extend(
            alerts_csv(&ws, day)
                .into_iter()
                .filter(|r| !r["pct_above"].is_empty() && r["delivery"] != "not-high")
                .map(|r| r["account_id"].clone()),
        );
    }
    let store = neighborly::store::Store::open_file(
        &ws.path("state.sqlite"),
        neighborly::store::Store::DEFAULT_WAIT,
    )
    .unwrap();
    let groups = store.assignments("alerts").unwrap();
    // Only households that qualified are drawn: the high ones.
    assert_eq!(
        groups.keys().collect::<BTreeSet<_>>(),
        high.iter().collect()
    );
    assert!(high.iter().all(|a| planted.contains(a)));
    assert!(groups.len() >= 40, "{} drawn", groups.len());

    // November and December bills: the treated households 10% below their
    // May-October rate, the holdout at it (each with a little of its own).
    let mut usage = std::fs::read_to_string(ws.path("data/usage.csv")).unwrap();
    for (k, (account, b)) in bills.iter().enumerate() {
        let pre: Vec<&Bill> = b
            .iter()
            .filter(|x| x.end >= d(2026, 5, 1) && x.end <= d(2026, 10, 31))
            .collect();
        let rate = pre.iter().map(|x| x.gallons).sum::<f64>()
            / pre.iter().map(|x| x.days()).sum::<i64>() as f64;
        let treated = groups
            .get(account)
            .is_some_and(|a| a.group == neighborly::control::Group::Treatment);
        let noise = 1.0 + 0.02 * ((k * 13) % 5) as f64 - 0.04;
        let factor = if treated { 0.9 } else { 1.0 } * noise;
        for (start, end) in [
            (d(2026, 11, 1), d(2026, 11, 30)),
            (d(2026, 12, 1), d(2026, 12, 31)),
        ] {
            let days = (end - start).num_days() + 1;
            usage.push_str(&format!(
                "{account},{start},{end},{:.1},gal,false\n",
                rate * factor * days as f64
            ));
        }
    }
    std::fs::write(ws.path("data/usage.csv"), usage).unwrap();
    let out = ws.path("evaluation");
    let said = crate::common::ok(ws.neighborly(&[
        "evaluate",
        "--config",
        config.to_str().unwrap(),
        "--alerts",
        "--pre",
        "2026-05..2026-10",
        "--post",
        "2026-11..2026-12",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(said.contains("experiment alerts"), "{said}");
    let all = read_csv(&out.join("evaluation.csv"))
        .into_iter()
        .find(|r| r["group"] == "all")
        .unwrap();
    let v = |k: &str| all[k].parse::<f64>().unwrap();
    assert_eq!(
        v("treatment_households") + v("control_households"),
        groups.len() as f64
    );
    assert!((v("savings_pct") - 10.0).abs() < 1.5, "{all:?}");
    assert!(v("ci_low_pct") > 5.0, "{all:?}");
    let text = crate::common::pdf_text(&out.join("evaluation.pdf"));
    assert!(text.contains("bill-to-date alerts"), "{text}");
}
