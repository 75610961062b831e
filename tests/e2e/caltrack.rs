//! Weather models against CalTRACK's reference implementation: the
//! OpenEEmeter sample meters and their Illinois hourly temperatures, fitted
//! by `neighborly weather fit` and by `eemeter` 3.2.0 (pinned from PyPI, in
//! a venv `tests/reference/caltrack/setup.sh` makes), compared number by
//! number. Nothing of the reference's output is copied into the test: it
//! runs the reference each time.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::*;

/// `script` of the reference folder started with `args`, read with
/// [`finish`]: the reference fits take several seconds of one core each,
/// so they are started side by side.
fn start(py: &Path, script: &str, args: &[&OsStr]) -> Child {
    Command::new(py)
        .args(["-W", "ignore"])
        .arg(repo().join("tests/reference/caltrack").join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a started script printed, once it has succeeded.
fn finish(child: Child, script: &str) -> String {
    let o = child.wait_with_output().unwrap();
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

/// One comparison: a sample fitted with days in `day_zone`, its figures
/// within `tol` of the reference's and its savings uncertainty within
/// `band_tol`.
struct Case {
    sample: PathBuf,
    day_zone: &'static str,
    tol: f64,
    band_tol: f64,
}

const REFERENCE_FIT: &str = "reference_fit.py";

/// The reference's fit of `case`, started now.
fn start_reference(py: &Path, case: &Case) -> Child {
    let days = if case.day_zone == "America/Chicago" {
        "local"
    } else {
        "standard"
    };
    let args = [case.sample.as_os_str(), "--days".as_ref(), days.as_ref()];
    start(py, REFERENCE_FIT, &args)
}

/// neighborly's fit of the case's sample equals the reference's.
fn agrees(dir: &Path, case: &Case, reference: &serde_json::Value) {
    let Case {
        sample,
        day_zone,
        tol,
        band_tol,
    } = case;
    let (tol, band_tol) = (*tol, *band_tol);
    let (model, saved) = fit(dir, sample, day_zone);
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
    // Each figure of ours (the file and column), the reference's name for
    // it, and how close it must be. A model without a heating or cooling
    // part has no slope for it.
    let figures = [
        (&model, "intercept_per_day", "intercept", tol),
        (&model, "r2_adj", "r_squared_adj", tol),
        (&model, "beta_hdd", "beta_hdd", tol),
        (&model, "beta_cdd", "beta_cdd", tol),
        (
            &saved,
            "reporting_predicted",
            "reporting_predicted_total",
            tol,
        ),
        (
            &saved,
            "reporting_observed",
            "reporting_observed_total",
            tol,
        ),
        (&saved, "savings_unc_90", "fsu_error_band_90", band_tol),
        (&saved, "savings_ols_unc_90", "ols_error_band_90", band_tol),
    ];
    for (row, column, key, tol) in figures {
        if column.starts_with("beta_") && row[column].is_empty() {
            continue;
        }
        let ours = number(row, column);
        let theirs = reference[key]
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
fn fitted_models_agree_with_the_reference_implementation() {
    let py = reference::python().to_path_buf();
    let samples = tempfile::tempdir().unwrap();
    let export = "export_samples.py";
    finish(start(&py, export, &[samples.path().as_os_str()]), export);
    let case = |name: &str, day_zone, tol, band_tol| Case {
        sample: samples.path().join(name),
        day_zone,
        tol,
        band_tol,
    };
    let mut cases = Vec::new();
    for name in [
        "il-electricity-cdd-hdd-billing_monthly",
        "il-gas-hdd-only-billing_monthly",
    ] {
        // Days in the meters' own standard time: every day 24 hours, the
        // same arithmetic as the reference's, so the same numbers.
        cases.push(case(name, "Etc/GMT+6", 1e-6, 1e-6));
        // Local days with DST: the reference counts 24-hour chunks, so its
        // days drift by the DST hour; within 1% (a day is a day here), the
        // savings uncertainty (from the residuals' autocorrelation) within 3%.
        cases.push(case(name, "America/Chicago", 1e-2, 3e-2));
    }
    // Interval data summed per local day (four days of 23 or 25 hours).
    cases.push(case(
        "il-electricity-cdd-hdd-daily",
        "America/Chicago",
        1e-3,
        1e-3,
    ));
    let running: Vec<Child> = cases.iter().map(|c| start_reference(&py, c)).collect();
    for (case, child) in cases.iter().zip(running) {
        let dir = tempfile::tempdir().unwrap();
        let reference = serde_json::from_str(&finish(child, REFERENCE_FIT)).unwrap();
        agrees(dir.path(), case, &reference);
    }
}
