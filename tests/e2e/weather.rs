//! Letters with the weather block: where the household's own weather model
//! earns it, what the block says, and what it displaces.

use std::collections::HashMap;

use crate::common::*;

/// A manifest row, by column name.
type Row = HashMap<String, String>;

/// Letters carry the weather block exactly where the household's own model
/// over its last 12 months of bills (fitted again here by `weather fit` on
/// that window) has a heating or cooling part, an adjusted R² of at least
/// 0.5 and nine bills behind it, and the back has room; the block's parts
/// add up to 100%, its sentences name this month and the same month a year
/// earlier, and a comparison with the block prints one tip fewer.
#[test]
fn letters_carry_the_weather_block_where_the_model_fits() {
    let ws = Workspace::new(
        "[reads]\ntimezone = \"America/Los_Angeles\"\n\
         [weather]\nfile = \"data/weather.csv\"\nstation = \"maple-valley\"\n",
    );
    ws.synth(300, false);
    ws.run(&["--period", "2026-10"]);
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    let with: Vec<&Row> = manifest
        .iter()
        .filter(|r| !r["weather_model"].is_empty())
        .collect();
    assert!(
        with.len() > 20 && with.len() < manifest.len(),
        "{} of {} letters carry the block",
        with.len(),
        manifest.len()
    );
    for r in manifest.iter().step_by(7) {
        check_the_page(&ws, r);
    }
    check_the_brief(&ws, &with);

    // The same model, fitted by `weather fit` on each household's own year
    // of bills, decides the block.
    for r in manifest.iter().step_by(11).take(14) {
        let m = fit_alone(&ws, r);
        let r2: f64 = m["r2_adj"].parse().unwrap_or(0.0);
        let n: usize = m["n_periods"].parse().unwrap();
        let fits = !m["model"].is_empty() && m["model"] != "intercept_only" && r2 >= 0.5 && n >= 9;
        let room = r["assistance_invite"] == "false";
        if fits && room {
            assert_eq!(r["weather_model"], m["model"], "{r:?} {m:?}");
        } else {
            assert_eq!(r["weather_model"], "", "{r:?} {m:?}");
        }
    }
}

/// One letter's page: the block where the manifest says, and when there,
/// its months, figures and parts, with one tip fewer and no invitation.
fn check_the_page(ws: &Workspace, r: &Row) {
    let text = pdf_text(&ws.path(&format!("out/2026-10/{}", r["pdf"])));
    let (headline, month, last) = if r["language"] == "es" {
        ("El clima y su consumo", "octubre 2026", "octubre 2025")
    } else {
        ("Weather and your use", "October 2026", "October 2025")
    };
    assert_eq!(
        text.contains(headline),
        !r["weather_model"].is_empty(),
        "{}: {text}",
        r["account_id"]
    );
    if r["weather_model"].is_empty() {
        return;
    }
    assert!(text.contains(month) && text.contains(last), "{text}");
    check_the_figures(&text, r);
    check_the_parts(&text, r);
    if r["phase"] == "comparison" {
        assert_eq!(r["tips"].split(';').count(), 2, "{r:?}");
    }
    assert_eq!(r["assistance_invite"], "false");
}

/// The manifest's figures are the page's.
fn check_the_figures(text: &str, r: &Row) {
    if r["language"] == "en" && !r["weather_change_per_day"].is_empty() {
        let gallons = |k: &str| r[k].trim_start_matches('-').to_string();
        for (k, none) in [
            ("weather_change_per_day", "changed your use very little"),
            ("own_change_per_day", "used about as much as a year ago"),
        ] {
            let said = if gallons(k) == "0" {
                none.to_string()
            } else {
                format!("about {} gal/day", gallons(k))
            };
            assert!(text.contains(&said), "{k} {}: {said:?} not in {text}", r[k]);
        }
    }
}

/// The parts' percentages, as printed, add up to 100.
fn check_the_parts(text: &str, r: &Row) {
    let (from, to) = if r["language"] == "es" {
        ("12 meses", "Calculado")
    } else {
        ("12 months", "Estimated")
    };
    let split = &text[text.find(from).unwrap()..text.find(to).unwrap()];
    let percents: u32 = split
        .split('%')
        .filter_map(|s| s.rsplit(' ').next().and_then(|n| n.parse::<u32>().ok()))
        .sum();
    assert_eq!(percents, 100, "{text}");
}

/// The call-center brief sums the month's weather up in one talking point,
/// over the letters with a bill a year earlier to compare with.
fn check_the_brief(ws: &Workspace, with: &[&Row]) {
    let brief = std::fs::read_to_string(ws.path("out/2026-10/agent-brief.md")).unwrap();
    let said: usize = brief
        .split("**Weather this period.** ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{brief}"));
    let compared = with
        .iter()
        .filter(|r| !r["weather_change_per_day"].is_empty())
        .count();
    assert!(
        said > 0 && said == compared,
        "{said} vs {compared}: {brief}"
    );
}

/// `weather fit` on the letter's household alone, over the year of bills
/// ending with the letter's; returns its row of models.csv.
fn fit_alone(ws: &Workspace, r: &Row) -> Row {
    let cfg = ws.config();
    let end: chrono::NaiveDate = r["bill_end"].parse().unwrap();
    let start = end - chrono::Days::new(364);
    let one = ws.path("one.csv");
    let customers = std::fs::read_to_string(ws.path("data/customers.csv")).unwrap();
    let mut lines = customers.lines();
    let header = lines.next().unwrap();
    let row = lines
        .find(|l| l.starts_with(&format!("{},", r["account_id"])))
        .unwrap();
    std::fs::write(&one, format!("{header}\n{row}\n")).unwrap();
    let out = ws.path("fit");
    ok(ws.neighborly(&[
        "weather",
        "fit",
        "--config",
        cfg.to_str().unwrap(),
        "--customers",
        one.to_str().unwrap(),
        "--baseline",
        &format!("{start}..{end}"),
        "--out",
        out.to_str().unwrap(),
    ]));
    read_csv(&out.join("models.csv")).swap_remove(0)
}
