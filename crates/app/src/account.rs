//! `neighborly account ID`: one household's whole story on one screen, for
//! the agent who takes its call. The customer record, every letter by
//! period with the figures its page printed (from the run folder's
//! manifest, where the folder is still there), campaigns, e-mails and texts
//! and their bounces, control-group or holdout membership, opt-outs with
//! who recorded them, and responses.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::exception::Exception;
use crate::model::{Household, Period};
use crate::store::{AccountRecord, Store};

/// The view an agent reads.
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub account_id: String,
    /// The customer row as read; None when the row was set aside.
    pub customer: Option<Customer>,
    /// Why the customer row could not be read, when it could not.
    pub rejected: Option<String>,
    /// What the run folders' manifests printed, by period.
    pub reports: Vec<PrintedReport>,
    pub store: AccountRecord,
}

#[derive(Debug, Serialize)]
pub struct Customer {
    pub name: String,
    pub address: Vec<String>,
    pub locality: String,
    pub language: String,
    pub status: String,
    pub do_not_mail: bool,
    pub channel: String,
    pub programs: Vec<String>,
    pub source: String,
}

/// One manifest row of the account: what its letter said.
#[derive(Debug, Serialize)]
pub struct PrintedReport {
    pub period: String,
    pub phase: String,
    pub rating: String,
    pub usage_per_day: String,
    pub neighbors_median_per_day: String,
    pub unit: String,
    pub cost: String,
    pub goal_per_day: String,
    pub last_goal: String,
    pub channel: String,
    pub delivery: String,
    pub pdf: String,
}

/// Look an account up: `account` as the customer file writes it, or in
/// another case when one account matches (INPUTS.md, "Account lists").
pub fn look_up(
    config: &Config,
    account: &str,
    state: Option<crate::store::StoreLocation>,
    customers: Option<&PathBuf>,
) -> Result<AccountView> {
    let list = crate::ingest::AccountList::one(account);
    let (data, path) = crate::target::read_customer_file(config, customers)?;
    let id = crate::target::resolve_in(&data, &path, &list)?
        .into_iter()
        .next()
        .unwrap_or_else(|| account.to_string());
    let customer = data
        .households
        .iter()
        .find(|h| h.account_id == id)
        .map(customer_of);
    let rejected = data
        .exceptions
        .iter()
        .filter(|e| e.account_id == id)
        .map(|e: &Exception| format!("{}: {}", e.reason.code(), e.detail))
        .next();
    let location = state.unwrap_or_else(|| config.state_location());
    let store = if location.exists() {
        Store::open(&location, config.store.wait())?.account(&id)?
    } else {
        AccountRecord::default()
    };
    let mut reports = Vec::new();
    for letter in &store.letters {
        let Ok(period) = letter.period.parse::<Period>() else {
            continue;
        };
        let folder = config.resolve(Path::new(
            &config.output.dir.replace("{period}", &period.to_string()),
        ));
        if let Some(r) = printed(&folder, &id, period)? {
            reports.push(r);
        }
    }
    Ok(AccountView {
        account_id: id,
        customer,
        rejected,
        reports,
        store,
    })
}

fn customer_of(h: &Household) -> Customer {
    Customer {
        name: h.name.to_string(),
        address: crate::report::recipient_block(h)
            .into_iter()
            .skip(1)
            .collect(),
        locality: h.locality.to_string(),
        language: h.language.code().into(),
        status: format!("{:?}", h.status).to_lowercase(),
        do_not_mail: h.do_not_mail,
        channel: h
            .extra
            .get("channel")
            .map(str::to_string)
            .unwrap_or_default(),
        programs: h.programs.clone(),
        source: h.source.to_string(),
    }
}

/// The account's row of a run folder's manifest, if the folder is there.
fn printed(folder: &Path, account: &str, period: Period) -> Result<Option<PrintedReport>> {
    let path = folder.join("manifest.csv");
    if !path.exists() {
        return Ok(None);
    }
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let Some(at) = col("account_id") else {
        return Ok(None);
    };
    for row in reader.records() {
        let row = row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if row.get(at) != Some(account) {
            continue;
        }
        let get = |name: &str| col(name).and_then(|i| row.get(i)).unwrap_or("").to_string();
        let pdf = get("pdf");
        return Ok(Some(PrintedReport {
            period: period.to_string(),
            phase: get("phase"),
            rating: get("rating"),
            usage_per_day: get("usage_per_day"),
            neighbors_median_per_day: get("neighbors_median_per_day"),
            unit: get("unit"),
            cost: get("cost"),
            goal_per_day: get("goal_per_day"),
            last_goal: get("last_goal"),
            channel: get("channel"),
            delivery: get("delivery"),
            pdf: if pdf.is_empty() {
                pdf
            } else {
                folder.join(pdf).display().to_string()
            },
        }));
    }
    Ok(None)
}

/// Opting out, or back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    Out,
    In,
}

/// Record an opt-out (or an opt-in) for every account of `list`, matched
/// against the customer file first: an entry of no customer records
/// nothing at all. Returns one line per account for the operator.
pub fn record_opt(
    config: &Config,
    store: &Store,
    list: &crate::ingest::AccountList,
    opt: Opt,
    reason: &str,
    by: &str,
) -> Result<Vec<String>> {
    let accounts = crate::target::resolve_accounts(config, None, list)?;
    accounts
        .iter()
        .map(|a| {
            Ok(match opt {
                Opt::Out if store.opt_out(a, reason, by)? => {
                    format!("{a} opted out ({reason}); no further reports will be mailed")
                }
                Opt::Out => format!("{a} had already opted out"),
                Opt::In if store.opt_in(a, reason, by)? => {
                    format!("{a} opted in again ({reason}); reports resume with the next run")
                }
                Opt::In => format!("{a} had not opted out"),
            })
        })
        .collect()
}

impl AccountView {
    /// The screen an agent reads: who the household is, whether it may be
    /// written to, its groups, its letters with what they printed, then
    /// every other contact and response.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "account {}", self.account_id);
        self.write_customer(&mut s);
        write_opt_outs(&mut s, &self.store);
        write_groups(&mut s, &self.store);
        self.write_letters(&mut s);
        write_contacts(&mut s, &self.store);
        write_responses(&mut s, &self.store);
        s
    }

    /// The customer row, or why it was set aside.
    fn write_customer(&self, s: &mut String) {
        match (&self.customer, &self.rejected) {
            (Some(c), _) => {
                let _ = writeln!(s, "  {} ({})", c.name, c.source);
                for line in &c.address {
                    let _ = writeln!(s, "  {line}");
                }
                let _ = writeln!(
                    s,
                    "  locality {}, language {}, status {}{}{}",
                    c.locality,
                    c.language,
                    c.status,
                    if c.do_not_mail { ", do not mail" } else { "" },
                    if c.channel.is_empty() {
                        String::new()
                    } else {
                        format!(", channel {}", c.channel)
                    }
                );
                if !c.programs.is_empty() {
                    let _ = writeln!(s, "  programs: {}", c.programs.join(", "));
                }
            }
            (None, Some(why)) => {
                let _ = writeln!(s, "  customer row set aside: {why}");
            }
            (None, None) => {}
        }
    }

    /// Every letter the store recorded, each with the figures its page
    /// printed when the run folder is still there.
    fn write_letters(&self, s: &mut String) {
        s.push_str("letters:\n");
        if self.store.letters.is_empty() {
            s.push_str("  none recorded\n");
        }
        for l in &self.store.letters {
            let _ = write!(
                s,
                "  {} {}{} rating {}{}",
                l.period,
                l.phase,
                if l.entered { " (stepped up)" } else { "" },
                l.rating.as_deref().unwrap_or("none"),
                if l.mailed { "" } else { ", not mailed" }
            );
            if let Some(g) = l.goal_per_day {
                let _ = write!(s, ", goal {g:.1}/day");
            }
            s.push('\n');
            if !l.tips.is_empty() {
                let _ = writeln!(s, "    tips: {}", l.tips.join(", "));
            }
            if let Some(r) = self.reports.iter().find(|r| r.period == l.period) {
                write_printed(s, r);
            }
        }
    }
}

/// The opt-out in force (or that there is none), then every opt-out and
/// opt-in with who recorded it.
fn write_opt_outs(s: &mut String, st: &AccountRecord) {
    match &st.opted_out {
        Some(o) => {
            let _ = writeln!(
                s,
                "opted out {} by {}: {}",
                o.at,
                if o.by.is_empty() { "?" } else { &o.by },
                o.reason
            );
        }
        None => s.push_str("not opted out\n"),
    }
    for o in &st.opt_history {
        let _ = writeln!(s, "  {} {} by {}: {}", o.at, o.action, o.by, o.reason);
    }
}

/// The control groups and holdouts the household is in.
fn write_groups(s: &mut String, st: &AccountRecord) {
    for g in &st.groups {
        let _ = writeln!(
            s,
            "{} group of {} since {} (stratum {})",
            g.group, g.experiment, g.since, g.stratum
        );
    }
}

/// What a letter's page printed, from its run's manifest: an empty figure
/// is one the page did not show.
fn write_printed(s: &mut String, r: &PrintedReport) {
    let _ = writeln!(
        s,
        "    used {} {} (neighbors {}), charges {}, goal {}{}; {} {}",
        r.usage_per_day,
        r.unit,
        if r.neighbors_median_per_day.is_empty() {
            "not compared"
        } else {
            &r.neighbors_median_per_day
        },
        if r.cost.is_empty() { "none" } else { &r.cost },
        if r.goal_per_day.is_empty() {
            "none"
        } else {
            &r.goal_per_day
        },
        if r.last_goal.is_empty() {
            String::new()
        } else {
            format!(", last goal {}", r.last_goal)
        },
        r.channel,
        r.delivery
    );
    if !r.pdf.is_empty() {
        let _ = writeln!(s, "    {}", r.pdf);
    }
}

/// Campaign letters (re-issues with who asked and why), e-mails and texts,
/// and the channels closed by bounces or replies.
fn write_contacts(s: &mut String, st: &AccountRecord) {
    for c in &st.campaigns {
        match (&c.reissue, &c.by) {
            (Some(reason), by) => writeln!(
                s,
                "campaign {} ({}) re-issued {} by {}: {reason}",
                c.campaign,
                c.period,
                c.sent_at,
                by.as_deref().unwrap_or("")
            ),
            (None, _) => writeln!(
                s,
                "campaign {} ({}) sent {}",
                c.campaign, c.period, c.sent_at
            ),
        }
        .ok();
    }
    for m in &st.messages {
        let _ = writeln!(
            s,
            "{} {} to {}: {} {}",
            m.key, m.channel, m.address, m.status, m.at
        );
    }
    for b in &st.blocked {
        let _ = writeln!(s, "{} closed {}: {}", b.channel, b.at, b.reason);
    }
}

/// The household's recorded responses, with the campaign each answered.
fn write_responses(s: &mut String, st: &AccountRecord) {
    for r in &st.responses {
        let campaign = if r.campaign.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.campaign)
        };
        let _ = writeln!(s, "response {} {}{campaign}", r.date, r.event);
    }
}
