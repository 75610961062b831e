//! The run lock: one writer per (period, shard), and one way of splitting a
//! period at a time.
//!
//! A run holds its lock for as long as it writes; the lock goes with the
//! process (a `flock`ed file beside the SQLite file, a session advisory lock
//! in PostgreSQL), so a killed run leaves nothing to clean up. A second run
//! of the same (period, shard) is refused, naming the holder.
//!
//! Shards of one period must all split it the same way: `--shard 0/2` beside
//! `--shard 1/4`, or a whole-period run beside shards, would hold different
//! locks yet reach the same households (and could e-mail one twice). So,
//! once its own lock is held, a run looks at the other locks of its period:
//! if one of another split is held by a live process, it lets go of its own
//! and is refused.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{Store, db, now};
use neighborly_core::model::Period;
use neighborly_core::shard::Shard;

/// Held while a run writes; released when dropped (or when the process dies).
pub enum RunLock {
    File {
        _file: File,
        path: PathBuf,
    },
    /// The session holding the advisory lock: closing it releases the lock.
    Postgres(Box<postgres::Client>),
}

// The lock file is left in place when the lock is let go: deleting it
// would let a process that opened it just before take a lock on the
// unlinked file while a third creates and locks a new one, two runs at
// once. A file nobody holds is free, whatever it says inside.

/// Who holds a lock: enough for an operator to find the process.
fn holder(period: Period, shard: Shard) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let on = if host.is_empty() {
        String::new()
    } else {
        format!(" on {host}")
    };
    let part = if shard.is_whole() {
        String::new()
    } else {
        format!(", shard {shard}")
    };
    format!(
        "period {period}{part}, pid {}{on}, started {}",
        std::process::id(),
        now()
    )
}

/// The lock's name: `2026-10`, or `2026-10.shard-1-of-4`.
fn scope(period: Period, shard: Shard) -> String {
    if shard.is_whole() {
        period.to_string()
    } else {
        format!("{period}.{}", shard.label())
    }
}

/// How a scope of `period` splits it: `Some(1)` for the whole period,
/// `Some(N)` for a shard of N; `None` for another period's scope.
fn split_of(scope: &str, period: Period) -> Option<u32> {
    let rest = scope.strip_prefix(&period.to_string())?;
    if rest.is_empty() {
        return Some(1);
    }
    let (_, n) = rest.strip_prefix(".shard-")?.split_once("-of-")?;
    n.parse().ok()
}

/// Why a live lock keeps a run of (period, split) from starting.
#[derive(Debug, PartialEq)]
enum Other {
    /// The same period, split another way.
    Split,
    /// Another period.
    Period,
}

/// Whether a live lock of `scope` would keep a run of `period` split in
/// `count` parts from starting, and why.
fn conflict(scope: &str, period: Period, count: u32) -> Option<Other> {
    match split_of(scope, period) {
        Some(split) if split == count => None,
        Some(_) => Some(Other::Split),
        None => scope
            .get(..7)
            .and_then(|p| p.parse::<Period>().ok())
            .map(|_| Other::Period),
    }
}

/// A 64-bit advisory-lock key for a scope, the same on every machine.
fn lock_key(scope: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("neighborly run lock {scope}").as_bytes());
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

impl Store {
    /// Take the run lock of (period, shard), or explain who holds it.
    pub fn lock(&self, period: Period, shard: Shard) -> Result<RunLock> {
        let scope = scope(period, shard);
        let lock = match &self.url {
            Some(url) => self.lock_postgres(url, period, shard, &scope)?,
            None => self.lock_file(period, shard, &scope)?,
        };
        match self.other_run_held(&lock, period, shard.count)? {
            None => Ok(lock),
            Some((Other::Split, who)) => {
                drop(lock);
                anyhow::bail!(
                    "a run of {period} split another way is writing to {} ({}); \
                     every shard of a period must use the same N, and a whole-period run \
                     cannot run beside shards: wait for it to finish",
                    self.location,
                    who.trim()
                );
            }
            Some((Other::Period, who)) => {
                drop(lock);
                anyhow::bail!(
                    "a run of another period is writing to {} ({}); periods run one at a \
                     time, in order, so each one's letters follow the last: wait for it to finish",
                    self.location,
                    who.trim()
                );
            }
        }
    }

    fn refuse(&self, holder: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "another neighborly run is writing to {} ({}); wait for it to finish",
            self.location,
            holder.trim()
        )
    }

    fn lock_postgres(
        &self,
        url: &str,
        period: Period,
        shard: Shard,
        scope: &str,
    ) -> Result<RunLock> {
        let mut client = db::connect_postgres(url)?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(scope)])?
            .get(0);
        if !got {
            let who: Option<String> = client
                .query_opt("SELECT holder FROM run_locks WHERE scope = $1", &[&scope])?
                .map(|r| r.get(0));
            return Err(self.refuse(&who.unwrap_or_else(|| format!("period {period}"))));
        }
        client.execute(
            "INSERT INTO run_locks (scope, holder) VALUES ($1, $2)
             ON CONFLICT (scope) DO UPDATE SET holder = excluded.holder",
            &[&scope, &holder(period, shard)],
        )?;
        Ok(RunLock::Postgres(Box::new(client)))
    }

    fn lock_file(&self, period: Period, shard: Shard, scope: &str) -> Result<RunLock> {
        let path = self.lock_path(scope)?;
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
                return Err(self.refuse(&holder));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).context("cannot lock the state database");
            }
        }
        file.set_len(0)?;
        write!(file, "{}", holder(period, shard))?;
        file.flush()?;
        Ok(RunLock::File { _file: file, path })
    }

    /// `<db stem>.<scope>.lock` beside the SQLite file.
    fn lock_path(&self, scope: &str) -> Result<PathBuf> {
        let (dir, prefix) = self.lock_files()?;
        Ok(dir.join(format!("{prefix}{scope}.lock")))
    }

    /// The folder of the SQLite file's lock files (`.` for a bare file
    /// name) and the prefix their names share, `<db stem>.`.
    fn lock_files(&self) -> Result<(PathBuf, String)> {
        let db_path = self
            .path
            .as_ref()
            .context("the store has neither a file nor a URL")?;
        let dir = match db_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let stem = db_path.file_stem().unwrap_or_default().to_string_lossy();
        Ok((dir, format!("{stem}.")))
    }

    /// A live lock of `period` split other than in `count` parts, or of
    /// another period, if any, with its holder.
    fn other_run_held(
        &self,
        lock: &RunLock,
        period: Period,
        count: u32,
    ) -> Result<Option<(Other, String)>> {
        match lock {
            RunLock::Postgres(_) => {
                // A short second session reads pg_locks (the lock's own is
                // borrowed immutably here).
                let url = self.url.as_deref().context("no URL")?;
                let mut c = db::connect_postgres(url)?;
                let held: Vec<(u32, u32)> = c
                    .query(
                        "SELECT classid, objid FROM pg_locks
                         WHERE locktype = 'advisory' AND granted AND objsubid = 1",
                        &[],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                for row in c.query("SELECT scope, holder FROM run_locks", &[])? {
                    let (scope, who): (String, String) = (row.get(0), row.get(1));
                    let key = lock_key(&scope) as u64;
                    let parts = ((key >> 32) as u32, key as u32);
                    if !held.contains(&parts) {
                        continue;
                    }
                    if let Some(other) = conflict(&scope, period, count) {
                        return Ok(Some((other, who)));
                    }
                }
                Ok(None)
            }
            RunLock::File { .. } => {
                let (dir, prefix) = self.lock_files()?;
                let entries = std::fs::read_dir(&dir)
                    .with_context(|| format!("cannot list {}", dir.display()))?;
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let Some(scope) = name
                        .strip_prefix(&prefix)
                        .and_then(|n| n.strip_suffix(".lock"))
                    else {
                        continue;
                    };
                    let Some(other) = conflict(scope, period, count) else {
                        continue;
                    };
                    // Live if its owner still holds it; a file nobody holds
                    // (its run ended or died) is free and is let go at once.
                    let Ok(file) = File::open(entry.path()) else {
                        continue;
                    };
                    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
                        let who = std::fs::read_to_string(entry.path()).unwrap_or_default();
                        return Ok(Some((other, who)));
                    }
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_say_how_their_period_is_split() {
        let p: Period = "2026-10".parse().unwrap();
        assert_eq!(split_of(&scope(p, Shard::WHOLE), p), Some(1));
        assert_eq!(split_of(&scope(p, "2/4".parse().unwrap()), p), Some(4));
        assert_eq!(split_of("2026-11.shard-0-of-4", p), None);
        assert_eq!(split_of("2026-10.junk", p), None);
    }

    #[test]
    fn a_live_lock_of_another_split_or_period_conflicts() {
        let p: Period = "2026-10".parse().unwrap();
        assert_eq!(conflict("2026-10", p, 1), None);
        assert_eq!(conflict("2026-10.shard-1-of-4", p, 4), None);
        assert_eq!(conflict("2026-10", p, 4), Some(Other::Split));
        assert_eq!(conflict("2026-09", p, 1), Some(Other::Period));
        assert_eq!(conflict("2026-11.shard-0-of-2", p, 2), Some(Other::Period));
        assert_eq!(conflict("notes", p, 1), None);
    }
}
