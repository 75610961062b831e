//! `neighborly alert`: bill-to-date alerts, run daily.
//!
//! For every household with interval data, the core's rules
//! (`neighborly_core::alert`) give its bill period, its use so far, the
//! projection and its usual bill; both go through the tariff. A household
//! whose projected bill is high is drawn into the alerts experiment the
//! first time (a holdout that is never alerted), and a treated one is sent
//! one alert per bill period by e-mail or text (`outreach`).
//!
//! Bills come from the billing file when the run has one (they are what
//! households were charged), else from the interval data's complete months.
//! `DIR/alerts.csv` has a row for every household with interval data;
//! `DIR/alerts-sms.csv` lists the texts for the gateway; `DIR/alerts.json`
//! counts them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

use crate::alert::{self, BillPeriod, Cause, Projection, WeatherModel};
use crate::channel::notice::Notice;
use crate::config::Config;
use crate::control::Group;
use crate::ingest::Dataset;
use crate::ingest::series::DayUse;
use crate::model::{Household, Language, Period, Service, bills_from_reads};
use crate::outreach::Outreach;
use crate::pipeline::RunOptions;
use crate::weather::Weather;
use crate::wording::Wording;

/// The experiment alerts are measured in (`evaluate --alerts`).
pub const EXPERIMENT: &str = "alerts";

/// What `alert` was asked for.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// The last day whose use counts (a daily run gives yesterday).
    pub as_of: NaiveDate,
    pub run: RunOptions,
}

/// One row of `alerts.csv`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertRow {
    pub account_id: String,
    pub bill_start: String,
    pub bill_end: String,
    pub used_so_far: String,
    pub projected_use: String,
    pub projected_cost: String,
    pub usual_cost: String,
    pub pct_above: String,
    pub channel: String,
    /// `sent`, `written`, `listed` (a text), `held-out`, or why none.
    pub delivery: String,
    /// `same-period-last-year` or `last-three-bills`.
    pub usual_basis: String,
    pub weather_adjusted: String,
    /// `weather`, `flow`, both (`weather;flow`) or empty.
    pub causes: String,
}

/// What a run did, for the operator and `alerts.json`.
#[derive(Debug, Default, Serialize)]
pub struct AlertSummary {
    pub as_of: String,
    pub households: usize,
    pub with_interval_data: usize,
    pub projected: usize,
    pub high: usize,
    #[serde(flatten)]
    pub tally: crate::outreach::Tally,
    pub dry_run: bool,
    pub out_dir: String,
}

impl AlertSummary {
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "alerts as of {}: {} household(s), {} with interval data, {} projected, {} high\n\
             alerted: {}, held out: {}, already alerted this bill period: {}\n",
            self.as_of,
            self.households,
            self.with_interval_data,
            self.projected,
            self.high,
            self.tally.messaged,
            self.tally.held_out,
            self.tally.already_sent
        );
        s.push_str(&self.tally.render_text());
        if self.dry_run {
            s.push_str("dry run: nothing sent or recorded\n");
        }
        s.push_str(&format!("written to {}\n", self.out_dir));
        s
    }
}

/// A household's assessment: its figures, and whether its bill is high.
struct Assessed {
    i: usize,
    row: AlertRow,
    high: Option<High>,
}

/// A high projection, with what the message says.
struct High {
    period: BillPeriod,
    projection: Projection,
    projected_cost: f64,
    usual_cost: f64,
    pct: f64,
    causes: Vec<Cause>,
}

/// `--as-of`: a date `YYYY-MM-DD`, or `yesterday`, the last whole local day
/// in `[reads] timezone` (what a schedule that runs every morning gives).
pub fn as_of(config: &Config, value: &str) -> Result<NaiveDate> {
    if value.trim() != "yesterday" {
        return NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .with_context(|| format!("--as-of {value:?} is not a date YYYY-MM-DD or `yesterday`"));
    }
    let zone = match &config.reads.timezone {
        Some(z) => crate::ingest::Zone::named(z).map_err(anyhow::Error::from)?,
        None => crate::ingest::Zone::Named(chrono_tz::UTC),
    };
    let today = zone.local(chrono::Utc::now().timestamp()).date();
    today.pred_opt().context("no day before today")
}

/// Run the alerts of one day.
pub fn run(config: &Config, opts: &AlertOptions) -> Result<AlertSummary> {
    crate::output::apply_umask(config.output.umask.bits());
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let data = load(config, &opts.run)?;
    let weather = match &config.weather.file {
        Some(_) => Some(crate::insight::read(config, None)?),
        None => None,
    };
    let assessed: Vec<Assessed> = (0..data.households.len())
        .into_par_iter()
        .filter(|&i| {
            data.days
                .contains_key(data.households[i].account_id.as_str())
        })
        .map(|i| assess(config, &data, i, opts.as_of, weather.as_ref()))
        .collect();
    let (store, _lock) = crate::outreach::open_store(config, &opts.run, Period::of(opts.as_of))?;
    let mut outreach = Outreach::open(
        config,
        &opts.run,
        store.as_ref(),
        &data.households,
        &data.exceptions,
        "alert:",
    )?;
    let high: Vec<&Household> = assessed
        .iter()
        .filter(|a| a.high.is_some())
        .map(|a| &data.households[a.i])
        .collect();
    let groups = outreach.groups(
        EXPERIMENT,
        config.alerts.holdout,
        Period::of(opts.as_of),
        &high,
    )?;
    let mut rows = Vec::with_capacity(assessed.len());
    for mut a in assessed {
        let h = &data.households[a.i];
        if let Some(high) = &a.high {
            let (channel, delivery) = match groups.get(h.account_id.as_str()) {
                Some(Group::Control) => (String::new(), "held-out".to_string()),
                _ => match outreach.hold(h) {
                    Some(why) => (String::new(), why),
                    None => {
                        let key = format!("alert:{}", high.period.start);
                        let message = notice(config, &wording, h, high, opts.as_of);
                        let id = high.period.start.format("%Y%m%d").to_string();
                        let (c, d) = outreach.deliver(h, &key, "alert", &id, &message)?;
                        let c = if c == crate::model::Channel::Mail {
                            String::new()
                        } else {
                            c.code().to_string()
                        };
                        (c, d)
                    }
                },
            };
            a.row.channel = channel;
            a.row.delivery = delivery;
        }
        rows.push(a.row);
    }
    let out = out_dir(config, opts);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    outreach.finish(&out.join("alerts-sms.csv"))?;
    write_alerts(&out.join("alerts.csv"), &rows)?;
    let summary = summarize(&data, &rows, opts, &out);
    crate::output::write_json(&out.join("alerts.json"), &summary)?;
    Ok(summary)
}

/// `alerts.csv`, with its header even when no household has interval data.
fn write_alerts(path: &Path, rows: &[AlertRow]) -> Result<()> {
    crate::output::writing(path, |p| {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_path(p)?;
        w.write_record([
            "account_id",
            "bill_start",
            "bill_end",
            "used_so_far",
            "projected_use",
            "projected_cost",
            "usual_cost",
            "pct_above",
            "channel",
            "delivery",
            "usual_basis",
            "weather_adjusted",
            "causes",
        ])?;
        for r in rows {
            w.serialize(r)?;
        }
        Ok(w.flush()?)
    })
}

/// `--out`, else the config's folder pattern with `alerts-YYYY-MM-DD`.
fn out_dir(config: &Config, opts: &AlertOptions) -> PathBuf {
    match &opts.run.out {
        Some(p) => p.clone(),
        None => config.resolve(Path::new(
            &config
                .output
                .dir
                .replace("{period}", &format!("alerts-{}", opts.as_of)),
        )),
    }
}

/// The customer file, the bills and each household's local days.
fn load(config: &Config, opts: &RunOptions) -> Result<Dataset> {
    let sources = crate::pipeline::sources(config, opts);
    anyhow::ensure!(
        sources.interval.is_some() || sources.greenbutton.is_some(),
        "alerts need interval data: give --interval or --greenbutton (or [input] interval)"
    );
    let mut rules = crate::pipeline::read_rules(config, &sources)?;
    rules.intervals.keep_days = true;
    if sources.usage.is_some() {
        // The billing file's bills are the ones charged: interval months
        // are not made into bills beside them.
        rules.intervals.min_coverage = f64::INFINITY;
    }
    crate::ingest::load(&sources, config.utility.service, &rules)
}

/// One household's row of `alerts.csv`, and its projection when that is
/// high enough to alert. The row keeps every figure worked out before the
/// step that stopped it, so an analyst sees how far it got.
fn assess(
    config: &Config,
    data: &Dataset,
    i: usize,
    as_of: NaiveDate,
    weather: Option<&Weather>,
) -> Assessed {
    let h = &data.households[i];
    let bills = bills_from_reads(&data.reads[i]);
    let period = alert::current_period(&bills, as_of);
    let mut row = AlertRow {
        account_id: h.account_id.to_string(),
        bill_start: period.start.to_string(),
        bill_end: period.end.to_string(),
        ..AlertRow::default()
    };
    let done = |row: AlertRow, why: String| Assessed {
        i,
        row: AlertRow {
            delivery: why,
            ..row
        },
        high: None,
    };
    let rules = config.alerts.rules();
    let projection = match project(config, data, i, period, as_of, &rules, weather) {
        Ok(p) => p,
        Err(why) => return done(row, format!("no-projection: {why}")),
    };
    row.used_so_far = round2(projection.used_so_far);
    row.projected_use = round2(projection.projected_use);
    row.weather_adjusted = projection.weather_adjusted.to_string();
    let (projected_cost, usual_cost) = match costs(config, h, &bills, period, &projection, &mut row)
    {
        Ok(costs) => costs,
        Err(why) => return done(row, why),
    };
    row.projected_cost = format!("{projected_cost:.2}");
    row.usual_cost = format!("{usual_cost:.2}");
    row.pct_above = format!("{:.1}", (projected_cost / usual_cost - 1.0) * 100.0);
    let Some(pct) = alert::high(projected_cost, usual_cost, &rules) else {
        return done(row, "not-high".into());
    };
    let runs = data
        .runs
        .get(h.account_id.as_str())
        .map_or(&[][..], Vec::as_slice);
    let causes = alert::causes(&projection, runs);
    row.causes = cause_codes(&causes);
    Assessed {
        i,
        row,
        high: Some(High {
            period,
            projection,
            projected_cost,
            usual_cost,
            pct,
            causes,
        }),
    }
}

/// The household's use projected to the end of its bill period, from its
/// days so far (one meter's worth per day) and, with weather, its CalTRACK
/// model of the year before.
fn project(
    config: &Config,
    data: &Dataset,
    i: usize,
    period: BillPeriod,
    as_of: NaiveDate,
    rules: &alert::AlertRules,
    weather: Option<&Weather>,
) -> Result<Projection, alert::NoProjection> {
    let h = &data.households[i];
    let days = one_meter_per_day(&data.days[h.account_id.as_str()]);
    let days = &days;
    let model = weather.and_then(|w| weather_model(config, w, h, &data.reads[i], period));
    let wm = model.as_ref().map(|(m, s)| WeatherModel {
        model: m,
        station: s,
    });
    alert::project(days, period, as_of, rules, wm)
}

/// The projected and the usual bill, through the household's tariff; the
/// usual bill's basis goes into `row`. Err: why there is no comparison, as
/// `alerts.csv` writes it.
fn costs(
    config: &Config,
    h: &Household,
    bills: &[crate::model::Bill],
    period: BillPeriod,
    projection: &Projection,
    row: &mut AlertRow,
) -> Result<(f64, f64), String> {
    let Some(usual) = alert::usual(bills, period) else {
        return Err("no-usual-bill: no bill a year earlier, nor three bills before".into());
    };
    row.usual_basis = usual.basis.code().into();
    let Some(tariff) = config.tariff.of(h.service) else {
        return Err(format!("no-tariff: no [tariff.{}]", h.service.as_str()));
    };
    let cost = |q: f64| crate::money::cost(tariff, h, q, period.days(), period.end);
    let (Some(projected_cost), Some(usual_cost)) =
        (cost(projection.projected_use), cost(usual.quantity))
    else {
        return Err("no-tariff: the tariff has no price for this household".into());
    };
    Ok((projected_cost, usual_cost))
}

/// The causes as `alerts.csv` lists them: `weather;flow`.
fn cause_codes(causes: &[Cause]) -> String {
    causes
        .iter()
        .map(|c| match c {
            Cause::Weather(_) => "weather",
            Cause::Flow { .. } => "flow",
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A household's days in date order, its meters' use of one day added (a
/// day is complete when every meter's is).
fn one_meter_per_day(days: &[DayUse]) -> std::borrow::Cow<'_, [DayUse]> {
    if days.windows(2).all(|w| w[0].date < w[1].date) {
        return std::borrow::Cow::Borrowed(days);
    }
    let mut merged: BTreeMap<NaiveDate, DayUse> = BTreeMap::new();
    for d in days {
        merged
            .entry(d.date)
            .and_modify(|m| {
                m.quantity += d.quantity;
                m.complete &= d.complete;
            })
            .or_insert_with(|| d.clone());
    }
    std::borrow::Cow::Owned(merged.into_values().collect())
}

fn round2(x: f64) -> String {
    format!("{x:.2}")
}

/// The household's CalTRACK model on its bills of the year before the
/// period, with its station; none when the data cannot support one.
fn weather_model<'w>(
    config: &Config,
    weather: &'w Weather,
    h: &Household,
    reads: &[crate::model::Read],
    period: BillPeriod,
) -> Option<(crate::weather::caltrack::Model, &'w crate::weather::Station)> {
    let (_, station) = crate::insight::station(config, weather, h)?;
    let window = crate::insight::Window {
        first: period.start - chrono::Days::new(365),
        last: period.start - chrono::Days::new(1),
    };
    let baseline: Vec<crate::weather::caltrack::Usage> = reads
        .iter()
        .filter(|r| r.start >= window.first && r.end <= window.last)
        .map(Into::into)
        .collect();
    let model = crate::insight::model_of(
        &baseline,
        station,
        crate::weather::caltrack::Granularity::Billing,
        h.service,
        window,
    )
    .ok()?;
    Some((model, station))
}

/// A quantity with its unit, as the household's language writes it.
fn quantity(unit: &str, q: f64, service: Service, lang: Language) -> String {
    format!(
        "{} {unit}",
        crate::report::format_quantity(q, service, lang)
    )
}

/// The alert's sentences for one household.
fn notice(
    config: &Config,
    wording: &Wording,
    h: &Household,
    high: &High,
    as_of: NaiveDate,
) -> Notice {
    let lang = h.language;
    let voice = wording.voice(h.service);
    let unit = voice
        .get(lang, &format!("units.{}", h.service.as_str()))
        .unwrap_or("");
    let symbol = config
        .tariff
        .of(h.service)
        .map_or("$", |t| t.symbol.as_str());
    let money = |x: f64| crate::money::format(x, symbol, lang, false);
    let date = |d: NaiveDate| crate::target::letter::short_date(d, lang, false);
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("name", h.name.to_string());
    vars.insert("utility", config.utility.name.clone());
    vars.insert("phone", config.utility.phone.clone());
    vars.insert("website", config.utility.website.clone());
    vars.insert("as_of", date(as_of));
    vars.insert("bill_start", date(high.period.start));
    vars.insert("bill_end", date(high.period.end));
    vars.insert(
        "used_so_far",
        quantity(unit, high.projection.used_so_far, h.service, lang),
    );
    vars.insert(
        "projected_use",
        quantity(unit, high.projection.projected_use, h.service, lang),
    );
    vars.insert("projected_cost", money(high.projected_cost));
    vars.insert("usual_cost", money(high.usual_cost));
    vars.insert("over_usual", format!("{:.0}%", high.pct));
    for c in &high.causes {
        match c {
            Cause::Weather(w) => {
                vars.insert("degrees", format!("{:.0} °F", w.warmer_f.abs()));
            }
            Cause::Flow { hours } => {
                vars.insert("leak_hours", format!("{hours:.0}"));
            }
        }
    }
    let text = voice.resolve(lang, &vars);
    let a = &text["alert"];
    let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
    let causes: Vec<String> = if high.causes.is_empty() {
        vec![s("cause_none")]
    } else {
        high.causes
            .iter()
            .map(|c| match c {
                Cause::Weather(w) if w.warmer_f < 0.0 => s("cause_colder"),
                Cause::Weather(_) => s("cause_warmer"),
                Cause::Flow { .. } => s("cause_flow"),
            })
            .collect()
    };
    Notice {
        lang,
        subject: s("subject"),
        headline: s("headline"),
        greeting: s("greeting"),
        figures: vec![s("so_far")],
        list_title: s("causes_title"),
        list: causes,
        second_title: s("actions_title"),
        second: string_list(&a["actions"]),
        closing: s("closing"),
        unsubscribe: s("unsubscribe"),
        sms: s("sms"),
    }
}

/// A message shown by `check` and `proof --messages`, with what it is.
pub struct Example {
    /// `alert-water-en`, `peak-results-thanks-electric-es`...
    pub label: String,
    pub notice: Notice,
}

/// An alert in every language and service, from made-up figures (a colder
/// month for electricity and gas, a continuous flow for water).
pub fn examples(config: &Config, wording: &Wording) -> Vec<Example> {
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 18).expect("a date");
    let period = BillPeriod {
        start: NaiveDate::from_ymd_opt(2026, 11, 5).expect("a date"),
        end: NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date"),
    };
    let mut out = Vec::new();
    for service in [Service::Water, Service::Electric, Service::Gas] {
        for lang in Language::ALL {
            let mut h = crate::target::campaign::sample_household(lang);
            h.service = service;
            let (used, projected) = match service {
                Service::Water => (5210.0, 12024.0),
                Service::Electric => (612.4, 1413.2),
                Service::Gas => (58.3, 134.5),
            };
            let cause = match service {
                Service::Water => Cause::Flow { hours: 52.0 },
                _ => Cause::Weather(alert::WeatherSoFar {
                    change_pct: 24.0,
                    warmer_f: -6.2,
                }),
            };
            let high = High {
                period,
                projection: Projection {
                    period,
                    days_so_far: 14,
                    used_so_far: used,
                    recent_per_day: used / 14.0,
                    projected_use: projected,
                    weather_adjusted: service != Service::Water,
                    weather: None,
                },
                projected_cost: 182.4,
                usual_cost: 121.9,
                pct: 49.6,
                causes: vec![cause],
            };
            out.push(Example {
                label: format!("alert-{}-{}", service.as_str(), lang.code()),
                notice: notice(config, wording, &h, &high, as_of),
            });
        }
    }
    out
}

pub(crate) fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn summarize(data: &Dataset, rows: &[AlertRow], opts: &AlertOptions, out: &Path) -> AlertSummary {
    let mut s = AlertSummary {
        as_of: opts.as_of.to_string(),
        households: data.households.len(),
        with_interval_data: rows.len(),
        dry_run: opts.run.dry_run,
        out_dir: out.display().to_string(),
        ..AlertSummary::default()
    };
    for r in rows {
        if !r.projected_use.is_empty() {
            s.projected += 1;
        }
        let code = r.delivery.split(':').next().unwrap_or("");
        if !r.pct_above.is_empty() && !matches!(code, "not-high" | "no-tariff" | "no-usual-bill") {
            s.high += 1;
        }
        s.tally.add(&r.delivery);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, quantity: f64, complete: bool) -> DayUse {
        DayUse {
            date: NaiveDate::from_ymd_opt(2026, 11, d).expect("a date"),
            quantity,
            complete,
        }
    }

    #[test]
    fn two_meters_of_a_household_add_up_per_day() {
        // One meter's days, then the other's, as two series arrive.
        let days = [
            day(1, 10.0, true),
            day(2, 11.0, true),
            day(1, 1.0, true),
            day(2, 2.0, false),
        ];
        let merged = one_meter_per_day(&days);
        assert_eq!(merged.as_ref(), [day(1, 11.0, true), day(2, 13.0, false)]);
        // One meter in date order is taken as it is.
        let one = [day(1, 10.0, true), day(2, 11.0, true)];
        assert!(matches!(
            one_meter_per_day(&one),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
