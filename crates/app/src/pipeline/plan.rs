//! The plan of one period: everything decided before anything is laid out.
//!
//! Three steps: [`load`] reads the files once (customers, reads turned into
//! bills, the suppression list, the weather file); [`Snapshot::read`] reads
//! what the store knows (history, opt-outs, closed channels, recorded
//! decisions, control groups), never writing; [`decide`], pure, picks the
//! households to compare, forms cohorts, compares, draws the control group,
//! decides each letter's phase, tips, goal and channel, and sorts the
//! letters into presort order. Its unit tests need no file or store.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use rustc_hash::FxHashMap;

use super::enrol;
use super::options::{RunOptions, read_rules, sources};
pub use super::snapshot::Snapshot;
use crate::cohort::{self, Assignment, Cohort, CohortPlan};
use crate::compare::{self, CohortStats, Comparison};
use crate::config::Config;
use crate::exception::{Exception, Reason};
use crate::ingest::{self, Dataset};
use crate::model::{Bill, Channel, Household, HouseholdIx, Period, Status, bills_from_reads};
use crate::phase::{self, Decision, Phase};
use crate::render::Renderer;
use crate::report::{self, ReportInput};
use crate::shard::Shard;
use crate::store::{History, Store};
use crate::wording::Wording;

/// One household to be mailed this period. Its comparison is the plan's
/// ([`Plan::comparison`]): a million letters need not each keep a copy.
#[derive(Debug, Clone)]
pub struct Letter {
    pub household: HouseholdIx,
    pub decision: Decision,
    pub assistance_eligible: bool,
    /// Tip ids; letters with the same traits share one list.
    pub tips: Arc<[String]>,
    /// Why no comparison could be made, if none.
    pub note: String,
    /// The use per day this letter sets as next period's goal.
    pub goal: Option<f64>,
    /// The goal last period's letter set for this period, if one was mailed.
    pub last_goal: Option<f64>,
    /// Water that never stopped flowing during the period (interval data).
    /// Boxed, as the weather block: few letters have one.
    pub leak: Option<Box<ingest::FlowRun>>,
    /// Paper, e-mail or text, and why paper when another was asked for.
    pub route: crate::channel::Route,
    /// Compared with every home of its locality: too few shared its traits.
    pub similarity_dropped: bool,
    /// The weather block: what the weather did to this bill and where the
    /// year's use went, when the household's model earns it and the back
    /// page has room (no leak block, no invitation).
    /// Boxed: most letters have none, and a letter is copied as the plan
    /// is sorted.
    pub insight: Option<Box<crate::weather::insight::Insight>>,
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
    pub enrolments: Vec<super::enrol::Enrolled>,
    /// Each household's group in the monthly reports' experiment, by
    /// household index (none when it was not compared).
    pub groups: Vec<Option<crate::control::Group>>,
    /// Households whose water never stopped flowing for the configured
    /// hours during the period, mailed or not: `leaks.csv` for staff.
    pub leaks: Vec<(HouseholdIx, ingest::FlowRun)>,
    /// What the inputs said that is no household's exception (`file:line:
    /// why`): a suppression entry that matches nobody.
    pub notices: Vec<String>,
    /// Households compared with their whole locality because too few homes
    /// shared their traits.
    pub similarity_dropped: Vec<HouseholdIx>,
}

impl Plan {
    /// The household at `ix`.
    pub fn household(&self, ix: HouseholdIx) -> &Household {
        &self.households[ix.get()]
    }

    /// The bills of the household at `ix`, oldest first.
    pub fn bills_of(&self, ix: HouseholdIx) -> &[Bill] {
        &self.bills[ix.get()]
    }

    /// The letters keyed by account id.
    pub fn letters_by_account(&self) -> HashMap<&str, &Letter> {
        self.letters
            .iter()
            .map(|l| (self.household(l.household).account_id.as_str(), l))
            .collect()
    }

    /// Render report data built for `letter` (possibly adjusted, as previews do).
    pub fn render_data(
        &self,
        letter: &Letter,
        data: &report::ReportData,
        renderer: &Renderer,
    ) -> Result<crate::render::Rendered, crate::print::PieceError> {
        let h = self.household(letter.household);
        let json = serde_json::to_vec(data)?;
        Ok(renderer.render(json, &format!("{}/{}", h.account_id, self.period))?)
    }

    /// The letter's household's comparison this period, if it was compared.
    pub fn comparison(&self, letter: &Letter) -> Option<&Comparison> {
        self.comparisons[letter.household.get()].as_ref()
    }

    pub fn input<'a>(&'a self, letter: &'a Letter) -> ReportInput<'a> {
        ReportInput {
            household: self.household(letter.household),
            bills: self.bills_of(letter.household),
            period: self.period,
            comparison: self.comparison(letter),
            cohort: self.comparison(letter).map(|c| &self.cohorts[c.cohort]),
            phase: letter.decision.phase,
            assistance_eligible: letter.assistance_eligible,
            tips: &letter.tips,
            proof_label: None,
            goal: letter.goal,
            last_goal: letter.last_goal,
            leak: letter.leak.as_deref(),
            similarity_dropped: letter.similarity_dropped,
            insight: letter.insight.as_deref(),
        }
    }
}

/// Accounts to hold back this run (INPUTS.md, "Account lists").
pub fn read_suppressions(path: &Path) -> Result<ingest::AccountList> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read suppression list {}", path.display()))?;
    ingest::read_account_list(file, &path.display().to_string())
}

/// The suppression list matched against every household of the customer
/// file, accepted or set aside: an entry naming a household with a bad row
/// is not "unmatched".
pub fn suppressed(
    path: Option<&Path>,
    households: &[Household],
    exceptions: &[Exception],
) -> Result<ingest::Matched> {
    let Some(path) = path else {
        return Ok(ingest::Matched::default());
    };
    let accounts = households
        .iter()
        .map(|h| h.account_id.as_str())
        .chain(exceptions.iter().map(|e| e.account_id.as_str()));
    Ok(read_suppressions(path)?.resolve(accounts))
}

/// Why a household that could be mailed is not: do-not-mail, the
/// suppression list or an opt-out, checked in that order. Monthly reports
/// and campaigns hold letters back the same way.
pub fn mail_hold(
    h: &Household,
    suppressed: &HashSet<String>,
    opted_out: &HashMap<String, String>,
) -> Option<(Reason, String)> {
    if h.do_not_mail {
        Some((
            Reason::DoNotMail,
            format!("{}: do_not_mail is set", h.source),
        ))
    } else if suppressed.contains(h.account_id.as_str()) {
        Some((
            Reason::Suppressed,
            "listed in the suppression file".to_string(),
        ))
    } else {
        opted_out
            .get(h.account_id.as_str())
            .map(|r| (Reason::OptedOut, format!("opted out: {r}")))
    }
}

/// Why a household billed every two or three months has no bill ending in
/// `period`, when its cycle says so: its next bill, and its report, come
/// later. None when a bill was due (then it is missing).
fn off_cycle(bills: &[Bill], period: Period) -> Option<String> {
    let mut recent = bills.iter().rev().filter(|b| b.period() < period).take(3);
    let last = recent.next()?;
    // The cycle is the middle length of the last three bills: one long
    // catch-up bill does not make a monthly household bi-monthly.
    let mut lengths: Vec<i32> = std::iter::once(last)
        .chain(recent)
        .map(Bill::months)
        .collect();
    lengths.sort_unstable();
    let months = lengths[lengths.len() / 2];
    let due = last.period().offset(months);
    (months > 1 && due > period).then(|| {
        format!(
            "billed every {months} months: the last bill ended {}, the next is due in {due}",
            last.end
        )
    })
}

/// A paper letter whose name and address do not fit the envelope window
/// is held rather than cut (`address-too-long`); e-mail and texts need no
/// window.
pub fn unprintable(h: &Household, route: &crate::channel::Route) -> Option<(Reason, String)> {
    if route.channel != crate::model::Channel::Mail {
        return None;
    }
    report::address_misfit(h).map(|why| (Reason::AddressTooLong, why))
}

/// What a plan is made for. Only letters carry the weather block, and its
/// models (one CalTRACK fit per household) are most of a plan's time when
/// `[weather] file` is set: a plan that only chooses or counts households
/// does without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Monthly reports: a run, a preview, the studio.
    Letters,
    /// Choosing or counting households: segments, campaigns, `check-data`.
    Selection,
}

/// Decide who gets which letter: [`load`] the files, read what the store
/// knows ([`Snapshot::read`]), then [`decide`]. Without a store every
/// household is new.
pub fn plan(
    config: &Config,
    opts: &RunOptions,
    wording: &Wording,
    store: Option<&Store>,
) -> Result<Plan> {
    plan_for(config, opts, wording, store, Purpose::Letters)
}

/// [`plan`], for `purpose`.
pub fn plan_for(
    config: &Config,
    opts: &RunOptions,
    wording: &Wording,
    store: Option<&Store>,
    purpose: Purpose,
) -> Result<Plan> {
    let inputs = load(config, opts, purpose)?;
    let snapshot = Snapshot::read(store, inputs.period)?;
    let default_channel: Channel = config.channels.default;
    let rules = Rules {
        config,
        wording,
        reachable: opts.reachable(config),
        default_channel,
    };
    Ok(decide(inputs, &snapshot, &rules))
}

/// What the input files say, read once: the households of the run (of its
/// shard), their bills up to the period, and what was refused on the way.
pub struct Inputs {
    pub period: Period,
    pub households: Vec<Household>,
    /// `bills[i]` belongs to `households[i]`; none after `period`.
    pub bills: Vec<Vec<Bill>>,
    /// Rows and accounts refused while reading.
    pub exceptions: Vec<Exception>,
    /// File names a bill's `file` indexes.
    pub files: Vec<String>,
    /// Months of interval data left out for low coverage, by account.
    pub incomplete: HashMap<String, Vec<ingest::Incomplete>>,
    /// Uninterrupted water flow in interval data, by account.
    pub runs: HashMap<String, Vec<ingest::FlowRun>>,
    /// Accounts on the suppression list.
    pub suppressed: HashSet<String>,
    /// What the inputs said that is no household's exception.
    pub notices: Vec<String>,
    /// Input households: the kept ones and the refused accounts.
    pub households_in: usize,
    /// The weather file, when `[weather] file` is set.
    pub weather: Option<crate::weather::Weather>,
}

/// The settings a plan follows.
pub struct Rules<'a> {
    pub config: &'a Config,
    pub wording: &'a Wording,
    /// The channels this run can use at all.
    pub reachable: crate::channel::Reachable,
    /// `[channels] default`, parsed.
    pub default_channel: Channel,
}

/// Read the run's files: customers, reads (turned into bills), the
/// suppression list and, for letters, the weather file; keep the shard's
/// households.
pub fn load(config: &Config, opts: &RunOptions, purpose: Purpose) -> Result<Inputs> {
    let sources = sources(config, opts);
    let t = Instant::now();
    let Dataset {
        households,
        reads,
        mut exceptions,
        files,
        incomplete,
        runs,
        ..
    } = ingest::load(
        &sources,
        config.utility.service,
        &read_rules(config, &sources)?,
    )?;
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
        None => latest_period(&bills)
            .context("the usage data has no usable reads, so there is no period to report on")?,
    };
    let ingest::Matched {
        accounts: suppressed,
        unmatched: notices,
    } = suppressed(opts.suppress.as_deref(), &households, &exceptions)?;
    let (households, bills) = match opts.shard.filter(|s| !s.is_whole()) {
        Some(shard) => keep_shard(shard, households, bills, &mut exceptions),
        None => (households, bills),
    };
    let households_in = households.len() + distinct_accounts(&exceptions);
    // Bills after the period do not exist yet as far as this run is concerned,
    // so re-running an old period sees what it saw the first time.
    let mut bills = bills;
    {
        use rayon::prelude::*;
        bills
            .par_iter_mut()
            .for_each(|b| b.retain(|b| b.period() <= period));
    }
    let weather = match (purpose, &config.weather.file) {
        (Purpose::Letters, Some(_)) => Some(crate::insight::read(config, None)?),
        _ => None,
    };
    Ok(Inputs {
        period,
        households,
        bills,
        exceptions,
        files,
        incomplete,
        runs,
        suppressed: suppressed.into_iter().collect(),
        notices,
        households_in,
        weather,
    })
}

/// Each candidate's comparison with its cohort, over the months its bill
/// covers (a bill of two or three months meets its neighbors over those
/// months), with the cohorts' statistics; and each candidate's span.
fn compare_candidates(
    bills: &[Vec<Bill>],
    candidates: &[HouseholdIx],
    cohort_plan: &crate::cohort::CohortPlan,
    usage_per_day: &[f64],
    period: Period,
) -> (Vec<i32>, Vec<Option<Comparison>>, Vec<CohortStats>) {
    let spans: Vec<i32> = candidates
        .iter()
        .map(|&i| this_bill(&bills[i.get()], period).map_or(1, Bill::months))
        .collect();
    let (comparisons, stats) =
        compare::compare_spans(cohort_plan, usage_per_day, &spans, |k, months| {
            let stretch = (period.offset(1 - months).first_day(), period.last_day());
            let (per_day, covered) = Bill::per_day_over(&bills[candidates[k].get()], stretch);
            (covered >= 0.5).then(|| (per_day * 1000.0).round() / 1000.0)
        });
    (spans, comparisons, stats)
}

/// Each household's comparison, by household index (moved from the
/// candidates' list, which is gone once this is made): letters, segments
/// and the control group's records read every compared household's.
fn by_household(
    households: usize,
    candidates: &[HouseholdIx],
    comparisons: Vec<Option<Comparison>>,
) -> Vec<Option<Comparison>> {
    let mut compared = vec![None; households];
    for (&i, c) in candidates.iter().zip(comparisons) {
        compared[i.get()] = c;
    }
    compared
}

/// How long the plan has taken so far, at the end of one of its stages
/// (`NEIGHBORLY_LOG=neighborly=debug`).
fn lap(t: Instant, stage: &str) {
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "plan: {stage}");
}

/// Decide who gets which letter, from what was read: candidates,
/// cohorts, comparisons, the control group, each letter's phase, tips,
/// goal and channel, and the presort order. No file, store or clock is
/// read here: the same inputs, snapshot and rules give the same plan.
pub fn decide(inputs: Inputs, snapshot: &Snapshot, rules: &Rules<'_>) -> Plan {
    let Inputs {
        period,
        households,
        bills,
        mut exceptions,
        files,
        incomplete,
        runs,
        suppressed,
        notices,
        households_in,
        weather,
    } = inputs;
    let config = rules.config;
    let t = Instant::now();
    let candidates = choose_candidates(
        &households,
        &bills,
        &incomplete,
        &files,
        period,
        config,
        &mut exceptions,
    );
    lap(t, "candidates chosen");
    let Formed {
        candidates,
        cohorts: cohort_plan,
        usage_per_day,
    } = form_cohorts(
        &households,
        &bills,
        candidates,
        period,
        config,
        &mut exceptions,
    );
    lap(t, "cohorts formed");
    let (spans, comparisons, stats) =
        compare_candidates(&bills, &candidates, &cohort_plan, &usage_per_day, period);
    let compared = by_household(households.len(), &candidates, comparisons);
    lap(t, "compared");
    let enrolment = enrol::groups(
        config,
        snapshot,
        period,
        &households,
        &candidates,
        &cohort_plan,
    );
    let insights = match &weather {
        Some(w) => crate::insight::for_letters(config, w, period, &households, &bills, &candidates),
        None => vec![None; candidates.len()],
    };
    lap(t, "weather models fitted");
    let decider = Decider {
        rules,
        snapshot,
        period,
        households: &households,
        bills: &bills,
        runs: &runs,
        suppressed: &suppressed,
        groups: &enrolment.groups,
        control_detail: &enrolment.control_detail,
    };
    let (mut letters, held) =
        decider.letters(&candidates, &compared, &cohort_plan, &spans, insights);
    exceptions.extend(held);
    lap(t, "letters decided");
    presort(&mut letters, &households);
    lap(t, "letters sorted");
    let leaks = leaks(&households, &runs, period);
    let similarity_dropped = cohort_plan.relaxed.iter().map(|&k| candidates[k]).collect();
    Plan {
        period,
        households,
        bills,
        cohorts: cohort_plan.cohorts,
        stats,
        letters,
        exceptions,
        households_in,
        comparisons: compared,
        enrolments: enrolment.enrolments,
        groups: enrolment.groups,
        leaks,
        notices,
        similarity_dropped,
    }
}

/// The household's bill for `period`.
fn this_bill(bills: &[Bill], period: Period) -> Option<&Bill> {
    bills.iter().find(|b| b.period() == period)
}

/// The households that can be compared: active, billed this period with
/// a plausible read and enough history. Every other one becomes an
/// exception with its reason.
fn choose_candidates(
    households: &[Household],
    bills: &[Vec<Bill>],
    incomplete: &HashMap<String, Vec<ingest::Incomplete>>,
    files: &[String],
    period: Period,
    config: &Config,
    exceptions: &mut Vec<Exception>,
) -> Vec<HouseholdIx> {
    use rayon::iter::Either;
    use rayon::prelude::*;
    // Decided on all cores; both lists keep the households' order.
    let (candidates, rejected): (Vec<HouseholdIx>, Vec<Exception>) =
        households.par_iter().enumerate().partition_map(|(i, h)| {
            match problem(h, &bills[i], incomplete, files, period, config) {
                Some(e) => Either::Right(e),
                None => Either::Left(HouseholdIx::new(i)),
            }
        });
    exceptions.extend(rejected);
    candidates
}

/// Why household `h`, with its `bills`, cannot be compared this period.
fn problem(
    h: &Household,
    bills: &[Bill],
    incomplete: &HashMap<String, Vec<ingest::Incomplete>>,
    files: &[String],
    period: Period,
    config: &Config,
) -> Option<Exception> {
    let reject =
        |reason, detail: String| Some(Exception::new(h.account_id.clone(), reason, detail));
    // History is counted in months billed, so a household billed every
    // two or three months needs no more of it than a monthly one.
    let n_bills: i32 = bills
        .iter()
        .filter(|b| b.period().index() > period.index() - 24)
        .map(Bill::months)
        .sum();
    let has_bill = this_bill(bills, period).is_some();
    let short = incomplete
        .get(h.account_id.as_str())
        .and_then(|v| v.iter().find(|x| x.period == period));
    let absurd =
        crate::plausible::implausible(bills, period, config.reads.implausible_factor, h.service)
            .map(|(b, why)| format!("{}:{}: {why}", files[b.file as usize], b.line));
    match h.status {
        Status::Vacant => reject(Reason::Vacant, format!("{}: status vacant", h.source)),
        Status::Closed => reject(Reason::Closed, format!("{}: status closed", h.source)),
        Status::Active if !has_bill && short.is_some() => reject(
            Reason::LowCoverage,
            short.map(|x| x.detail.clone()).unwrap_or_default(),
        ),
        Status::Active if !has_bill => match off_cycle(bills, period) {
            Some(why) => reject(Reason::OffCycle, why),
            None => reject(Reason::NoBillForPeriod, format!("no read ends in {period}")),
        },
        Status::Active if absurd.is_some() => {
            reject(Reason::ImplausibleRead, absurd.unwrap_or_default())
        }
        Status::Active if (n_bills as usize) < config.cohort.min_history_bills => reject(
            Reason::InsufficientHistory,
            format!(
                "{n_bills} month(s) billed in the last 24 months, {} needed",
                config.cohort.min_history_bills
            ),
        ),
        Status::Active => None,
    }
}

/// Cohorts of the candidates, and each candidate's use per day.
struct Formed {
    candidates: Vec<HouseholdIx>,
    cohorts: CohortPlan,
    usage_per_day: Vec<f64>,
}

/// Form the cohorts. Homes far above their neighbors are held (an
/// `implausible-read` exception), and the cohorts formed again without
/// them: they must not move anyone's percentile.
fn form_cohorts(
    households: &[Household],
    bills: &[Vec<Bill>],
    candidates: Vec<HouseholdIx>,
    period: Period,
    config: &Config,
    exceptions: &mut Vec<Exception>,
) -> Formed {
    let usage_of = |i: HouseholdIx| {
        // Compared at 0.001 unit/day: the same use expressed in different
        // units (gal vs ccf) must tie rather than differ in the last digit.
        let u = this_bill(&bills[i.get()], period).map_or(0.0, Bill::per_day);
        (u * 1000.0).round() / 1000.0
    };
    let form = |candidates: Vec<HouseholdIx>| {
        let refs: Vec<&Household> = candidates.iter().map(|&i| &households[i.get()]).collect();
        Formed {
            cohorts: cohort::plan(&refs, &config.cohort),
            usage_per_day: candidates.iter().map(|&i| usage_of(i)).collect(),
            candidates,
        }
    };
    let formed = form(candidates);
    let outliers = crate::plausible::above_neighbors(
        &formed.cohorts,
        &formed.usage_per_day,
        config.reads.neighborhood_factor,
    );
    if outliers.is_empty() {
        return formed;
    }
    for &(k, median, size) in &outliers {
        let h = &households[formed.candidates[k].get()];
        let unit = h.service.canonical_unit();
        let usage = formed.usage_per_day[k];
        exceptions.push(Exception::new(
            h.account_id.clone(),
            Reason::ImplausibleRead,
            format!(
                "{usage:.1} {unit} a day in {period} is {:.0} times the median of its {size} \
                 comparable homes ({median:.1}); check the meter, a register read given \
                 as use, or the unit",
                usage / median
            ),
        ));
    }
    let held: HashSet<usize> = outliers.iter().map(|o| o.0).collect();
    form(
        formed
            .candidates
            .into_iter()
            .enumerate()
            .filter(|(k, _)| !held.contains(k))
            .map(|(_, i)| i)
            .collect(),
    )
}

/// Tips depend on a handful of traits shared by many homes: they are
/// chosen once per combination of these. The key borrows its text from
/// the households and the snapshot, so asking costs no allocation.
type TipKey<'a> = (
    crate::model::Service,
    Option<compare::Rating>,
    Phase,
    Option<i32>,
    Option<u32>,
    Option<&'a str>,
    bool,
    bool,
    bool,
    &'a [String],
);

/// Where a candidate stands among its neighbors.
struct Shape<'a> {
    /// Months its bill covers.
    span: i32,
    /// Its cohort was formed with a similarity criterion dropped.
    relaxed: bool,
    assignment: &'a Assignment,
}

/// The candidates, with what their letters are decided from, each list
/// in candidate order but `compared` (by household index).
struct Candidates<'c> {
    ix: &'c [HouseholdIx],
    compared: &'c [Option<Comparison>],
    cohort_plan: &'c crate::cohort::CohortPlan,
    spans: &'c [i32],
    /// Candidates whose cohort dropped a similarity criterion.
    relaxed: rustc_hash::FxHashSet<usize>,
}

/// Tips chosen so far, by their key (one memo per share of the letters).
type TipMemo<'a> = FxHashMap<TipKey<'a>, Arc<[String]>>;

/// A weather block, moved into the letter that shows it.
type InsightBox = Option<Box<crate::weather::insight::Insight>>;

/// Each candidate's letter, or why it gets none. Read-only, so the
/// letters are decided on all cores.
struct Decider<'a> {
    rules: &'a Rules<'a>,
    snapshot: &'a Snapshot,
    period: Period,
    households: &'a [Household],
    bills: &'a [Vec<Bill>],
    runs: &'a HashMap<String, Vec<ingest::FlowRun>>,
    suppressed: &'a HashSet<String>,
    groups: &'a [Option<crate::control::Group>],
    control_detail: &'a FxHashMap<HouseholdIx, String>,
}

impl<'a> Decider<'a> {
    /// Every candidate's letter, in candidate order, and the exceptions of
    /// those held, in the same order. The candidates are decided in waves
    /// of one share per core, each share with its core's tip memo (a
    /// million letters took a second on one core); each wave's letters
    /// are moved into the one list as it ends, so no more than a wave's
    /// are ever held twice. `compared` is each household's comparison, by
    /// household index; `insights` each candidate's weather block, in
    /// candidate order.
    fn letters(
        &self,
        candidates: &[HouseholdIx],
        compared: &[Option<Comparison>],
        cohort_plan: &crate::cohort::CohortPlan,
        spans: &[i32],
        mut insights: Vec<InsightBox>,
    ) -> (Vec<Letter>, Vec<Exception>) {
        use rayon::prelude::*;
        let all = Candidates {
            ix: candidates,
            compared,
            cohort_plan,
            spans,
            relaxed: cohort_plan.relaxed.iter().copied().collect(),
        };
        let threads = rayon::current_num_threads();
        let mut memos: Vec<TipMemo<'a>> = (0..threads).map(|_| TipMemo::default()).collect();
        let share = candidates.len().div_ceil(8 * threads).max(1024);
        let mut letters = Vec::with_capacity(candidates.len());
        let mut held = Vec::new();
        let mut start = 0;
        for wave in insights.chunks_mut(share * threads) {
            let decided: Vec<(Vec<Letter>, Vec<Exception>)> = wave
                .par_chunks_mut(share)
                .zip(memos.par_iter_mut())
                .enumerate()
                .map(|(n, (insight, memo))| self.share(&all, start + n * share, insight, memo))
                .collect();
            start += wave.len();
            for (mine, theirs) in decided {
                letters.extend(mine);
                held.extend(theirs);
            }
        }
        // Room was made for every candidate; the held ones' is given back.
        letters.shrink_to_fit();
        (letters, held)
    }

    /// The letters of the candidates from `start` on, one for each of
    /// `insight`, with one core's tip memo.
    fn share(
        &self,
        all: &Candidates<'_>,
        start: usize,
        insight: &mut [InsightBox],
        memo: &mut TipMemo<'a>,
    ) -> (Vec<Letter>, Vec<Exception>) {
        let (mut letters, mut held) = (Vec::with_capacity(insight.len()), Vec::new());
        for (k, insight) in (start..).zip(insight) {
            let i = all.ix[k];
            let shape = Shape {
                span: all.spans[k],
                relaxed: all.relaxed.contains(&k),
                assignment: &all.cohort_plan.assignments[k],
            };
            let comparison = all.compared[i.get()].as_ref();
            match self.letter(i, comparison, shape, insight.take(), memo) {
                Ok(letter) => letters.push(letter),
                Err(exception) => held.push(exception),
            }
        }
        (letters, held)
    }

    /// Household `i`'s letter; an exception when it is held (control
    /// group, opted out, suppressed, do-not-mail, an address the window
    /// cannot show).
    fn letter(
        &self,
        i: HouseholdIx,
        comparison: Option<&Comparison>,
        shape: Shape<'_>,
        insight: InsightBox,
        memo: &mut TipMemo<'a>,
    ) -> std::result::Result<Letter, Exception> {
        let Rules {
            config,
            wording,
            reachable,
            default_channel,
        } = *self.rules;
        let (h, period) = (&self.households[i.get()], self.period);
        let route = crate::channel::route(
            h,
            default_channel,
            &self.snapshot.channel_blocks,
            &reachable,
        );
        let hold = if self.groups[i.get()] == Some(crate::control::Group::Control) {
            Some((
                Reason::ControlGroup,
                self.control_detail.get(&i).cloned().unwrap_or_default(),
            ))
        } else {
            mail_hold(h, self.suppressed, &self.snapshot.opted_out)
                .or_else(|| unprintable(h, &route))
        };
        if let Some((reason, detail)) = hold {
            return Err(Exception::new(h.account_id.clone(), reason, detail));
        }
        let eligible = report::assistance_eligible(h, config);
        let snapshot: &'a Snapshot = self.snapshot;
        let last = snapshot.history.get(h.account_id.as_str());
        // The goal the letter of the previous bill set: a month ago, or two
        // or three for a household billed that often.
        let last_goal = last
            .filter(|l| l.period == period.offset(-shape.span))
            .and_then(|l| l.goal);
        let leak = leak_in(self.runs, &h.account_id, period).map(|r| Box::new(*r));
        let invite = eligible && config.assistance.invite;
        let insight = insight.filter(|_| leak.is_none() && !invite);
        // The phase is the ladder's, decided with the tips below.
        let situation = report::Situation {
            rating: comparison.map(|c| c.rating),
            phase: Phase::Tips,
            assistance_eligible: eligible,
            leak: leak.is_some(),
            invite,
            weather: insight.is_some(),
        };
        let (decision, tips, goal) = match self.snapshot.recorded.get(h.account_id.as_str()) {
            Some(r) => (
                Decision {
                    phase: r.phase,
                    ladder: r.ladder,
                    entered: r.entered,
                },
                r.tips.as_slice().into(),
                r.goal,
            ),
            None => self.decide_new(i, comparison, last, situation, wording, memo),
        };
        let note = match shape.assignment {
            Assignment::TooFew { locality_size } => format!(
                "no comparison: {locality_size} comparable home(s) in {}, {} needed; tips letter with own history",
                h.locality, config.cohort.min_size
            ),
            Assignment::Cohort(_) => String::new(),
        };
        Ok(Letter {
            household: i,
            decision,
            assistance_eligible: eligible,
            tips,
            note,
            goal,
            last_goal,
            leak,
            route,
            similarity_dropped: shape.relaxed,
            insight,
        })
    }

    /// A decision no finished run recorded: the phase from the last mailed
    /// letter (it replaces `situation`'s), tips (once per combination of
    /// traits), the next goal.
    fn decide_new(
        &self,
        i: HouseholdIx,
        comparison: Option<&Comparison>,
        last: Option<&'a History>,
        mut situation: report::Situation,
        wording: &Wording,
        memo: &mut TipMemo<'a>,
    ) -> (Decision, Arc<[String]>, Option<f64>) {
        let households: &'a [Household] = self.households;
        let (h, period) = (&households[i.get()], self.period);
        let decision = phase::decide(
            last.map(|l| l.ladder),
            last.map(|l| period.index() - l.period.index()),
            situation.rating,
            situation.assistance_eligible,
            &self.rules.config.phase,
        );
        situation.phase = decision.phase;
        let last_tips = last.map(|l| l.tips.as_slice()).unwrap_or(&[]);
        let key = (
            h.service,
            situation.rating,
            decision.phase,
            h.year_built,
            h.occupants,
            h.heating_fuel.as_deref(),
            situation.assistance_eligible,
            situation.leak,
            situation.weather,
            last_tips,
        );
        let tips = memo
            .entry(key)
            .or_insert_with(|| report::pick_tips(h, period, situation, last_tips, wording).into())
            .clone();
        let usage = this_bill(&self.bills[i.get()], period).map_or(0.0, Bill::per_day);
        let goal = crate::goal::next(usage, comparison, decision.phase);
        (decision, tips, goal)
    }
}

/// Presort order: ZIP, then address, then account (which makes every key
/// unique, so an unstable parallel sort gives the one order). The sort
/// compares numbers gathered once into the keys, the first 16 bytes of
/// the ZIP (all of a ZIP+4) and its length, then the first 8 bytes of the
/// address, and reaches the households' strings only when those tie: a
/// comparison through the households is a cache miss and three string
/// compares, and a million letters take about twenty million.
fn presort(letters: &mut [Letter], households: &[Household]) {
    use rayon::prelude::*;
    use std::cmp::Ordering;
    let home = |k: &SortKey| &households[letters[k.letter].household.get()];
    // Gathered on all cores: each key is a cache miss into the households.
    let mut keys: Vec<SortKey> = letters
        .par_iter()
        .enumerate()
        .map(|(k, l)| SortKey::of(&households[l.household.get()], k))
        .collect();
    keys.par_sort_unstable_by(|a, b| {
        let zip = if a.zip_len > 16 || b.zip_len > 16 {
            a.zip
                .cmp(&b.zip)
                .then_with(|| home(a).zip.cmp(&home(b).zip))
        } else {
            // Equal 16-byte prefixes of ZIPs that fit in them: the shorter
            // is the longer cut short, and sorts first.
            (a.zip, a.zip_len).cmp(&(b.zip, b.zip_len))
        };
        let rest = |a: &SortKey, b: &SortKey| {
            let (ha, hb) = (home(a), home(b));
            (&ha.address_line1, &ha.account_id).cmp(&(&hb.address_line1, &hb.account_id))
        };
        match zip.then(a.address.cmp(&b.address)) {
            Ordering::Equal => rest(a, b),
            decided => decided,
        }
    });
    // Letters are large: they are swapped into place rather than copied
    // into a new list. `to[k]` is where letter `k` goes; each swap puts
    // one letter where it belongs.
    let mut to = vec![0; keys.len()];
    for (place, k) in keys.iter().enumerate() {
        to[k.letter] = place;
    }
    for k in 0..to.len() {
        while to[k] != k {
            let place = to[k];
            letters.swap(k, place);
            to.swap(k, place);
        }
    }
}

/// What [`presort`] compares first: numbers that order as the strings do
/// wherever they differ.
struct SortKey {
    zip: u128,
    zip_len: usize,
    address: u64,
    letter: usize,
}

impl SortKey {
    fn of(h: &Household, letter: usize) -> SortKey {
        SortKey {
            zip: u128::from_be_bytes(leading(&h.zip)),
            zip_len: h.zip.len(),
            address: u64::from_be_bytes(leading(&h.address_line1)),
            letter,
        }
    }
}

/// The first `N` bytes of `s`, zero-padded: as a big-endian number, it
/// orders as the strings do wherever the numbers differ.
fn leading<const N: usize>(s: &str) -> [u8; N] {
    let mut bytes = [0u8; N];
    let n = s.len().min(N);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    bytes
}

/// Every household's longest unbroken flow in the period, by account.
fn leaks(
    households: &[Household],
    runs: &HashMap<String, Vec<ingest::FlowRun>>,
    period: Period,
) -> Vec<(HouseholdIx, ingest::FlowRun)> {
    let mut leaks: Vec<(HouseholdIx, ingest::FlowRun)> = households
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            leak_in(runs, &h.account_id, period).map(|r| (HouseholdIx::new(i), *r))
        })
        .collect();
    let account = |ix: HouseholdIx| &households[ix.get()].account_id;
    leaks.sort_by(|a, b| account(a.0).cmp(account(b.0)));
    leaks
}

/// The longest run of unbroken flow that touches the period, if any.
fn leak_in<'r>(
    runs: &'r HashMap<String, Vec<ingest::FlowRun>>,
    account: &str,
    period: Period,
) -> Option<&'r ingest::FlowRun> {
    runs.get(account)?
        .iter()
        .filter(|r| r.start.date() <= period.last_day() && r.end.date() >= period.first_day())
        .max_by(|a, b| a.hours.total_cmp(&b.hours))
}

/// The shard's part of the period: the households of the localities
/// [`Shard::plan`] deals to it (by how many households each locality has in
/// the customer file, which every shard reads whole), and the exceptions of
/// those households. An exception whose account has no household (a
/// customer row that could not be read, reads for an unknown account)
/// belongs to shard 0, so it is reported exactly once. Runs after the
/// period is chosen, so every shard reports the same month.
fn keep_shard(
    shard: Shard,
    households: Vec<Household>,
    bills: Vec<Vec<Bill>>,
    exceptions: &mut Vec<Exception>,
) -> (Vec<Household>, Vec<Vec<Bill>>) {
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for h in &households {
        *sizes.entry(h.locality.as_str()).or_default() += 1;
    }
    let mine: HashSet<String> = Shard::plan(sizes, shard.count)
        .into_iter()
        .filter(|&(_, k)| k == shard.index)
        .map(|(l, _)| l.to_string())
        .collect();
    // Whose exception is it: only accounts with an exception are looked up.
    let owner: HashMap<String, bool> = {
        let named: HashSet<&str> = exceptions.iter().map(|e| e.account_id.as_str()).collect();
        households
            .iter()
            .filter(|h| named.contains(h.account_id.as_str()))
            .map(|h| (h.account_id.to_string(), mine.contains(h.locality.as_str())))
            .collect()
    };
    let mut kept = (Vec::new(), Vec::new());
    for (h, b) in households.into_iter().zip(bills) {
        if mine.contains(h.locality.as_str()) {
            kept.0.push(h);
            kept.1.push(b);
        }
    }
    exceptions.retain(|e| {
        owner
            .get(&e.account_id)
            .copied()
            .unwrap_or(shard.index == 0)
    });
    kept
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
        *per_month.entry(b.period()).or_default() += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Recorded;

    /// Bills of `days` days each, ending on the months' last days.
    fn bills(ends: &[(&str, i64)]) -> Vec<Bill> {
        ends.iter()
            .map(|(p, days)| {
                let period: Period = p.parse().unwrap();
                let end = period.last_day();
                Bill {
                    quantity: 100.0 * *days as f64,
                    days: *days as i32,
                    estimated: false,
                    start: end - chrono::Days::new(*days as u64 - 1),
                    end,
                    file: 0,
                    line: 0,
                }
            })
            .collect()
    }

    /// A water home of locality Elm using `per_day` every day of the
    /// twelve months to October 2026.
    fn home(i: usize, per_day: f64) -> (Household, Vec<Bill>) {
        let h = Household {
            account_id: format!("A{i:03}").into(),
            name: format!("Home {i}").into(),
            // Zip and street descend as i grows: the presort must reorder.
            address_line1: format!("{} Elm St", 900 - i).into(),
            address_line2: None,
            city: "Davis".into(),
            state: "CA".into(),
            zip: format!("9561{}", 9 - i % 4).into(),
            locality: "Elm".into(),
            service: crate::model::Service::Water,
            occupants: None,
            home_sqft: None,
            year_built: None,
            heating_fuel: None,
            language: crate::model::Language::En,
            programs: Vec::new(),
            status: Status::Active,
            do_not_mail: false,
            extra: Default::default(),
            source: crate::model::Origin::new("customers.csv", i as u64 + 2),
        };
        let october: Period = "2026-10".parse().unwrap();
        let bills = (0..12)
            .rev()
            .map(|back| {
                let period = october.offset(-back);
                let days = (period.last_day() - period.first_day()).num_days() + 1;
                Bill {
                    quantity: per_day * days as f64,
                    days: days as i32,
                    estimated: false,
                    start: period.first_day(),
                    end: period.last_day(),
                    file: 0,
                    line: 0,
                }
            })
            .collect();
        (h, bills)
    }

    /// 40 homes using 100 to 139 a day, and what `adjust` changes.
    fn inputs(adjust: impl FnOnce(&mut Inputs)) -> Inputs {
        let (households, bills) = (0..40).map(|i| home(i, 100.0 + i as f64)).unzip();
        let mut inputs = Inputs {
            period: "2026-10".parse().unwrap(),
            households,
            bills,
            exceptions: Vec::new(),
            files: vec!["usage.csv".into()],
            incomplete: HashMap::new(),
            runs: HashMap::new(),
            suppressed: HashSet::new(),
            notices: Vec::new(),
            households_in: 40,
            weather: None,
        };
        adjust(&mut inputs);
        inputs
    }

    fn wording() -> Wording {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../report-templates");
        crate::wording::load_or_error(&templates).unwrap()
    }

    fn decide_with(inputs: Inputs, snapshot: &Snapshot, config: &Config) -> Plan {
        let wording = wording();
        let rules = Rules {
            config,
            wording: &wording,
            reachable: crate::channel::Reachable {
                email: true,
                sms: true,
            },
            default_channel: Channel::Mail,
        };
        decide(inputs, snapshot, &rules)
    }

    fn letter<'p>(plan: &'p Plan, account: &str) -> Option<&'p Letter> {
        plan.letters
            .iter()
            .find(|l| plan.household(l.household).account_id == account)
    }

    #[test]
    fn every_home_ends_in_one_place_and_letters_come_in_presort_order() {
        let inputs = inputs(|x| {
            x.households[3].status = Status::Vacant;
            x.suppressed.insert("A005".into());
        });
        let snapshot = Snapshot {
            opted_out: [("A007".to_string(), "called in".to_string())].into(),
            ..Snapshot::default()
        };
        let plan = decide_with(inputs, &snapshot, &Config::default());
        let mut seen: Vec<&str> = plan
            .letters
            .iter()
            .map(|l| plan.household(l.household).account_id.as_str())
            .chain(plan.exceptions.iter().map(|e| e.account_id.as_str()))
            .collect();
        seen.sort_unstable();
        let all: Vec<String> = (0..40).map(|i| format!("A{i:03}")).collect();
        assert_eq!(seen, all.iter().map(String::as_str).collect::<Vec<_>>());
        let reason = |a: &str| {
            plan.exceptions
                .iter()
                .find(|e| e.account_id == a)
                .map(|e| e.reason)
        };
        assert_eq!(reason("A003"), Some(Reason::Vacant));
        assert_eq!(reason("A005"), Some(Reason::Suppressed));
        assert_eq!(reason("A007"), Some(Reason::OptedOut));
        assert_eq!(plan.letters.len(), 37);
        let keys = presort_keys(&plan);
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    /// Each letter's presort key (ZIP, address, account), in plan order.
    fn presort_keys(plan: &Plan) -> Vec<(&str, &str, &str)> {
        plan.letters
            .iter()
            .map(|l| {
                let h = plan.household(l.household);
                (
                    h.zip.as_str(),
                    h.address_line1.as_str(),
                    h.account_id.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn presort_compares_whole_strings_where_the_first_bytes_tie() {
        // ZIP+4 codes that agree in their first eight bytes, and street
        // names that agree in theirs, in an order the sort must undo.
        let inputs = inputs(|x| {
            for (i, h) in x.households.iter_mut().enumerate() {
                h.zip = format!("95616-{:04}", 40 - i % 3).into();
                h.address_line1 = match i % 5 {
                    // Streets that differ in their first bytes, so a ZIP+4
                    // decided by its first eight bytes would sort wrongly.
                    0 => format!("{} A St", i).into(),
                    1 => format!("9{} B St", i).into(),
                    k => format!("1200 Oakwood {}", ["Lane", "Ave", "Court"][k - 2]).into(),
                };
            }
        });
        let plan = decide_with(inputs, &Snapshot::default(), &Config::default());
        let keys = presort_keys(&plan);
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 40);
    }

    #[test]
    fn the_ladder_climbs_one_step_from_the_last_mailed_letter() {
        let config = Config::default();
        let first = decide_with(inputs(|_| ()), &Snapshot::default(), &config);
        // The heaviest user is above typical: a first letter gives tips.
        let top = letter(&first, "A039").unwrap();
        assert_eq!(
            first.comparison(top).unwrap().rating,
            compare::Rating::AboveTypical
        );
        assert_eq!(
            (top.decision.phase, top.decision.entered),
            (Phase::Tips, true)
        );
        // The lightest is great: the comparison, no step on the ladder.
        let light = letter(&first, "A000").unwrap();
        assert_eq!(light.decision.phase, Phase::Comparison);
        assert_eq!(light.decision.ladder.step, None);

        // Tips mailed in September: October brings the notice.
        let snapshot = Snapshot {
            history: [(
                "A039".to_string(),
                History {
                    period: "2026-09".parse().unwrap(),
                    ladder: top.decision.ladder,
                    tips: top.tips.to_vec(),
                    goal: top.goal,
                },
            )]
            .into(),
            ..Snapshot::default()
        };
        let next = decide_with(inputs(|_| ()), &snapshot, &config);
        let top = letter(&next, "A039").unwrap();
        assert_eq!(
            (top.decision.phase, top.decision.entered),
            (Phase::Notice, true)
        );
        assert_eq!(top.last_goal, snapshot.history["A039"].goal);
        // A decision a finished run recorded is reproduced as it was.
        let recorded = Recorded {
            phase: Phase::Comparison,
            ladder: crate::phase::Ladder {
                step: Some(Phase::Comparison),
                letters: 1,
            },
            entered: true,
            tips: vec!["fix-leaks".into()],
            goal: Some(120.0),
        };
        let snapshot = Snapshot {
            recorded: [("A039".to_string(), recorded.clone())].into(),
            ..Snapshot::default()
        };
        let again = decide_with(inputs(|_| ()), &snapshot, &config);
        let top = letter(&again, "A039").unwrap();
        assert_eq!(top.decision.phase, recorded.phase);
        assert_eq!(top.decision.ladder, recorded.ladder);
        assert_eq!(
            (top.tips.to_vec(), top.goal),
            (recorded.tips, recorded.goal)
        );
    }

    #[test]
    fn control_homes_get_no_letter_and_earlier_groups_hold() {
        let mut config = Config::default();
        config.control.share = 0.5;
        config.control.salt = "unit".into();
        let first = decide_with(inputs(|_| ()), &Snapshot::default(), &config);
        let control: Vec<&str> = first
            .exceptions
            .iter()
            .filter(|e| e.reason == Reason::ControlGroup)
            .map(|e| e.account_id.as_str())
            .collect();
        assert!((15..=25).contains(&control.len()), "{}", control.len());
        assert_eq!(first.letters.len() + control.len(), 40);
        assert_eq!(first.enrolments.len(), 40, "every home is new");
        // Next month, with those groups on record, nobody is drawn again
        // and nobody changes group.
        let snapshot = Snapshot {
            assignments: first
                .enrolments
                .iter()
                .map(|e| e.assigned(&first))
                .map(|a| (a.account_id.clone(), a))
                .collect(),
            ..Snapshot::default()
        };
        let next = decide_with(inputs(|_| ()), &snapshot, &config);
        assert!(next.enrolments.is_empty());
        let again: Vec<&str> = next
            .exceptions
            .iter()
            .filter(|e| e.reason == Reason::ControlGroup)
            .map(|e| e.account_id.as_str())
            .collect();
        assert_eq!(again, control);
    }

    #[test]
    fn a_closed_email_channel_sends_the_letter_on_paper() {
        let inputs = inputs(|x| {
            for (i, h) in x.households.iter_mut().enumerate().take(2) {
                h.extra.insert("channel", "email");
                h.extra.insert("email", format!("home{i}@example.org"));
            }
        });
        let snapshot = Snapshot {
            channel_blocks: {
                let mut b = crate::model::ChannelBlocks::default();
                b.insert("A001".into(), Channel::Email, "hard bounce".into());
                b
            },
            ..Snapshot::default()
        };
        let plan = decide_with(inputs, &snapshot, &Config::default());
        let open = &letter(&plan, "A000").unwrap().route;
        assert_eq!(
            (open.channel, open.address.as_str()),
            (Channel::Email, "home0@example.org")
        );
        let closed = &letter(&plan, "A001").unwrap().route;
        assert_eq!(closed.channel, Channel::Mail);
        assert!(
            closed.fallback.contains("hard bounce"),
            "{}",
            closed.fallback
        );
    }

    #[test]
    fn off_cycle_follows_the_households_own_cycle() {
        let october: Period = "2026-10".parse().unwrap();
        // Bi-monthly, last bill in September: the next is due in November.
        let every_other = bills(&[("2026-05", 61), ("2026-07", 61), ("2026-09", 61)]);
        let why = off_cycle(&every_other, october).unwrap();
        assert!(why.starts_with("billed every 2 months"), "{why}");
        // Its bill due in October is missing: not off-cycle.
        assert!(off_cycle(&every_other[..2], "2026-09".parse().unwrap()).is_none());
        // A monthly home with one long catch-up bill is still monthly.
        let monthly = bills(&[("2026-07", 31), ("2026-08", 31), ("2026-09", 61)]);
        assert!(off_cycle(&monthly, october).is_none());
    }
}
