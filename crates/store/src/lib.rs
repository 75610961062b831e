//! Store: what neighborly remembers between runs, in SQLite (one file, the
//! default) or PostgreSQL (shared by the shards of a run on many machines).
//!
//! Per household and period it keeps the rating, the phase decided, the
//! ladder state and whether the letter was mailed; per run its period, shard,
//! config fingerprint and times; and opt-outs. Decisions are keyed by
//! (account, period); a finished run's are never overwritten, so re-running
//! a period reproduces its phases even after later periods ran, while an
//! unfinished run's (it mailed nothing) are decided again by the next run. A lock per (period, shard), held
//! for the whole run, keeps two runs of the same part from writing at once:
//! a lock file beside the SQLite file, a session advisory lock in
//! PostgreSQL; both vanish with the process that held them. Control-group
//! assignments and response events live beside them (`store/measure.rs`).

mod account;
mod calls;
mod channels;
pub(crate) mod db;
mod lock;
mod measure;
mod schema;
pub use account::{AccountRecord, LetterRecord};
pub use calls::{Callers, LastRun, RecordedForecast};
pub use channels::SendStatus;
pub use lock::RunLock;
pub use measure::{Assigned, ImportCount, Reissued, Response};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use db::{Conn, Db, Row, Val, vals};
pub use neighborly_core::config::StoreLocation;
use neighborly_core::model::Period;
use neighborly_core::phase::{Decision, Ladder, Phase};
use neighborly_core::shard::Shard;

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
    db: Mutex<Db>,
    /// The file or URL (password hidden), for messages.
    location: String,
    /// The SQLite file; `None` for PostgreSQL.
    path: Option<PathBuf>,
    /// The PostgreSQL URL: the run lock opens a session of its own with it.
    url: Option<String>,
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

/// WAL mode, then the migrations this file lacks, in one IMMEDIATE
/// transaction with the version read inside: shards started together on one
/// machine apply each migration once.
fn migrate_sqlite(conn: &mut rusqlite::Connection, path: &Path) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > schema::SQLITE.len() {
        bail!(
            "{} was written by a newer neighborly (schema {version}, this one knows {})",
            path.display(),
            schema::SQLITE.len()
        );
    }
    for (i, sql) in schema::SQLITE.iter().enumerate().skip(version) {
        tx.execute_batch(sql)
            .with_context(|| format!("migration {} failed", i + 1))?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Whether an error is SQLite's "database is locked" (busy).
fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            == Some(rusqlite::ErrorCode::DatabaseBusy)
    })
}

/// Every migrating process takes this lock first, so shards starting at
/// once against an empty PostgreSQL database apply each migration once.
const MIGRATION_LOCK: i64 = 0x6e65_6967_6862_6f72;

impl Store {
    /// How long [`Store::open`] callers without settings wait for a busy store.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

    /// Open (creating if needed) and migrate the database: a SQLite file, or
    /// a PostgreSQL database when `location` is a `postgres://` URL. A SQLite
    /// file another process holds is waited for at most `wait` in all, then
    /// refused with a message naming it.
    pub fn open(location: &StoreLocation, wait: Duration) -> Result<Store> {
        match location {
            StoreLocation::Url(url) => Store::open_postgres(url),
            StoreLocation::File(path) => Store::open_file(path, wait),
        }
    }

    /// Open (creating if needed) and migrate a SQLite file.
    pub fn open_file(path: &Path, wait: Duration) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut conn = rusqlite::Connection::open(path)
            .with_context(|| format!("cannot open state database {}", path.display()))?;
        conn.busy_timeout(wait)
            .with_context(|| format!("cannot open state database {}", path.display()))?;
        // Processes opening a new file together (shards on one machine) can
        // meet before it is in WAL mode, where SQLite answers a lock
        // deadlock with "database is locked" at once instead of waiting:
        // try again, briefly, until the file is set up. One deadline covers
        // every attempt, so a file held by another process is reported after
        // `wait`, not after `wait` times the attempts.
        let deadline = Instant::now() + wait;
        let mut attempt = 0;
        loop {
            match migrate_sqlite(&mut conn, path) {
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20 + 10 * attempt.min(20)));
                }
                Err(e) if is_busy(&e) => bail!(
                    "state database {} is busy: another process has held it for {} s \
                     (another neighborly command, or a tool with a transaction open); \
                     try again when it ends, or raise [store] wait_seconds",
                    path.display(),
                    wait.as_secs()
                ),
                other => {
                    break other.with_context(|| {
                        format!("cannot use state database {}", path.display())
                    })?;
                }
            }
        }
        Ok(Store {
            db: Mutex::new(Db::new(Conn::Sqlite(conn), path.display().to_string())),
            location: path.display().to_string(),
            path: Some(path.to_path_buf()),
            url: None,
        })
    }

    fn open_postgres(url: &str) -> Result<Store> {
        let mut client = db::connect_postgres(url)?;
        {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS neighborly_schema (version BIGINT NOT NULL)",
            )?;
            let version: i64 = tx
                .query_opt("SELECT version FROM neighborly_schema", &[])?
                .map_or(0, |r| r.get(0));
            let version = version as usize;
            let migrations = schema::postgres();
            if version > migrations.len() {
                bail!(
                    "{} was written by a newer neighborly (schema {version}, this one knows {})",
                    db::redact(url),
                    migrations.len()
                );
            }
            for (i, sql) in migrations.iter().enumerate().skip(version) {
                tx.batch_execute(sql)
                    .with_context(|| format!("migration {} failed", i + 1))?;
            }
            tx.execute("DELETE FROM neighborly_schema", &[])?;
            tx.execute(
                "INSERT INTO neighborly_schema (version) VALUES ($1)",
                &[&(migrations.len().max(version) as i64)],
            )?;
            tx.commit()?;
        }
        Ok(Store {
            db: Mutex::new(Db::new(Conn::Postgres(Box::new(client)), db::redact(url))),
            location: db::redact(url),
            path: None,
            url: Some(url.to_string()),
        })
    }

    /// The file, or the PostgreSQL URL without its password, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start a run of `period` whose letters are dated `mailed_on`.
    pub fn begin_run(
        &self,
        period: Period,
        shard: Shard,
        config_hash: &str,
        mailed_on: chrono::NaiveDate,
    ) -> Result<i64> {
        let shard = if shard.is_whole() {
            String::new()
        } else {
            shard.to_string()
        };
        let row = self
            .db()
            .query_one(
                "INSERT INTO runs (period, shard, config_hash, started_at, mailed_on) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                &vals![period.to_string(), shard, config_hash, now(), mailed_on.to_string()],
            )?
            .context("no run id returned")?;
        row.int(0)
    }

    pub fn finish_run(
        &self,
        run: i64,
        households: usize,
        mailed: usize,
        exceptions: usize,
    ) -> Result<()> {
        self.db().execute(
            "UPDATE runs SET finished_at = ?2, households = ?3, mailed = ?4, exceptions = ?5 WHERE id = ?1",
            &vals![run, now(), households as i64, mailed as i64, exceptions as i64],
        )?;
        Ok(())
    }

    /// The run of `period` (and `shard`) that was begun last, when none of
    /// that period's runs was closed by [`Store::finish_run`]: a run killed
    /// after its folder was published, before the store heard of it.
    pub fn unclosed_run(&self, period: Period, shard: Shard) -> Result<Option<i64>> {
        let shard = if shard.is_whole() {
            String::new()
        } else {
            shard.to_string()
        };
        let row = self.db().query_one(
            "SELECT MAX(id) FROM runs WHERE period = ?1 AND shard = ?2
             AND NOT EXISTS (SELECT 1 FROM runs WHERE period = ?1 AND shard = ?2 AND finished_at IS NOT NULL)",
            &vals![period.to_string(), shard],
        )?;
        Ok(row.map(|r| r.opt_int(0)).transpose()?.flatten())
    }

    /// The latest period a finished run committed after `period`, when
    /// `period` itself has no finished run: running it now would decide its
    /// letters after the later ones, moving ladders backward. A re-run of a
    /// period that has finished is fine: it reproduces what was recorded.
    pub fn later_period_than(&self, period: Period) -> Result<Option<Period>> {
        let row = self.db().query_one(
            "SELECT MAX(period) FROM runs WHERE finished_at IS NOT NULL AND period > ?1
             AND NOT EXISTS (SELECT 1 FROM runs WHERE period = ?1 AND finished_at IS NOT NULL)",
            &vals![period.to_string()],
        )?;
        match row.map(|r| r.opt_text(0)).transpose()?.flatten() {
            Some(p) => Ok(Some(p.parse()?)),
            None => Ok(None),
        }
    }

    /// Every account's last mailed letter before `period`.
    pub fn history_before(&self, period: Period) -> Result<HashMap<String, History>> {
        let rows = self.db().query(
            "SELECT account_id, period, ladder_step, ladder_letters, tips, goal FROM decisions d
             WHERE mailed = 1 AND period < ?1 AND period = (
                SELECT MAX(period) FROM decisions e
                WHERE e.account_id = d.account_id AND e.mailed = 1 AND e.period < ?1)",
            &vals![period.to_string()],
        )?;
        let mut out = HashMap::new();
        for r in rows {
            let period = r.text(1)?.parse()?;
            out.insert(
                r.text(0)?,
                History {
                    period,
                    ladder: ladder_from(r.opt_text(2)?, r.int(3)?),
                    tips: split_tips(&r.text(4)?),
                    goal: r.opt_real(5)?,
                },
            );
        }
        Ok(out)
    }

    /// Decisions already recorded for `period` by a run that finished (a
    /// re-run reproduces them). An unfinished run's are left out: the plan
    /// is a function of the inputs and what finished runs recorded, so a
    /// resumed run decides the same again, and one with corrected inputs
    /// decides anew.
    pub fn recorded(&self, period: Period) -> Result<HashMap<String, Recorded>> {
        let rows = self.db().query(
            "SELECT d.account_id, d.phase, d.ladder_step, d.ladder_letters, d.entered, d.tips, d.goal
             FROM decisions d JOIN runs r ON r.id = d.run_id
             WHERE d.period = ?1 AND r.finished_at IS NOT NULL",
            &vals![period.to_string()],
        )?;
        let mut out = HashMap::new();
        for r in rows {
            let phase = r.text(1)?.parse()?;
            out.insert(
                r.text(0)?,
                Recorded {
                    phase,
                    ladder: ladder_from(r.opt_text(2)?, r.int(3)?),
                    entered: r.int(4)? != 0,
                    tips: split_tips(&r.text(5)?),
                    goal: r.opt_real(6)?,
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
        let p = period.to_string();
        self.db().insert_many(
            "INSERT INTO decisions
             (account_id, period, run_id, rating, phase, ladder_step, ladder_letters, entered, tips, goal)
             VALUES",
            10,
            // A decision of a run that never finished carried no letter: a
            // later run (with corrected inputs, say) decides again. A
            // finished run's decisions are never replaced.
            "ON CONFLICT (account_id, period) DO UPDATE SET
             run_id = excluded.run_id, rating = excluded.rating, phase = excluded.phase,
             ladder_step = excluded.ladder_step, ladder_letters = excluded.ladder_letters,
             entered = excluded.entered, tips = excluded.tips, goal = excluded.goal
             WHERE decisions.run_id IN (SELECT id FROM runs WHERE finished_at IS NULL)",
            decisions.into_iter().map(|(account, rating, d, tips, goal)| {
                vals![
                    account,
                    p.as_str(),
                    run,
                    rating,
                    d.phase.code(),
                    d.ladder.step.map(Phase::code),
                    d.ladder.letters as i64,
                    d.entered,
                    tips.join(","),
                    goal,
                ]
            }),
        )?;
        Ok(())
    }

    /// Mark letters as mailed (rendered and handed to print).
    pub fn mark_mailed<'a>(
        &mut self,
        period: Period,
        accounts: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        self.db().update_in(
            "UPDATE decisions SET mailed = 1 WHERE period = ?1 AND account_id IN",
            &vals![period.to_string()],
            accounts.into_iter().map(Val::from),
        )?;
        Ok(())
    }

    /// Record that `account` wants no more letters, why and who said so
    /// (an agent's name, a file). False when it had already opted out.
    pub fn opt_out(&self, account: &str, reason: &str, by: &str) -> Result<bool> {
        let at = now();
        let n = self.db().execute(
            "INSERT INTO opt_outs (account_id, reason, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            &vals![account, reason, at.clone(), by],
        )?;
        if n == 1 {
            self.log_opt(account, "opt-out", reason, by, &at)?;
        }
        Ok(n == 1)
    }

    /// Undo an opt-out: letters resume with the next run. False when the
    /// household had not opted out.
    pub fn opt_in(&self, account: &str, reason: &str, by: &str) -> Result<bool> {
        let n = self.db().execute(
            "DELETE FROM opt_outs WHERE account_id = ?1",
            &vals![account],
        )?;
        if n == 1 {
            self.log_opt(account, "opt-in", reason, by, &now())?;
        }
        Ok(n == 1)
    }

    fn log_opt(&self, account: &str, action: &str, reason: &str, by: &str, at: &str) -> Result<()> {
        self.db().execute(
            "INSERT INTO opt_out_log (account_id, action, reason, recorded_by, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &vals![account, action, reason, by, at],
        )?;
        Ok(())
    }

    /// Every opt-out and opt-in of a household, oldest first: (action,
    /// reason, by, when).
    pub fn opt_out_history(&self, account: &str) -> Result<Vec<(String, String, String, String)>> {
        self.db()
            .query(
                "SELECT action, reason, recorded_by, at FROM opt_out_log
                 WHERE account_id = ?1 ORDER BY id",
                &vals![account],
            )?
            .into_iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?)))
            .collect()
    }

    pub fn opt_outs(&self) -> Result<HashMap<String, String>> {
        self.db()
            .query("SELECT account_id, reason FROM opt_outs", &[])?
            .into_iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .collect()
    }

    /// A household's recorded phase for a period, for tests and support staff.
    pub fn phase_of(&self, account: &str, period: Period) -> Result<Option<Phase>> {
        let row = self.db().query_one(
            "SELECT phase FROM decisions WHERE account_id = ?1 AND period = ?2",
            &vals![account, period.to_string()],
        )?;
        Ok(match row {
            Some(r) => r.text(0)?.parse().ok(),
            None => None,
        })
    }

    /// All decision rows as text, in key order: lets tests compare snapshots.
    pub fn dump_decisions(&self) -> Result<Vec<String>> {
        let rows = self.db().query(
            "SELECT account_id, period, run_id, rating, phase, ladder_step, ladder_letters, entered, mailed, tips
             FROM decisions ORDER BY account_id, period",
            &[],
        )?;
        Ok(rows
            .into_iter()
            .map(|r: Row| {
                r.0.iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect())
    }
}
