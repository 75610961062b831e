//! What measuring needs remembered: each household's control-group
//! assignment per experiment (written once, never changed) and the response
//! events imported from the CIS, the call center or the lab.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;

use super::{Store, now};
use crate::control::{Group, StratumCount};
use crate::model::Period;

/// One household's assignment as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub account_id: String,
    pub group: Group,
    /// The period of the run that first saw it.
    pub period: Period,
    pub stratum: String,
    /// Its rating in that period (`none` without a comparison).
    pub rating: Option<String>,
}

/// One response event: something a household did that a letter may have caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub account_id: String,
    pub date: chrono::NaiveDate,
    pub event: String,
    /// The campaign it answers, empty for none in particular.
    pub campaign: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImportCount {
    pub added: usize,
    pub already_present: usize,
}

impl Store {
    /// Every assignment of an experiment, by account.
    pub fn assignments(&self, experiment: &str) -> Result<HashMap<String, Assigned>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, grp, period, stratum, rating FROM assignments WHERE experiment = ?1",
        )?;
        let rows = stmt.query_map(params![experiment], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (account_id, group, period, stratum, rating) = row?;
            let assigned = Assigned {
                account_id: account_id.clone(),
                group: group.parse().map_err(anyhow::Error::msg)?,
                period: period.parse().map_err(anyhow::Error::msg)?,
                stratum,
                rating,
            };
            out.insert(account_id, assigned);
        }
        Ok(out)
    }

    /// Earlier assignments of an experiment counted per stratum.
    pub fn stratum_counts(&self, experiment: &str) -> Result<HashMap<String, StratumCount>> {
        let mut stmt = self.conn.prepare(
            "SELECT stratum, COUNT(*), SUM(grp = 'control') FROM assignments
             WHERE experiment = ?1 GROUP BY stratum",
        )?;
        let rows = stmt.query_map(params![experiment], |r| {
            Ok((
                r.get::<_, String>(0)?,
                StratumCount {
                    assigned: r.get::<_, i64>(1)? as usize,
                    control: r.get::<_, i64>(2)? as usize,
                },
            ))
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Record new assignments. An account already assigned in the experiment
    /// keeps its first assignment: the insert is ignored. Returns how many were new.
    pub fn assign<'a>(
        &mut self,
        experiment: &str,
        assignments: impl IntoIterator<Item = &'a Assigned>,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO assignments
                 (experiment, account_id, grp, period, stratum, rating, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let at = now();
            for a in assignments {
                added += stmt.execute(params![
                    experiment,
                    a.account_id,
                    a.group.code(),
                    a.period.to_string(),
                    a.stratum,
                    a.rating,
                    at
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Add response events; an event already stored (same account, date,
    /// event and campaign) is not added again, so re-importing a file is harmless.
    pub fn import_responses<'a>(
        &mut self,
        source: &str,
        events: impl IntoIterator<Item = &'a Response>,
    ) -> Result<ImportCount> {
        let tx = self.conn.transaction()?;
        let mut count = ImportCount::default();
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO responses (account_id, date, event, campaign, source, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let at = now();
            for e in events {
                let n = stmt.execute(params![
                    e.account_id,
                    e.date.to_string(),
                    e.event,
                    e.campaign,
                    source,
                    at
                ])?;
                if n == 1 {
                    count.added += 1;
                } else {
                    count.already_present += 1;
                }
            }
        }
        tx.commit()?;
        Ok(count)
    }

    /// Response events dated within `[from, to]`.
    pub fn responses(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<Response>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, date, event, campaign FROM responses
             WHERE date >= ?1 AND date <= ?2 ORDER BY account_id, date, event",
        )?;
        let rows = stmt.query_map(params![from.to_string(), to.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (account_id, date, event, campaign) = row?;
            out.push(Response {
                account_id,
                date: date.parse()?,
                event,
                campaign,
            });
        }
        Ok(out)
    }

    /// Accounts a campaign letter was sent to, with the period of the run.
    pub fn campaign_sends(&self, campaign: &str) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_id, period FROM campaign_sends WHERE campaign = ?1")?;
        let rows = stmt.query_map(params![campaign], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Record that a campaign's letters went out (first send wins).
    pub fn record_sends<'a>(
        &mut self,
        campaign: &str,
        period: Period,
        accounts: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO campaign_sends (campaign, account_id, period, sent_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let at = now();
            for a in accounts {
                stmt.execute(params![campaign, a, period.to_string(), at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Number of stored response events (for import summaries and tests).
    pub fn response_count(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM responses", [], |r| r.get(0))?;
        Ok(n as usize)
    }
}
