//! Store: what neighborly remembers between runs, in SQLite.
//!
//! Per household and period it keeps the rating, the phase decided, the
//! ladder state and whether the letter was mailed; per run its period, config
//! fingerprint and times; and opt-outs. Decisions are keyed by
//! (account, period) and never overwritten, so re-running a period reproduces
//! its phases even after later periods ran. A lock file held for the whole run
//! keeps two runs from writing at once. Control-group assignments and
//! response events live beside them (`store/measure.rs`).

mod channels;
mod measure;
pub use measure::{Assigned, ImportCount, Response};

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::Period;
use crate::phase::{Decision, Ladder, Phase};

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
const MIGRATIONS: &[&str] = &[
    // 1: runs, decisions, opt-outs.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        period TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        households INTEGER,
        mailed INTEGER,
        exceptions INTEGER
    );
    CREATE TABLE decisions (
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        rating TEXT,
        phase TEXT NOT NULL,
        ladder_step TEXT,
        ladder_letters INTEGER NOT NULL,
        entered INTEGER NOT NULL,
        mailed INTEGER NOT NULL DEFAULT 0,
        tips TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (account_id, period)
    ) WITHOUT ROWID;
    CREATE TABLE opt_outs (
        account_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );",
    // 2: control-group assignments and response events.
    "CREATE TABLE assignments (
        experiment TEXT NOT NULL,
        account_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        period TEXT NOT NULL,
        stratum TEXT NOT NULL,
        rating TEXT,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (experiment, account_id)
    ) WITHOUT ROWID;
    CREATE TABLE responses (
        account_id TEXT NOT NULL,
        date TEXT NOT NULL,
        event TEXT NOT NULL,
        campaign TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (account_id, date, event, campaign)
    ) WITHOUT ROWID;
    CREATE TABLE campaign_sends (
        campaign TEXT NOT NULL,
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (campaign, account_id)
    ) WITHOUT ROWID;",
    // 3: the goal each letter set for the next period (use per day).
    "ALTER TABLE decisions ADD COLUMN goal REAL;",
    // 4: e-mails and texts sent (or being sent), and addresses that must not
    // be used again (hard bounces, failed numbers, unsubscribes, STOP).
    "CREATE TABLE sends (
        account_id TEXT NOT NULL,
        period TEXT NOT NULL,
        channel TEXT NOT NULL,
        message_id TEXT NOT NULL,
        address TEXT NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (account_id, period, channel)
    ) WITHOUT ROWID;
    CREATE TABLE channel_blocks (
        account_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (account_id, channel)
    ) WITHOUT ROWID;",
];

/// A household's last mailed letter before a period.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub period: Period,
    pub ladder: Ladder,
    pub tips: Vec<String>,
    /// The use per day that letter set as the goal for the period after it.
    pub goal: Option<f64>,
}

/// A decision already recorded for the period being run.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub phase: Phase,
    pub ladder: Ladder,
    pub entered: bool,
    pub tips: Vec<String>,
    pub goal: Option<f64>,
}

/// One letter's decision as recorded: account, rating, phase decision,
/// tips, and the goal it sets for the next period.
pub type Recording<'a> = (
    &'a str,
    Option<&'a str>,
    &'a Decision,
    &'a [String],
    Option<f64>,
);

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Held while a run writes; released when dropped (or when the process dies).
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub(crate) fn now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

fn ladder_from(step: Option<String>, letters: i64) -> Ladder {
    Ladder {
        step: step.and_then(|s| s.parse().ok()),
        letters: letters as u32,
    }
}

fn split_tips(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// Open (creating if needed) and migrate the database.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open state database {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            bail!(
                "{} was written by a newer neighborly (schema {version}, this one knows {})",
                path.display(),
                MIGRATIONS.len()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("migration {} failed", i + 1))?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Take the run lock, or explain who holds it.
    pub fn lock(&self, period: Period) -> Result<RunLock> {
        let path = self.path.with_extension("lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot create lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                bail!(
                    "another neighborly run is writing to {} ({}); wait for it to finish",
                    self.path.display(),
                    holder.trim()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).context("cannot lock the state database");
            }
        }
        file.set_len(0)?;
        write!(
            file,
            "period {period}, pid {}, started {}",
            std::process::id(),
            now()
        )?;
        file.flush()?;
        Ok(RunLock { _file: file, path })
    }

    pub fn begin_run(&self, period: Period, config_hash: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (period, config_hash, started_at) VALUES (?1, ?2, ?3)",
            params![period.to_string(), config_hash, now()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_run(
        &self,
        run: i64,
        households: usize,
        mailed: usize,
        exceptions: usize,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET finished_at = ?2, households = ?3, mailed = ?4, exceptions = ?5 WHERE id = ?1",
            params![run, now(), households as i64, mailed as i64, exceptions as i64],
        )?;
        Ok(())
    }

    /// Every account's last mailed letter before `period`.
    pub fn history_before(&self, period: Period) -> Result<HashMap<String, History>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, period, ladder_step, ladder_letters, tips, goal FROM decisions d
             WHERE mailed = 1 AND period < ?1 AND period = (
                SELECT MAX(period) FROM decisions e
                WHERE e.account_id = d.account_id AND e.mailed = 1 AND e.period < ?1)",
        )?;
        let rows = stmt.query_map(params![period.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<f64>>(5)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (account, p, step, letters, tips, goal) = row?;
            let period = p.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            out.insert(
                account,
                History {
                    period,
                    ladder: ladder_from(step, letters),
                    tips: split_tips(&tips),
                    goal,
                },
            );
        }
        Ok(out)
    }

    /// Decisions already recorded for `period` (a re-run reproduces them).
    pub fn recorded(&self, period: Period) -> Result<HashMap<String, Recorded>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, phase, ladder_step, ladder_letters, entered, tips, goal FROM decisions WHERE period = ?1",
        )?;
        let rows = stmt.query_map(params![period.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<f64>>(6)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (account, phase, step, letters, entered, tips, goal) = row?;
            let phase = phase.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            out.insert(
                account,
                Recorded {
                    phase,
                    ladder: ladder_from(step, letters),
                    entered,
                    tips: split_tips(&tips),
                    goal,
                },
            );
        }
        Ok(out)
    }

    /// Record new decisions; existing ones for the same (account, period) stay as they are.
    pub fn record<'a>(
        &mut self,
        run: i64,
        period: Period,
        decisions: impl IntoIterator<Item = Recording<'a>>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO decisions
                 (account_id, period, run_id, rating, phase, ladder_step, ladder_letters, entered, mailed, tips, goal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)",
            )?;
            for (account, rating, d, tips, goal) in decisions {
                stmt.execute(params![
                    account,
                    period.to_string(),
                    run,
                    rating,
                    d.phase.code(),
                    d.ladder.step.map(Phase::code),
                    d.ladder.letters as i64,
                    d.entered,
                    tips.join(","),
                    goal,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Mark letters as mailed (rendered and handed to print).
    pub fn mark_mailed<'a>(
        &mut self,
        period: Period,
        accounts: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx
                .prepare("UPDATE decisions SET mailed = 1 WHERE account_id = ?1 AND period = ?2")?;
            for a in accounts {
                stmt.execute(params![a, period.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn opt_out(&self, account: &str, reason: &str) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO opt_outs (account_id, reason, recorded_at) VALUES (?1, ?2, ?3)",
            params![account, reason, now()],
        )?;
        Ok(n == 1)
    }

    pub fn opt_outs(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_id, reason FROM opt_outs")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// A household's recorded phase for a period, for tests and support staff.
    pub fn phase_of(&self, account: &str, period: Period) -> Result<Option<Phase>> {
        let phase: Option<String> = self
            .conn
            .query_row(
                "SELECT phase FROM decisions WHERE account_id = ?1 AND period = ?2",
                params![account, period.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(phase.and_then(|p| p.parse().ok()))
    }

    /// All decision rows as text, in key order: lets tests compare snapshots.
    pub fn dump_decisions(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, period, run_id, rating, phase, ladder_step, ladder_letters, entered, mailed, tips
             FROM decisions ORDER BY account_id, period",
        )?;
        let rows = stmt.query_map([], |r| {
            let mut cols = Vec::new();
            for i in 0..10 {
                let v: rusqlite::types::Value = r.get(i)?;
                cols.push(format!("{v:?}"));
            }
            Ok(cols.join("|"))
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }
}
