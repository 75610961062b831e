//! Campaigns: a one-off personal letter to a segment, through the same
//! machinery as the monthly run (window-envelope layout, PDF/UA-1 + PDF/A-2a
//! single PDFs, presorted print files with IMb, manifest and exceptions).
//!
//! Every segment member ends in exactly one of `manifest.csv` and
//! `exceptions.csv`. Vacant and closed homes, do-not-mail, suppressed and
//! opted-out accounts are not mailed; a `holdout` share, drawn per locality
//! and recorded like the control group, is held back to measure the letter;
//! a household that already received this campaign is never sent it again,
//! so running a campaign again reaches only the segment's newcomers.
//!
//! A letter found wrong after it went out is corrected in its template and
//! re-issued (`--reissue REASON`): sent again to the households that got it
//! (all, or a list), each recorded with the reason, once per reason, under an
//! e-mail key of its own so the relay's first send does not stop it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::letter::{self, CampaignWording};
use crate::channel::email::Envelope;
use crate::channel::{self, Route};
use crate::config::Config;
use crate::control::{self, Group, Newcomer};
use crate::exception::{Exception, Reason};
use crate::mailing::{Mailing, Mailroom, Recipient};
use crate::model::{Channel, Household, Period, Status};
use crate::output::{self, RunFolder, RunOf};
use crate::pipeline::{self, RunOptions};
use crate::print::PieceError;
use crate::render::Renderer;
use crate::store::Assigned;

/// One row of a campaign's `manifest.csv`.
#[derive(Debug, Serialize)]
pub struct CampaignRow {
    pub sequence: usize,
    pub account_id: String,
    pub language: crate::model::Language,
    pub zip: String,
    pub pdf: String,
    pub pages: usize,
    /// `mail` or `email`.
    pub channel: Channel,
    /// `print`, `sent` or `written`.
    pub delivery: crate::output::Dispatch,
    /// Why paper when the household asked for another channel.
    pub channel_note: String,
    /// Why the letter was sent again; empty for a first send.
    pub reissue: String,
}

/// A corrected letter for households a campaign already reached.
pub struct Reissue {
    /// Why; recorded with each letter. One reason re-issues a household
    /// once, so running the same re-issue again sends nothing twice.
    pub reason: String,
    /// Who asked for it.
    pub by: String,
    /// Only these households (default: every one the campaign reached).
    pub accounts: Option<crate::ingest::AccountList>,
}

/// What a campaign run did (also `run.json`).
#[derive(Debug, Default, Serialize)]
pub struct CampaignSummary {
    pub campaign: String,
    /// The re-issue's reason, for a re-issue.
    pub reissue: Option<String>,
    pub segment: String,
    pub period: String,
    pub segment_members: usize,
    pub letters: usize,
    pub exceptions: usize,
    pub exceptions_by_reason: BTreeMap<String, usize>,
    pub print_files: usize,
    pub out_dir: String,
    pub dry_run: bool,
}

impl CampaignSummary {
    pub fn render_text(&self) -> String {
        let members = match &self.reissue {
            Some(reason) => format!("re-issue ({reason}) to households sent"),
            None => "segment members".into(),
        };
        let mut s = format!(
            "campaign {} (segment {}), period {}\n{members}: {}\nletters {}: {}\nexceptions: {}\n",
            self.campaign,
            self.segment,
            self.period,
            self.segment_members,
            if self.dry_run { "would be sent" } else { "out" },
            self.letters,
            self.exceptions
        );
        for (r, n) in &self.exceptions_by_reason {
            s.push_str(&format!("  {r}: {n}\n"));
        }
        if !self.dry_run {
            s.push_str(&format!(
                "{} print file(s), written to {}\n",
                self.print_files, self.out_dir
            ));
        }
        s
    }
}

/// The campaign's template folder as a path inside the templates folder
/// (what the Typst world sees), e.g. `/campaigns/cap-invite`.
pub fn virtual_dir(config: &Config, name: &str) -> Result<String> {
    let c = config
        .campaigns
        .get(name)
        .with_context(|| format!("no [campaigns.{name}] in the config"))?;
    Ok(format!(
        "/{}",
        c.templates
            .clone()
            .unwrap_or_else(|| format!("campaigns/{name}"))
            .trim_matches('/')
    ))
}

/// Load a campaign's wording, or one error listing every problem.
pub fn load_wording(config: &Config, name: &str) -> Result<CampaignWording> {
    let dir = config
        .campaign_templates(name)
        .with_context(|| format!("no [campaigns.{name}] in the config"))?;
    CampaignWording::load(&dir).map_err(|problems| {
        anyhow::anyhow!(
            "campaign {name}: wording is not valid\n{}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// The default run folder: beside the monthly ones, `campaign-NAME-PERIOD`,
/// then `-2`, `-3`... A campaign run again reaches other households (the
/// segment's newcomers), so it never replaces an earlier run's folder,
/// whose print files may still be on their way to the mail house. An
/// explicit `--out` is taken as given.
fn out_dir(config: &Config, opts: &RunOptions, name: &str, period: Period) -> PathBuf {
    if let Some(p) = &opts.out {
        return p.clone();
    }
    let base = format!("campaign-{name}-{period}");
    let path =
        |folder: &str| config.resolve(Path::new(&config.output.dir.replace("{period}", folder)));
    let mut k = 1;
    loop {
        let folder = if k == 1 {
            base.clone()
        } else {
            format!("{base}-{k}")
        };
        let candidate = path(&folder);
        if !candidate.exists() {
            return candidate;
        }
        k += 1;
    }
}

/// Why a segment member gets no letter, if it gets none.
struct Holds<'a> {
    suppressed: HashSet<String>,
    opted_out: HashMap<String, String>,
    /// Households already sent this letter, with the period: the campaign's
    /// first sends, or for a re-issue those already re-issued for its reason.
    sent: HashMap<String, String>,
    /// A re-issue goes to households the letter reached, who were never
    /// held back, so the control and holdout checks do not apply.
    reissue: bool,
    groups: &'a HashMap<String, Group>,
    /// The monthly reports' control group, when the campaign must spare it.
    reports_control: &'a HashSet<String>,
}

impl Holds<'_> {
    fn reason(&self, h: &Household) -> Option<(Reason, String)> {
        let id = h.account_id.as_str();
        match h.status {
            Status::Vacant => {
                return Some((Reason::Vacant, format!("{}: status vacant", h.source)));
            }
            Status::Closed => {
                return Some((Reason::Closed, format!("{}: status closed", h.source)));
            }
            Status::Active => {}
        }
        if let Some(p) = self.sent.get(id) {
            let what = if self.reissue {
                "re-issued for this reason"
            } else {
                "sent"
            };
            return Some((Reason::AlreadySent, format!("{what} in the {p} run")));
        }
        if self.reissue {
            return pipeline::mail_hold(h, &self.suppressed, &self.opted_out);
        }
        if self.reports_control.contains(id) {
            return Some((
                Reason::ControlGroup,
                "in the monthly reports' control group, which campaigns do not reach \
                 (include_control = true for a letter every customer must get)"
                    .into(),
            ));
        }
        if self.groups.get(id) == Some(&Group::Control) {
            return Some((Reason::Holdout, "in the campaign's holdout group".into()));
        }
        pipeline::mail_hold(h, &self.suppressed, &self.opted_out)
    }

    /// The members to mail, and an exception for each one held back.
    fn split(&self, population: &[Household], members: &[usize]) -> (Vec<usize>, Vec<Exception>) {
        let mut mail = Vec::new();
        let mut exceptions = Vec::new();
        for &i in members {
            let h = &population[i];
            match self.reason(h) {
                Some((reason, detail)) => {
                    exceptions.push(Exception::new(h.account_id.clone(), reason, detail))
                }
                None => mail.push(i),
            }
        }
        (mail, exceptions)
    }
}

/// Who a campaign run mails, and why each other member gets nothing.
struct Chosen {
    population: Vec<Household>,
    /// Members: the segment, or for a re-issue the households sent.
    members: usize,
    /// Indices into `population` to mail.
    mail: Vec<usize>,
    exceptions: Vec<Exception>,
    /// Holdout draws to record before anything is mailed.
    enrolments: Vec<Assigned>,
    /// A re-issue's number for each household mailed (1 for the first).
    issue: HashMap<String, u32>,
}

/// The period's plan, from which a campaign chooses its members: made for
/// choosing, so it fits no weather model.
fn population_plan(
    config: &Config,
    opts: &RunOptions,
    store: Option<&crate::store::Store>,
) -> Result<pipeline::Plan> {
    let report_wording = crate::wording::load_or_error(&config.templates_dir())?;
    pipeline::plan_for(
        config,
        opts,
        &report_wording,
        store,
        pipeline::Purpose::Selection,
    )
}

/// Run a campaign: select, hold back, render, write the run folder; or,
/// with `reissue`, send the corrected letter to households already sent.
pub fn run(
    config: &Config,
    name: &str,
    opts: &RunOptions,
    reissue: Option<&Reissue>,
) -> Result<CampaignSummary> {
    crate::output::apply_umask(config.output.umask.bits());
    let campaign = config
        .campaigns
        .get(name)
        .with_context(|| format!("no [campaigns.{name}] in the config"))?;
    let wording = load_wording(config, name)?;
    let mut store = pipeline::open_store(config, opts, opts.dry_run)?;
    let plan = population_plan(config, opts, store.as_ref())?;
    let mut chosen = match reissue {
        None => choose(config, opts, name, &plan, store.as_ref())?,
        Some(r) => choose_reissue(config, opts, name, &plan, store.as_ref(), r)?,
    };
    let mut summary = CampaignSummary {
        campaign: name.to_string(),
        reissue: reissue.map(|r| r.reason.clone()),
        segment: campaign.segment.clone(),
        period: plan.period.to_string(),
        segment_members: chosen.members,
        letters: chosen.mail.len(),
        dry_run: opts.dry_run,
        ..CampaignSummary::default()
    };
    if opts.dry_run {
        count(&mut summary, &chosen.exceptions);
        return Ok(summary);
    }

    // The letter is laid out for the sample households before anything is
    // recorded: a broken template stops the run with no holdout drawn.
    let renderer = Renderer::new(&config.templates_dir(), pipeline::render_date(config))?;
    proof(config, name, &renderer, plan.period)
        .with_context(|| format!("campaign {name}: nothing was sent or recorded"))?;
    let store = store.as_mut().context("state store unavailable")?;
    let _lock = store.lock(plan.period, crate::shard::Shard::WHOLE)?;
    store.assign(&control::campaign_experiment(name), &chosen.enrolments)?;
    let target = out_dir(config, opts, name, plan.period);
    let folder = RunFolder::create(
        &target,
        &RunOf {
            campaign: Some(name.to_string()),
            period: plan.period.to_string(),
        },
    )?;
    let routes = routes(config, opts, store, &mut chosen)?;
    let mut exceptions = std::mem::take(&mut chosen.exceptions);
    let letters = Letters {
        name,
        config,
        wording: &wording,
        vdir: virtual_dir(config, name)?,
        period: plan.period,
        today: pipeline::render_date(config),
        chosen: &chosen,
        reissue,
    };
    let mailed = mail(&letters, &routes, &folder, &renderer, opts, store)?;
    exceptions.extend(mailed.exceptions);
    let rows = mailed.rows;
    output::write_rows(&folder.path("manifest.csv"), &rows)?;
    summary.print_files = mailed.print_files;
    output::write_exceptions(&folder.path("exceptions.csv"), &mut exceptions)?;
    summary.letters = rows.len();
    count(&mut summary, &exceptions);
    summary.out_dir = target.display().to_string();
    let run_json = folder.path("run.json");
    output::writing(&run_json, |p| {
        Ok(std::fs::write(p, serde_json::to_vec_pretty(&summary)?)?)
    })?;
    folder.commit()?;
    let issue = &chosen.issue;
    let sent = rows.iter().map(|r| r.account_id.as_str());
    match reissue {
        None => store.record_sends(name, plan.period, sent)?,
        Some(r) => store.record_reissues(
            name,
            plan.period,
            &r.reason,
            &r.by,
            sent.map(|a| (a, issue.get(a).copied().unwrap_or(1))),
        )?,
    }
    Ok(summary)
}

/// What mailing a campaign's letters made.
struct Mailed {
    /// The manifest: one row per letter laid out and delivered, in mailing order.
    rows: Vec<CampaignRow>,
    /// Letters the template could not lay out, or that could not be delivered.
    exceptions: Vec<Exception>,
    print_files: usize,
}

/// Lay the letters out and deliver them through the reports' own path.
fn mail(
    letters: &Letters<'_>,
    routes: &HashMap<usize, Route>,
    folder: &RunFolder,
    renderer: &Renderer,
    opts: &RunOptions,
    store: &crate::store::Store,
) -> Result<Mailed> {
    let (chosen, config) = (letters.chosen, letters.config);
    let recipients: Vec<Recipient> = chosen
        .mail
        .iter()
        .map(|i| Recipient {
            household: &chosen.population[*i],
            route: &routes[i],
        })
        .collect();
    let room = Mailroom::new(folder, config, renderer, store, opts);
    let (laid, deliveries) = room.send(letters, &recipients)?;
    let mut exceptions = laid.failed;
    let reissue = letters
        .reissue
        .map(|r| r.reason.clone())
        .unwrap_or_default();
    let mut rows = Vec::with_capacity(laid.made.len());
    for m in laid.made {
        let r = &recipients[m.k];
        match deliveries.of(r) {
            Ok(delivery) => rows.push(CampaignRow {
                sequence: m.k + 1,
                account_id: r.household.account_id.to_string(),
                language: r.household.language,
                zip: r.household.zip.to_string(),
                pdf: m.pdf,
                pages: m.pages,
                channel: r.route.channel,
                delivery,
                channel_note: r.route.fallback.clone(),
                reissue: reissue.clone(),
            }),
            Err(not_delivered) => exceptions.push(not_delivered),
        }
    }
    Ok(Mailed {
        rows,
        exceptions,
        print_files: laid.files.len(),
    })
}

/// The segment's members, less a holdout drawn once per household per
/// locality among active members, and less everyone held back.
fn choose(
    config: &Config,
    opts: &RunOptions,
    name: &str,
    plan: &pipeline::Plan,
    store: Option<&crate::store::Store>,
) -> Result<Chosen> {
    let campaign = &config.campaigns[name];
    let population = super::population(
        config,
        opts,
        Some(plan),
        super::rule(config, &campaign.segment)?,
    )?
    .households;
    let book = super::FigureBook::new(Some(plan));
    let selection = super::select(config, &population, &book, &campaign.segment)?;
    let experiment = control::campaign_experiment(name);
    let (earlier, counts, sent, opted_out) = match store {
        Some(s) => (
            s.assignments(&experiment)?,
            s.stratum_counts(&experiment)?,
            s.campaign_sends(name)?,
            s.opt_outs()?,
        ),
        None => Default::default(),
    };
    let reports_control = if campaign.include_control {
        HashSet::new()
    } else {
        reports_control(plan, store)?
    };
    let active: Vec<usize> = selection
        .members
        .iter()
        .copied()
        .filter(|&i| population[i].status == Status::Active)
        .filter(|&i| !reports_control.contains(population[i].account_id.as_str()))
        .filter(|&i| !earlier.contains_key(population[i].account_id.as_str()))
        .collect();
    let newcomers: Vec<Newcomer> = active
        .iter()
        .map(|&i| Newcomer {
            account_id: &population[i].account_id,
            stratum: &population[i].locality,
        })
        .collect();
    let drawn = control::assign(
        &newcomers,
        &counts,
        campaign.holdout,
        &config.control.salt,
        &experiment,
    );
    let enrolments: Vec<Assigned> = active
        .iter()
        .zip(&drawn)
        .map(|(&i, &group)| Assigned {
            account_id: population[i].account_id.to_string(),
            group,
            period: plan.period,
            stratum: population[i].locality.to_string(),
            rating: Some(
                book.of(&population[i].account_id)
                    .comparison
                    .map_or("none", |c| c.rating.code())
                    .to_string(),
            ),
        })
        .collect();
    let mut groups: HashMap<String, Group> =
        earlier.into_iter().map(|(k, a)| (k, a.group)).collect();
    groups.extend(enrolments.iter().map(|a| (a.account_id.clone(), a.group)));
    let holds = Holds {
        suppressed: suppressed(opts, &population, plan)?,
        opted_out,
        sent,
        reissue: false,
        groups: &groups,
        reports_control: &reports_control,
    };
    let (mail, exceptions) = holds.split(&population, &selection.members);
    Ok(Chosen {
        members: selection.members.len(),
        mail,
        exceptions,
        enrolments,
        issue: HashMap::new(),
        population,
    })
}

/// The monthly reports' control group, as recorded and as this plan draws it.
fn reports_control(
    plan: &pipeline::Plan,
    store: Option<&crate::store::Store>,
) -> Result<HashSet<String>> {
    let recorded = match store {
        Some(s) => s.assignments(control::REPORTS)?,
        None => HashMap::new(),
    };
    Ok(recorded
        .into_iter()
        .filter(|(_, a)| a.group == Group::Control)
        .map(|(k, _)| k)
        .chain(
            plan.enrolments
                .iter()
                .filter(|e| e.group == Group::Control)
                .map(|e| plan.household(e.household).account_id.to_string()),
        )
        .collect())
}

fn suppressed(
    opts: &RunOptions,
    population: &[Household],
    plan: &pipeline::Plan,
) -> Result<HashSet<String>> {
    Ok(
        pipeline::suppressed(opts.suppress.as_deref(), population, &plan.exceptions)?
            .accounts
            .into_iter()
            .collect(),
    )
}

/// The accounts a re-issue list names, each one the campaign was sent to;
/// a line naming anyone else stops the re-issue, naming its line.
fn listed_for_reissue(
    list: &crate::ingest::AccountList,
    name: &str,
    population: &[Household],
    sent: &HashMap<String, String>,
) -> Result<Vec<String>> {
    let matched = list.resolve(population.iter().map(|h| h.account_id.as_str()));
    let never: Vec<String> = list
        .entries
        .iter()
        .filter(|(a, _)| {
            matched.accounts.iter().any(|m| m.eq_ignore_ascii_case(a))
                && !sent.keys().any(|s| s.eq_ignore_ascii_case(a))
        })
        .map(|(a, line)| {
            format!(
                "{}:{line}: {a}: campaign {name} was never sent to it",
                list.file
            )
        })
        .collect();
    if !matched.unmatched.is_empty() || !never.is_empty() {
        bail!(
            "nothing re-issued:\n{}",
            matched
                .unmatched
                .into_iter()
                .chain(never)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(matched.accounts)
}

/// A re-issue's members: the households the campaign reached (or those of
/// the list, every one of which must have been sent it), less those already
/// re-issued for this reason and those held back now (opted out since,
/// closed, suppressed...). A list naming an unknown household, or one never
/// sent the campaign, refuses the whole re-issue.
fn choose_reissue(
    config: &Config,
    opts: &RunOptions,
    name: &str,
    plan: &pipeline::Plan,
    store: Option<&crate::store::Store>,
    reissue: &Reissue,
) -> Result<Chosen> {
    let store = store.context("a re-issue needs the state store: it records who was sent what")?;
    let population = population_for_preview(config, opts, plan)?;
    let sent = store.campaign_sends(name)?;
    if sent.is_empty() {
        bail!("campaign {name} has sent no letter yet: there is nothing to re-issue");
    }
    let mut exceptions = Vec::new();
    let accounts: Vec<String> = match &reissue.accounts {
        Some(list) => listed_for_reissue(list, name, &population, &sent)?,
        None => {
            let mut all: Vec<String> = sent.keys().cloned().collect();
            all.sort();
            let known: HashSet<&str> = population.iter().map(|h| h.account_id.as_str()).collect();
            all.retain(|a| {
                let here = known.contains(a.as_str());
                if !here {
                    exceptions.push(Exception::new(
                        a.clone(),
                        Reason::UnknownAccount,
                        "sent the campaign, but no longer in the customer file",
                    ));
                }
                here
            });
            all
        }
    };
    let earlier = store.campaign_reissues(name)?;
    let already: HashMap<String, String> = earlier
        .iter()
        .filter_map(|(a, r)| {
            r.iter()
                .find(|r| r.reason == reissue.reason)
                .map(|r| (a.clone(), r.period.clone()))
        })
        .collect();
    let issue = accounts
        .iter()
        .map(|a| (a.clone(), earlier.get(a).map_or(0, |r| r.len() as u32) + 1))
        .collect();
    let at: HashMap<&str, usize> = population
        .iter()
        .enumerate()
        .map(|(i, h)| (h.account_id.as_str(), i))
        .collect();
    let members: Vec<usize> = accounts.iter().map(|a| at[a.as_str()]).collect();
    let (no_groups, no_control) = (HashMap::new(), HashSet::new());
    let holds = Holds {
        suppressed: suppressed(opts, &population, plan)?,
        opted_out: store.opt_outs()?,
        sent: already,
        reissue: true,
        groups: &no_groups,
        reports_control: &no_control,
    };
    // Households sent the campaign that left the customer file count too.
    let gone = exceptions.len();
    let (mail, held) = holds.split(&population, &members);
    exceptions.extend(held);
    Ok(Chosen {
        members: members.len() + gone,
        mail,
        exceptions,
        enrolments: Vec::new(),
        issue,
        population,
    })
}

/// Each mailed member's channel: e-mail where it asked and can be reached,
/// else paper (campaign letters have no text version). A member whose
/// envelope cannot be printed leaves `mail` for the exceptions.
fn routes(
    config: &Config,
    opts: &RunOptions,
    store: &crate::store::Store,
    chosen: &mut Chosen,
) -> Result<HashMap<usize, Route>> {
    let blocks = store.channel_blocks()?;
    let default_channel: Channel = config.channels.default;
    let reachable = opts.reachable(config);
    let population = &chosen.population;
    let routes: HashMap<usize, Route> = chosen
        .mail
        .iter()
        .map(|&i| {
            let mut r = channel::route(&population[i], default_channel, &blocks, &reachable);
            if r.channel == Channel::Sms {
                r = Route {
                    channel: Channel::Mail,
                    address: String::new(),
                    fallback: "campaign letters go by paper or e-mail".into(),
                };
            }
            (i, r)
        })
        .collect();
    let exceptions = &mut chosen.exceptions;
    chosen.mail.retain(
        |i| match pipeline::unprintable(&population[*i], &routes[i]) {
            Some((reason, detail)) => {
                exceptions.push(Exception::new(
                    population[*i].account_id.clone(),
                    reason,
                    detail,
                ));
                false
            }
            None => true,
        },
    );
    Ok(routes)
}

/// A campaign's letters as a [`Mailing`]: recipient `k` is `chosen.mail[k]`.
struct Letters<'a> {
    name: &'a str,
    config: &'a Config,
    wording: &'a CampaignWording,
    /// The campaign's templates folder, as the renderer sees it.
    vdir: String,
    period: Period,
    /// The letters' date.
    today: chrono::NaiveDate,
    chosen: &'a Chosen,
    reissue: Option<&'a Reissue>,
}

impl Letters<'_> {
    fn letter(&self, k: usize) -> letter::LetterData {
        let household = &self.chosen.population[self.chosen.mail[k]];
        letter::build(
            household,
            self.period,
            self.config,
            self.wording,
            self.today,
        )
    }
}

impl Mailing for Letters<'_> {
    fn period(&self) -> Period {
        self.period
    }

    fn batch_template(&self) -> String {
        format!("{}/batch.typ", self.vdir)
    }

    fn title(&self) -> String {
        let utility = &self.config.utility.name;
        format!("{utility} campaign {} {}", self.name, self.period)
    }

    fn template_label(&self) -> String {
        format!("campaign {}: the letter", self.name)
    }

    /// A re-issue's pieces are keyed apart from the first letters'.
    fn piece_id(&self, h: &Household) -> String {
        match self.reissue {
            None => format!("{}/{}/{}", self.name, h.account_id, self.period),
            Some(_) => format!("{}-reissue/{}/{}", self.name, h.account_id, self.period),
        }
    }

    fn data(&self, k: usize) -> std::result::Result<serde_json::Value, PieceError> {
        Ok(serde_json::to_value(self.letter(k))?)
    }

    /// A re-issue's e-mails are keyed apart from the first send's.
    fn send_key(&self) -> String {
        match self.reissue {
            None => format!("campaign:{}", self.name),
            Some(r) => format!("campaign:{}:reissue:{}", self.name, r.reason),
        }
    }

    /// A re-issue's e-mails carry Message-IDs of their own, by issue.
    fn message_tag(&self, account: &str, token: &str) -> String {
        match self.reissue {
            None => format!("{}.{token}", self.name),
            Some(_) => {
                let issue = self.chosen.issue.get(account).copied().unwrap_or(1);
                format!("{}.r{issue}.{token}", self.name)
            }
        }
    }

    fn email(&self, k: usize, envelope: &Envelope<'_>, pdf: &[u8]) -> Result<lettre::Message> {
        let data = self.letter(k);
        let pdf_name = output::pdf_name(&data.account_id);
        channel::email::compose_letter(&data.text, data.lang, envelope, &pdf_name, pdf)
    }
}

fn count(summary: &mut CampaignSummary, exceptions: &[Exception]) {
    summary.exceptions = exceptions.len();
    for e in exceptions {
        *summary
            .exceptions_by_reason
            .entry(e.reason.code().to_string())
            .or_default() += 1;
    }
}

/// A household that shows every part of a campaign letter, for `check` and `proof`.
pub fn sample_household(lang: crate::model::Language) -> Household {
    let (name, account) = match lang {
        crate::model::Language::En => ("Jordan Ellis", "SAMPLE-EN"),
        crate::model::Language::Es => ("María Guadalupe Núñez", "SAMPLE-ES"),
    };
    Household {
        account_id: account.into(),
        name: name.into(),
        address_line1: "1984 Sycamore Pl".into(),
        address_line2: Some("Apt 7".into()),
        city: "Maple Valley".into(),
        state: "CA".into(),
        zip: "95616".into(),
        locality: "oak-park".into(),
        service: crate::model::Service::Water,
        occupants: Some(3),
        home_sqft: Some(1400),
        year_built: Some(1984),
        heating_fuel: None,
        language: lang,
        programs: vec!["snap".into()],
        status: Status::Active,
        do_not_mail: false,
        extra: Default::default(),
        source: "sample".into(),
    }
}

/// Lay out a campaign's letter for the sample households in both languages
/// (labelled proof pages), as one PDF: what `check` compiles and `proof` shows.
/// The single-letter template is laid out too, so both entry files are checked.
pub fn proof(
    config: &Config,
    name: &str,
    renderer: &Renderer,
    period: Period,
) -> Result<(Vec<u8>, usize)> {
    let wording = load_wording(config, name)?;
    let vdir = virtual_dir(config, name)?;
    let today = pipeline::render_date(config);
    let mut reports = Vec::new();
    for lang in crate::model::Language::ALL {
        let mut d = letter::build(&sample_household(lang), period, config, &wording, today);
        // The single letter (what `preview --campaign` shows) has its own entry file.
        renderer
            .layout_template(&format!("{vdir}/letter.typ"), serde_json::to_vec(&d)?)
            .map_err(|e| anyhow::anyhow!("campaign {name}: {e}"))?;
        d.proof_label = Some(format!("PROOF campaign {name}, {}", lang.code()));
        reports.push(serde_json::to_value(d)?);
    }
    let r = renderer
        .render_batch_template(
            &format!("{vdir}/batch.typ"),
            &format!("{} campaign {name}: proof", config.utility.name),
            &config.utility.name,
            &reports,
            &format!("proof/{name}"),
        )
        .map_err(|e| anyhow::anyhow!("campaign {name}: {e}"))?;
    Ok((r.pdf, r.pages))
}

/// Households a preview may pick: the whole customer file.
fn population_for_preview(
    config: &Config,
    opts: &RunOptions,
    plan: &pipeline::Plan,
) -> Result<Vec<Household>> {
    Ok(super::population(config, opts, Some(plan), &crate::config::Segment::default())?.households)
}

/// Render one household's campaign letter (preview).
pub fn preview(
    config: &Config,
    name: &str,
    opts: &RunOptions,
    account: &str,
    show_windows: bool,
) -> Result<(Period, Vec<u8>, usize)> {
    let wording = load_wording(config, name)?;
    let vdir = virtual_dir(config, name)?;
    let store = pipeline::open_store(config, opts, true)?;
    let plan = population_plan(config, opts, store.as_ref())?;
    let population = population_for_preview(config, opts, &plan)?;
    let Some(h) = population.iter().find(|h| h.account_id == account) else {
        bail!("no household with account_id {account:?} in the customer file");
    };
    let today = pipeline::render_date(config);
    let mut d = letter::build(h, plan.period, config, &wording, today);
    d.show_windows = show_windows;
    if show_windows && let Some(imb) = &config.print.imb {
        d.imb = Some(
            imb.for_piece(plan.period, crate::shard::Shard::WHOLE, 1, &h.zip)?
                .1,
        );
    }
    let renderer = Renderer::new(&config.templates_dir(), today)?;
    let r = renderer
        .render_template(
            &format!("{vdir}/letter.typ"),
            serde_json::to_vec(&d)?,
            &format!("{name}/{account}/{}", plan.period),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((plan.period, r.pdf, r.pages))
}
