//! The batch: ingest → cohort → compare → phase → chart + render → output.
//!
//! [`plan`] decides everything (who is mailed, with which comparison, phase and
//! tips) without rendering; [`run`] lays each letter out once (print files
//! and single PDFs, see [`crate::print`]) and writes the run folder;
//! [`preview`] renders one letter. All three share the plan, so a preview
//! shows exactly what the batch would mail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::drill::{self, Step};
use crate::exception::{Exception, Reason};
use crate::mailing::{Deliveries, Mailing, Mailroom, PREFLIGHT, Recipient};
use crate::model::{Bill, Channel, Period};
use crate::output::{self, ManifestRow, RunFolder, RunOf, Summary};
use crate::phase::Phase;
use crate::print::PieceError;
use crate::render::Renderer;
use crate::report;
use crate::shard::Shard;
use crate::store::{SendStatus, Store};
use crate::wording::Wording;

pub mod enrol;
mod enroll;
pub mod options;
pub mod plan;
mod snapshot;
pub use enroll::{Balance, enroll};
pub use options::{RunOptions, read_rules, sources};
pub use plan::{
    Letter, Plan, Purpose, mail_hold, plan, plan_for, read_suppressions, suppressed, unprintable,
};

/// The run folder for a period: `--out`, or the config's pattern; a shard
/// writes into `shard-K` inside it, so every pod of a Job can be given the
/// same `--out` and `merge` finds the parts beside each other.
pub fn out_dir(config: &Config, opts: &RunOptions, period: Period) -> PathBuf {
    let dir = match &opts.out {
        Some(p) => p.clone(),
        None => config.resolve(Path::new(
            &config.output.dir.replace("{period}", &period.to_string()),
        )),
    };
    match opts.shard.filter(|s| !s.is_whole()) {
        Some(s) => dir.join(format!("shard-{}", s.index)),
        None => dir,
    }
}

pub fn open_store(config: &Config, opts: &RunOptions, read_only: bool) -> Result<Option<Store>> {
    let location = opts
        .state
        .clone()
        .unwrap_or_else(|| config.state_location());
    if read_only && !location.exists() {
        return Ok(None);
    }
    Store::open(&location, config.store.wait()).map(Some)
}

pub fn render_date(config: &Config) -> chrono::NaiveDate {
    config
        .render
        .date
        .unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// The three commonest reasons among `exceptions`, with counts and the
/// first one's detail (its `file:line` for data errors), for a run that
/// could mail nothing. (A shard may legitimately have nothing to mail: its
/// localities may all be exceptions; a whole run cannot.)
fn top_reasons(exceptions: &[Exception]) -> String {
    let mut by_reason: BTreeMap<Reason, (usize, &str)> = BTreeMap::new();
    for e in exceptions {
        by_reason.entry(e.reason).or_insert((0, &e.detail)).0 += 1;
    }
    let mut counted: Vec<_> = by_reason.into_iter().collect();
    counted.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    counted
        .iter()
        .take(3)
        .map(|(reason, (n, detail))| format!("{n} {reason} (first: {detail})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A dry run's summary: what a run would mail, and nothing written.
fn dry_run(mut summary: Summary, plan: Plan, started: Instant) -> Summary {
    summary.reports = plan.letters.len();
    summary.count_exceptions(&plan.exceptions);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.peak_rss_mb = output::peak_rss_mb();
    // Freeing a million households one allocation at a time takes
    // seconds, and the command has its answer: the plan is freed on
    // another thread, which process exit simply cuts short.
    std::thread::spawn(move || drop(plan));
    summary
}

/// Run the batch. Returns the summary; the run folder is complete when this returns Ok.
pub fn run(config: &Config, opts: &RunOptions) -> Result<Summary> {
    let started = Instant::now();
    drill::check()?;
    output::apply_umask(config.output.umask.bits());
    if !opts.dry_run {
        regular_inputs(config, opts)?;
    }
    let wording = crate::wording::load_or_error(&config.templates_dir())?;
    let mut store = open_store(config, opts, opts.dry_run)?;
    let mut plan = plan(config, opts, &wording, store.as_ref())?;
    let period = plan.period;
    let (mut summary, letters_by_phase, entering) = plan_summary(&plan, opts.dry_run);
    // Read once for the learned rates here and the last run's calls below.
    let callers = match &store {
        Some(s) => s.callers()?,
        None => Default::default(),
    };
    let window = i64::from(config.phase.call_window_days);
    let learned = match &store {
        Some(s) => s.learned_call_rates(&callers, render_date(config), window)?,
        None => Vec::new(),
    };
    summary.forecast = output::forecast(&letters_by_phase, &entering, &config.phase, &learned);
    if opts.dry_run {
        return Ok(dry_run(summary, plan, started));
    }
    drill::reach(Step::Planned);

    let shard = opts.shard.unwrap_or(Shard::WHOLE);
    refuse_empty(&plan, shard)?;
    let renderer = Renderer::new(&config.templates_dir(), render_date(config))?;
    preflight(&plan, config, &wording, &renderer)?;
    let store = store.as_mut().context("state store unavailable")?;
    let _lock = store.lock(period, shard)?;
    refuse_out_of_order(store, period)?;
    // The folder is checked (and staged) before anything is recorded, so a
    // mistyped --out leaves the store as it was.
    let target = out_dir(config, opts, period);
    if !opts.replace
        && let Some(summary) = close_published(&target, config, store, period, shard)?
    {
        return Ok(summary);
    }
    let (folder, inputs, run_id) = start_run(config, opts, store, &plan, &target)?;
    drill::reach(Step::Decided);

    summary.inputs_fingerprint = inputs;
    summary.shard = (!shard.is_whole()).then(|| shard.to_string());
    let quality = crate::quality::Quality::of(&plan);
    let mut exceptions = std::mem::take(&mut plan.exceptions);
    let render_started = Instant::now();
    let laid = render_all(
        &plan,
        config,
        &wording,
        &renderer,
        &folder,
        opts,
        store,
        &mut exceptions,
    )?;
    drill::reach(Step::LaidOut);
    // What an interrupted run made that this one does not mail goes; the
    // count of kept files is what was really kept.
    let mut keep = laid.files;
    keep.extend(laid.rows.iter().map(|r| r.pdf.clone()));
    folder.keep_only(&keep)?;
    summary.resumed_files = laid.kept;
    let (rows, deliveries) = (laid.rows, laid.deliveries);
    summary.render_seconds = render_started.elapsed().as_secs_f64();
    deliveries.count(&mut summary);
    // The newcomers' groups are drawn for good with the letters they shaped:
    // a run that fails before here leaves nobody assigned (the next draws the
    // same, from the same inputs).
    store.assign(
        crate::control::REPORTS,
        plan.enrolments.iter().map(|e| e.assigned(&plan)),
    )?;
    store.mark_mailed(period, rows.iter().map(|r| r.account_id.as_str()))?;
    drill::reach(Step::Mailed);
    let files = Files {
        plan: &plan,
        rows: &rows,
        quality: &quality,
        callers: &callers,
        window,
        shard,
    };
    files.write(&folder, config, store, &mut exceptions, &summary)?;

    summary.reports = rows.len();
    summary.count_exceptions(&exceptions);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.reports_per_second = rows.len() as f64 / summary.seconds.max(1e-9);
    summary.out_dir = target.display().to_string();
    summary.peak_rss_mb = output::peak_rss_mb();
    publish(folder, store, period, &deliveries.texts, &summary, run_id)?;
    Ok(summary)
}

/// A whole run that could mail nobody is a mistake in its inputs, said with
/// the commonest reasons. (A shard may legitimately have nothing to mail:
/// its localities may all be exceptions.)
fn refuse_empty(plan: &Plan, shard: Shard) -> Result<()> {
    if shard.is_whole() && plan.letters.is_empty() && plan.households_in > 0 {
        bail!(
            "no household of {} can be mailed for {}: {}",
            plan.households_in,
            plan.period,
            top_reasons(&plan.exceptions)
        );
    }
    Ok(())
}

/// Write `run.json`, rename the staged folder into place, record the texts
/// as handed over and close the run.
fn publish(
    folder: RunFolder,
    store: &Store,
    period: Period,
    texts: &[(String, String, String)],
    summary: &Summary,
    run_id: i64,
) -> Result<()> {
    let run_json = folder.path("run.json");
    output::writing(&run_json, |p| {
        Ok(std::fs::write(p, serde_json::to_vec_pretty(summary)?)?)
    })?;
    drill::reach(Step::Written);
    folder.commit()?;
    drill::reach(Step::Published);
    // The texts are handed to the gateway with the finished folder: a
    // resumed run lists them again; a later re-run of the period does not.
    for (account, mobile, id) in texts {
        store.record_send(account, period, Channel::Sms, id, mobile, SendStatus::Sent)?;
    }
    drill::reach(Step::Recorded);
    store.finish_run(
        run_id,
        summary.households_in,
        summary.reports,
        summary.exceptions,
    )
}

/// A period earlier than one already run would decide its letters after
/// the later period's and move households' phases backward.
fn refuse_out_of_order(store: &Store, period: Period) -> Result<()> {
    if let Some(later) = store.later_period_than(period)? {
        bail!(
            "{period} has not been run on {}, but {later} has: its letters would be decided after \
             {later}'s and move households' phases backward. Periods run in order; \
             a period already run may be run again",
            store.location()
        );
    }
    Ok(())
}

/// Open the run folder (staged, or the interrupted run's to resume), begin
/// the run in the store and record the plan's decisions: the run's folder,
/// inputs fingerprint and id.
fn start_run(
    config: &Config,
    opts: &RunOptions,
    store: &mut Store,
    plan: &Plan,
    target: &Path,
) -> Result<(RunFolder, String, i64)> {
    let (period, shard) = (plan.period, opts.shard.unwrap_or(Shard::WHOLE));
    let inputs = run_fingerprint(config, opts, period)?;
    let (folder, resumed) = RunFolder::open(
        target,
        Some(&format!("{inputs} {shard}")),
        &RunOf {
            campaign: None,
            period: period.to_string(),
        },
        opts.replace,
    )?;
    let run_id = store.begin_run(period, shard, &config.fingerprint(), render_date(config))?;
    // Texts a published run of this period listed, whose hand-over was not
    // recorded (a kill right after the folder was published), count as sent.
    if folder.replace {
        recover_texts(target, config, store, period)?;
    }
    store.record(
        run_id,
        period,
        plan.letters.iter().map(|l| {
            let h = plan.household(l.household);
            (
                h.account_id.as_str(),
                plan.comparison(l).map(|c| c.rating.code()),
                &l.decision,
                &l.tips[..],
                l.goal,
            )
        }),
    )?;
    if resumed > 0 {
        tracing::info!(resumed, "resuming an interrupted run");
    }
    Ok((folder, inputs, run_id))
}

/// What a run writes beside the letters, and what it needs to.
struct Files<'a> {
    plan: &'a Plan,
    rows: &'a [ManifestRow],
    quality: &'a crate::quality::Quality,
    callers: &'a crate::store::Callers,
    /// Days after a letter in which a call is counted as its call.
    window: i64,
    shard: Shard,
}

impl Files<'_> {
    /// Exceptions, cohorts, data quality, leaks, the forecast (also
    /// recorded, after last run's calls are read) and the agent brief.
    fn write(
        &self,
        folder: &RunFolder,
        config: &Config,
        store: &Store,
        exceptions: &mut [Exception],
        summary: &Summary,
    ) -> Result<()> {
        let (plan, rows, period) = (self.plan, self.rows, self.plan.period);
        output::write_exceptions(&folder.path("exceptions.csv"), exceptions)?;
        write_cohorts(&folder.path("cohorts.csv"), plan)?;
        self.quality.write(
            &folder.path("data-quality.csv"),
            &folder.path("data-quality.html"),
            &config.utility.name,
        )?;
        write_leaks(&folder.path("leaks.csv"), plan, rows)?;
        output::write_forecast(&folder.path("forecast.csv"), &summary.forecast)?;
        // Last run's calls are read before this run's forecast is recorded.
        let last_run = store.last_forecast_and_calls(self.callers, period, self.window)?;
        record_forecast(store, period, self.shard, &summary.forecast)?;
        let brief = crate::brief::Context {
            forecast: &summary.forecast,
            last: last_run.as_ref(),
            weather: crate::brief::WeatherNote::of(rows.iter().map(|r| {
                [
                    r.weather_warmer_f.as_str(),
                    r.weather_change_per_day.as_str(),
                    r.own_change_per_day.as_str(),
                ]
            })),
        };
        write_brief(&folder.path("agent-brief.md"), plan, rows, &brief, config)?;
        Ok(())
    }
}

/// The closing counts a plan already settles (letters by rating and phase,
/// households stepping up the ladder), and the two tallies the call
/// forecast is made from: letters and newcomers by phase.
fn plan_summary(
    plan: &Plan,
    dry_run: bool,
) -> (Summary, BTreeMap<Phase, usize>, BTreeMap<Phase, usize>) {
    let mut summary = Summary {
        period: plan.period.to_string(),
        households_in: plan.households_in,
        dry_run,
        possible_leaks: plan.leaks.len(),
        notices: plan.notices.clone(),
        ..Summary::default()
    };
    let mut letters_by_phase: BTreeMap<Phase, usize> = BTreeMap::new();
    let mut entering: BTreeMap<Phase, usize> = BTreeMap::new();
    // Counted under the codes' own static names, then spelled out once:
    // three new strings per letter were a tenth of a second a million.
    let mut by_rating: BTreeMap<&'static str, usize> = BTreeMap::new();
    for l in &plan.letters {
        let phase = l.decision.phase;
        *letters_by_phase.entry(phase).or_default() += 1;
        if l.decision.entered {
            *entering.entry(phase).or_default() += 1;
        }
        let rating = plan.comparison(l).map_or("none", |c| c.rating.code());
        *by_rating.entry(rating).or_default() += 1;
    }
    let named = |counts: &BTreeMap<Phase, usize>| -> BTreeMap<String, usize> {
        counts
            .iter()
            .map(|(phase, &n)| (phase.code().to_string(), n))
            .collect()
    };
    summary.by_phase = named(&letters_by_phase);
    summary.entering_by_phase = named(&entering);
    summary.by_rating = by_rating
        .into_iter()
        .map(|(rating, n)| (rating.to_string(), n))
        .collect();
    (summary, letters_by_phase, entering)
}

/// This run's call forecast, kept so the next run can set it beside the
/// calls that came.
fn record_forecast(
    store: &Store,
    period: Period,
    shard: Shard,
    forecast: &[output::ForecastRow],
) -> Result<()> {
    let shard = if shard.is_whole() {
        String::new()
    } else {
        shard.to_string()
    };
    let rows: Vec<crate::store::RecordedForecast> = forecast
        .iter()
        .filter_map(|f| {
            Some(crate::store::RecordedForecast {
                phase: f.phase.parse().ok()?,
                letters: f.households,
                entering: f.entering,
                call_rate: f.call_rate,
                expected_calls: f.expected_calls,
            })
        })
        .collect();
    store.record_forecast(period, &shard, &rows)
}

/// The call center's brief: the forecast, last run's calls, the weather's
/// talking point and the households stepping up, by name.
fn write_brief(
    path: &Path,
    plan: &Plan,
    rows: &[ManifestRow],
    context: &crate::brief::Context<'_>,
    config: &Config,
) -> Result<()> {
    let by_account = plan.letters_by_account();
    let name_of = |account: &str| {
        by_account
            .get(account)
            .map(|l| plan.household(l.household).name.as_str())
    };
    crate::brief::write(path, plan.period, name_of, rows, context, config)
}

/// A run of this period killed after its folder was published, before the
/// store heard of it (its texts recorded, the run closed), is finished
/// here: the folder is what went out, so its texts are recorded as handed
/// over and the run is closed with its own counts. The same command that
/// was killed thus ends as the uninterrupted run would have, without
/// `--replace` and without laying anything out again. `None` when `target`
/// holds no such run.
fn close_published(
    target: &Path,
    config: &Config,
    store: &Store,
    period: Period,
    shard: Shard,
) -> Result<Option<Summary>> {
    let run_json = target.join("run.json");
    if !target.join("manifest.csv").is_file() || !run_json.is_file() {
        return Ok(None);
    }
    let Some(run) = store.unclosed_run(period, shard)? else {
        return Ok(None);
    };
    let text =
        std::fs::read(&run_json).with_context(|| format!("cannot read {}", run_json.display()))?;
    let json: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("cannot read {}", run_json.display()))?;
    if json.get("campaign").is_some_and(|c| !c.is_null()) {
        return Ok(None);
    }
    let summary: Summary = serde_json::from_value(json)
        .with_context(|| format!("cannot read {}", run_json.display()))?;
    if summary.period != period.to_string() {
        return Ok(None);
    }
    recover_texts(target, config, store, period)?;
    store.finish_run(
        run,
        summary.households_in,
        summary.reports,
        summary.exceptions,
    )?;
    tracing::warn!(
        "{} was published by a run that stopped before the store recorded it; \
         its texts are now recorded as handed over and the run is closed",
        target.display()
    );
    Ok(Some(summary))
}

/// Record as sent every text the published run in `target` listed in its
/// `sms.csv`: the folder is what went to the gateway, whether or not the
/// run lived to record it.
fn recover_texts(target: &Path, config: &Config, store: &Store, period: Period) -> Result<()> {
    let path = target.join("sms.csv");
    if !path.exists() {
        return Ok(());
    }
    let sends = store.sends(period)?;
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    for row in reader.deserialize::<HashMap<String, String>>() {
        let row = row.with_context(|| format!("cannot read {}", path.display()))?;
        let (Some(account), Some(mobile)) = (row.get("account_id"), row.get("mobile")) else {
            continue;
        };
        if sends.get(&(account.clone(), Channel::Sms)) == Some(&SendStatus::Sent) {
            continue;
        }
        let token = crate::channel::token(&config.channels.link_salt, account);
        let id = crate::channel::deliver::message_id(period, &token, "sms");
        store.record_send(account, period, Channel::Sms, &id, mobile, SendStatus::Sent)?;
    }
    Ok(())
}

/// A run reads its inputs twice (once for its fingerprint, once to use
/// them): a pipe (`<(zcat usage.csv.gz)`) or a device would be empty the
/// second time, or block, so they are refused before anything is read.
fn regular_inputs(config: &Config, opts: &RunOptions) -> Result<()> {
    let mut files = sources(config, opts).files()?;
    files.extend(opts.suppress.clone());
    for path in files {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        anyhow::ensure!(
            meta.is_file(),
            "{} is not a regular file (a pipe or a device?): a run reads its inputs twice, \
             to fingerprint them and to use them; write it to a file first",
            path.display()
        );
    }
    Ok(())
}

/// What a run's outputs depend on: the settings, the period, and the bytes
/// of the input files, the suppression list, the weather file and every
/// template file. An
/// interrupted run is resumed only when this is unchanged.
fn run_fingerprint(config: &Config, opts: &RunOptions, period: Period) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut h = Sha256::new();
    h.update(config.fingerprint().as_bytes());
    h.update(period.to_string().as_bytes());
    // The date letters carry (today's when `render.date` is empty: a resume
    // after midnight would date some letters one day, some the next) and the
    // program that lays them out.
    h.update(render_date(config).to_string().as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    let mut files = sources(config, opts).files()?;
    files.extend(opts.suppress.clone());
    // The temperatures behind the weather block.
    files.extend(config.weather.file.as_ref().map(|p| config.resolve(p)));
    let mut templates = Vec::new();
    collect_files(&config.templates_dir(), &mut templates);
    templates.sort();
    files.extend(templates);
    let mut buf = vec![0u8; 1 << 20];
    for path in files {
        h.update(path.to_string_lossy().as_bytes());
        let mut f = std::fs::File::open(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        loop {
            let n = f
                .read(&mut buf)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(format!("{:x}", h.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect_files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Before anything is recorded or laid out: the single-report template (what
/// `preview` shows) and the print files' template must both lay out at least
/// one of the first letters, or the run stops with the template's file and
/// line, having written nothing (no decisions, no run folder).
fn preflight(plan: &Plan, config: &Config, wording: &Wording, renderer: &Renderer) -> Result<()> {
    preflight_report(plan, config, wording, renderer)?;
    preflight_email(plan, config, wording, renderer)
}

/// The report and print templates with the first letters' data.
fn preflight_report(
    plan: &Plan,
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
) -> Result<()> {
    let mut last = None;
    for letter in plan.letters.iter().take(PREFLIGHT) {
        let result = report::build(&plan.input(letter), config, wording)
            .map_err(|e| e.to_string())
            .and_then(|data| {
                let json = serde_json::to_vec(&data).map_err(|e| e.to_string())?;
                renderer
                    .layout(json)
                    .map_err(|e| format!("report.typ: {e}"))?;
                let value = serde_json::to_value(&data).map_err(|e| e.to_string())?;
                renderer
                    .layout_batch(crate::render::BATCH_PATH, "preflight", "", &[value])
                    .map_err(|e| format!("batch.typ (print files): {e}"))
                    .map(|_| ())
            });
        Renderer::evict_cache();
        match result {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => bail!(
            "a report template failed for the first {} household(s); nothing was recorded or printed:\n{e}",
            plan.letters.len().min(PREFLIGHT)
        ),
        None => Ok(()),
    }
}

/// The e-mail pictures (`email-charts.typ`) for the first e-mail letters,
/// before anything is recorded: found broken only at the first e-mail, after
/// the whole batch was laid out and every decision recorded, the run would
/// have to be cleaned up by hand.
fn preflight_email(
    plan: &Plan,
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
) -> Result<()> {
    let mut last = None;
    let emails = plan
        .letters
        .iter()
        .filter(|l| l.route.channel == Channel::Email)
        .take(PREFLIGHT);
    for letter in emails {
        let data = report::build(&plan.input(letter), config, wording)?;
        match email_charts(&data, renderer) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(e.context(format!(
            "the e-mail pictures ({}) failed for the first e-mail household(s); \
             nothing was recorded or sent",
            EMAIL_CHARTS.trim_start_matches('/')
        ))),
        None => Ok(()),
    }
}

/// The monthly reports as a [`Mailing`]: recipient `k` is `plan.letters[k]`.
struct Reports<'a> {
    plan: &'a Plan,
    config: &'a Config,
    wording: &'a Wording,
    renderer: &'a Renderer,
    shard: Shard,
}

impl Reports<'_> {
    fn report(&self, k: usize) -> Result<report::ReportData, crate::chart::ChartError> {
        report::build(
            &self.plan.input(&self.plan.letters[k]),
            self.config,
            self.wording,
        )
    }
}

impl Mailing for Reports<'_> {
    fn period(&self) -> Period {
        self.plan.period
    }

    fn batch_template(&self) -> String {
        crate::render::BATCH_PATH.to_string()
    }

    fn title(&self) -> String {
        format!("{} reports {}", self.config.utility.name, self.plan.period)
    }

    fn template_label(&self) -> String {
        "the report".to_string()
    }

    fn piece_id(&self, h: &crate::model::Household) -> String {
        format!("{}/{}", h.account_id, self.plan.period)
    }

    fn shard(&self) -> Shard {
        self.shard
    }

    fn data(&self, k: usize) -> std::result::Result<serde_json::Value, PieceError> {
        Ok(serde_json::to_value(self.report(k)?)?)
    }

    fn send_key(&self) -> String {
        self.plan.period.to_string()
    }

    fn email(
        &self,
        k: usize,
        envelope: &crate::channel::email::Envelope<'_>,
        pdf: &[u8],
    ) -> Result<lettre::Message> {
        let data = self.report(k)?;
        let charts = email_charts(&data, self.renderer)?;
        crate::channel::email::compose(&data, envelope, &charts, pdf)
    }

    fn text(&self, k: usize, link: &str) -> Result<Option<crate::channel::sms::Text>> {
        let data = self.report(k)?;
        Ok(Some(crate::channel::sms::compose(
            &data.text,
            data.variant,
            data.invite,
            link,
        )))
    }
}

/// Lay every letter out once (print files on plain threads, see
/// [`crate::print`]), each household's own PDF from the same layout;
/// deliver the e-mails and texts (`sms.csv`); write the manifest (every
/// report, in presort order). An e-mail the relay refuses or cannot take
/// becomes an exception (`not-delivered`); a refusal also closes the
/// channel, so the next report goes on paper.
#[allow(clippy::too_many_arguments)]
fn render_all(
    plan: &Plan,
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
    folder: &RunFolder,
    opts: &RunOptions,
    store: &Store,
    exceptions: &mut Vec<Exception>,
) -> Result<Laid> {
    let reports = Reports {
        plan,
        config,
        wording,
        renderer,
        shard: opts.shard.unwrap_or(Shard::WHOLE),
    };
    let recipients: Vec<Recipient> = plan
        .letters
        .iter()
        .map(|l| Recipient {
            household: plan.household(l.household),
            route: &l.route,
        })
        .collect();
    let room = Mailroom::new(folder, config, renderer, store, opts);
    let (laid, deliveries) = room.send(&reports, &recipients)?;
    exceptions.extend(laid.failed);
    write_texts(&folder.path("sms.csv"), &deliveries.sms_rows)?;
    let mut rows = Vec::with_capacity(laid.made.len());
    for m in laid.made {
        let letter = &plan.letters[m.k];
        match deliveries.of(&recipients[m.k]) {
            Ok(delivery) => {
                let mut row = manifest_row(plan, config, wording, letter, m.k + 1, m.pdf, m.pages);
                row.channel = letter.route.channel;
                row.delivery = delivery;
                row.channel_note = letter.route.fallback.clone();
                rows.push(row);
            }
            Err(not_delivered) => exceptions.push(not_delivered),
        }
    }
    output::write_rows(&folder.path("manifest.csv"), &rows)?;
    Ok(Laid {
        rows,
        deliveries,
        files: laid.files,
        kept: laid.kept,
    })
}

/// What laying a run out made.
struct Laid {
    rows: Vec<ManifestRow>,
    deliveries: Deliveries,
    /// The print files written (`print/print-001.pdf`...).
    files: HashSet<String>,
    /// Print files (paper) an interrupted run had finished, kept.
    kept: usize,
}

/// `sms.csv`: the texts for the utility's gateway; a header alone when
/// there are none, so the mail house's scripts always find the file.
fn write_texts(path: &Path, texts: &[crate::channel::deliver::SmsRow]) -> Result<()> {
    output::writing(path, |path| {
        let mut w = csv::Writer::from_path(path)?;
        if texts.is_empty() {
            w.write_record([
                "account_id",
                "mobile",
                "text",
                "encoding",
                "units",
                "segments",
            ])?;
        }
        for t in texts {
            w.serialize(t)?;
        }
        Ok(w.flush()?)
    })
}

/// The report's charts as PNG pictures for an e-mail (mail programs do not
/// show SVG), laid out by `email-charts.typ` with the report's own fonts.
fn email_charts(
    data: &report::ReportData,
    renderer: &Renderer,
) -> Result<Vec<crate::channel::email::Chart>> {
    let json = serde_json::to_vec(data)?;
    let document = renderer
        .layout_template(EMAIL_CHARTS, json)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pngs = Renderer::png_pages(&document, 2.0);
    Renderer::evict_cache();
    // The template draws the charts in the data's (alphabetical) order.
    Ok(data
        .charts
        .iter()
        .zip(pngs)
        .map(|((key, chart), png)| crate::channel::email::Chart {
            cid: key,
            png,
            alt: chart.alt.clone(),
        })
        .collect())
}

/// The template that draws an e-mail's charts.
pub const EMAIL_CHARTS: &str = "/email-charts.typ";

fn manifest_row(
    plan: &Plan,
    config: &Config,
    wording: &Wording,
    letter: &Letter,
    sequence: usize,
    pdf: String,
    pages: usize,
) -> ManifestRow {
    let h = plan.household(letter.household);
    let c = plan.comparison(letter);
    let money = report::money(&plan.input(letter), config, wording);
    let bill = plan
        .bills_of(letter.household)
        .iter()
        .find(|b| b.period() == plan.period);
    let usage = bill.map(Bill::per_day);
    // Figures as the page prints them; cohorts.csv keeps the statistics to 0.001.
    let printed = |v: f64| report::plain_quantity(v, h.service);
    let change = letter.insight.as_ref().and_then(|i| i.change);
    ManifestRow {
        bill_start: bill.map(|b| b.start.to_string()).unwrap_or_default(),
        bill_end: bill.map(|b| b.end.to_string()).unwrap_or_default(),
        sequence,
        account_id: h.account_id.to_string(),
        cohort_id: c
            .map(|c| plan.cohorts[c.cohort].id.clone())
            .unwrap_or_default(),
        cohort_size: c.map(|c| c.cohort_size.to_string()).unwrap_or_default(),
        usage_per_day: usage.map(printed).unwrap_or_default(),
        neighbors_median_per_day: c.map(|c| printed(c.median_per_day)).unwrap_or_default(),
        efficient_per_day: c.map(|c| printed(c.efficient_per_day)).unwrap_or_default(),
        percentile: c
            .map(|c| format!("{:.1}", c.percentile))
            .unwrap_or_default(),
        rating: c.map(|c| c.rating),
        phase: letter.decision.phase,
        entered_phase: letter.decision.entered,
        assistance_invite: letter.assistance_eligible && config.assistance.invite,
        language: h.language,
        zip: h.zip.to_string(),
        pdf,
        pages,
        unit: format!("{}/day", h.service.canonical_unit()),
        note: letter.note.clone(),
        tips: letter.tips.join(";"),
        cost: money
            .as_ref()
            .map(|m| format!("{:.2}", m.cost))
            .unwrap_or_default(),
        // Whatever saving the page prints (like the efficient neighbors, or
        // the first tip's), in whole units as it prints it.
        savings_per_year: money
            .as_ref()
            .and_then(|m| m.savings_year.or(m.tip.as_ref().map(|t| t.1)))
            .map(|s| format!("{:.0}", s.round()))
            .unwrap_or_default(),
        goal_per_day: letter.goal.map(printed).unwrap_or_default(),
        last_goal: match (letter.last_goal, usage) {
            (Some(g), Some(u)) => Some(crate::goal::outcome(u, g, |v| {
                report::format_per_day(v, h.service)
            })),
            _ => None,
        },
        channel: Channel::Mail,
        delivery: crate::output::Dispatch::Print,
        channel_note: String::new(),
        weather_model: letter
            .insight
            .as_ref()
            .map(|i| i.model.model_type.code().to_string())
            .unwrap_or_default(),
        weather_warmer_f: change
            .map(|c| format!("{:.0}", c.warmer_by))
            .unwrap_or_default(),
        weather_change_per_day: change
            .map(|c| printed(c.weather_change))
            .unwrap_or_default(),
        own_change_per_day: change.map(|c| printed(c.own_change)).unwrap_or_default(),
    }
}

/// `leaks.csv`: every household whose water never stopped flowing for the
/// configured hours during the period, mailed or not, for staff to call or
/// visit. Empty (a header) when none did or there is no interval data.
fn write_leaks(path: &Path, plan: &Plan, rows: &[output::ManifestRow]) -> Result<()> {
    output::writing(path, |path| {
        let mailed: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.account_id.as_str()).collect();
        let mut w = csv::Writer::from_path(path)?;
        w.write_record([
            "account_id",
            "name",
            "address_line1",
            "zip",
            "language",
            "flow_from",
            "flow_to",
            "hours",
            "lowest_flow_per_day",
            "unit",
            "report_mailed",
        ])?;
        for (i, run) in &plan.leaks {
            let h = plan.household(*i);
            w.write_record([
                h.account_id.as_str(),
                h.name.as_str(),
                h.address_line1.as_str(),
                h.zip.as_str(),
                h.language.code(),
                &run.start.format("%Y-%m-%d %H:%M").to_string(),
                &run.end.format("%Y-%m-%d %H:%M").to_string(),
                &format!("{:.0}", run.hours),
                &format!("{:.1}", run.base_per_day),
                h.service.canonical_unit(),
                if mailed.contains(h.account_id.as_str()) {
                    "true"
                } else {
                    "false"
                },
            ])?;
        }
        w.flush()?;
        Ok(())
    })
}

fn write_cohorts(path: &Path, plan: &Plan) -> Result<()> {
    output::writing(path, |path| {
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
        // By id: the same order whether the period ran whole or in shards.
        let mut cohorts: Vec<_> = plan.cohorts.iter().zip(&plan.stats).collect();
        cohorts.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        for (c, s) in cohorts {
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
    })
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
        .find(|l| plan.household(l.household).account_id == account)
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
    let mut data = report::build(&plan.input(letter), config, &wording)?;
    if show_windows {
        data.show_windows = true;
        if let Some(imb) = &config.print.imb {
            let zip = &plan.household(letter.household).zip;
            data.imb = Some(imb.for_piece(plan.period, Shard::WHOLE, 1, zip)?.1);
        }
    }
    let rendered = plan.render_data(letter, &data, &renderer)?;
    std::fs::write(out, &rendered.pdf)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok((plan.period, rendered.pages))
}
