//! What the call-rate learning reads: mailed letters, their runs' mail
//! dates and the imported calls; and each run's forecast, to set beside the
//! calls that came.

use std::collections::HashMap;

use anyhow::Result;
use chrono::NaiveDate;
use neighborly_core::calls::{LearnedRate, Mailed, called};
use neighborly_core::model::Period;
use neighborly_core::phase::Phase;

use super::Store;
use super::db::{Val, vals};

/// A run's recorded forecast per phase, with the calls its entering
/// letters drew so far: the period, then (forecast, calls) per phase.
pub type LastRun = (Period, Vec<(RecordedForecast, usize)>);

/// The households that called: their mailed letters and their call days,
/// by account. Read once per run ([`Store::callers`]) for both the learned
/// rates and the last run's calls.
#[derive(Debug, Default)]
pub struct Callers {
    mailed: HashMap<String, Vec<Mailed>>,
    calls: HashMap<String, Vec<NaiveDate>>,
}

/// One phase of a run's recorded forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedForecast {
    pub phase: Phase,
    pub letters: usize,
    pub entering: usize,
    pub call_rate: f64,
    pub expected_calls: f64,
}

impl Store {
    /// Learned call rates per phase, as of `as_of`: the entering letters of
    /// finished runs mailed at least `window_days` before it, and the share
    /// of them whose household called within the window (calls imported as
    /// `call` response events). Only households that called are read one
    /// by one, so this stays quick at a million letters.
    pub fn learned_call_rates(
        &self,
        callers: &Callers,
        as_of: NaiveDate,
        window_days: i64,
    ) -> Result<Vec<LearnedRate>> {
        let cutoff = (as_of - chrono::Days::new(window_days.max(0) as u64)).to_string();
        let mut letters: HashMap<Phase, usize> = HashMap::new();
        for r in self.db().query(
            "SELECT d.phase, COUNT(*) FROM decisions d JOIN runs r ON r.id = d.run_id
             WHERE d.mailed = 1 AND d.entered = 1 AND r.finished_at IS NOT NULL
               AND r.mailed_on <> '' AND r.mailed_on <= ?1
             GROUP BY d.phase",
            &vals![cutoff.clone()],
        )? {
            if let Ok(p) = r.text(0)?.parse::<Phase>() {
                letters.insert(p, r.int(1)? as usize);
            }
        }
        let mut did_call: HashMap<Phase, usize> = HashMap::new();
        for (account, letters_of) in &callers.mailed {
            let Some(days) = callers.calls.get(account) else {
                continue;
            };
            for i in called(letters_of, days, window_days) {
                let l = &letters_of[i];
                if l.entered && l.mailed_on.to_string() <= cutoff {
                    *did_call.entry(l.phase).or_default() += 1;
                }
            }
        }
        Ok(Phase::ALL
            .iter()
            .map(|p| {
                LearnedRate::new(
                    *p,
                    letters.get(p).copied().unwrap_or(0),
                    did_call.get(p).copied().unwrap_or(0),
                )
            })
            .collect())
    }

    /// Every mailed letter of the households that called, and their calls.
    pub fn callers(&self) -> Result<Callers> {
        let mut mailed: HashMap<String, Vec<Mailed>> = HashMap::new();
        for r in self.db().query(
            "SELECT d.account_id, d.period, d.phase, d.entered, r.mailed_on
             FROM decisions d JOIN runs r ON r.id = d.run_id
             WHERE d.mailed = 1 AND r.finished_at IS NOT NULL AND r.mailed_on <> ''
               AND d.account_id IN (SELECT account_id FROM responses WHERE event = 'call')",
            &[],
        )? {
            let (Ok(period), Ok(phase), Ok(on)) = (
                r.text(1)?.parse::<Period>(),
                r.text(2)?.parse::<Phase>(),
                NaiveDate::parse_from_str(&r.text(4)?, "%Y-%m-%d"),
            ) else {
                continue;
            };
            mailed.entry(r.text(0)?).or_default().push(Mailed {
                period,
                phase,
                entered: r.int(3)? != 0,
                mailed_on: on,
            });
        }
        let mut calls: HashMap<String, Vec<NaiveDate>> = HashMap::new();
        for r in self.db().query(
            "SELECT account_id, date FROM responses WHERE event = 'call'",
            &[],
        )? {
            if let Ok(d) = NaiveDate::parse_from_str(&r.text(1)?, "%Y-%m-%d") {
                calls.entry(r.text(0)?).or_default().push(d);
            }
        }
        Ok(Callers { mailed, calls })
    }

    /// Keep a run's forecast, to compare with the calls that come.
    pub fn record_forecast(
        &self,
        period: Period,
        shard: &str,
        rows: &[RecordedForecast],
    ) -> Result<()> {
        for f in rows {
            self.db().execute(
                "INSERT INTO forecasts (period, shard, phase, letters, entering, call_rate, expected_calls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (period, shard, phase) DO UPDATE SET letters = excluded.letters,
                 entering = excluded.entering, call_rate = excluded.call_rate,
                 expected_calls = excluded.expected_calls",
                &vals![
                    period.to_string(),
                    shard,
                    f.phase.code(),
                    f.letters as i64,
                    f.entering as i64,
                    Val::Real(f.call_rate),
                    Val::Real(f.expected_calls)
                ],
            )?;
        }
        Ok(())
    }

    /// The latest period before `period` with a recorded forecast, its rows
    /// (shards summed) and, per phase, the entering households of that
    /// period that called within the window so far.
    pub fn last_forecast_and_calls(
        &self,
        callers: &Callers,
        period: Period,
        window_days: i64,
    ) -> Result<Option<LastRun>> {
        let Some(last) = self
            .db()
            .query_one(
                "SELECT MAX(period) FROM forecasts WHERE period < ?1",
                &vals![period.to_string()],
            )?
            .and_then(|r| r.opt_text(0).ok().flatten())
            .and_then(|p| p.parse::<Period>().ok())
        else {
            return Ok(None);
        };
        let mut rows = Vec::new();
        for r in self.db().query(
            "SELECT phase, SUM(letters), SUM(entering), MAX(call_rate), SUM(expected_calls)
             FROM forecasts WHERE period = ?1 GROUP BY phase",
            &vals![last.to_string()],
        )? {
            let Ok(phase) = r.text(0)?.parse::<Phase>() else {
                continue;
            };
            rows.push(RecordedForecast {
                phase,
                letters: r.int(1)? as usize,
                entering: r.int(2)? as usize,
                call_rate: r.opt_real(3)?.unwrap_or(0.0),
                expected_calls: r.opt_real(4)?.unwrap_or(0.0),
            });
        }
        // Calls so far to that period's entering letters.
        let mut came: HashMap<Phase, usize> = HashMap::new();
        for (account, days) in &callers.calls {
            let Some(letters) = callers.mailed.get(account) else {
                continue;
            };
            for day in days {
                for i in called(letters, std::slice::from_ref(day), window_days) {
                    if letters[i].period == last && letters[i].entered {
                        *came.entry(letters[i].phase).or_default() += 1;
                    }
                }
            }
        }
        Ok(Some((
            last,
            rows.into_iter()
                .map(|f| {
                    let n = came.get(&f.phase).copied().unwrap_or(0);
                    (f, n)
                })
                .collect(),
        )))
    }
}
