//! The batch: ingest → cohort → compare → phase → chart + render → output.
//!
//! [`plan`] decides everything (who is mailed, with which comparison, phase and
//! tips) without rendering; [`run`] renders the plan's letters on plain
//! threads and writes the run folder; [`preview`] renders one letter. All
//! three share the plan, so a preview shows exactly what the batch would mail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cohort::{self, Assignment, Cohort};
use crate::compare::{self, CohortStats, Comparison};
use crate::config::Config;
use crate::exception::{Exception, Reason};
use crate::ingest::{self, Dataset};
use crate::model::{Bill, Household, Period, Status, bills_from_reads};
use crate::output::{self, ManifestRow, RunFolder, Summary};
use crate::phase::{self, Decision, Phase};
use crate::print::{Piece, PrintJob};
use crate::render::Renderer;
use crate::report::{self, ReportInput};
use crate::store::Store;
use crate::wording::Wording;

mod enrol;
pub use enrol::{Balance, enroll};

/// What a `run` or `preview` was asked for, beyond the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub customers: Option<PathBuf>,
    pub usage: Option<PathBuf>,
    pub period: Option<Period>,
    pub out: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub suppress: Option<PathBuf>,
    pub dry_run: bool,
    pub progress: bool,
}

/// One household to be mailed this period.
#[derive(Debug, Clone)]
pub struct Letter {
    pub household: usize,
    pub comparison: Option<Comparison>,
    pub decision: Decision,
    pub assistance_eligible: bool,
    pub tips: Vec<String>,
    /// Why no comparison could be made, if none.
    pub note: String,
}

/// Everything decided before rendering.
pub struct Plan {
    pub period: Period,
    pub households: Vec<Household>,
    pub bills: Vec<Vec<Bill>>,
    pub cohorts: Vec<Cohort>,
    pub stats: Vec<CohortStats>,
    /// In presort order: ZIP, then address, then account.
    pub letters: Vec<Letter>,
    pub exceptions: Vec<Exception>,
    pub households_in: usize,
    /// Each household's comparison this period, by household index (None
    /// when it was not compared), mailed or not: segments read it.
    pub comparisons: Vec<Option<Comparison>>,
    /// Control-group assignments made by this plan, recorded by a real run.
    pub enrolments: Vec<crate::store::Assigned>,
    /// Every compared household's group in the monthly reports' experiment.
    pub groups: HashMap<usize, crate::control::Group>,
}

impl Plan {
    /// The letters keyed by account id.
    pub fn letters_by_account(&self) -> HashMap<&str, &Letter> {
        self.letters
            .iter()
            .map(|l| (self.households[l.household].account_id.as_str(), l))
            .collect()
    }

    /// Render report data built for `letter` (possibly adjusted, as previews do).
    pub fn render_data(
        &self,
        letter: &Letter,
        data: &report::ReportData,
        renderer: &Renderer,
    ) -> Result<crate::render::Rendered, String> {
        let h = &self.households[letter.household];
        let json = serde_json::to_vec(data).map_err(|e| e.to_string())?;
        renderer
            .render(json, &format!("{}/{}", h.account_id, self.period))
            .map_err(|e| e.to_string())
    }

    pub fn input<'a>(&'a self, letter: &'a Letter) -> ReportInput<'a> {
        ReportInput {
            household: &self.households[letter.household],
            bills: &self.bills[letter.household],
            period: self.period,
            comparison: letter.comparison.as_ref(),
            cohort: letter.comparison.as_ref().map(|c| &self.cohorts[c.cohort]),
            phase: letter.decision.phase,
            assistance_eligible: letter.assistance_eligible,
            tips: &letter.tips,
            proof_label: None,
        }
    }
}

/// Accounts to hold back this run: one id per line (or the first CSV column);
/// blank lines, `#` comments and an `account_id` header are ignored.
pub fn read_suppressions(path: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read suppression list {}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split(',').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "account_id")
        .map(str::to_string)
        .collect())
}

/// Decide who gets which letter. `store` supplies phase history and opt-outs;
/// without one every household is new.
pub fn plan(
    config: &Config,
    opts: &RunOptions,
    wording: &Wording,
    store: Option<&Store>,
) -> Result<Plan> {
    let (customers, usage) = config.input_files(opts.customers.as_ref(), opts.usage.as_ref());
    let t = Instant::now();
    let Dataset {
        households,
        reads,
        mut exceptions,
    } = ingest::load(&customers, &usage, config.utility.service)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: files read");
    let bills: Vec<Vec<Bill>> = {
        use rayon::prelude::*;
        // Reads are dropped as they become bills: only bills are kept.
        reads
            .into_par_iter()
            .map(|r| bills_from_reads(&r))
            .collect()
    };
    let period = match opts.period {
        Some(p) => p,
        None => latest_period(&bills).with_context(|| {
            format!(
                "{} has no usable reads, so there is no period to report on",
                usage.display()
            )
        })?,
    };
    let households_in = households.len() + distinct_accounts(&exceptions);
    // Bills after the period do not exist yet as far as this run is concerned,
    // so re-running an old period sees what it saw the first time.
    let bills: Vec<Vec<Bill>> = bills
        .into_iter()
        .map(|b| b.into_iter().filter(|b| b.period <= period).collect())
        .collect();

    let suppressed = match &opts.suppress {
        Some(p) => read_suppressions(p)?,
        None => HashSet::new(),
    };
    let opted_out = match store {
        Some(s) => s.opt_outs()?,
        None => HashMap::new(),
    };

    // Candidates are compared; a candidate may still not be mailed.
    let mut candidates: Vec<usize> = Vec::new();
    for (i, h) in households.iter().enumerate() {
        let reject =
            |reason, detail: String| Some(Exception::new(h.account_id.clone(), reason, detail));
        let n_bills = bills[i]
            .iter()
            .filter(|b| b.period.index() > period.index() - 24)
            .count();
        let problem = match h.status {
            Status::Vacant => reject(Reason::Vacant, format!("{}: status vacant", h.source)),
            Status::Closed => reject(Reason::Closed, format!("{}: status closed", h.source)),
            Status::Active if !bills[i].iter().any(|b| b.period == period) => {
                reject(Reason::NoBillForPeriod, format!("no read ends in {period}"))
            }
            Status::Active if n_bills < config.cohort.min_history_bills => reject(
                Reason::InsufficientHistory,
                format!(
                    "{n_bills} bill(s) in the last 24 months, {} needed",
                    config.cohort.min_history_bills
                ),
            ),
            Status::Active => None,
        };
        match problem {
            Some(e) => exceptions.push(e),
            None => candidates.push(i),
        }
    }

    let refs: Vec<&Household> = candidates.iter().map(|&i| &households[i]).collect();
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "plan: candidates chosen"
    );
    let cohort_plan = cohort::plan(&refs, &config.cohort);
    // Compared at 0.001 unit/day: the same use expressed in different units
    // (gal vs ccf) must tie rather than differ in the last binary digit.
    let usage_per_day: Vec<f64> = candidates
        .iter()
        .map(|&i| {
            bills[i]
                .iter()
                .find(|b| b.period == period)
                .map(Bill::per_day)
                .unwrap_or(0.0)
        })
        .map(|u| (u * 1000.0).round() / 1000.0)
        .collect();
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: cohorts formed");
    let (comparisons, stats) = compare::compare(&cohort_plan, &usage_per_day);

    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: compared");
    let history = match store {
        Some(s) => s.history_before(period)?,
        None => HashMap::new(),
    };
    let recorded = match store {
        Some(s) => s.recorded(period)?,
        None => HashMap::new(),
    };
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: history read");
    let enrol::Enrolment {
        groups,
        enrolments,
        mut control_detail,
    } = enrol::groups(
        config,
        store,
        period,
        &households,
        &candidates,
        &cohort_plan,
        &comparisons,
    )?;
    let mut compared: Vec<Option<Comparison>> = vec![None; households.len()];
    let mut letters = Vec::new();
    type TipKey = (
        crate::model::Service,
        Option<compare::Rating>,
        Phase,
        Option<i32>,
        Option<u32>,
        Option<String>,
        bool,
        Vec<String>,
    );
    let mut tip_memo: rustc_hash::FxHashMap<TipKey, Vec<String>> = Default::default();
    for ((&i, comparison), assignment) in candidates
        .iter()
        .zip(comparisons)
        .zip(&cohort_plan.assignments)
    {
        let h = &households[i];
        compared[i] = comparison.clone();
        let hold = if groups.get(&i) == Some(&crate::control::Group::Control) {
            Some((
                Reason::ControlGroup,
                control_detail.remove(&i).unwrap_or_default(),
            ))
        } else if h.do_not_mail {
            Some((
                Reason::DoNotMail,
                format!("{}: do_not_mail is set", h.source),
            ))
        } else if suppressed.contains(&h.account_id) {
            Some((
                Reason::Suppressed,
                "listed in the suppression file".to_string(),
            ))
        } else {
            opted_out
                .get(&h.account_id)
                .map(|r| (Reason::OptedOut, format!("opted out: {r}")))
        };
        if let Some((reason, detail)) = hold {
            exceptions.push(Exception::new(h.account_id.clone(), reason, detail));
            continue;
        }
        let eligible = report::assistance_eligible(h, config);
        let rating = comparison.as_ref().map(|c| c.rating);
        let (decision, tips) = match recorded.get(&h.account_id) {
            Some(r) => (
                Decision {
                    phase: r.phase,
                    ladder: r.ladder,
                    entered: r.entered,
                },
                r.tips.clone(),
            ),
            None => {
                let last = history.get(&h.account_id);
                let decision = phase::decide(
                    last.map(|l| l.ladder),
                    last.map(|l| period.index() - l.period.index()),
                    rating,
                    eligible,
                    &config.phase,
                );
                let last_tips = last.map(|l| l.tips.as_slice()).unwrap_or(&[]);
                // Tips depend on a handful of traits shared by many homes:
                // choose once per combination.
                let key = (
                    h.service,
                    rating,
                    decision.phase,
                    h.year_built,
                    h.occupants,
                    h.heating_fuel.clone(),
                    eligible,
                    last_tips.to_vec(),
                );
                let tips = tip_memo
                    .entry(key)
                    .or_insert_with(|| {
                        report::pick_tips(
                            h,
                            period,
                            rating,
                            decision.phase,
                            eligible,
                            last_tips,
                            wording,
                        )
                    })
                    .clone();
                (decision, tips)
            }
        };
        let note = match assignment {
            Assignment::TooFew { locality_size } => format!(
                "no comparison: {locality_size} comparable home(s) in {}, {} needed; tips letter with own history",
                h.locality, config.cohort.min_size
            ),
            Assignment::Cohort(_) => String::new(),
        };
        letters.push(Letter {
            household: i,
            comparison,
            decision,
            assistance_eligible: eligible,
            tips,
            note,
        });
    }
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: letters decided");
    // Presort order; the account id makes every key unique, so an unstable
    // parallel sort gives the one order.
    {
        use rayon::slice::ParallelSliceMut;
        letters.par_sort_unstable_by(|a, b| {
            let (ha, hb) = (&households[a.household], &households[b.household]);
            (&ha.zip, &ha.address_line1, &ha.account_id).cmp(&(
                &hb.zip,
                &hb.address_line1,
                &hb.account_id,
            ))
        });
    }
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: letters sorted");
    Ok(Plan {
        period,
        households,
        bills,
        cohorts: cohort_plan.cohorts,
        stats,
        letters,
        exceptions,
        households_in,
        comparisons: compared,
        enrolments,
        groups,
    })
}

fn distinct_accounts(exceptions: &[Exception]) -> usize {
    // Rows without an account id each count as one input household.
    let named: HashSet<&str> = exceptions
        .iter()
        .filter(|e| !e.account_id.is_empty())
        .map(|e| e.account_id.as_str())
        .collect();
    named.len()
        + exceptions
            .iter()
            .filter(|e| e.account_id.is_empty())
            .count()
}

/// The latest month whose bills are all in: the last month with bills, unless
/// it has fewer than 90% of the previous month's (read cycles still under way).
fn latest_period(bills: &[Vec<Bill>]) -> Option<Period> {
    let mut per_month: BTreeMap<Period, usize> = BTreeMap::new();
    for b in bills.iter().flatten() {
        *per_month.entry(b.period).or_default() += 1;
    }
    let mut months = per_month.iter().rev();
    let (&last, &n_last) = months.next()?;
    match months.next() {
        Some((&prev, &n_prev))
            if prev == last.offset(-1) && (n_last as f64) < 0.9 * n_prev as f64 =>
        {
            Some(prev)
        }
        _ => Some(last),
    }
}

/// The run folder for a period: `--out`, or the config's pattern.
pub fn out_dir(config: &Config, opts: &RunOptions, period: Period) -> PathBuf {
    match &opts.out {
        Some(p) => p.clone(),
        None => config.resolve(Path::new(
            &config.output.dir.replace("{period}", &period.to_string()),
        )),
    }
}

pub fn open_store(config: &Config, opts: &RunOptions, read_only: bool) -> Result<Option<Store>> {
    let path = opts
        .state
        .clone()
        .unwrap_or_else(|| config.resolve(&config.store.path));
    if read_only && !path.exists() {
        return Ok(None);
    }
    Store::open(&path).map(Some)
}

pub fn render_date(config: &Config) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&config.render.date, "%Y-%m-%d")
        .unwrap_or_else(|_| chrono::Local::now().date_naive())
}

/// Run the batch. Returns the summary; the run folder is complete when this returns Ok.
pub fn run(config: &Config, opts: &RunOptions) -> Result<Summary> {
    let started = Instant::now();
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let mut store = open_store(config, opts, opts.dry_run)?;
    let mut plan = plan(config, opts, &wording, store.as_ref())?;
    let period = plan.period;
    let mut summary = Summary {
        period: period.to_string(),
        households_in: plan.households_in,
        dry_run: opts.dry_run,
        ..Summary::default()
    };
    let mut letters_by_phase: BTreeMap<Phase, usize> = BTreeMap::new();
    let mut entering: BTreeMap<Phase, usize> = BTreeMap::new();
    for l in &plan.letters {
        *letters_by_phase.entry(l.decision.phase).or_default() += 1;
        if l.decision.entered {
            *entering.entry(l.decision.phase).or_default() += 1;
        }
        let rating = l.comparison.as_ref().map_or("none", |c| c.rating.code());
        *summary.by_rating.entry(rating.to_string()).or_default() += 1;
        *summary
            .by_phase
            .entry(l.decision.phase.code().to_string())
            .or_default() += 1;
    }
    summary.forecast = output::forecast(&letters_by_phase, &entering, &config.phase);
    if opts.dry_run {
        summary.reports = plan.letters.len();
        summary.count_exceptions(&plan.exceptions);
        summary.seconds = started.elapsed().as_secs_f64();
        summary.peak_rss_mb = output::peak_rss_mb();
        return Ok(summary);
    }

    let store = store.as_mut().context("state store unavailable")?;
    let _lock = store.lock(period)?;
    let run_id = store.begin_run(period, &config.fingerprint())?;
    store.assign(crate::control::REPORTS, &plan.enrolments)?;
    store.record(
        run_id,
        period,
        plan.letters.iter().map(|l| {
            let h = &plan.households[l.household];
            (
                h.account_id.as_str(),
                l.comparison.as_ref().map(|c| c.rating.code()),
                &l.decision,
                l.tips.as_slice(),
            )
        }),
    )?;

    let target = out_dir(config, opts, period);
    let folder = RunFolder::create(&target)?;
    let renderer = Renderer::new(&config.templates_dir(), render_date(config))?;
    let mut exceptions = std::mem::take(&mut plan.exceptions);
    let render_started = Instant::now();
    let rows = render_all(
        &plan,
        config,
        &wording,
        &renderer,
        &folder,
        opts.progress,
        &mut exceptions,
    )?;
    summary.render_seconds = render_started.elapsed().as_secs_f64();
    store.mark_mailed(period, rows.iter().map(|r| r.account_id.as_str()))?;
    output::write_exceptions(&folder.path("exceptions.csv"), &mut exceptions)?;
    write_cohorts(&folder.path("cohorts.csv"), &plan)?;
    output::write_forecast(&folder.path("forecast.csv"), &summary.forecast)?;
    let by_account = plan.letters_by_account();
    crate::brief::write(
        &folder.path("agent-brief.md"),
        period,
        |account| {
            by_account
                .get(account)
                .map(|l| plan.households[l.household].name.as_str())
        },
        &rows,
        &summary.forecast,
        config,
    )?;

    summary.reports = rows.len();
    summary.count_exceptions(&exceptions);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.reports_per_second = rows.len() as f64 / summary.seconds.max(1e-9);
    summary.out_dir = target.display().to_string();
    summary.peak_rss_mb = output::peak_rss_mb();
    std::fs::write(
        folder.path("run.json"),
        serde_json::to_vec_pretty(&summary)?,
    )?;
    folder.commit()?;
    store.finish_run(
        run_id,
        summary.households_in,
        summary.reports,
        summary.exceptions,
    )?;
    Ok(summary)
}

/// Letters that must all fail before a run is stopped as a template error.
const PREFLIGHT: usize = 3;

/// Before laying out thousands: the single-report template (what `preview`
/// shows) must compile for at least one of the first letters, or the run
/// stops with the template's file and line.
fn preflight(plan: &Plan, config: &Config, wording: &Wording, renderer: &Renderer) -> Result<()> {
    let mut last = None;
    for letter in plan.letters.iter().take(PREFLIGHT) {
        let result = report::build(&plan.input(letter), config, wording).and_then(|data| {
            let json = serde_json::to_vec(&data).map_err(|e| e.to_string())?;
            renderer.layout(json).map_err(|e| e.to_string())
        });
        Renderer::evict_cache();
        match result {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => bail!(
            "the report template failed for the first {} household(s):\n{e}",
            plan.letters.len().min(PREFLIGHT)
        ),
        None => Ok(()),
    }
}

/// Lay out every letter once (print files on plain threads, see
/// [`crate::print`]), writing each household's own PDF from the same
/// layout, and stream manifest rows to `manifest.csv` in presort order.
fn render_all(
    plan: &Plan,
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
    folder: &RunFolder,
    progress: bool,
    exceptions: &mut Vec<Exception>,
) -> Result<Vec<ManifestRow>> {
    let bar = if progress {
        indicatif::ProgressBar::new(plan.letters.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} reports  {per_sec}  ETA {eta}",
        )
        .expect("valid template"),
    );
    preflight(plan, config, wording, renderer)?;
    let pieces: Vec<Piece> = plan
        .letters
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let h = &plan.households[l.household];
            Piece {
                sequence: k + 1,
                account_id: &h.account_id,
                zip: &h.zip,
                language: h.language.code(),
                ident: format!("{}/{}", h.account_id, plan.period),
            }
        })
        .collect();
    let letters = plan.letters_by_account();
    let job = PrintJob {
        batch_template: crate::render::BATCH_PATH,
        title: format!("{} reports {}", config.utility.name, plan.period),
        author: &config.utility.name,
        period: plan.period,
        data: |piece: &Piece| -> Result<serde_json::Value, String> {
            let data = report::build(&plan.input(letters[piece.account_id]), config, wording)?;
            serde_json::to_value(data).map_err(|e| e.to_string())
        },
    };
    let mut manifest = csv::Writer::from_path(folder.path("manifest.csv"))?;
    let mut rows = Vec::with_capacity(plan.letters.len());
    let mut seen = 0;
    crate::print::produce(
        &folder.staging,
        &pieces,
        config,
        renderer,
        &job,
        |chunk, outcomes| {
            for (piece, outcome) in chunk.iter().zip(outcomes) {
                let letter = &plan.letters[piece.sequence - 1];
                match outcome {
                    Ok(p) => {
                        let row =
                            manifest_row(plan, config, letter, piece.sequence, p.pdf, p.pages);
                        manifest.serialize(&row)?;
                        rows.push(row);
                    }
                    Err(e) => {
                        exceptions.push(Exception::new(piece.account_id, Reason::RenderFailed, e))
                    }
                }
                seen += 1;
                bar.inc(1);
            }
            // A template that fails for every household is a template
            // error, not bad data: stop instead of filling the exceptions.
            if rows.is_empty()
                && seen >= plan.letters.len().min(PREFLIGHT)
                && let Some(e) = exceptions
                    .iter()
                    .rev()
                    .find(|e| e.reason == Reason::RenderFailed)
            {
                bail!(
                    "the report template failed for the first {seen} household(s):\n{}",
                    e.detail
                );
            }
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    manifest.flush()?;
    Ok(rows)
}

fn manifest_row(
    plan: &Plan,
    config: &Config,
    letter: &Letter,
    sequence: usize,
    pdf: String,
    pages: usize,
) -> ManifestRow {
    let h = &plan.households[letter.household];
    let c = letter.comparison.as_ref();
    let usage = plan.bills[letter.household]
        .iter()
        .find(|b| b.period == plan.period)
        .map(Bill::per_day);
    ManifestRow {
        sequence,
        account_id: h.account_id.clone(),
        cohort_id: c
            .map(|c| plan.cohorts[c.cohort].id.clone())
            .unwrap_or_default(),
        cohort_size: c.map(|c| c.cohort_size.to_string()).unwrap_or_default(),
        usage_per_day: usage.map(|u| format!("{u:.3}")).unwrap_or_default(),
        neighbors_median_per_day: c
            .map(|c| format!("{:.3}", c.median_per_day))
            .unwrap_or_default(),
        efficient_per_day: c
            .map(|c| format!("{:.3}", c.efficient_per_day))
            .unwrap_or_default(),
        percentile: c
            .map(|c| format!("{:.1}", c.percentile))
            .unwrap_or_default(),
        rating: c.map(|c| c.rating.code().to_string()).unwrap_or_default(),
        phase: letter.decision.phase.code().to_string(),
        entered_phase: letter.decision.entered,
        assistance_invite: letter.assistance_eligible && config.assistance.invite,
        language: h.language.code().to_string(),
        zip: h.zip.clone(),
        pdf,
        pages,
        unit: format!("{}/day", h.service.canonical_unit()),
        note: letter.note.clone(),
        tips: letter.tips.join(";"),
    }
}

fn write_cohorts(path: &Path, plan: &Plan) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "cohort_id",
        "locality",
        "size",
        "mean_per_day",
        "std_dev",
        "efficient_per_day",
        "median_per_day",
    ])?;
    for (c, s) in plan.cohorts.iter().zip(&plan.stats) {
        w.write_record([
            c.id.clone(),
            c.locality.clone(),
            s.size.to_string(),
            format!("{:.3}", s.mean),
            format!("{:.3}", s.std_dev),
            format!("{:.3}", s.efficient),
            format!("{:.3}", s.median),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Render one household's report to `out` (no store writes, no run folder).
/// With `show_windows`, page 1 also
/// shows the envelope windows' outlines and, when `[print.imb]` is set, the
/// barcode the piece would carry as the first of the run.
pub fn preview(
    config: &Config,
    opts: &RunOptions,
    account: &str,
    out: &Path,
    show_windows: bool,
) -> Result<(Period, usize)> {
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let store = open_store(config, opts, true)?;
    let plan = plan(config, opts, &wording, store.as_ref())?;
    let Some(letter) = plan
        .letters
        .iter()
        .find(|l| plan.households[l.household].account_id == account)
    else {
        if let Some(e) = plan.exceptions.iter().find(|e| e.account_id == account) {
            bail!(
                "{account} gets no report for {}: {} ({})",
                plan.period,
                e.reason,
                e.detail
            );
        }
        bail!("no household with account_id {account:?} in the customer file");
    };
    let renderer = Renderer::new(&config.templates_dir(), render_date(config))?;
    let mut data =
        report::build(&plan.input(letter), config, &wording).map_err(anyhow::Error::msg)?;
    if show_windows {
        data.show_windows = true;
        if let Some(imb) = &config.print.imb {
            let zip = &plan.households[letter.household].zip;
            data.imb = Some(imb.for_piece(plan.period, 1, zip)?.1);
        }
    }
    let rendered = plan
        .render_data(letter, &data, &renderer)
        .map_err(anyhow::Error::msg)?;
    std::fs::write(out, &rendered.pdf)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok((plan.period, rendered.pages))
}
