//! Measure: what the letters did, against the randomized control group.
//!
//! Reads the usage file and the state store's assignments (never writes
//! them), estimates savings by difference in differences ([`savings`]) and
//! response rates ([`responses`]), and writes `evaluation.csv`,
//! `responses.csv`, `monthly.csv` and a one-page `evaluation.pdf` a program
//! manager or a regulator can read.

pub mod responses;
pub mod savings;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::config::Config;
use crate::control::{self, Group};
use crate::model::{Bill, Months, Period, bills_from_reads};
use crate::render::Renderer;
use crate::store::{Store, StoreLocation};

pub use responses::RateRow;
pub use savings::{Estimate, HouseholdUse};

/// What `evaluate` was asked for.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub customers: Option<PathBuf>,
    pub usage: Option<PathBuf>,
    pub interval: Option<PathBuf>,
    pub greenbutton: Option<PathBuf>,
    pub state: Option<crate::store::StoreLocation>,
    pub pre: Months,
    pub post: Months,
    pub campaign: Option<String>,
    /// The bill-to-date alerts' experiment instead of the monthly reports'.
    pub alerts: bool,
    pub out: PathBuf,
    pub method: Method,
    /// The temperature file for `Method::Caltrack` (default `[weather] file`).
    pub weather: Option<PathBuf>,
}

/// How savings are estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Difference in differences of each household's log change in use.
    #[default]
    Did,
    /// Each household's CalTRACK model of the pre window predicts its post
    /// window from that window's weather; the treated households' change
    /// against their own prediction less the control households'.
    Caltrack,
}

impl Method {
    pub fn code(self) -> &'static str {
        match self {
            Method::Did => "did",
            Method::Caltrack => "caltrack",
        }
    }
}

/// Mean use per day of each group in one month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthRow {
    pub period: String,
    pub window: &'static str,
    pub treatment_per_day: Option<f64>,
    pub control_per_day: Option<f64>,
}

/// The evaluation's results (also written to the output folder).
#[derive(Debug)]
pub struct Evaluation {
    pub experiment: String,
    /// `did` or `caltrack`.
    pub method: &'static str,
    pub estimates: Vec<Estimate>,
    pub rates: Vec<RateRow>,
    /// The rates with treated households split by the channel that reached them.
    pub by_channel: Vec<RateRow>,
    pub months: Vec<MonthRow>,
    /// Assigned households left out: no bill in the pre or the post window,
    /// or assigned after the pre window.
    pub left_out: usize,
    pub unit: String,
    /// The pre-period balance of the groups: standardized difference of
    /// their mean use per day (treated minus control, in pooled standard
    /// deviations). Randomized groups sit near 0.
    pub balance: Option<f64>,
    /// What a reader must know before trusting the estimate.
    pub warnings: Vec<String>,
    /// Response rates within each subgroup (assistance, language, locality).
    pub by_subgroup: Vec<RateRow>,
}

impl Evaluation {
    pub fn overall(&self) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.group == "all")
    }

    pub fn render_text(&self) -> String {
        let mut s = format!("experiment {} (method {})\n", self.experiment, self.method);
        match self.overall() {
            Some(e) => s.push_str(&format!(
                "savings: {:.2}% (95% CI {:.2}% to {:.2}%, p = {:.4}), {} treated vs {} control households\n",
                e.savings_pct,
                e.ci_low_pct,
                e.ci_high_pct,
                e.p_value,
                e.treatment_households,
                e.control_households
            )),
            None => s.push_str("savings: not estimable (fewer than 2 households in a group)\n"),
        }
        for r in &self.rates {
            s.push_str(&format!(
                "{}: {:.1}% treated vs {:.1}% control, difference {:.1} points (95% CI {:.1} to {:.1})\n",
                r.event,
                r.treatment_rate_pct,
                r.control_rate_pct,
                r.difference_pct,
                r.ci_low_pct,
                r.ci_high_pct
            ));
        }
        s.push_str(&format!(
            "left out: {} assigned household(s): joined after the pre period, or no use in one of the windows\n",
            self.left_out
        ));
        // The boomerang check: praise must not license more use.
        if let Some(g) = self.estimates.iter().find(|e| e.group == "rating:great") {
            s.push_str(&format!(
                "boomerang check: households rated Great at enrolment saved {:.2}% (95% CI {:.2}% to {:.2}%){}\n",
                g.savings_pct,
                g.ci_low_pct,
                g.ci_high_pct,
                if g.ci_high_pct < 0.0 {
                    ": they used MORE than their control counterparts"
                } else {
                    ""
                }
            ));
        }
        if let Some(b) = self.balance {
            s.push_str(&format!(
                "pre-period balance: standardized difference {b:+.3} (|d| under {BALANCE_LIMIT} is balanced)\n"
            ));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        s
    }
}

/// Use per day over the bills of `window`: total quantity over total days.
fn window_use(bills: &[Bill], window: &Months) -> Option<f64> {
    let (q, d) = bills
        .iter()
        .filter(|b| window.contains(b.period()))
        .fold((0.0, 0i64), |(q, d), b| {
            (q + b.quantity, d + i64::from(b.days))
        });
    (d > 0).then(|| q / d as f64)
}

/// Evaluate the monthly reports (or a campaign) and write the output folder.
pub fn evaluate(config: &Config, opts: &EvaluateOptions) -> Result<Evaluation> {
    check_windows(opts)?;
    let experiment = experiment_of(config, opts)?;
    let store = open_store(config, opts)?;
    let assigned = store.assignments(&experiment)?;
    if assigned.is_empty() {
        bail!(
            "no household is assigned in {experiment}: run `neighborly enroll` or a real run first"
        );
    }
    let data = load_usage(config, opts)?;
    let weather = match opts.method {
        Method::Did => None,
        Method::Caltrack => Some(crate::insight::read(config, opts.weather.as_deref())?),
    };
    let (units, bills_of) = measured(config, opts, &data, &assigned, weather.as_ref());
    let left_out = assigned.len() - units.len();
    let estimates = savings::evaluate(&units);
    let months = monthly(&bills_of, opts);
    let rates = response_rates(config, opts, &store, &data, &assigned)?;
    let balance = standardized_difference(&units);
    let warnings = warnings(opts, &store, &experiment, balance, weather.is_some())?;
    let evaluation = Evaluation {
        experiment,
        method: opts.method.code(),
        estimates,
        rates: rates.overall,
        by_channel: rates.by_channel,
        months,
        left_out,
        unit: config.utility.service.canonical_unit().to_string(),
        balance,
        warnings,
        by_subgroup: rates.by_subgroup,
    };
    write(config, opts, &evaluation)?;
    Ok(evaluation)
}

/// The letters' effect is a change from before them to after: the windows
/// must not overlap.
fn check_windows(opts: &EvaluateOptions) -> Result<()> {
    if opts.post.from <= opts.pre.to {
        bail!(
            "the post window ({}) must start after the pre window ({}) ends",
            opts.post,
            opts.pre
        );
    }
    Ok(())
}

/// The experiment evaluated: a campaign's (which the config must know),
/// the alerts', or the monthly reports'.
fn experiment_of(config: &Config, opts: &EvaluateOptions) -> Result<String> {
    Ok(match &opts.campaign {
        Some(name) => {
            if !config.campaigns.contains_key(name) {
                bail!("no [campaigns.{name}] in the config");
            }
            control::campaign_experiment(name)
        }
        None if opts.alerts => crate::alerts::EXPERIMENT.to_string(),
        None => control::REPORTS.to_string(),
    })
}

/// The state store, which must already exist: an evaluation only reads
/// what runs and enrolments assigned, and never creates a database.
fn open_store(config: &Config, opts: &EvaluateOptions) -> Result<Store> {
    let state = opts
        .state
        .clone()
        .unwrap_or_else(|| config.state_location());
    if let StoreLocation::File(path) = &state
        && !path.exists()
    {
        bail!(
            "no state database at {}: nothing has been assigned yet",
            path.display()
        );
    }
    Store::open(&state, config.store.wait())
}

/// The customers and their bills, read as a run would read them.
fn load_usage(config: &Config, opts: &EvaluateOptions) -> Result<crate::ingest::Dataset> {
    let run = crate::pipeline::RunOptions {
        customers: opts.customers.clone(),
        usage: opts.usage.clone(),
        interval: opts.interval.clone(),
        greenbutton: opts.greenbutton.clone(),
        ..Default::default()
    };
    let sources = crate::pipeline::sources(config, &run);
    crate::ingest::load(
        &sources,
        config.utility.service,
        &crate::pipeline::read_rules(config, &sources)?,
    )
}

/// Whether an assigned household counts in the experiment: assigned by the
/// end of the pre window. Alerts draw a household when it first qualifies,
/// which is after the pre window by design, so for them any draw up to the
/// end of the post window counts; letters' groups are drawn before it.
fn counted(a: &crate::store::Assigned, opts: &EvaluateOptions) -> bool {
    a.period <= opts.pre.to || (opts.alerts && a.period <= opts.post.to)
}

/// The households whose savings are estimated: counted, with use in both
/// windows. Each one's use per day, and its bills (for the monthly table).
fn measured(
    config: &Config,
    opts: &EvaluateOptions,
    data: &crate::ingest::Dataset,
    assigned: &HashMap<String, crate::store::Assigned>,
    weather: Option<&crate::weather::Weather>,
) -> (Vec<HouseholdUse>, Vec<(Group, Vec<Bill>)>) {
    let mut units = Vec::new();
    let mut bills_of = Vec::new();
    for (h, reads) in data.households.iter().zip(&data.reads) {
        let Some(a) = assigned.get(h.account_id.as_str()) else {
            continue;
        };
        if !counted(a, opts) {
            continue;
        }
        let bills = bills_from_reads(reads);
        // Savings are estimated in logs: a window with no use is left out.
        // With CalTRACK, the "before" is the household's own model of the
        // pre window run on the post window's weather.
        let pair = match weather {
            None => window_use(&bills, &opts.pre).zip(window_use(&bills, &opts.post)),
            Some(w) => weather_normalized(config, w, h, &bills, opts),
        };
        if let Some((pre, post)) = pair.filter(|(a, b)| *a > 0.0 && *b > 0.0) {
            units.push(HouseholdUse {
                group: a.group,
                rating: a.rating.clone().unwrap_or_else(|| "none".into()),
                subgroups: subgroups(h, config),
                pre,
                post,
            });
            bills_of.push((a.group, bills));
        }
    }
    (units, bills_of)
}

/// Response rates of the counted households in the post window.
struct Rates {
    /// Every event, a campaign's goal event first.
    overall: Vec<RateRow>,
    by_subgroup: Vec<RateRow>,
    by_channel: Vec<RateRow>,
}

/// The response rates, from the store's events of the post window (a
/// campaign's own and those tied to no campaign) and the channels that
/// delivered in it.
fn response_rates(
    config: &Config,
    opts: &EvaluateOptions,
    store: &Store,
    data: &crate::ingest::Dataset,
    assigned: &HashMap<String, crate::store::Assigned>,
) -> Result<Rates> {
    let groups: HashMap<String, Group> = assigned
        .values()
        .filter(|a| counted(a, opts))
        .map(|a| (a.account_id.clone(), a.group))
        .collect();
    let events: Vec<_> = store
        .responses(opts.post.from.first_day(), opts.post.to.last_day())?
        .into_iter()
        .filter(|e| match &opts.campaign {
            Some(c) => e.campaign.is_empty() || &e.campaign == c,
            None => true,
        })
        .collect();
    let mut overall = responses::rates(&groups, &events);
    let subgroup_of: HashMap<String, Vec<String>> = data
        .households
        .iter()
        .map(|h| (h.account_id.to_string(), subgroups(h, config)))
        .collect();
    let by_subgroup = responses::rates_by_subgroup(&groups, &subgroup_of, &events);
    let channels = store.delivered_channels(opts.post.from, opts.post.to)?;
    let by_channel = responses::rates_by_channel(&groups, &channels, &events);
    if let Some(goal) = opts
        .campaign
        .as_ref()
        .and_then(|c| config.campaigns.get(c))
        .map(|c| c.goal_event.clone())
    {
        overall.sort_by_key(|r| r.event != goal);
    }
    Ok(Rates {
        overall,
        by_subgroup,
        by_channel,
    })
}

/// What a reader must know before trusting the estimate: windows of
/// different seasons, groups unbalanced before the letters, control
/// households that were reached anyway.
fn warnings(
    opts: &EvaluateOptions,
    store: &Store,
    experiment: &str,
    balance: Option<f64>,
    weather_normalized: bool,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    // The weather models carry each household across seasons.
    if let Some(w) = season_mismatch(&opts.pre, &opts.post).filter(|_| !weather_normalized) {
        warnings.push(w);
    }
    if let Some(b) = balance.filter(|b| b.abs() >= BALANCE_LIMIT) {
        warnings.push(format!(
            "the groups differ before the letters: their pre-period use is {b:+.2} standard \
             deviations apart (randomized groups are within {BALANCE_LIMIT}); check the assignment"
        ));
    }
    let reached = if opts.alerts {
        store.control_sent_under(experiment, "alert:")?
    } else {
        store.control_reached(experiment, opts.campaign.as_deref())?
    };
    if reached > 0 {
        warnings.push(format!(
            "{reached} control household(s) received a letter or a message: they still count as \
             control (intention to treat), which makes the estimate smaller than the letters' effect"
        ));
    }
    Ok(warnings)
}

/// A household's post-window use per day as its CalTRACK model of the pre
/// window predicts it from the post window's weather, and as observed:
/// `None` without a station, a model (INPUTS.md, "Weather models") or a
/// post bill the weather covers.
fn weather_normalized(
    config: &Config,
    weather: &crate::weather::Weather,
    h: &crate::model::Household,
    bills: &[Bill],
    opts: &EvaluateOptions,
) -> Option<(f64, f64)> {
    use crate::weather::caltrack::{Granularity, Usage};
    let (_, station) = crate::insight::station(config, weather, h)?;
    let usage = |window: &Months| -> Vec<Usage> {
        bills
            .iter()
            .filter(|b| window.contains(b.period()))
            .map(Usage::from)
            .collect()
    };
    let window = crate::insight::Window {
        first: opts.pre.from.first_day(),
        last: opts.pre.to.last_day(),
    };
    let model = crate::insight::model_of(
        &usage(&opts.pre),
        station,
        Granularity::Billing,
        h.service,
        window,
    )
    .ok()?;
    let (mut predicted, mut observed, mut days) = (0.0, 0.0, 0.0);
    for u in usage(&opts.post) {
        if let Some(p) = model.predict(u.start, u.end, station, Granularity::Billing) {
            predicted += p.total();
            observed += u.quantity;
            days += u.days() as f64;
        }
    }
    (days > 0.0).then(|| (predicted / days, observed / days))
}

/// The subgroups a household is measured in for fairness: whether it takes
/// part in an assistance program (the households the program must never
/// shame), its language and its locality.
fn subgroups(h: &crate::model::Household, config: &Config) -> Vec<String> {
    let a = &config.assistance;
    let assisted = h.programs.iter().any(|p| {
        a.eligible_programs
            .iter()
            .any(|e| e.eq_ignore_ascii_case(p))
            || p.eq_ignore_ascii_case(&a.cap_program)
    });
    vec![
        format!("assistance:{}", if assisted { "yes" } else { "no" }),
        format!("language:{}", h.language.code()),
        format!("locality:{}", h.locality),
    ]
}

/// Above this standardized difference of pre-period use, the groups are
/// called unbalanced (the usual threshold of the matching literature).
pub const BALANCE_LIMIT: f64 = 0.1;

/// Treated minus control mean pre-period use, over the pooled standard
/// deviation; None without two households in each group.
fn standardized_difference(units: &[HouseholdUse]) -> Option<f64> {
    let stats = |g: Group| {
        let xs: Vec<f64> = units
            .iter()
            .filter(|u| u.group == g)
            .map(|u| u.pre)
            .collect();
        let n = xs.len() as f64;
        (n >= 2.0).then(|| {
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (mean, var)
        })
    };
    let ((mt, vt), (mc, vc)) = (stats(Group::Treatment)?, stats(Group::Control)?);
    let pooled = ((vt + vc) / 2.0).sqrt();
    (pooled > 0.0).then(|| (mt - mc) / pooled)
}

/// A warning when the two windows do not cover the same calendar months:
/// seasons differ, and only the control group stands between the letters'
/// effect and the weather's.
fn season_mismatch(pre: &Months, post: &Months) -> Option<String> {
    let months =
        |w: &Months| -> std::collections::BTreeSet<u32> { w.iter().map(|p| p.month).collect() };
    (months(pre) != months(post)).then(|| {
        format!(
            "the pre window ({pre}) and the post window ({post}) cover different calendar \
             months: the estimate compares each household's change in percent with the control \
             group's over the same months, which holds when the groups are randomized; windows of \
             the same months (12 months each, or the same months a year apart) are surest"
        )
    })
}

fn monthly(bills_of: &[(Group, Vec<Bill>)], opts: &EvaluateOptions) -> Vec<MonthRow> {
    let mut sums: BTreeMap<(Period, Group), (f64, usize)> = BTreeMap::new();
    for (g, bills) in bills_of {
        for b in bills {
            if opts.pre.contains(b.period()) || opts.post.contains(b.period()) {
                let e = sums.entry((b.period(), *g)).or_default();
                e.0 += b.per_day();
                e.1 += 1;
            }
        }
    }
    let mean = |p: Period, g: Group| sums.get(&(p, g)).map(|(s, n)| s / *n as f64);
    opts.pre
        .iter()
        .map(|p| (p, "pre"))
        .chain(opts.post.iter().map(|p| (p, "post")))
        .map(|(p, window)| MonthRow {
            period: p.to_string(),
            window,
            treatment_per_day: mean(p, Group::Treatment),
            control_per_day: mean(p, Group::Control),
        })
        .collect()
}

fn write_csv<T: Serialize>(path: &Path, rows: &[T], header: &[&str]) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    if rows.is_empty() {
        w.write_record(header)?;
    }
    for r in rows {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(())
}

fn write(config: &Config, opts: &EvaluateOptions, e: &Evaluation) -> Result<()> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    write_csv(
        &opts.out.join("evaluation.csv"),
        &e.estimates,
        &[
            "group",
            "treatment_households",
            "control_households",
            "savings_pct",
            "ci_low_pct",
            "ci_high_pct",
            "p_value",
        ],
    )?;
    write_csv(
        &opts.out.join("responses.csv"),
        &e.rates,
        &["event", "treatment_rate_pct", "control_rate_pct"],
    )?;
    write_csv(
        &opts.out.join("responses-by-channel.csv"),
        &e.by_channel,
        &["channel", "event", "treatment_rate_pct", "control_rate_pct"],
    )?;
    write_csv(
        &opts.out.join("responses-by-group.csv"),
        &e.by_subgroup,
        &[
            "subgroup",
            "event",
            "treatment_rate_pct",
            "control_rate_pct",
        ],
    )?;
    write_csv(&opts.out.join("monthly.csv"), &e.months, &["period"])?;
    let page = page::build(config, opts, e)?;
    let renderer = Renderer::new(
        &config.templates_dir(),
        crate::pipeline::render_date(config),
    )?;
    let rendered = renderer
        .render_template(
            page::TEMPLATE,
            serde_json::to_vec(&page)?,
            &format!("evaluation/{}/{}/{}", e.experiment, opts.pre, opts.post),
        )
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let pdf = opts.out.join("evaluation.pdf");
    std::fs::write(&pdf, rendered.pdf)
        .with_context(|| format!("cannot write {}", pdf.display()))?;
    Ok(())
}

mod page;
pub use page::TEMPLATE;

/// An evaluation page for made-up households (both groups, every rating, a
/// response rate), so `check` and the studio can lay out `evaluation.typ`
/// with every part of the page filled, without a store or a usage file.
pub fn example_page(config: &Config, last: Period) -> Result<serde_json::Value> {
    let pre = Months {
        from: last.offset(-11),
        to: last.offset(-6),
    };
    let post = Months {
        from: last.offset(-5),
        to: last,
    };
    let ratings = crate::config::RATING_NAMES;
    let units: Vec<HouseholdUse> = (0..120)
        .map(|i| {
            let base = 90.0 + (i % 40) as f64 * 3.0;
            let treated = i % 2 == 0;
            HouseholdUse {
                group: if treated {
                    Group::Treatment
                } else {
                    Group::Control
                },
                rating: ratings[i % ratings.len()].to_string(),
                subgroups: vec![format!("language:{}", if i % 3 == 0 { "es" } else { "en" })],
                pre: base,
                post: base * if treated { 0.97 } else { 0.995 } + (i % 7) as f64,
            }
        })
        .collect();
    let months = pre
        .iter()
        .chain(post.iter())
        .enumerate()
        .map(|(k, p)| MonthRow {
            period: p.to_string(),
            window: if pre.contains(p) { "pre" } else { "post" },
            treatment_per_day: Some(150.0 - k as f64),
            control_per_day: Some(150.0 - k as f64 / 2.0),
        })
        .collect();
    let evaluation = Evaluation {
        experiment: "monthly-reports".into(),
        method: Method::Did.code(),
        estimates: savings::evaluate(&units),
        by_channel: vec![],
        by_subgroup: vec![],
        rates: vec![RateRow {
            channel: "all".into(),
            subgroup: "all".into(),
            event: "cap-enrolled".into(),
            treatment_households: 60,
            control_households: 60,
            treatment_responders: 9,
            control_responders: 3,
            treatment_rate_pct: 15.0,
            control_rate_pct: 5.0,
            difference_pct: 10.0,
            ci_low_pct: -0.9,
            ci_high_pct: 20.9,
            p_value: 0.07,
        }],
        months,
        left_out: 4,
        unit: config.utility.service.canonical_unit().to_string(),
        balance: Some(0.02),
        // The page's warning list is laid out too.
        warnings: vec!["the pre window and the post window cover different calendar months".into()],
    };
    let opts = EvaluateOptions {
        customers: None,
        usage: None,
        interval: None,
        greenbutton: None,
        state: None,
        pre,
        post,
        campaign: None,
        alerts: false,
        out: PathBuf::new(),
        method: Method::Did,
        weather: None,
    };
    let page = page::build(config, &opts, &evaluation)?;
    Ok(serde_json::to_value(page)?)
}
