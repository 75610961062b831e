//! What measuring needs remembered: each household's control-group
//! assignment per experiment (written once, never changed) and the response
//! events imported from the CIS, the call center or the lab.

use std::collections::HashMap;

use super::db::vals;
use super::{Store, now};
use anyhow::{Context, Result};
use neighborly_core::control::{Group, StratumCount};
use neighborly_core::model::Period;

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

pub use neighborly_core::ingest::responses::Response;

/// One corrected letter a household was sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct Reissued {
    pub reason: String,
    /// 1 for the first re-issue to this household, then 2, 3...
    pub issue: u32,
    pub period: String,
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
        let rows = self.db().query(
            "SELECT account_id, grp, period, stratum, rating FROM assignments WHERE experiment = ?1",
            &vals![experiment],
        )?;
        let mut out = HashMap::new();
        for r in rows {
            let (account_id, group, period, stratum, rating) = (
                r.text(0)?,
                r.text(1)?,
                r.text(2)?,
                r.text(3)?,
                r.opt_text(4)?,
            );
            let assigned = Assigned {
                account_id: account_id.clone(),
                group: group.parse()?,
                period: period.parse()?,
                stratum,
                rating,
            };
            out.insert(account_id, assigned);
        }
        Ok(out)
    }

    /// Earlier assignments of an experiment counted per stratum.
    pub fn stratum_counts(&self, experiment: &str) -> Result<HashMap<String, StratumCount>> {
        self.db()
            .query(
                "SELECT stratum, COUNT(*), SUM(CASE WHEN grp = 'control' THEN 1 ELSE 0 END)
                 FROM assignments WHERE experiment = ?1 GROUP BY stratum",
                &vals![experiment],
            )?
            .into_iter()
            .map(|r| {
                Ok((
                    r.text(0)?,
                    StratumCount {
                        assigned: r.int(1)? as usize,
                        control: r.int(2)? as usize,
                    },
                ))
            })
            .collect()
    }

    /// Record new assignments. An account already assigned in the experiment
    /// keeps its first assignment: the insert is ignored. Returns how many were new.
    pub fn assign(
        &self,
        experiment: &str,
        assignments: impl IntoIterator<Item = impl std::borrow::Borrow<Assigned>>,
    ) -> Result<usize> {
        let at = now();
        let added = self.db().insert_many(
            "INSERT INTO assignments
             (experiment, account_id, grp, period, stratum, rating, recorded_at) VALUES",
            7,
            "ON CONFLICT DO NOTHING",
            assignments.into_iter().map(|a| {
                let a = a.borrow();
                vals![
                    experiment,
                    &a.account_id,
                    a.group.code(),
                    a.period.to_string(),
                    &a.stratum,
                    a.rating.as_deref(),
                    at.as_str()
                ]
            }),
        )?;
        Ok(added as usize)
    }

    /// Add response events; an event already stored (same account, date,
    /// event and campaign) is not added again, so re-importing a file is harmless.
    pub fn import_responses<'a>(
        &mut self,
        source: &str,
        events: impl IntoIterator<Item = &'a Response>,
    ) -> Result<ImportCount> {
        let at = now();
        let events: Vec<&Response> = events.into_iter().collect();
        let added = self.db().insert_many(
            "INSERT INTO responses (account_id, date, event, campaign, source, imported_at) VALUES",
            6,
            "ON CONFLICT DO NOTHING",
            events.iter().map(|e| {
                vals![
                    &e.account_id,
                    e.date.to_string(),
                    &e.event,
                    &e.campaign,
                    source,
                    at.as_str()
                ]
            }),
        )? as usize;
        Ok(ImportCount {
            added,
            already_present: events.len() - added,
        })
    }

    /// Response events dated within `[from, to]`.
    pub fn responses(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<Response>> {
        let rows = self.db().query(
            "SELECT account_id, date, event, campaign FROM responses
             WHERE date >= ?1 AND date <= ?2 ORDER BY account_id, date, event",
            &vals![from.to_string(), to.to_string()],
        )?;
        rows.into_iter()
            .map(|r| {
                Ok(Response {
                    account_id: r.text(0)?,
                    date: r.text(1)?.parse()?,
                    event: r.text(2)?,
                    campaign: r.text(3)?,
                })
            })
            .collect()
    }

    /// Control households of `experiment` that anything reached: for the
    /// monthly reports, a mailed report, a campaign letter or a message; for
    /// a campaign, that campaign's letter.
    pub fn control_reached(&self, experiment: &str, campaign: Option<&str>) -> Result<usize> {
        let row = match campaign {
            Some(c) => self.db().query_one(
                "SELECT COUNT(DISTINCT a.account_id) FROM assignments a
                 JOIN campaign_sends c ON c.account_id = a.account_id AND c.campaign = ?2
                 WHERE a.experiment = ?1 AND a.grp = 'control'",
                &vals![experiment, c],
            )?,
            None => self.db().query_one(
                "SELECT COUNT(DISTINCT a.account_id) FROM assignments a
                 WHERE a.experiment = ?1 AND a.grp = 'control' AND (
                   EXISTS (SELECT 1 FROM decisions d WHERE d.account_id = a.account_id AND d.mailed = 1)
                   OR EXISTS (SELECT 1 FROM campaign_sends c WHERE c.account_id = a.account_id)
                   OR EXISTS (SELECT 1 FROM sends s WHERE s.account_id = a.account_id AND s.status = 'sent'))",
                &vals![experiment],
            )?,
        };
        Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0) as usize)
    }

    /// Control households of `experiment` sent a message under keys that
    /// start with `prefix` (`alert:`): for an experiment whose treatment is
    /// those messages, not the letters every household gets.
    pub fn control_sent_under(&self, experiment: &str, prefix: &str) -> Result<usize> {
        let sent = self.sent_under(prefix)?;
        let accounts: std::collections::HashSet<&str> =
            sent.iter().map(|(account, _)| account.as_str()).collect();
        Ok(self
            .assignments(experiment)?
            .values()
            .filter(|a| a.group == Group::Control && accounts.contains(a.account_id.as_str()))
            .count())
    }

    /// Accounts a campaign letter was sent to, with the period of the run.
    pub fn campaign_sends(&self, campaign: &str) -> Result<HashMap<String, String>> {
        self.db()
            .query(
                "SELECT account_id, period FROM campaign_sends WHERE campaign = ?1",
                &vals![campaign],
            )?
            .into_iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .collect()
    }

    /// Record that a campaign's letters went out (first send wins).
    pub fn record_sends<'a>(
        &mut self,
        campaign: &str,
        period: Period,
        accounts: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let (at, p) = (now(), period.to_string());
        self.db().insert_many(
            "INSERT INTO campaign_sends (campaign, account_id, period, sent_at) VALUES",
            4,
            "ON CONFLICT DO NOTHING",
            accounts
                .into_iter()
                .map(|a| vals![campaign, a, p.as_str(), at.as_str()]),
        )?;
        Ok(())
    }

    /// A campaign's re-issues: for each household, the reasons it was sent
    /// a corrected letter for, with the re-issue's number and period.
    pub fn campaign_reissues(&self, campaign: &str) -> Result<HashMap<String, Vec<Reissued>>> {
        let mut out: HashMap<String, Vec<Reissued>> = HashMap::new();
        for r in self.db().query(
            "SELECT account_id, reason, issue, period FROM campaign_reissues
             WHERE campaign = ?1 ORDER BY account_id, issue",
            &vals![campaign],
        )? {
            out.entry(r.text(0)?).or_default().push(Reissued {
                reason: r.text(1)?,
                issue: r.int(2)? as u32,
                period: r.text(3)?,
            });
        }
        Ok(out)
    }

    /// Record that corrected letters went out for `reason` (first record wins,
    /// so a re-run of the same re-issue records nothing twice).
    pub fn record_reissues<'a>(
        &mut self,
        campaign: &str,
        period: Period,
        reason: &str,
        by: &str,
        accounts: impl IntoIterator<Item = (&'a str, u32)>,
    ) -> Result<()> {
        let (at, p) = (now(), period.to_string());
        self.db().insert_many(
            "INSERT INTO campaign_reissues (campaign, account_id, reason, issue, period, recorded_by, sent_at) VALUES",
            7,
            "ON CONFLICT DO NOTHING",
            accounts.into_iter().map(|(a, issue)| {
                vals![campaign, a, reason, issue as i64, p.as_str(), by, at.as_str()]
            }),
        )?;
        Ok(())
    }

    /// Number of stored response events (for import summaries and tests).
    pub fn response_count(&self) -> Result<usize> {
        let row = self
            .db()
            .query_one("SELECT COUNT(*) FROM responses", &[])?
            .context("COUNT returned no row")?;
        Ok(row.int(0)? as usize)
    }
}
