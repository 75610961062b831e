//! Weather models against CalTRACK's reference implementation: the
//! OpenEEmeter sample meters and their Illinois hourly temperatures, fitted
//! by `neighborly weather fit` and by `eemeter` 3.2.0 (pinned from PyPI, in
//! a venv `tests/reference/caltrack/setup.sh` makes), compared number by
//! number. Nothing of the reference's output is copied into the test: it
//! runs the reference each time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The reference venv (made once; a second call returns at once).
fn reference_python() -> PathBuf {
    let venv = std::env::var_os("NEIGHBORLY_CALTRACK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/neighborly/caltrack-venv")
        });
    let setup = repo().join("tests/reference/caltrack/setup.sh");
    let o = Command::new("bash")
        .arg(&setup)
        .arg(&venv)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "setup.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    venv.join("bin/python")
}

fn python(py: &Path, script: &str, args: &[&Path]) -> String {
    let o = Command::new(py)
        .arg("-W")
        .arg("ignore")
        .arg(repo().join("tests/reference/caltrack").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Fit one exported sample with neighborly: its models.csv and savings.csv rows.
fn fit(
    dir: &Path,
    sample: &Path,
    day_zone: &str,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let w: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample.join("windows.json")).unwrap()).unwrap();
    let service = if w["unit"] == "therm" {
        "gas"
    } else {
        "electric"
    };
    let account = w["account_id"].as_str().unwrap();
    std::fs::write(
        dir.join("customers.csv"),
        format!(
            "account_id,name,address_line1,address_line2,city,state,zip,locality,service,occupants,home_sqft,year_built,language,programs,status,do_not_mail\n\
             {account},Pat Doe,1 Main St,,Chicago,IL,60601,northside,{service},3,1500,1970,en,,active,false\n"
        ),
    )
    .unwrap();
    let (usage, interval) = if w["kind"] == "daily" {
        (
            String::new(),
            sample.join("interval.csv").display().to_string(),
        )
    } else {
        (
            sample.join("usage.csv").display().to_string(),
            String::new(),
        )
    };
    let interval_line = if interval.is_empty() {
        String::new()
    } else {
        format!("interval = {interval:?}\n")
    };
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[utility]\nname = \"Test\"\nservice = \"{service}\"\n\
             [input]\ncustomers = \"customers.csv\"\nusage = {usage:?}\n{interval_line}\
             [reads]\ntimezone = \"America/Chicago\"\n\
             [weather]\ntimezone = \"{day_zone}\"\n[weather.stations]\nnorthside = \"il\"\n"
        ),
    )
    .unwrap();
    let window = |k: &str| {
        format!(
            "{}..{}",
            w[k]["start"].as_str().unwrap(),
            w[k]["end"].as_str().unwrap()
        )
    };
    let out = dir.join("out");
    let weather = sample.parent().unwrap().join("weather.csv");
    ok(Command::new(BIN)
        .current_dir(dir)
        .args(["weather", "fit", "--config", "config.toml", "--weather"])
        .arg(&weather)
        .args(["--baseline", &window("baseline")])
        .args(["--reporting", &window("reporting")])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    let models = read_csv(&out.join("models.csv"));
    let savings = read_csv(&out.join("savings.csv"));
    assert_eq!((models.len(), savings.len()), (1, 1));
    (models[0].clone(), savings[0].clone())
}

/// Relative difference.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

fn number(row: &HashMap<String, String>, k: &str) -> f64 {
    row[k]
        .parse()
        .unwrap_or_else(|_| panic!("{k} {:?} in {row:?}", row[k]))
}

/// neighborly's fit of `sample` equals the reference's within `tol`.
fn agrees(py: &Path, dir: &Path, sample: &Path, day_zone: &str, tol: f64, band_tol: f64) {
    let (model, saved) = fit(dir, sample, day_zone);
    let mode = if day_zone == "America/Chicago" {
        "local"
    } else {
        "standard"
    };
    let reference: serde_json::Value = serde_json::from_str(&python(
        py,
        "reference_fit.py",
        &[sample, Path::new("--days"), Path::new(mode)],
    ))
    .unwrap();
    let name = sample.file_name().unwrap().to_string_lossy().to_string();
    let want_type = match reference["model_type"].as_str().unwrap() {
        "cdd_hdd" => "hdd_cdd",
        other => other,
    };
    assert_eq!(model["model"], want_type, "{name}: {model:?}");
    for (ours, theirs) in [
        ("heating_balance_f", "heating_balance_point"),
        ("cooling_balance_f", "cooling_balance_point"),
    ] {
        let want = reference[theirs]
            .as_u64()
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert_eq!(model[ours], want, "{name} {ours}");
    }
    let mut pairs = vec![
        (number(&model, "intercept_per_day"), "intercept", &reference),
        (number(&model, "r2_adj"), "r_squared_adj", &reference),
        (
            number(&saved, "reporting_predicted"),
            "reporting_predicted_total",
            &reference,
        ),
        (
            number(&saved, "reporting_observed"),
            "reporting_observed_total",
            &reference,
        ),
    ];
    if !model["beta_hdd"].is_empty() {
        pairs.push((number(&model, "beta_hdd"), "beta_hdd", &reference));
    }
    if !model["beta_cdd"].is_empty() {
        pairs.push((number(&model, "beta_cdd"), "beta_cdd", &reference));
    }
    let bands = [
        (
            number(&saved, "savings_unc_90"),
            "fsu_error_band_90",
            &reference,
        ),
        (
            number(&saved, "savings_ols_unc_90"),
            "ols_error_band_90",
            &reference,
        ),
    ];
    let tolerances: Vec<f64> = pairs.iter().map(|_| tol).chain([band_tol; 2]).collect();
    for ((ours, key, r), tol) in pairs.into_iter().chain(bands).zip(tolerances) {
        let theirs = r[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no {key}"));
        assert!(
            rel(ours, theirs) <= tol,
            "{name} ({day_zone}) {key}: {ours} vs the reference's {theirs}"
        );
    }
    assert_eq!(
        number(&model, "n_periods") as u64,
        reference["n"].as_u64().unwrap(),
        "{name}"
    );
}

#[test]
fn caltrack_models_agree_with_the_reference_implementation() {
    let py = reference_python();
    let samples = tempfile::tempdir().unwrap();
    python(&py, "export_samples.py", &[samples.path()]);
    let billing = [
        "il-electricity-cdd-hdd-billing_monthly",
        "il-gas-hdd-only-billing_monthly",
    ];
    for name in billing {
        let sample = samples.path().join(name);
        // Days in the meters' own standard time: every day 24 hours, the
        // same arithmetic as the reference's, so the same numbers.
        let dir = tempfile::tempdir().unwrap();
        agrees(&py, dir.path(), &sample, "Etc/GMT+6", 1e-6, 1e-6);
        // Local days with DST: the reference counts 24-hour chunks, so its
        // days drift by the DST hour; within 1% (a day is a day here), the
        // savings uncertainty (from the residuals' autocorrelation) within 3%.
        let dir = tempfile::tempdir().unwrap();
        agrees(&py, dir.path(), &sample, "America/Chicago", 1e-2, 3e-2);
    }
    // Interval data summed per local day (four days of 23 or 25 hours).
    let sample = samples.path().join("il-electricity-cdd-hdd-daily");
    let dir = tempfile::tempdir().unwrap();
    agrees(&py, dir.path(), &sample, "America/Chicago", 1e-3, 1e-3);
}

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
    let with: Vec<&HashMap<String, String>> = manifest
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
            continue;
        }
        assert!(text.contains(month) && text.contains(last), "{text}");
        // The manifest's figures are the page's.
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
        // The parts' percentages, as printed, add up to 100.
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
        if r["phase"] == "comparison" {
            assert_eq!(r["tips"].split(';').count(), 2, "{r:?}");
        }
        assert_eq!(r["assistance_invite"], "false");
    }

    // The call-center brief sums the month's weather up in one talking point.
    let brief = std::fs::read_to_string(ws.path("out/2026-10/agent-brief.md")).unwrap();
    // Over the letters with a bill a year earlier to compare with.
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

    // The same model, fitted by `weather fit` on each household's own year
    // of bills, decides the block.
    let cfg = ws.config();
    for r in manifest.iter().step_by(11).take(14) {
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
        let m = &read_csv(&out.join("models.csv"))[0];
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
