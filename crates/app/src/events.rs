//! `neighborly peak-event`: a message before a peak event (`notify`), one
//! after it with each household's own figures (`results`), and
//! `evaluate --event`: what the messages did against the holdout.
//!
//! The holdout of every event is one experiment (`peak-events`), drawn the
//! first time a household could be sent an event message and kept for
//! good, so every event is measured against households that never hear of
//! events. Each stage's message is sent once per household and event
//! (`outreach`). The figures follow the core's rules
//! (`neighborly_core::peak`): use in the window against the average of the
//! highest similar days before it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

use crate::channel::notice::Notice;
use crate::config::Config;
use crate::control::Group;
use crate::ingest::{Dataset, Zone};
use crate::model::{Channel, Household, Language, Period};
use crate::outreach::Outreach;
use crate::peak::{self, EventWindow, Outcome};
use crate::pipeline::RunOptions;
use crate::wording::Wording;

/// The experiment every event is measured in.
pub const EXPERIMENT: &str = "peak-events";

/// Which message a `peak-event` run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// Before the event: its hours and three actions.
    Notify,
    /// After it: the household's use in the window against its baseline.
    Results,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::Notify => "notify",
            Stage::Results => "results",
        }
    }
}

/// What `peak-event` was asked for.
#[derive(Debug, Clone)]
pub struct EventOptions {
    pub window: EventWindow,
    pub stage: Stage,
    pub run: RunOptions,
}

/// One row of `peak-notify.csv` or `peak-results.csv`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventRow {
    pub account_id: String,
    pub window_use: String,
    pub baseline_use: String,
    pub reduction: String,
    pub reduction_pct: String,
    pub channel: String,
    /// `sent`, `written`, `listed` (a text), `held-out`, or why none.
    pub delivery: String,
    /// The similar days averaged for the baseline.
    pub baseline_days: String,
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct EventSummary {
    pub window: String,
    pub stage: String,
    pub households: usize,
    pub with_figures: usize,
    #[serde(flatten)]
    pub tally: crate::outreach::Tally,
    pub dry_run: bool,
    pub out_dir: String,
}

impl EventSummary {
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "peak event {} ({}): {} household(s), {} messaged, {} held out",
            self.window, self.stage, self.households, self.tally.messaged, self.tally.held_out
        );
        if self.stage == "results" {
            s.push_str(&format!(", {} with figures", self.with_figures));
        }
        s.push('\n');
        s.push_str(&self.tally.render_text());
        if self.dry_run {
            s.push_str("dry run: nothing sent or recorded\n");
        }
        s.push_str(&format!("written to {}\n", self.out_dir));
        s
    }
}

/// The event's key in message ids and file names: `20260812T1600-2000`.
fn compact(w: &EventWindow) -> String {
    format!(
        "{}T{}-{}",
        w.date.format("%Y%m%d"),
        w.from.format("%H%M"),
        w.to.format("%H%M")
    )
}

/// The store key of a stage's messages: `peak:2026-08-12T16:00..20:00:notify`.
fn send_key(w: &EventWindow, stage: Stage) -> String {
    format!("peak:{w}:{}", stage.code())
}

/// The days of earlier events, from the keys their messages were sent under.
fn earlier_events(keys: impl Iterator<Item = String>, this: NaiveDate) -> BTreeSet<NaiveDate> {
    keys.filter_map(|k| {
        let rest = k.strip_prefix("peak:")?;
        NaiveDate::parse_from_str(rest.get(..10)?, "%Y-%m-%d").ok()
    })
    .filter(|d| *d != this)
    .collect()
}

/// Run one stage of one event.
pub fn run(config: &Config, opts: &EventOptions) -> Result<EventSummary> {
    crate::output::apply_umask(config.output.umask.bits());
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let zone = zone(config)?;
    let (store, _lock) =
        crate::outreach::open_store(config, &opts.run, Period::of(opts.window.date))?;
    let (data, outcomes) = match opts.stage {
        Stage::Notify => {
            let (data, _) = crate::target::read_customer_file(config, opts.run.customers.as_ref())?;
            (data, HashMap::new())
        }
        Stage::Results => results_data(config, opts, zone, store.as_ref())?,
    };
    let mut outreach = Outreach::open(
        config,
        &opts.run,
        store.as_ref(),
        &data.households,
        &data.exceptions,
        "peak:",
    )?;
    let candidates: Vec<&Household> = data
        .households
        .iter()
        .filter(|h| opts.stage == Stage::Notify || outcomes.contains_key(h.account_id.as_str()))
        .collect();
    let groups = outreach.groups(
        EXPERIMENT,
        config.peak.holdout,
        Period::of(opts.window.date),
        &candidates,
    )?;
    let key = send_key(&opts.window, opts.stage);
    let id = format!("{}.{}", compact(&opts.window), opts.stage.code());
    let mut rows = Vec::new();
    for h in &data.households {
        let outcome = outcomes.get(h.account_id.as_str());
        let mut row = EventRow {
            account_id: h.account_id.to_string(),
            ..EventRow::default()
        };
        if let Some((o, days)) = outcome {
            fill(&mut row, o, days);
        }
        let messaged = opts.stage == Stage::Notify || matches!(outcome, Some((Some(_), _)));
        (row.channel, row.delivery) = if !messaged {
            (
                String::new(),
                "no-figures: the interval data does not cover the window and its baseline days"
                    .into(),
            )
        } else if groups.get(h.account_id.as_str()) == Some(&Group::Control) {
            (String::new(), "held-out".into())
        } else if let Some(why) = outreach.hold(h) {
            (String::new(), why)
        } else {
            let message = notice(config, &wording, h, opts, outcome.and_then(|o| o.0));
            let (c, d) = outreach.deliver(h, &key, "peak", &id, &message)?;
            let c = if c == Channel::Mail { "" } else { c.code() };
            (c.to_string(), d)
        };
        rows.push(row);
    }
    let out = out_dir(config, opts);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let stage = opts.stage.code();
    outreach.finish(&out.join(format!("peak-{stage}-sms.csv")))?;
    write_rows(&out.join(format!("peak-{stage}.csv")), &rows, opts.stage)?;
    let summary = summarize(&rows, opts, &out);
    crate::output::write_json(&out.join(format!("peak-{stage}.json")), &summary)?;
    Ok(summary)
}

fn fill(row: &mut EventRow, o: &Option<Outcome>, days: &[NaiveDate]) {
    if let Some(o) = o {
        row.window_use = format!("{:.3}", o.window_use);
        row.baseline_use = format!("{:.3}", o.baseline_use);
        row.reduction = format!("{:.3}", o.reduction);
        row.reduction_pct = format!("{:.1}", o.reduction_pct);
    }
    row.baseline_days = days
        .iter()
        .map(NaiveDate::to_string)
        .collect::<Vec<_>>()
        .join(";");
}

/// The utility's zone, in which an event's hours are read.
fn zone(config: &Config) -> Result<Zone> {
    match &config.reads.timezone {
        Some(z) => Zone::named(z).map_err(anyhow::Error::from),
        None => bail!(
            "{}: peak events are in local time: set [reads] timezone (an IANA name)",
            config.file.display()
        ),
    }
}

/// The intervals an event's figures need, read for every household: the
/// event's whole day (its hourly profile) and the window's hours on each of
/// `similar` days (the baseline). Nothing else is kept, so a territory's
/// month of hourly data costs a few hours per household.
fn event_data(
    config: &Config,
    run: &RunOptions,
    window: &EventWindow,
    zone: Zone,
    similar: &[NaiveDate],
) -> Result<Dataset> {
    let mut sources = crate::pipeline::sources(config, run);
    anyhow::ensure!(
        sources.interval.is_some() || sources.greenbutton.is_some(),
        "peak-event figures need interval data: give --interval or --greenbutton"
    );
    sources.usage = None;
    let mut rules = crate::pipeline::read_rules(config, &sources)?;
    let at = |d: NaiveDate| zone.utc(d.and_time(NaiveTime::MIN), None);
    let day = at(window.date)
        .zip(at(window.date + chrono::Days::new(1)))
        .context("the event's day has no local midnight")?;
    let mut spans: Vec<(i64, i64)> = similar
        .iter()
        .filter_map(|d| window.on(*d).utc(zone))
        .chain([day])
        .collect();
    spans.sort_unstable();
    rules.intervals.keep_spans = Some(spans.into());
    rules.intervals.min_coverage = f64::INFINITY;
    crate::ingest::load(&sources, config.utility.service, &rules)
}

type Outcomes = HashMap<String, (Option<Outcome>, Vec<NaiveDate>)>;

/// Every household with intervals: its outcome (when the window and its
/// baseline are covered) and the days its baseline averaged.
fn results_data(
    config: &Config,
    opts: &EventOptions,
    zone: Zone,
    store: Option<&crate::store::Store>,
) -> Result<(Dataset, Outcomes)> {
    let keys = match store {
        Some(s) => s.sent_under("peak:")?.into_iter().map(|(_, k)| k).collect(),
        None => Vec::new(),
    };
    let excluded = earlier_events(keys.into_iter(), opts.window.date);
    let similar = peak::similar_days(&opts.window, &excluded, &config.peak.rules());
    let data = event_data(config, &opts.run, &opts.window, zone, &similar)?;
    let (from, to) = opts
        .window
        .utc(zone)
        .context("the event's hours do not exist on its day (a DST change)")?;
    let rules = config.peak.rules();
    let outcomes = data
        .intervals
        .iter()
        .map(|(account, iv)| {
            let used = peak::use_in(iv, from, to);
            let base = peak::baseline(iv, zone, &opts.window, &excluded, &rules);
            let days = base.as_ref().map(|b| b.days.clone()).unwrap_or_default();
            let o = used.zip(base).map(|(u, b)| peak::outcome(u, b.quantity));
            (account.clone(), (o, days))
        })
        .collect();
    Ok((data, outcomes))
}

fn out_dir(config: &Config, opts: &EventOptions) -> PathBuf {
    match &opts.run.out {
        Some(p) => p.clone(),
        None => config.resolve(Path::new(
            &config
                .output
                .dir
                .replace("{period}", &format!("peak-{}", compact(&opts.window))),
        )),
    }
}

fn write_rows(path: &Path, rows: &[EventRow], stage: Stage) -> Result<()> {
    crate::output::writing(path, |p| {
        let mut w = csv::Writer::from_path(p)?;
        match stage {
            Stage::Notify => {
                w.write_record(["account_id", "channel", "delivery"])?;
                for r in rows {
                    w.write_record([&r.account_id, &r.channel, &r.delivery])?;
                }
            }
            Stage::Results => {
                w.write_record([
                    "account_id",
                    "window_use",
                    "baseline_use",
                    "reduction",
                    "reduction_pct",
                    "delivery",
                    "channel",
                    "baseline_days",
                ])?;
                for r in rows {
                    w.write_record([
                        &r.account_id,
                        &r.window_use,
                        &r.baseline_use,
                        &r.reduction,
                        &r.reduction_pct,
                        &r.delivery,
                        &r.channel,
                        &r.baseline_days,
                    ])?;
                }
            }
        }
        Ok(w.flush()?)
    })
}

fn summarize(rows: &[EventRow], opts: &EventOptions, out: &Path) -> EventSummary {
    let mut s = EventSummary {
        window: opts.window.to_string(),
        stage: opts.stage.code().into(),
        households: rows.len(),
        dry_run: opts.run.dry_run,
        out_dir: out.display().to_string(),
        ..EventSummary::default()
    };
    for r in rows {
        if !r.window_use.is_empty() {
            s.with_figures += 1;
        }
        s.tally.add(&r.delivery);
    }
    s
}

/// `4:00 PM to 8:00 PM`; `16:00 a 20:00`.
fn hours(w: &EventWindow, lang: Language) -> String {
    match lang {
        Language::En => format!(
            "{} to {}",
            w.from.format("%-I:%M %p"),
            w.to.format("%-I:%M %p")
        ),
        Language::Es => format!("{} a {}", w.from.format("%H:%M"), w.to.format("%H:%M")),
    }
}

/// The stage's message for one household.
fn notice(
    config: &Config,
    wording: &Wording,
    h: &Household,
    opts: &EventOptions,
    outcome: Option<Outcome>,
) -> Notice {
    let lang = h.language;
    let voice = wording.voice(h.service);
    let w = &opts.window;
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("name", h.name.to_string());
    vars.insert("utility", config.utility.name.clone());
    vars.insert("phone", config.utility.phone.clone());
    vars.insert("website", config.utility.website.clone());
    vars.insert(
        "event_day",
        crate::target::letter::short_date(w.date, lang, true),
    );
    vars.insert("event_hours", hours(w, lang));
    let unit = voice
        .get(lang, &format!("units.{}", h.service.as_str()))
        .unwrap_or("");
    let q = |x: f64| {
        let n = match lang {
            Language::En => format!("{x:.1}"),
            Language::Es => format!("{x:.1}").replace('.', ","),
        };
        format!("{n} {unit}")
    };
    if let Some(o) = outcome {
        vars.insert("window_use", q(o.window_use));
        vars.insert("baseline_use", q(o.baseline_use));
        vars.insert("reduction", q(o.reduction.abs()));
        vars.insert("reduction_pct", format!("{:.0}%", o.reduction_pct.abs()));
    }
    let text = voice.resolve(lang, &vars);
    let p = &text["peak"];
    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
    let actions = crate::alerts::string_list(&p["actions"]);
    let mut n = Notice {
        lang,
        greeting: s("greeting"),
        list_title: s("actions_title"),
        list: actions,
        closing: s("closing"),
        unsubscribe: s("unsubscribe"),
        ..Notice::default()
    };
    match outcome {
        None => {
            n.subject = s("notify_subject");
            n.headline = s("notify_headline");
            n.figures = vec![s("notify_body")];
            n.sms = s("notify_sms");
        }
        Some(o) => {
            let thanks = o.reduction_pct >= config.peak.thanks_pct;
            let (headline, body, sms) = if thanks {
                ("thanks_headline", "thanks_body", "thanks_sms")
            } else {
                ("encourage_headline", "encourage_body", "encourage_sms")
            };
            n.subject = s("results_subject");
            n.headline = s(headline);
            n.figures = vec![s("results_body"), s(body)];
            n.sms = s(sms);
            if thanks {
                // A household that did its part needs no list of what to do.
                n.list.clear();
            }
        }
    }
    n
}

/// Every peak-event message in every language and service, from made-up
/// figures: the notice, a thank-you and an encouragement.
pub fn examples(config: &Config, wording: &Wording) -> Vec<crate::alerts::Example> {
    let window: EventWindow = "2026-08-12T16:00..20:00".parse().expect("a window");
    let mut out = Vec::new();
    for service in [
        crate::model::Service::Water,
        crate::model::Service::Electric,
        crate::model::Service::Gas,
    ] {
        for lang in Language::ALL {
            let mut h = crate::target::campaign::sample_household(lang);
            h.service = service;
            for (stage, outcome, name) in [
                (Stage::Notify, None, "notify"),
                (
                    Stage::Results,
                    Some(peak::outcome(4.1, 5.3)),
                    "results-thanks",
                ),
                (
                    Stage::Results,
                    Some(peak::outcome(5.6, 5.3)),
                    "results-encourage",
                ),
            ] {
                let opts = EventOptions {
                    window,
                    stage,
                    run: RunOptions::default(),
                };
                out.push(crate::alerts::Example {
                    label: format!("peak-{name}-{}-{}", service.as_str(), lang.code()),
                    notice: notice(config, wording, &h, &opts, outcome),
                });
            }
        }
    }
    out
}

/// `evaluate --event`: the treated households' use in the window against
/// the holdout's, `DIR/event.csv` and the one-page `DIR/event.pdf`.
pub fn evaluate(
    config: &Config,
    run: &RunOptions,
    window: &EventWindow,
    out: &Path,
) -> Result<EventEvaluation> {
    let zone = zone(config)?;
    let store = crate::pipeline::open_store(config, run, true)?
        .context("no state database: no household has been assigned to peak events yet")?;
    let assigned = store.assignments(EXPERIMENT)?;
    anyhow::ensure!(
        !assigned.is_empty(),
        "no household is assigned in {EXPERIMENT}: send an event's notify stage first"
    );
    let data = event_data(config, run, window, zone, &[])?;
    let (from, to) = window
        .utc(zone)
        .context("the event's hours do not exist on its day (a DST change)")?;
    let mut treated = Vec::new();
    let mut control = Vec::new();
    let mut profile: [[(f64, usize); 24]; 2] = [[(0.0, 0); 24]; 2];
    let day_start = zone
        .utc(window.date.and_time(NaiveTime::MIN), None)
        .context("the event's day has no midnight")?;
    for (account, a) in &assigned {
        let Some(iv) = data.intervals.get(account) else {
            continue;
        };
        let Some(used) = peak::use_in(iv, from, to) else {
            continue;
        };
        let g = usize::from(a.group == Group::Control);
        match a.group {
            Group::Treatment => treated.push(used),
            Group::Control => control.push(used),
        }
        for (hour, slot) in profile[g].iter_mut().enumerate() {
            let start = day_start + 3600 * hour as i64;
            if let Some(q) = peak::use_in(iv, start, start + 3600) {
                slot.0 += q;
                slot.1 += 1;
            }
        }
    }
    let estimate = peak::estimate(&treated, &control);
    let left_out = assigned.len() - treated.len() - control.len();
    let e = EventEvaluation {
        window: window.to_string(),
        estimate,
        left_out,
        unit: config.utility.service.canonical_unit().to_string(),
        profile: profile.map(|g| g.map(|(q, n)| (n > 0).then(|| q / n as f64))),
    };
    write_evaluation(config, &e, window, out)?;
    Ok(e)
}

/// What `evaluate --event` found.
#[derive(Debug)]
pub struct EventEvaluation {
    pub window: String,
    pub estimate: Option<peak::EventEstimate>,
    /// Assigned households without data covering the window.
    pub left_out: usize,
    pub unit: String,
    /// Mean use per household in each hour of the event's day: treated, holdout.
    pub profile: [[Option<f64>; 24]; 2],
}

impl EventEvaluation {
    pub fn render_text(&self) -> String {
        let mut s = format!("peak event {}\n", self.window);
        match &self.estimate {
            Some(e) => s.push_str(&format!(
                "reduction: {:.2}% (95% CI {:.2}% to {:.2}%, p = {:.4}), {:.3} {} per household; {} treated vs {} holdout households\n",
                e.reduction_pct,
                e.ci_low_pct,
                e.ci_high_pct,
                e.p_value,
                e.reduction_per_household,
                self.unit,
                e.treatment_households,
                e.control_households
            )),
            None => s.push_str("reduction: not estimable (fewer than 2 households with data in a group)\n"),
        }
        s.push_str(&format!(
            "left out: {} assigned household(s) without interval data covering the window\n",
            self.left_out
        ));
        s
    }
}

fn write_evaluation(
    config: &Config,
    e: &EventEvaluation,
    window: &EventWindow,
    out: &Path,
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let csv_path = out.join("event.csv");
    crate::output::writing(&csv_path, |p| {
        let mut w = csv::Writer::from_path(p)?;
        w.write_record([
            "treatment_households",
            "control_households",
            "reduction_per_household",
            "reduction_pct",
            "ci_low_pct",
            "ci_high_pct",
            "p_value",
        ])?;
        if let Some(x) = &e.estimate {
            w.write_record([
                x.treatment_households.to_string(),
                x.control_households.to_string(),
                format!("{:.6}", x.reduction_per_household),
                format!("{:.4}", x.reduction_pct),
                format!("{:.4}", x.ci_low_pct),
                format!("{:.4}", x.ci_high_pct),
                format!("{:.6}", x.p_value),
            ])?;
        }
        Ok(w.flush()?)
    })?;
    let page = event_page(config, e, window)?;
    let renderer = crate::render::Renderer::new(
        &config.templates_dir(),
        crate::pipeline::render_date(config),
    )?;
    let rendered = renderer
        .render_template(
            EVENT_TEMPLATE,
            serde_json::to_vec(&page)?,
            &format!("event/{}", e.window),
        )
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let pdf = out.join("event.pdf");
    crate::output::writing(&pdf, |p| Ok(crate::output::write_atomic(p, &rendered.pdf)?))
}

/// The window `check` lays the event page out for.
pub fn example_window() -> EventWindow {
    "2026-08-12T16:00..20:00".parse().expect("a window")
}

/// Made-up event figures, so `check` lays out every part of the page.
pub fn example_evaluation() -> EventEvaluation {
    let treated: Vec<f64> = (0..300).map(|k| 5.0 + f64::from(k % 7) * 0.3).collect();
    let control: Vec<f64> = (0..100).map(|k| 5.6 + f64::from(k % 7) * 0.3).collect();
    let hour = |k: usize, scale: f64| Some(scale * if (16..20).contains(&k) { 1.4 } else { 0.7 });
    EventEvaluation {
        window: example_window().to_string(),
        estimate: peak::estimate(&treated, &control),
        left_out: 3,
        unit: "kWh".into(),
        profile: [
            std::array::from_fn(|k| hour(k, 0.92)),
            std::array::from_fn(|k| hour(k, 1.0)),
        ],
    }
}

/// The event page's template, inside the templates folder.
pub const EVENT_TEMPLATE: &str = "/event.typ";

/// The JSON `event.typ` reads.
pub fn event_page(
    config: &Config,
    e: &EventEvaluation,
    window: &EventWindow,
) -> Result<serde_json::Value> {
    let labels: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let start = window.from.format("%H").to_string().parse().unwrap_or(0);
    let unit = format!("{} per hour", e.unit);
    let chart = crate::chart::trend_svg(
        &labels,
        &e.profile[0],
        &e.profile[1],
        start,
        ("Messaged households", "Holdout", "event starts"),
        &unit,
    )?;
    let headline = match &e.estimate {
        Some(x) if x.ci_low_pct > 0.0 => format!(
            "Households sent the event's messages used {:.1}% less in its hours than the holdout (95% confidence interval {:.1}% to {:.1}%).",
            x.reduction_pct, x.ci_low_pct, x.ci_high_pct
        ),
        Some(x) => format!(
            "No reduction can be told apart from chance: the estimate is {:.1}% and the 95% confidence interval, {:.1}% to {:.1}%, includes zero.",
            x.reduction_pct, x.ci_low_pct, x.ci_high_pct
        ),
        None => "The reduction cannot be estimated: a group has fewer than two households with data in the event's hours.".into(),
    };
    Ok(serde_json::json!({
        "title": format!("{}: peak event of {}", config.utility.name, crate::target::letter::long_date(window.date, Language::En)),
        "utility": config.utility.name,
        "window": window.to_string(),
        "hours": hours(window, Language::En),
        "unit": e.unit,
        "headline": headline,
        "estimate": e.estimate,
        "left_out": e.left_out,
        "chart_svg": chart,
        "chart_alt": format!("Line chart of the average use per household in each hour of {}, messaged households and holdout; the event starts at {}.", window.date, window.from.format("%H:%M")),
    }))
}
