//! Weather-normalized insight. `neighborly weather fit`: a CalTRACK model per household from its
//! baseline use and its station's temperatures, and with a reporting
//! window, the savings the model measures there.
//!
//! Daily data (interval data summed per local day) is used where a
//! household has it, else its bills. A household gets no model when it has
//! no station, when its data covers under 90% of the baseline window
//! (CalTRACK's sufficiency floor), or when no candidate qualifies; the
//! reason is in `models.csv`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Config;
use crate::ingest::{Dataset, Zone};
use crate::model::{Household, ParseError, Service};
use crate::pipeline::options::{RunOptions, read_rules, sources};
use crate::weather::caltrack::{self, Granularity, MIN_BASELINE_COVERAGE, Model, Rules, Usage};
use crate::weather::{Station, Weather};

/// `YYYY-MM-DD..YYYY-MM-DD`, both days included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl std::str::FromStr for Window {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Window, ParseError> {
        let bad = || ParseError::format("window", s, "YYYY-MM-DD..YYYY-MM-DD");
        let (a, b) = s.split_once("..").ok_or_else(bad)?;
        let day = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| bad());
        let (first, last) = (day(a)?, day(b)?);
        if last < first {
            return Err(ParseError::Reversed {
                what: "window",
                value: s.to_string(),
            });
        }
        Ok(Window { first, last })
    }
}

impl Window {
    fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    fn holds(&self, u: &Usage) -> bool {
        u.start >= self.first && u.end <= self.last
    }
}

/// What `weather fit` is asked.
pub struct FitRequest {
    pub weather: Option<PathBuf>,
    pub baseline: Window,
    pub reporting: Option<Window>,
    pub out: PathBuf,
}

/// One row of `models.csv`.
#[derive(Debug, Serialize)]
pub struct ModelRow {
    pub account_id: String,
    pub station: String,
    /// `billing` or `daily`.
    pub data: String,
    /// `intercept_only`, `hdd_only`, `cdd_only`, `hdd_cdd`, or empty.
    pub model: String,
    pub heating_balance_f: Option<u32>,
    pub cooling_balance_f: Option<u32>,
    pub intercept_per_day: Option<f64>,
    pub beta_hdd: Option<f64>,
    pub beta_cdd: Option<f64>,
    pub r2_adj: Option<f64>,
    pub cvrmse: Option<f64>,
    pub n_periods: usize,
    /// Why there is no model.
    pub note: String,
}

/// One row of `savings.csv`.
#[derive(Debug, Serialize)]
pub struct SavingsRow {
    pub account_id: String,
    pub reporting_observed: f64,
    pub reporting_predicted: f64,
    pub savings: f64,
    pub savings_unc_90: Option<f64>,
    pub savings_ols_unc_90: Option<f64>,
    pub reporting_periods: usize,
}

/// What a fit did, for the terminal.
#[derive(Debug, Default)]
pub struct FitSummary {
    pub households: usize,
    pub by_model: std::collections::BTreeMap<String, usize>,
    pub weather_problems: Vec<String>,
    pub out: PathBuf,
}

impl FitSummary {
    pub fn render_text(&self) -> String {
        let mut s = format!("{} household(s)\n", self.households);
        for (m, n) in &self.by_model {
            s.push_str(&format!("  {m}: {n}\n"));
        }
        if !self.weather_problems.is_empty() {
            s.push_str(&format!(
                "{} problem(s) in the weather file, the first:\n  {}\n",
                self.weather_problems.len(),
                self.weather_problems[0]
            ));
        }
        s.push_str(&format!("written to {}\n", self.out.display()));
        s
    }
}

/// The zone whose local days temperatures are averaged over.
pub fn zone(config: &Config) -> Result<Zone> {
    let name = config
        .weather
        .timezone
        .as_ref()
        .or(config.reads.timezone.as_ref())
        .with_context(|| {
            format!(
                "{}: neither [weather] timezone nor [reads] timezone is set: a day's mean \
                 temperature is over a local day",
                config.file.display()
            )
        })?;
    Zone::named(name).map_err(anyhow::Error::from)
}

/// Read the temperature file the request or the config names.
pub fn read(config: &Config, file: Option<&Path>) -> Result<Weather> {
    let path = file
        .map(Path::to_path_buf)
        .or_else(|| config.weather.file.as_ref().map(|p| config.resolve(p)))
        .context("no weather file: give --weather or set [weather] file")?;
    let input = std::fs::File::open(&path)
        .with_context(|| format!("cannot read weather file {}", path.display()))?;
    crate::weather::read_weather(input, &path.display().to_string(), zone(config)?)
}

/// Fit every household, write `models.csv` (and `savings.csv`).
pub fn fit_command(config: &Config, opts: &RunOptions, req: &FitRequest) -> Result<FitSummary> {
    let weather = read(config, req.weather.as_deref())?;
    let data = load(config, opts)?;
    let mut models = Vec::new();
    let mut savings = Vec::new();
    let mut summary = FitSummary {
        weather_problems: weather.problems.clone(),
        out: req.out.clone(),
        ..FitSummary::default()
    };
    let fitted: Vec<(ModelRow, Option<SavingsRow>)> = {
        use rayon::prelude::*;
        data.households
            .par_iter()
            .enumerate()
            .map(|(i, h)| household(config, &weather, &data, i, h, req))
            .collect()
    };
    for (row, saved) in fitted {
        *summary
            .by_model
            .entry(if row.model.is_empty() {
                "no model".to_string()
            } else {
                row.model.clone()
            })
            .or_default() += 1;
        models.push(row);
        savings.extend(saved);
    }
    summary.households = models.len();
    std::fs::create_dir_all(&req.out)
        .with_context(|| format!("cannot create {}", req.out.display()))?;
    crate::output::write_rows(&req.out.join("models.csv"), &models)?;
    if req.reporting.is_some() {
        crate::output::write_rows(&req.out.join("savings.csv"), &savings)?;
    }
    Ok(summary)
}

/// Customers and use, with interval data kept per local day.
fn load(config: &Config, opts: &RunOptions) -> Result<Dataset> {
    let sources = sources(config, opts);
    let mut rules = read_rules(config, &sources)?;
    rules.intervals.keep_days = true;
    crate::ingest::load(&sources, config.utility.service, &rules)
}

/// A household's use as the model takes it: complete local days when it
/// has interval data, else its bills.
pub fn usage_of(data: &Dataset, i: usize) -> (Granularity, Vec<Usage>) {
    let h = &data.households[i];
    match data.days.get(h.account_id.as_str()) {
        Some(days) if !days.is_empty() => (
            Granularity::Daily,
            days.iter()
                .filter(|d| d.complete)
                .map(|d| Usage {
                    start: d.date,
                    end: d.date,
                    quantity: d.quantity,
                })
                .collect(),
        ),
        _ => (
            Granularity::Billing,
            data.reads[i].iter().map(Usage::from).collect(),
        ),
    }
}

/// Fit one household and measure its reporting window.
fn household(
    config: &Config,
    weather: &Weather,
    data: &Dataset,
    i: usize,
    h: &Household,
    req: &FitRequest,
) -> (ModelRow, Option<SavingsRow>) {
    let (granularity, usage) = usage_of(data, i);
    let mut row = ModelRow {
        account_id: h.account_id.to_string(),
        station: String::new(),
        data: match granularity {
            Granularity::Billing => "billing",
            Granularity::Daily => "daily",
        }
        .into(),
        model: String::new(),
        heating_balance_f: None,
        cooling_balance_f: None,
        intercept_per_day: None,
        beta_hdd: None,
        beta_cdd: None,
        r2_adj: None,
        cvrmse: None,
        n_periods: 0,
        note: String::new(),
    };
    let Some((name, station)) = station(config, weather, h) else {
        row.note = format!(
            "no weather station for locality {} or ZIP {}",
            h.locality, h.zip
        );
        return (row, None);
    };
    row.station = name.to_string();
    let baseline: Vec<Usage> = usage
        .iter()
        .copied()
        .filter(|u| req.baseline.holds(u))
        .collect();
    let model = match model_of(&baseline, station, granularity, h.service, req.baseline) {
        Ok(m) => m,
        Err(why) => {
            row.note = why.to_string();
            return (row, None);
        }
    };
    row.model = model.model_type.code().into();
    row.heating_balance_f = model.heating_balance_f;
    row.cooling_balance_f = model.cooling_balance_f;
    row.intercept_per_day = Some(model.intercept_per_day);
    row.beta_hdd = model.beta_hdd;
    row.beta_cdd = model.beta_cdd;
    row.r2_adj = Some(model.r2_adj);
    row.cvrmse = Some(model.cvrmse);
    row.n_periods = model.n_periods;
    let saved = req.reporting.and_then(|w| {
        let reporting: Vec<Usage> = usage.iter().copied().filter(|u| w.holds(u)).collect();
        let s = caltrack::savings(&model, &reporting, station, granularity)?;
        Some(SavingsRow {
            account_id: h.account_id.to_string(),
            reporting_observed: s.observed,
            reporting_predicted: s.predicted,
            savings: s.savings,
            savings_unc_90: s.uncertainty_90,
            savings_ols_unc_90: s.ols_uncertainty_90,
            reporting_periods: s.periods,
        })
    });
    (row, saved)
}

/// The station a household lives with, and its temperatures.
pub fn station<'w>(
    config: &Config,
    weather: &'w Weather,
    h: &Household,
) -> Option<(&'w str, &'w Station)> {
    let name = config.weather.station_of(&h.locality, &h.zip)?;
    weather
        .stations
        .get_key_value(name)
        .map(|(k, s)| (k.as_str(), s))
}

/// Fit on baseline use that covers enough of its window; why not otherwise.
pub fn model_of(
    baseline: &[Usage],
    station: &Station,
    granularity: Granularity,
    service: Service,
    window: Window,
) -> Result<Model, NoModel> {
    let rules = Rules::caltrack(granularity, service != Service::Gas);
    let model = caltrack::fit(baseline, station, &rules).ok_or(NoModel::NoFit)?;
    let covered = model.n_days / window.days() as f64;
    if covered < MIN_BASELINE_COVERAGE {
        return Err(NoModel::ThinBaseline {
            covered_percent: covered * 100.0,
            days: window.days(),
        });
    }
    Ok(model)
}

/// Why a household has no weather model: written in `models.csv`, and
/// what keeps it out of a weather-normalized comparison.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoModel {
    #[error("no candidate model qualifies, or no period has temperatures")]
    NoFit,
    #[error(
        "the baseline's usable data covers {covered_percent:.0}% of its {days} days ({:.0}% needed)",
        MIN_BASELINE_COVERAGE * 100.0
    )]
    ThinBaseline { covered_percent: f64, days: i64 },
}

/// Each letter candidate's weather block, in candidate order, from the
/// weather file's data: fitted on all cores, since every household's model
/// is its own.
pub fn for_letters(
    config: &Config,
    weather: &Weather,
    period: crate::model::Period,
    households: &[Household],
    bills: &[Vec<crate::model::Bill>],
    candidates: &[crate::model::HouseholdIx],
) -> Vec<Option<Box<crate::weather::insight::Insight>>> {
    use rayon::prelude::*;
    let floor = config.weather.floor();
    candidates
        .par_iter()
        .map(|&ix| {
            let i = ix.get();
            let h = &households[i];
            station(config, weather, h)
                .and_then(|(_, s)| {
                    crate::weather::insight::insight(&bills[i], period, h.service, s, floor)
                })
                .map(Box::new)
        })
        .collect()
}
