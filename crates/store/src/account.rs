//! One household's whole story, as the store holds it: for a call-center
//! agent's lookup (`neighborly account ID`). Every query is by account id
//! on a key or an index, so the lookup stays fast at a million households.

use serde::Serialize;

use super::Store;
use super::db::{Db, Row, vals};
use anyhow::Result;

/// Everything recorded about one account.
#[derive(Debug, Default, Serialize)]
pub struct AccountRecord {
    pub letters: Vec<LetterRecord>,
    pub groups: Vec<GroupRecord>,
    /// The opt-out in force, if any.
    pub opted_out: Option<OptEvent>,
    /// Every opt-out and opt-in, oldest first.
    pub opt_history: Vec<OptEvent>,
    pub campaigns: Vec<CampaignRecord>,
    pub messages: Vec<MessageRecord>,
    pub blocked: Vec<BlockRecord>,
    pub responses: Vec<ResponseRecord>,
}

/// A monthly report decided for a period.
#[derive(Debug, Serialize)]
pub struct LetterRecord {
    pub period: String,
    pub phase: String,
    pub rating: Option<String>,
    /// The letter stepped up the ladder this period.
    pub entered: bool,
    /// Rendered and handed to print (or sent); false for a run that stopped.
    pub mailed: bool,
    pub tips: Vec<String>,
    /// The use per day the letter set as the next bill's goal.
    pub goal_per_day: Option<f64>,
}

/// Membership of an experiment: the monthly reports' control group or a
/// campaign's holdout.
#[derive(Debug, Serialize)]
pub struct GroupRecord {
    pub experiment: String,
    pub group: String,
    pub since: String,
    pub stratum: String,
}

#[derive(Debug, Serialize)]
pub struct OptEvent {
    pub action: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// A campaign letter: the first send, or a corrected letter sent again.
#[derive(Debug, Serialize)]
pub struct CampaignRecord {
    pub campaign: String,
    pub period: String,
    pub sent_at: String,
    /// Why it was sent again, for a re-issue.
    pub reissue: Option<String>,
    /// Who re-issued it.
    pub by: Option<String>,
}

/// An e-mail or text, by the period (or `campaign:NAME`) it carried.
#[derive(Debug, Serialize)]
pub struct MessageRecord {
    pub key: String,
    pub channel: String,
    pub address: String,
    pub status: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct BlockRecord {
    pub channel: String,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct ResponseRecord {
    pub date: String,
    pub event: String,
    pub campaign: String,
}

impl Store {
    /// What the store holds about `account` (as the customer file writes it).
    pub fn account(&self, account: &str) -> Result<AccountRecord> {
        let mut guard = self.db();
        let db = &mut *guard;
        let letters = letters(db, account)?;
        let groups = groups(db, account)?;
        let opt_history = opt_history(db, account)?;
        let opted_out = opt_out_in_force(db, account)?;
        let campaigns = campaigns(db, account)?;
        let messages = messages(db, account)?;
        let blocked = blocked(db, account)?;
        let responses = responses(db, account)?;
        Ok(AccountRecord {
            letters,
            groups,
            opted_out,
            opt_history,
            campaigns,
            messages,
            blocked,
            responses,
        })
    }
}

/// Every row `sql` selects for `account` (its `?1`), each made into a record.
fn each<T>(
    db: &mut Db,
    account: &str,
    sql: &str,
    record: impl Fn(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    db.query(sql, &vals![account])?.iter().map(record).collect()
}

/// The monthly reports decided for the account, by period.
fn letters(db: &mut Db, account: &str) -> Result<Vec<LetterRecord>> {
    each(
        db,
        account,
        "SELECT period, phase, rating, entered, mailed, tips, goal FROM decisions
         WHERE account_id = ?1 ORDER BY period",
        |r| {
            let tips = r.text(5)?;
            Ok(LetterRecord {
                period: r.text(0)?,
                phase: r.text(1)?,
                rating: r.opt_text(2)?,
                entered: r.int(3)? != 0,
                mailed: r.int(4)? != 0,
                tips: tips
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                goal_per_day: r.opt_real(6)?,
            })
        },
    )
}

fn groups(db: &mut Db, account: &str) -> Result<Vec<GroupRecord>> {
    each(
        db,
        account,
        "SELECT experiment, grp, period, stratum FROM assignments
         WHERE account_id = ?1 ORDER BY period, experiment",
        |r| {
            Ok(GroupRecord {
                experiment: r.text(0)?,
                group: r.text(1)?,
                since: r.text(2)?,
                stratum: r.text(3)?,
            })
        },
    )
}

fn opt_history(db: &mut Db, account: &str) -> Result<Vec<OptEvent>> {
    each(
        db,
        account,
        "SELECT action, reason, recorded_by, at FROM opt_out_log
         WHERE account_id = ?1 ORDER BY id",
        |r| {
            Ok(OptEvent {
                action: r.text(0)?,
                reason: r.text(1)?,
                by: r.text(2)?,
                at: r.text(3)?,
            })
        },
    )
}

/// The opt-out in force, read from `opt_outs` rather than the log: one
/// recorded before the log existed has no entry there.
fn opt_out_in_force(db: &mut Db, account: &str) -> Result<Option<OptEvent>> {
    let Some(r) = db.query_one(
        "SELECT reason, recorded_by, recorded_at FROM opt_outs WHERE account_id = ?1",
        &vals![account],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(OptEvent {
        action: "opt-out".into(),
        reason: r.text(0)?,
        by: r.text(1)?,
        at: r.text(2)?,
    }))
}

/// Campaign letters, first sends and re-issues together, by when they were sent.
fn campaigns(db: &mut Db, account: &str) -> Result<Vec<CampaignRecord>> {
    let mut campaigns = each(
        db,
        account,
        "SELECT campaign, period, sent_at FROM campaign_sends
         WHERE account_id = ?1 ORDER BY sent_at",
        |r| {
            Ok(CampaignRecord {
                campaign: r.text(0)?,
                period: r.text(1)?,
                sent_at: r.text(2)?,
                reissue: None,
                by: None,
            })
        },
    )?;
    campaigns.extend(each(
        db,
        account,
        "SELECT campaign, period, sent_at, reason, recorded_by FROM campaign_reissues
         WHERE account_id = ?1 ORDER BY sent_at",
        |r| {
            Ok(CampaignRecord {
                campaign: r.text(0)?,
                period: r.text(1)?,
                sent_at: r.text(2)?,
                reissue: Some(r.text(3)?),
                by: Some(r.text(4)?),
            })
        },
    )?);
    // A stable sort: a re-issue sent in the same second as its first send
    // stays after it.
    campaigns.sort_by(|a, b| a.sent_at.cmp(&b.sent_at));
    Ok(campaigns)
}

fn messages(db: &mut Db, account: &str) -> Result<Vec<MessageRecord>> {
    each(
        db,
        account,
        "SELECT period, channel, address, status, at FROM sends
         WHERE account_id = ?1 ORDER BY at",
        |r| {
            Ok(MessageRecord {
                key: r.text(0)?,
                channel: r.text(1)?,
                address: r.text(2)?,
                status: r.text(3)?,
                at: r.text(4)?,
            })
        },
    )
}

fn blocked(db: &mut Db, account: &str) -> Result<Vec<BlockRecord>> {
    each(
        db,
        account,
        "SELECT channel, reason, at FROM channel_blocks WHERE account_id = ?1 ORDER BY at",
        |r| {
            Ok(BlockRecord {
                channel: r.text(0)?,
                reason: r.text(1)?,
                at: r.text(2)?,
            })
        },
    )
}

fn responses(db: &mut Db, account: &str) -> Result<Vec<ResponseRecord>> {
    each(
        db,
        account,
        "SELECT date, event, campaign FROM responses WHERE account_id = ?1 ORDER BY date, event",
        |r| {
            Ok(ResponseRecord {
                date: r.text(0)?,
                event: r.text(1)?,
                campaign: r.text(2)?,
            })
        },
    )
}
