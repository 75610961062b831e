//! Money and goals: costs through a utility's tiers, checked against
//! arithmetic written out here; savings and goals as they reach the
//! manifest and the printed page.

use std::collections::{BTreeMap, HashMap};

use crate::common::*;
use chrono::{Datelike, NaiveDate};
use neighborly::config::tariff::Tariffs;
use neighborly::model::{Household, Language};

const TARIFF: &str = r#"
[tariff.water]
unit = "kgal"
fixed = 18.50
tiers = [{ up_to = 6, rate = 4.10 }, { up_to = 15, rate = 5.60 }, { rate = 8.25 }]

[[tariff.water.seasons]]
months = [6, 7, 8, 9]
tiers = [{ up_to = 8, rate = 4.10 }, { up_to = 20, rate = 6.10 }, { rate = 9.40 }]
"#;

const BUDGET: &str = r#"
[tariff.water]
unit = "kgal"
fixed = 12.00
[tariff.water.budget]
indoor_per_person_per_day = 55
outdoor_per_sqft_per_day = 0.05
tiers = [{ up_to_pct = 100, rate = 4.0 }, { up_to_pct = 150, rate = 6.0 }, { rate = 10.0 }]
"#;

fn tariffs(text: &str) -> Tariffs {
    #[derive(serde::Deserialize)]
    struct File {
        tariff: Tariffs,
    }
    toml::from_str::<File>(text).unwrap().tariff
}

fn household(occupants: Option<u32>, irrigable: Option<&str>) -> Household {
    Household {
        occupants,
        extra: irrigable
            .map(|v| [("irrigable_sqft", v.to_string())].into_iter().collect())
            .unwrap_or_default(),
        ..neighborly::target::campaign::sample_household(Language::En)
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_bill_costs_what_the_three_tiers_say_at_and_across_their_bounds() {
    let t = tariffs(TARIFF);
    let t = t.water.as_ref().unwrap();
    let h = household(Some(3), None);
    let october = day(2026, 10, 31);
    let cost = |gallons: f64| neighborly::money::cost(t, &h, gallons, 31, october).unwrap();
    // Written out: 18.50 fixed; 4.10 per kgal to 6; 5.60 to 15; 8.25 above.
    assert!(close(cost(0.0), 18.50));
    assert!(close(cost(6_000.0), 18.50 + 6.0 * 4.10));
    assert!(close(cost(6_001.0), 18.50 + 6.0 * 4.10 + 0.001 * 5.60));
    assert!(close(cost(15_000.0), 18.50 + 6.0 * 4.10 + 9.0 * 5.60));
    assert!(close(
        cost(22_500.0),
        18.50 + 6.0 * 4.10 + 9.0 * 5.60 + 7.5 * 8.25
    ));
    // The whole summer: summer tiers only.
    let july = neighborly::money::cost(t, &h, 10_000.0, 31, day(2026, 7, 31)).unwrap();
    assert!(close(july, 18.50 + 8.0 * 4.10 + 2.0 * 6.10));
}

#[test]
fn a_bill_spanning_the_season_change_is_split_by_its_days() {
    let t = tariffs(TARIFF);
    let t = t.water.as_ref().unwrap();
    let h = household(Some(3), None);
    // 30 days ending June 15: May 17-31 (15 days, base tiers) and June 1-15
    // (15 days, summer tiers). Half the use and half of each bound in each.
    let got = neighborly::money::cost(t, &h, 20_000.0, 30, day(2026, 6, 15)).unwrap();
    let base = 3.0 * 4.10 + 4.5 * 5.60 + (10.0 - 7.5) * 8.25; // bounds 3 and 7.5
    let summer = 4.0 * 4.10 + 6.0 * 6.10; // bounds 4 and 10
    assert!(close(got, 18.50 + base + summer), "{got}");
    // 10 days in May, 20 in June: a third and two thirds.
    let got = neighborly::money::cost(t, &h, 12_000.0, 30, day(2026, 6, 20)).unwrap();
    let (may, june) = (1.0 / 3.0, 2.0 / 3.0);
    let base = 2.0 * 4.10 + (4.0 - 2.0) * 5.60; // 4 kgal; bounds 2 and 5
    let summer = (8.0 * june) * 4.10 + (8.0 - 8.0 * june) * 6.10; // 8 kgal; bounds 5.33.. and 13.3..
    assert!(close(may * 12.0, 4.0) && close(june * 12.0, 8.0));
    assert!(close(got, 18.50 + base + summer), "{got}");
}

#[test]
fn a_water_budget_tariff_charges_by_the_households_own_budget() {
    let t = tariffs(BUDGET);
    let t = t.water.as_ref().unwrap();
    let h = household(Some(3), Some("2000"));
    // Budget: 3 people x 55 + 2000 sq ft x 0.05 = 265 gal/day; 30 days = 7.95 kgal.
    let budget = (3.0 * 55.0 + 2000.0 * 0.05) * 30.0 / 1000.0;
    let got = neighborly::money::cost(t, &h, 14_000.0, 30, day(2026, 10, 30)).unwrap();
    let want = 12.0 + budget * 4.0 + (1.5 * budget - budget) * 6.0 + (14.0 - 1.5 * budget) * 10.0;
    assert!(close(got, want), "{got} vs {want}");
    // Exactly the budget: the first tier only.
    let at = neighborly::money::cost(t, &h, budget * 1000.0, 30, day(2026, 10, 30)).unwrap();
    assert!(close(at, 12.0 + budget * 4.0));
    // No irrigable area given: indoor only. No household size: no number at all.
    let indoor = household(Some(2), None);
    let got = neighborly::money::cost(t, &indoor, 3_300.0, 30, day(2026, 10, 30)).unwrap();
    assert!(close(got, 12.0 + 3.3 * 4.0), "{got}");
    assert_eq!(
        neighborly::money::cost(t, &household(None, None), 3_300.0, 30, day(2026, 10, 30)),
        None
    );
}

#[test]
fn a_bad_tariff_fails_with_its_line() {
    let ws = Workspace::new(
        "\n[tariff.water]\nunit = \"kgal\"\ntiers = [{ up_to = 6, rate = 4.1 }, { up_to = 5, rate = 5.6 }, { rate = 8 }]\n",
    );
    let o = ws.neighborly(&["check", "--config", ws.config().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success());
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let line = config.lines().position(|l| l == "[tariff.water]").unwrap() + 1;
    assert!(err.contains(&format!("config.toml:{line}:")), "{err}");
    assert!(
        err.contains("tier 2 bound 5 must be above the tier before it (6)"),
        "{err}"
    );
}

/// One account's bills by month: gallons, days, last day.
type Bills = BTreeMap<(i32, u32), (f64, i64, NaiveDate)>;

/// Every account's bills, from usage.csv: read once, not once per letter.
fn bills_by_account(ws: &Workspace) -> HashMap<String, Bills> {
    let mut all: HashMap<String, Bills> = HashMap::new();
    for row in read_csv(&ws.path("data/usage.csv")) {
        let out = all.entry(row["account_id"].clone()).or_default();
        let start: NaiveDate = row["period_start"].parse().unwrap();
        let end: NaiveDate = row["period_end"].parse().unwrap();
        let factor = match row["unit"].as_str() {
            "gal" => 1.0,
            "kgal" => 1000.0,
            "ccf" => 748.052,
            "m3" => 264.172,
            u => panic!("unit {u}"),
        };
        let q: f64 = row["quantity"].parse::<f64>().unwrap() * factor;
        let e = out
            .entry((end.year(), end.month()))
            .or_insert((0.0, 0, end));
        e.0 += q;
        e.1 += (end - start).num_days() + 1;
        e.2 = e.2.max(end);
    }
    all
}

/// The shipped tariff written out by hand, season split by days included.
fn by_hand(gallons: f64, days: i64, end: NaiveDate) -> f64 {
    let tiers = |summer: bool| -> Vec<(f64, f64)> {
        if summer {
            vec![(8.0, 4.10), (20.0, 6.10), (f64::INFINITY, 9.40)]
        } else {
            vec![(6.0, 4.10), (15.0, 5.60), (f64::INFINITY, 8.25)]
        }
    };
    let summer_days = (0..days)
        .filter(|k| (6..=9).contains(&(end - chrono::Duration::days(*k)).month()))
        .count() as f64;
    let mut total = 18.50;
    for (summer, n) in [(false, days as f64 - summer_days), (true, summer_days)] {
        let share = n / days as f64;
        let q = gallons / 1000.0 * share;
        let mut lower = 0.0;
        for (bound, rate) in tiers(summer) {
            let upper = bound * share;
            total += (q.min(upper) - lower).max(0.0) * rate;
            lower = upper;
        }
    }
    total
}

#[test]
fn reports_show_the_cost_and_the_yearly_saving_computed_through_the_tiers() {
    let ws = Workspace::new(TARIFF);
    // Enough homes for full cohorts in most localities.
    ws.synth(300, false);
    // High users reach the comparison in their third letter (tips, notice).
    for period in ["2026-08", "2026-09", "2026-10"] {
        ws.run(&["--period", period]);
    }
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    let cohorts = read_csv(&ws.path("out/2026-10/cohorts.csv"));
    let bills_of = bills_by_account(&ws);
    let mut checked_cost = 0;
    let mut checked_savings = 0;
    for row in &manifest {
        let bills = &bills_of[&row["account_id"]];
        let (q, days, end) = bills[&(2026, 10)];
        let cost: f64 = row["cost"].parse().unwrap();
        assert!((cost - by_hand(q, days, end)).abs() < 0.006, "{row:?}");
        checked_cost += 1;
        // Tips and notice letters print a tip's saving (checked against
        // their pages in print::the_manifest_lists_what_each_page_prints).
        if row["savings_per_year"].is_empty() || row["phase"] != "comparison" {
            assert!(
                row["rating"] != "above-typical" || row["phase"] != "comparison",
                "{row:?}"
            );
            continue;
        }
        assert_eq!(
            (row["rating"].as_str(), row["phase"].as_str()),
            ("above-typical", "comparison")
        );
        // Use like the efficient neighbors: every month of the last year cut
        // by the same ratio, through the tiers, scaled to 365 days.
        let usage = q / days as f64;
        // The cohort's efficient use unrounded (the manifest prints whole gallons).
        let efficient: f64 = cohorts
            .iter()
            .find(|c| c["cohort_id"] == row["cohort_id"])
            .unwrap()["efficient_per_day"]
            .parse()
            .unwrap();
        assert_eq!(
            row["efficient_per_day"].parse::<f64>().unwrap(),
            efficient.round()
        );
        let ratio = efficient / usage;
        let (mut saved, mut total_days) = (0.0, 0);
        for ((y, m), (q, d, e)) in bills {
            let months = (2026 - y) * 12 + 10 - *m as i32;
            if (0..12).contains(&months) {
                saved += by_hand(*q, *d, *e) - by_hand(q * ratio, *d, *e);
                total_days += d;
            }
        }
        let want = saved * 365.0 / total_days as f64;
        let got: f64 = row["savings_per_year"].parse().unwrap();
        // In whole dollars, as the page prints it.
        assert!((got - want).abs() <= 0.55, "{got} vs {want}: {row:?}");
        let text = pdf_text(&ws.path(&format!("out/2026-10/{}", row["pdf"])));
        let whole = want.round() as i64;
        let shown = match row["language"].as_str() {
            // Spanish groups from five digits, with a space (any space, once extracted).
            "es" if whole >= 10_000 => {
                format!(
                    "ahorraría unos {} {:03} $ al año",
                    whole / 1000,
                    whole % 1000
                )
            }
            "es" => format!("ahorraría unos {whole} $ al año"),
            _ => format!("save you about ${} a year", with_commas(whole)),
        };
        assert!(text.contains(&shown), "{shown:?} not in {text}");
        checked_savings += 1;
    }
    assert!(
        checked_cost > 40 && checked_savings > 0,
        "{checked_cost} {checked_savings}"
    );

    the_manifest_lists_what_each_page_prints(&ws);
}

/// Every manifest row's tips are the tips its PDF prints, and its saving
/// the saving the page promises (in whole dollars), whatever the letter.
fn the_manifest_lists_what_each_page_prints(ws: &Workspace) {
    let titles = |lang: &str| -> BTreeMap<String, String> {
        let path = repo().join(format!("report-templates/wording/{lang}.toml"));
        let text = std::fs::read_to_string(path).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        doc["tips"]
            .as_table()
            .unwrap()
            .iter()
            .map(|(id, t)| (id.clone(), t["title"].as_str().unwrap().to_string()))
            .collect()
    };
    let titles = BTreeMap::from([("en", titles("en")), ("es", titles("es"))]);
    let mut kinds: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for period in ["2026-08", "2026-09", "2026-10"] {
        for row in read_csv(&ws.path(&format!("out/{period}/manifest.csv"))) {
            let text = pdf_text(&ws.path(&format!("out/{period}/{}", row["pdf"])));
            let lang = titles[row["language"].as_str()].clone();
            let listed: Vec<&str> = row["tips"].split(';').filter(|t| !t.is_empty()).collect();
            for id in &listed {
                assert!(
                    text.contains(&lang[*id]),
                    "{id} listed, not printed: {row:?}"
                );
            }
            // Titles, not ids: two services' tips may share one.
            let printed: std::collections::BTreeSet<&String> = lang
                .values()
                .filter(|t| text.contains(t.as_str()))
                .collect();
            let wanted: std::collections::BTreeSet<&String> =
                listed.iter().map(|id| &lang[*id]).collect();
            assert_eq!(printed, wanted, "{row:?}\n{text}");
            *kinds
                .entry((row["phase"].clone(), listed.len()))
                .or_default() += 1;
            let promise = match row["language"].as_str() {
                "es" => "ahorraría unos",
                _ => "save you about",
            };
            if row["savings_per_year"].is_empty() {
                assert!(!text.contains(promise), "{row:?}");
                continue;
            }
            let whole: i64 = row["savings_per_year"].parse().unwrap();
            let shown = match row["language"].as_str() {
                "es" if whole >= 10_000 => {
                    format!("unos {} {:03} $ al año", whole / 1000, whole % 1000)
                }
                "es" => format!("unos {whole} $ al año"),
                _ => format!("about ${} a year", with_commas(whole)),
            };
            assert!(text.contains(&shown), "{shown}: {row:?}\n{text}");
        }
    }
    // Letters of every kind were read, with fewer tips where the page has
    // less room (an invitation on a notice's back, a leak block).
    assert!(
        ["tips", "notice", "comparison"]
            .iter()
            .all(|p| kinds.keys().any(|(k, _)| k == p))
            && kinds.contains_key(&("notice".to_string(), 3)),
        "{kinds:?}"
    );
}

fn with_commas(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn without_a_tariff_no_money_appears_anywhere() {
    let ws = Workspace::new("");
    ws.synth(40, false);
    ws.run(&["--period", "2026-10"]);
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    assert!(!manifest.is_empty());
    for row in &manifest {
        assert_eq!(
            (row["cost"].as_str(), row["savings_per_year"].as_str()),
            ("", "")
        );
        let text = pdf_text(&ws.path(&format!("out/2026-10/{}", row["pdf"])));
        assert!(!text.contains('$'), "{text}");
        assert!(!text.contains("charges"), "{text}");
        assert!(!text.contains("cargos"), "{text}");
    }
}

#[test]
fn the_goal_set_in_one_month_is_judged_in_the_next() {
    let ws = Workspace::new(TARIFF);
    ws.synth(80, false);
    ws.run(&["--period", "2026-09"]);
    ws.run(&["--period", "2026-10"]);
    let before: BTreeMap<String, BTreeMap<String, String>> =
        read_csv(&ws.path("out/2026-09/manifest.csv"))
            .into_iter()
            .map(|r| (r["account_id"].clone(), r.into_iter().collect()))
            .collect();
    let mut judged = (0, 0);
    for row in read_csv(&ws.path("out/2026-10/manifest.csv")) {
        let Some(last) = before.get(&row["account_id"]) else {
            assert_eq!(
                row["last_goal"], "",
                "no letter last month, no goal: {row:?}"
            );
            continue;
        };
        let goal: f64 = last["goal_per_day"].parse().unwrap();
        let usage: f64 = row["usage_per_day"].parse().unwrap();
        // Water use per day is printed in whole gallons.
        let met = usage.round() <= goal.round();
        assert_eq!(
            row["last_goal"],
            if met { "met" } else { "missed" },
            "{row:?}"
        );
        let text = pdf_text(&ws.path(&format!("out/2026-10/{}", row["pdf"])));
        let (said, other) = match (row["language"].as_str(), met) {
            ("es", true) => ("¡Meta cumplida", "Esta vez no"),
            ("es", false) => ("Esta vez no", "¡Meta cumplida"),
            (_, true) => ("Goal met", "Not this time"),
            (_, false) => ("Not this time", "Goal met"),
        };
        let goal_text = format!("{} gal/", with_commas(goal.round() as i64));
        assert!(
            text.contains(said) && !text.contains(other),
            "{said}: {text}"
        );
        assert!(text.contains(&goal_text), "{goal_text}: {text}");
        if met {
            judged.0 += 1;
        } else {
            judged.1 += 1;
        }
    }
    assert!(judged.0 > 0 && judged.1 > 0, "met/missed: {judged:?}");
}

#[test]
fn check_shows_the_tariff() {
    let ws = Workspace::new(TARIFF);
    let out = ok(ws.neighborly(&["check", "--config", ws.config().to_str().unwrap()]));
    assert!(
        out.contains("tariff water: fixed $18.50 per bill; 0-6 kgal at $4.10, 6-15 kgal at $5.60, over 15 kgal at $8.25; months [6, 7, 8, 9]: 0-8 kgal at $4.10"),
        "{out}"
    );
}
