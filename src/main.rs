//! The `neighborly` command line: parse arguments, call the library, turn
//! errors into a message and an exit code.
//!
//! Exit codes: 0 the command completed (a batch with exceptions included);
//! 1 it could not proceed (unreadable input, bad config, template error);
//! 2 bad arguments (from clap).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use clap::{Parser, Subcommand};
use neighborly::config::Config;
use neighborly::model::{Months, Period};
use neighborly::pipeline::{self, RunOptions};
use neighborly::shard::Shard;
use neighborly::store::StoreLocation;

#[derive(Parser)]
#[command(
    name = "neighborly",
    version,
    about = "Monthly neighbor-comparison usage reports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Inputs {
    /// Config file (TOML).
    #[arg(long, default_value = "config/neighborly.toml")]
    config: PathBuf,
    /// Customer file; overrides the config.
    #[arg(long)]
    customers: Option<PathBuf>,
    /// Usage file (monthly reads); overrides the config.
    #[arg(long)]
    usage: Option<PathBuf>,
    /// Interval CSV (account_id, start, duration_s or end, quantity, unit); overrides the config.
    #[arg(long)]
    interval: Option<PathBuf>,
    /// Folder of Green Button XML files (<account_id>.xml, or a bulk feed
    /// with greenbutton-accounts.csv); overrides the config.
    #[arg(long)]
    greenbutton: Option<PathBuf>,
    /// Billing month YYYY-MM; default: the latest complete month in the data.
    #[arg(long)]
    period: Option<Period>,
    /// State database (phases, opt-outs); overrides the config.
    #[arg(long)]
    state: Option<StoreLocation>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the monthly batch: one PDF per household plus manifest and exceptions.
    Run(RunArgs),
    /// Combine the shard folders of one period (run --shard K/N) into the
    /// files a single run writes; print files stay in the shard folders.
    Merge {
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        /// Billing month YYYY-MM the shards ran.
        #[arg(long)]
        period: Period,
        /// Where the combined files go: usually the folder holding the shards.
        #[arg(long)]
        out: PathBuf,
        /// The shard folders, all N of them.
        #[arg(required = true)]
        shard_dirs: Vec<PathBuf>,
    },
    /// Render one household's report as the batch would.
    Preview(PreviewArgs),
    /// Edit the report's sentences in a browser, English and Spanish side by
    /// side, and see the pages as you type (binds 127.0.0.1; prints its address).
    Studio {
        #[command(flatten)]
        inputs: Inputs,
        /// Port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value_t = 8765)]
        port: u16,
    },
    /// Compile every template (reports, print files, evaluation, campaigns)
    /// and validate the wording files and tip rules.
    Check {
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
    },
    /// One PDF with every report variant, labelled, for sign-off.
    Proof {
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long, default_value = "proof.pdf")]
        out: PathBuf,
        /// Billing month shown in the proof; default: last month.
        #[arg(long)]
        period: Option<Period>,
        /// Proof this campaign's letter (English and Spanish) instead of the reports.
        #[arg(long)]
        campaign: Option<String>,
        /// Also write every alert and peak-event message, in both languages
        /// and every service, into this folder: each e-mail as HTML (open it
        /// in a browser) and as plain text with its text message.
        #[arg(long, value_name = "DIR")]
        messages: Option<PathBuf>,
    },
    /// Judge the input files without a run: data-quality.csv and
    /// data-quality.html (rejected rows by reason, estimated reads, coverage
    /// by locality, implausible reads, cohorts compared with a whole locality).
    CheckData {
        #[command(flatten)]
        inputs: Inputs,
        /// Accounts to hold back, as `run --suppress` would.
        #[arg(long)]
        suppress: Option<PathBuf>,
        /// Folder for the two files (created).
        #[arg(long, default_value = "data-quality")]
        out: PathBuf,
    },
    /// Record that a household (or every account of --file) wants no more reports.
    OptOut {
        #[arg(required_unless_present = "file")]
        account: Option<String>,
        /// A list of accounts, one per line (as a suppression list).
        #[arg(long, conflicts_with = "account")]
        file: Option<PathBuf>,
        #[arg(long, default_value = "customer request")]
        reason: String,
        /// Who records it (an agent's name); default: the login name.
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long)]
        state: Option<StoreLocation>,
    },
    /// One household's whole story for a call-center agent: the customer
    /// record, letters by period with their figures, campaigns, e-mails,
    /// texts and bounces, control group, opt-outs, responses.
    Account {
        account: String,
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long)]
        state: Option<StoreLocation>,
        #[arg(long)]
        customers: Option<PathBuf>,
        /// The same as JSON, for a CRM or a script.
        #[arg(long)]
        json: bool,
    },
    /// Undo an opt-out: the household's reports resume with the next run.
    OptIn {
        account: String,
        #[arg(long, default_value = "customer asked for reports again")]
        reason: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long)]
        state: Option<StoreLocation>,
    },
    /// Send a one-off letter to a segment ([campaigns.NAME]): PDFs, print files, manifest, exceptions.
    Campaign(CampaignArgs),
    /// Bill-to-date alerts: households whose bill is heading well above its
    /// usual get one e-mail or text per bill period (run it daily).
    Alert(AlertArgs),
    /// Peak-event messages: `notify` before the event (its hours and three
    /// actions), `results` after it (each household's use in the window
    /// against its own baseline).
    PeakEvent(PeakEventArgs),
    /// Write the contact list of a [segments.NAME] rule set and print its counts.
    Segment {
        name: String,
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Assign this period's households to treatment or control and record it,
    /// without mailing anything (set up the control group before the first mailing).
    Enroll {
        #[command(flatten)]
        inputs: Inputs,
    },
    /// Turn interval data (Green Button XML, interval CSV) into monthly reads
    /// in the usage.csv contract, for analysts to inspect and reuse.
    Import {
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        /// Folder of Green Button XML files; default from the config.
        #[arg(long)]
        greenbutton: Option<PathBuf>,
        /// Interval CSV; default from the config.
        #[arg(long)]
        interval: Option<PathBuf>,
        /// The usage.csv to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Load what came back from the e-mail relay and the text gateway: hard
    /// bounces, failed numbers, unsubscribes and STOP replies move a household
    /// to paper from the next run.
    Bounces {
        #[command(subcommand)]
        action: BouncesAction,
    },
    /// Weather-normalized models: a CalTRACK 2.0 model per household.
    Weather {
        #[command(subcommand)]
        action: WeatherAction,
    },
    /// Load response events (account_id, date, event[, campaign]) into the state store.
    Responses {
        #[command(subcommand)]
        action: ResponsesAction,
    },
    /// Measure savings and response rates against the control group.
    Evaluate(EvaluateArgs),
    /// Write deterministic synthetic customers.csv and usage.csv.
    Synth(SynthArgs),
}

/// The arguments of `neighborly run`.
#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Run folder; default from the config (out/{period}).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accounts to hold back (returned mail, legal hold...), one per line.
    #[arg(long)]
    suppress: Option<PathBuf>,
    /// Count ratings, phases, exceptions and the call forecast; render nothing, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write each e-mail household's message here as an .eml file instead
    /// of sending it through [email] smtp_url.
    #[arg(long)]
    emails_to: Option<PathBuf>,
    /// Run one part of the period, K of N (0 <= K < N), split by
    /// locality; it writes OUT/shard-K. Combine the parts with `merge`.
    #[arg(long, conflicts_with = "shards")]
    shard: Option<Shard>,
    /// Run part $JOB_COMPLETION_INDEX of N (a Kubernetes Indexed Job's pod).
    #[arg(long)]
    shards: Option<u32>,
    /// Run a period whose folder holds a finished run again: that folder
    /// is moved aside to OUT.replaced-N, never deleted (its print files
    /// may be at the mail house).
    #[arg(long)]
    replace: bool,
}

/// The arguments of `neighborly campaign`.
#[derive(clap::Args)]
struct CampaignArgs {
    name: String,
    #[command(flatten)]
    inputs: Inputs,
    /// Run folder; default out/campaign-NAME-{period}, then -2, -3... (never replaced).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accounts to hold back (returned mail, legal hold...), one per line.
    #[arg(long)]
    suppress: Option<PathBuf>,
    /// Count letters and exceptions; render nothing, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write each e-mail member's letter here as an .eml file instead of
    /// sending it through [email] smtp_url.
    #[arg(long)]
    emails_to: Option<PathBuf>,
    /// Send the corrected letter again to households already sent it,
    /// recorded with this reason (once per household and reason).
    #[arg(long, value_name = "REASON")]
    reissue: Option<String>,
    /// With --reissue: only these accounts, one per line.
    #[arg(long, requires = "reissue")]
    accounts: Option<PathBuf>,
    /// With --reissue: who asked for it (default: the login name).
    #[arg(long, requires = "reissue")]
    by: Option<String>,
}

/// The arguments of `neighborly alert`.
#[derive(clap::Args)]
struct AlertArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The last day whose use counts: YYYY-MM-DD, or `yesterday` (the
    /// last whole day in [reads] timezone, for a daily schedule).
    #[arg(long)]
    as_of: String,
    /// Folder for alerts.csv, alerts-sms.csv and alerts.json; default from
    /// the config (out/alerts-YYYY-MM-DD).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accounts to hold back, one per line.
    #[arg(long)]
    suppress: Option<PathBuf>,
    /// Project and write alerts.csv; send, draw and record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write each e-mail here as an .eml file instead of sending it.
    #[arg(long)]
    emails_to: Option<PathBuf>,
}

/// The arguments of `neighborly peak-event`.
#[derive(clap::Args)]
struct PeakEventArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// The event's local hours, YYYY-MM-DDTHH:MM..HH:MM.
    #[arg(long)]
    window: neighborly::peak::EventWindow,
    #[arg(long, value_enum)]
    stage: neighborly::events::Stage,
    /// Folder for peak-STAGE.csv, its texts and summary; default from the
    /// config (out/peak-YYYYMMDDTHHMM-HHMM).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accounts to hold back, one per line.
    #[arg(long)]
    suppress: Option<PathBuf>,
    /// Work out who would get what; send, draw and record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write each e-mail here as an .eml file instead of sending it.
    #[arg(long)]
    emails_to: Option<PathBuf>,
}

/// The arguments of `neighborly preview`.
#[derive(clap::Args)]
struct PreviewArgs {
    #[command(flatten)]
    inputs: Inputs,
    #[arg(long)]
    account: String,
    #[arg(long, default_value = "preview.pdf")]
    out: PathBuf,
    /// Re-render whenever report-templates/ or the config changes.
    #[arg(long)]
    watch: bool,
    /// Outline the envelope windows on page 1 (and draw the barcode if
    /// [print.imb] is set), to check the address position.
    #[arg(long)]
    show_windows: bool,
    /// Preview this campaign's letter instead of the monthly report.
    #[arg(long)]
    campaign: Option<String>,
}

/// The arguments of `neighborly evaluate`.
#[derive(clap::Args)]
struct EvaluateArgs {
    #[command(flatten)]
    inputs: Inputs,
    /// Months before the letters, YYYY-MM..YYYY-MM.
    #[arg(long, required_unless_present = "event")]
    pre: Option<Months>,
    /// Months after the letters started, YYYY-MM..YYYY-MM.
    #[arg(long, required_unless_present = "event")]
    post: Option<Months>,
    /// Evaluate a campaign against its holdout instead of the monthly reports.
    #[arg(long, conflicts_with_all = ["alerts", "event"])]
    campaign: Option<String>,
    /// Evaluate bill-to-date alerts against their holdout (intention to
    /// treat: every household drawn when it first qualified).
    #[arg(long, conflicts_with = "event")]
    alerts: bool,
    /// Evaluate a peak event's messages: use in its hours, messaged
    /// households against the holdout (YYYY-MM-DDTHH:MM..HH:MM).
    #[arg(long, value_name = "WINDOW")]
    event: Option<neighborly::peak::EventWindow>,
    /// `did` (difference in differences of each household's change) or
    /// `caltrack` (each household's change against its own weather model).
    #[arg(long, value_enum, default_value = "did")]
    method: neighborly::measure::Method,
    /// Temperature CSV for --method caltrack; default [weather] file.
    #[arg(long)]
    weather: Option<PathBuf>,
    #[arg(long, default_value = "evaluation")]
    out: PathBuf,
}

/// The arguments of `neighborly synth`.
#[derive(clap::Args)]
struct SynthArgs {
    #[arg(long, default_value = "samples")]
    out: PathBuf,
    #[arg(long, default_value_t = 500)]
    households: usize,
    #[arg(long, default_value_t = 25)]
    months: u32,
    #[arg(long, default_value = "2026-10")]
    last_period: Period,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Leave out the deliberately broken rows.
    #[arg(long)]
    clean: bool,
    /// water or electric.
    #[arg(long, default_value = "water")]
    service: neighborly::model::Service,
    /// Localities to spread the homes over (5 named ones, then district-NN).
    #[arg(long, default_value_t = 5)]
    localities: usize,
    /// Skewed locality sizes, as a territory's are: a few large, a long
    /// tail of small ones (locality i drawn with density ~ 1/sqrt(i)).
    #[arg(long)]
    skewed: bool,
    /// Plant a saving of this many percent in treated households...
    #[arg(long, requires_all = ["effect_from", "effect_state"])]
    effect_pct: Option<f64>,
    /// ...in bills ending in or after this month...
    #[arg(long)]
    effect_from: Option<Period>,
    /// ...where "treated" means assigned to treatment in this state database.
    #[arg(long)]
    effect_state: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BouncesAction {
    /// Import a CSV: channel, address and/or account_id, kind (hard, soft,
    /// failed, unsubscribe, stop), reason, date.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long)]
        state: Option<StoreLocation>,
    },
}

#[derive(Subcommand)]
enum ResponsesAction {
    /// Import a CSV of events; events already stored are not added twice.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "config/neighborly.toml")]
        config: PathBuf,
        #[arg(long)]
        state: Option<StoreLocation>,
    },
}

#[derive(Subcommand)]
enum WeatherAction {
    /// Fit each household's model on a baseline window (models.csv) and,
    /// with a reporting window, measure its weather-normalized savings
    /// (savings.csv).
    Fit {
        #[command(flatten)]
        inputs: Inputs,
        /// Temperature CSV (station, time, temp_f or temp_c); default [weather] file.
        #[arg(long)]
        weather: Option<PathBuf>,
        /// Baseline days, YYYY-MM-DD..YYYY-MM-DD (whole bills inside it).
        #[arg(long)]
        baseline: neighborly::insight::Window,
        /// Reporting days, YYYY-MM-DD..YYYY-MM-DD.
        #[arg(long)]
        reporting: Option<neighborly::insight::Window>,
        #[arg(long, default_value = "weather")]
        out: PathBuf,
    },
}

/// `neighborly check`: every template, wording file and tip rule, printed
/// like compiler errors; fails if anything is wrong.
fn check(config: &Config) -> Result<()> {
    let report = neighborly::check::check(config);
    for line in &report.passed {
        println!("ok: {line}");
    }
    for problem in &report.problems {
        println!("{problem}");
    }
    if !report.ok() {
        anyhow::bail!("{} problem(s) in the templates", report.problems.len());
    }
    Ok(())
}

impl Inputs {
    fn options(&self) -> RunOptions {
        RunOptions {
            customers: self.customers.clone(),
            usage: self.usage.clone(),
            interval: self.interval.clone(),
            greenbutton: self.greenbutton.clone(),
            period: self.period,
            state: self.state.clone(),
            ..RunOptions::default()
        }
    }
}

/// The state store: `--state` if given, else the config's.
fn state_store(config: &Config, state: Option<StoreLocation>) -> Result<neighborly::store::Store> {
    neighborly::store::Store::open(
        &state.unwrap_or_else(|| config.state_location()),
        config.store.wait(),
    )
}

fn main() -> ExitCode {
    neighborly::output::private_by_default();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("NEIGHBORLY_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run the subcommand: each arm hands its arguments to the `cmd_*`
/// function of the same name.
fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::CheckData {
            inputs,
            suppress,
            out,
        } => cmd_check_data(inputs, suppress, out),
        Command::Merge {
            config,
            period,
            out,
            shard_dirs,
        } => cmd_merge(config, period, out, shard_dirs),
        Command::Preview(args) => cmd_preview(args),
        Command::Campaign(args) => cmd_campaign(args),
        Command::Alert(args) => cmd_alert(args),
        Command::PeakEvent(args) => cmd_peak_event(args),
        Command::Segment { name, inputs, out } => cmd_segment(name, inputs, out),
        Command::Enroll { inputs } => cmd_enroll(inputs),
        Command::Import {
            config,
            greenbutton,
            interval,
            out,
        } => cmd_import(config, greenbutton, interval, out),
        Command::Bounces { action } => cmd_bounces(action),
        Command::Weather { action } => cmd_weather(action),
        Command::Responses { action } => cmd_responses(action),
        Command::Evaluate(args) => cmd_evaluate(args),
        Command::Studio { inputs, port } => cmd_studio(inputs, port),
        Command::Check { config } => cmd_check(config),
        Command::Proof {
            config,
            out,
            period,
            campaign: Some(name),
            ..
        } => cmd_proof_campaign(config, out, period, name),
        Command::Proof {
            config,
            out,
            period,
            campaign: None,
            messages,
        } => cmd_proof(config, out, period, messages),
        Command::OptOut {
            account,
            file,
            reason,
            by,
            config,
            state,
        } => cmd_opt_out(account, file, reason, by, config, state),
        Command::Account {
            account,
            config,
            state,
            customers,
            json,
        } => cmd_account(account, config, state, customers, json),
        Command::OptIn {
            account,
            reason,
            by,
            config,
            state,
        } => cmd_opt_in(account, reason, by, config, state),
        Command::Synth(args) => cmd_synth(args),
    }
}

/// `neighborly run`.
fn cmd_run(args: RunArgs) -> Result<()> {
    let RunArgs {
        inputs,
        out,
        suppress,
        dry_run,
        emails_to,
        shard,
        shards,
        replace,
    } = args;
    let config = Config::load(&inputs.config)?;
    let shard = match (shard, shards) {
        (Some(s), _) => Some(s),
        (None, Some(n)) => Some(Shard::from_job_index(n)?),
        (None, None) => None,
    };
    let opts = RunOptions {
        out,
        suppress,
        dry_run,
        emails_to,
        shard,
        replace,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ..inputs.options()
    };
    let summary = pipeline::run(&config, &opts)?;
    print!("{}", summary.render_text());
    Ok(())
}

/// `neighborly check-data`.
fn cmd_check_data(inputs: Inputs, suppress: Option<PathBuf>, out: PathBuf) -> Result<()> {
    let config = Config::load(&inputs.config)?;
    let opts = RunOptions {
        suppress,
        dry_run: true,
        ..inputs.options()
    };
    let wording = neighborly::wording::load_or_error(&config.templates_dir())?;
    let store = pipeline::open_store(&config, &opts, true)?;
    let plan = pipeline::plan_for(
        &config,
        &opts,
        &wording,
        store.as_ref(),
        pipeline::Purpose::Selection,
    )?;
    let quality = neighborly::quality::Quality::of(&plan);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let (csv, html) = (out.join("data-quality.csv"), out.join("data-quality.html"));
    quality.write(&csv, &html, &config.utility.name)?;
    for r in quality.rows().iter().filter(|r| r.section != "locality") {
        println!("{}: {}: {} {}", r.section, r.item, r.count, r.detail);
    }
    println!("written to {} and {}", csv.display(), html.display());
    Ok(())
}

/// `neighborly merge`.
fn cmd_merge(
    config: PathBuf,
    period: Period,
    out: PathBuf,
    shard_dirs: Vec<PathBuf>,
) -> Result<()> {
    let config = Config::load(&config)?;
    let merged = neighborly::merge::merge(&config, period, &out, &shard_dirs)?;
    let s = &merged.summary;
    println!(
        "period {period}: {} shards merged into {}\nhouseholds in: {}\nreports out: {}\nexceptions: {}\nprint files: {}",
        merged.shards,
        out.display(),
        s.households_in,
        s.reports,
        s.exceptions,
        merged.print_files
    );
    Ok(())
}

/// `neighborly preview`.
fn cmd_preview(args: PreviewArgs) -> Result<()> {
    let PreviewArgs {
        inputs,
        account,
        out,
        watch,
        show_windows,
        campaign,
    } = args;
    let render = || -> Result<()> {
        let started = std::time::Instant::now();
        let config = Config::load(&inputs.config)?;
        let (period, pages) = match &campaign {
            None => pipeline::preview(&config, &inputs.options(), &account, &out, show_windows)?,
            Some(name) => {
                let (period, pdf, pages) = neighborly::target::campaign::preview(
                    &config,
                    name,
                    &inputs.options(),
                    &account,
                    show_windows,
                )?;
                std::fs::write(&out, pdf)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                (period, pages)
            }
        };
        println!(
            "{account} {period}: {pages} page(s) written to {} in {:.0} ms",
            out.display(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(())
    };
    if !watch {
        return render();
    }
    let config = Config::load(&inputs.config)?;
    let config_dir = std::fs::canonicalize(&inputs.config)?
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let paths = [config.templates_dir(), config_dir];
    println!(
        "watching {} and {} (Ctrl-C to stop)",
        paths[0].display(),
        paths[1].display()
    );
    neighborly::watch::watch(&paths, || {
        if let Err(e) = render() {
            // Keep watching: the next save may fix it.
            println!("error: {e:#}");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })?;
    Ok(())
}

/// `neighborly campaign`.
fn cmd_campaign(args: CampaignArgs) -> Result<()> {
    let CampaignArgs {
        name,
        inputs,
        out,
        suppress,
        dry_run,
        emails_to,
        reissue,
        accounts,
        by,
    } = args;
    let config = Config::load(&inputs.config)?;
    let opts = RunOptions {
        out,
        suppress,
        dry_run,
        emails_to,
        ..inputs.options()
    };
    let reissue = match reissue {
        Some(reason) if reason.trim().is_empty() => {
            anyhow::bail!("--reissue needs a reason")
        }
        Some(reason) => Some(neighborly::target::campaign::Reissue {
            reason: reason.trim().to_string(),
            by: by.unwrap_or_else(operator),
            accounts: accounts
                .map(|f| -> Result<_> {
                    let input = std::fs::File::open(&f)
                        .with_context(|| format!("cannot read {}", f.display()))?;
                    neighborly::ingest::read_account_list(input, &f.display().to_string())
                })
                .transpose()?,
        }),
        None => None,
    };
    let summary = neighborly::target::campaign::run(&config, &name, &opts, reissue.as_ref())?;
    print!("{}", summary.render_text());
    Ok(())
}

/// `neighborly alert`.
fn cmd_alert(args: AlertArgs) -> Result<()> {
    let AlertArgs {
        inputs,
        as_of,
        out,
        suppress,
        dry_run,
        emails_to,
    } = args;
    let config = Config::load(&inputs.config)?;
    let opts = neighborly::alerts::AlertOptions {
        as_of: neighborly::alerts::as_of(&config, &as_of)?,
        run: RunOptions {
            out,
            suppress,
            dry_run,
            emails_to,
            ..inputs.options()
        },
    };
    print!("{}", neighborly::alerts::run(&config, &opts)?.render_text());
    Ok(())
}

/// `neighborly peak-event`.
fn cmd_peak_event(args: PeakEventArgs) -> Result<()> {
    let PeakEventArgs {
        inputs,
        window,
        stage,
        out,
        suppress,
        dry_run,
        emails_to,
    } = args;
    let config = Config::load(&inputs.config)?;
    let opts = neighborly::events::EventOptions {
        window,
        stage,
        run: RunOptions {
            out,
            suppress,
            dry_run,
            emails_to,
            ..inputs.options()
        },
    };
    print!("{}", neighborly::events::run(&config, &opts)?.render_text());
    Ok(())
}

/// `neighborly segment`.
fn cmd_segment(name: String, inputs: Inputs, out: Option<PathBuf>) -> Result<()> {
    let config = Config::load(&inputs.config)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("segment-{name}.csv")));
    print!(
        "{}",
        neighborly::target::segment_command(&config, &inputs.options(), &name, &out)?
    );
    Ok(())
}

/// `neighborly enroll`.
fn cmd_enroll(inputs: Inputs) -> Result<()> {
    let config = Config::load(&inputs.config)?;
    let balance = pipeline::enroll(&config, &inputs.options())?;
    print!("{}", balance.render_text());
    Ok(())
}

/// `neighborly import`.
fn cmd_import(
    config: PathBuf,
    greenbutton: Option<PathBuf>,
    interval: Option<PathBuf>,
    out: PathBuf,
) -> Result<()> {
    let config = Config::load(&config)?;
    let (_, interval, greenbutton) =
        config.usage_sources(None, interval.as_ref(), greenbutton.as_ref());
    let sources = neighborly::ingest::Sources {
        interval: interval.clone(),
        greenbutton: greenbutton.clone(),
        ..Default::default()
    };
    let rules = pipeline::read_rules(&config, &sources)?;
    let summary = neighborly::import::import(interval, greenbutton, &rules, &out)?;
    print!("{}", summary.render_text());
    Ok(())
}

/// `neighborly bounces import`.
fn cmd_bounces(action: BouncesAction) -> Result<()> {
    let BouncesAction::Import {
        file,
        config,
        state,
    } = action;
    let config = Config::load(&config)?;
    let store = state_store(&config, state)?;
    let count = neighborly::channel::bounces::import(&file, &store)?;
    for r in &count.rejected {
        eprintln!("rejected: {r}");
    }
    println!(
        "{} channel(s) closed (paper from the next run), {} already closed, {} soft bounce(s) left alone, {} row(s) rejected",
        count.closed,
        count.already_closed,
        count.soft,
        count.rejected.len()
    );
    Ok(())
}

/// `neighborly weather fit`.
fn cmd_weather(action: WeatherAction) -> Result<()> {
    let WeatherAction::Fit {
        inputs,
        weather,
        baseline,
        reporting,
        out,
    } = action;
    let config = Config::load(&inputs.config)?;
    let summary = neighborly::insight::fit_command(
        &config,
        &inputs.options(),
        &neighborly::insight::FitRequest {
            weather,
            baseline,
            reporting,
            out,
        },
    )?;
    print!("{}", summary.render_text());
    Ok(())
}

/// `neighborly responses import`: the events are read (and the rejected
/// rows reported) before the store is opened.
fn cmd_responses(action: ResponsesAction) -> Result<()> {
    let ResponsesAction::Import {
        file,
        config,
        state,
    } = action;
    let config = Config::load(&config)?;
    let campaigns = config.campaigns.keys().cloned().collect();
    let parsed = neighborly::measure::responses::read(&file, &campaigns)?;
    for r in &parsed.rejected {
        eprintln!("rejected: {r}");
    }
    let mut store = state_store(&config, state)?;
    let count = store.import_responses(&file.display().to_string(), &parsed.events)?;
    let opted = neighborly::measure::responses::apply_opt_outs(&store, &file, &parsed.events)?;
    println!(
        "{} event(s) added, {} already present, {} row(s) rejected; {opted} household(s) opted out",
        count.added,
        count.already_present,
        parsed.rejected.len()
    );
    Ok(())
}

/// `neighborly evaluate`.
fn cmd_evaluate(args: EvaluateArgs) -> Result<()> {
    let EvaluateArgs {
        inputs,
        pre,
        post,
        campaign,
        alerts,
        event,
        method,
        weather,
        out,
    } = args;
    let config = Config::load(&inputs.config)?;
    if let Some(window) = event {
        let e = neighborly::events::evaluate(&config, &inputs.options(), &window, &out)?;
        print!("{}", e.render_text());
        println!("written to {}", out.display());
        return Ok(());
    }
    let (Some(pre), Some(post)) = (pre, post) else {
        anyhow::bail!("--pre and --post are needed (except with --event)");
    };
    let opts = neighborly::measure::EvaluateOptions {
        customers: inputs.customers,
        usage: inputs.usage,
        interval: inputs.interval,
        greenbutton: inputs.greenbutton,
        state: inputs.state,
        pre,
        post,
        campaign,
        alerts,
        out: out.clone(),
        method,
        weather,
    };
    let evaluation = neighborly::measure::evaluate(&config, &opts)?;
    print!("{}", evaluation.render_text());
    println!("written to {}", out.display());
    Ok(())
}

/// `neighborly studio`.
fn cmd_studio(inputs: Inputs, port: u16) -> Result<()> {
    let config = Config::load(&inputs.config)?;
    let options = neighborly::studio::Options {
        port,
        run: inputs.options(),
    };
    neighborly::studio::serve(config, options, |url| {
        // A closed terminal must not stop the server.
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "neighborly studio: open {url}");
        let _ = writeln!(out, "(only this machine can reach it; stop it with Ctrl-C)");
        let _ = out.flush();
    })?;
    Ok(())
}

/// `neighborly check`.
fn cmd_check(config: PathBuf) -> Result<()> {
    let config = Config::load(&config)?;
    check(&config)
}

/// `neighborly proof --campaign NAME`: the campaign's letter in English
/// and Spanish.
fn cmd_proof_campaign(
    config: PathBuf,
    out: PathBuf,
    period: Option<Period>,
    name: String,
) -> Result<()> {
    let config = Config::load(&config)?;
    let today = pipeline::render_date(&config);
    let period = period.unwrap_or_else(|| neighborly::proof::default_period(today));
    let renderer = neighborly::render::Renderer::new(&config.templates_dir(), today)?;
    let (pdf, pages) = neighborly::target::campaign::proof(&config, &name, &renderer, period)?;
    std::fs::write(&out, pdf).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "campaign {name}: English and Spanish, {pages} pages written to {}",
        out.display()
    );
    Ok(())
}

/// `neighborly proof`: every report variant in one PDF; with `--messages`,
/// every alert and peak-event message too (written first).
fn cmd_proof(
    config: PathBuf,
    out: PathBuf,
    period: Option<Period>,
    messages: Option<PathBuf>,
) -> Result<()> {
    let config = Config::load(&config)?;
    let wording = neighborly::wording::load_or_error(&config.templates_dir())?;
    if let Some(dir) = messages {
        let n = neighborly::proof::write_messages(&config, &wording, &dir)?;
        println!("{n} messages written to {}", dir.display());
    }
    let today = pipeline::render_date(&config);
    let period = period.unwrap_or_else(|| neighborly::proof::default_period(today));
    let renderer = neighborly::render::Renderer::new(&config.templates_dir(), today)?;
    let (pdf, variants, pages) = neighborly::proof::proof(&config, &wording, &renderer, period)?;
    std::fs::write(&out, pdf).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{variants} variants, {pages} pages written to {}",
        out.display()
    );
    Ok(())
}

/// `neighborly opt-out`.
fn cmd_opt_out(
    account: Option<String>,
    file: Option<PathBuf>,
    reason: String,
    by: Option<String>,
    config: PathBuf,
    state: Option<StoreLocation>,
) -> Result<()> {
    let config = Config::load(&config)?;
    let list = match (&account, &file) {
        (_, Some(f)) => {
            let input =
                std::fs::File::open(f).with_context(|| format!("cannot read {}", f.display()))?;
            neighborly::ingest::read_account_list(input, &f.display().to_string())?
        }
        (Some(a), None) => neighborly::ingest::AccountList::one(a),
        (None, None) => anyhow::bail!("give an account or --file"),
    };
    let store = state_store(&config, state)?;
    let by = by.unwrap_or_else(operator);
    let said = neighborly::account::record_opt(
        &config,
        &store,
        &list,
        neighborly::account::Opt::Out,
        &reason,
        &by,
    )?;
    println!("{}", said.join("\n"));
    Ok(())
}

/// `neighborly account`.
fn cmd_account(
    account: String,
    config: PathBuf,
    state: Option<StoreLocation>,
    customers: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let config = Config::load(&config)?;
    let view = neighborly::account::look_up(&config, &account, state, customers.as_ref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", view.render_text());
    }
    Ok(())
}

/// `neighborly opt-in`.
fn cmd_opt_in(
    account: String,
    reason: String,
    by: Option<String>,
    config: PathBuf,
    state: Option<StoreLocation>,
) -> Result<()> {
    let config = Config::load(&config)?;
    let store = state_store(&config, state)?;
    let said = neighborly::account::record_opt(
        &config,
        &store,
        &neighborly::ingest::AccountList::one(&account),
        neighborly::account::Opt::In,
        &reason,
        &by.unwrap_or_else(operator),
    )?;
    println!("{}", said.join("\n"));
    Ok(())
}

/// `neighborly synth`.
fn cmd_synth(args: SynthArgs) -> Result<()> {
    let SynthArgs {
        out,
        households,
        months,
        last_period,
        seed,
        clean,
        service,
        localities,
        skewed,
        effect_pct,
        effect_from,
        effect_state,
    } = args;
    let effect = match (effect_pct, effect_from, effect_state) {
        (Some(pct), Some(from), Some(state)) => {
            let store = neighborly::store::Store::open_file(
                &state,
                neighborly::store::Store::DEFAULT_WAIT,
            )?;
            let treated = store
                .assignments(neighborly::control::REPORTS)?
                .into_values()
                .filter(|a| a.group == neighborly::control::Group::Treatment)
                .map(|a| a.account_id)
                .collect();
            Some(neighborly::synth::Effect { pct, from, treated })
        }
        _ => None,
    };
    let opts = neighborly::synth::SynthOptions {
        households,
        months,
        last_period,
        seed,
        broken_rows: !clean,
        effect,
        service,
        localities,
        skewed,
    };
    neighborly::synth::generate(&out, &opts)?;
    println!(
        "{households} households, {months} months of reads written to {}",
        out.display()
    );
    Ok(())
}

/// Who is at the keyboard, for the record of an opt-out: the login name.
fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
