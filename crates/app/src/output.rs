//! Output: the files a run leaves in its folder.
//!
//! A run writes into `<out>.partial` and renames it to `<out>` only when it
//! completes, so a crashed run never leaves a half-written folder that looks
//! finished, and a re-run replaces the previous one whole (no stale PDFs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::compare::Rating;
use crate::exception::Exception;
use crate::goal::GoalOutcome;
use crate::model::{Channel, Language};
use crate::phase::Phase;

/// A rating as the manifest writes it: its code, or `none`.
fn rating_or_none<S: serde::Serializer>(r: &Option<Rating>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.map_or("none", Rating::code))
}

/// One row of `manifest.csv`: a rendered report.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestRow {
    pub sequence: usize,
    pub account_id: String,
    pub cohort_id: String,
    pub cohort_size: String,
    pub usage_per_day: String,
    pub neighbors_median_per_day: String,
    pub efficient_per_day: String,
    pub percentile: String,
    /// `none` without a comparison.
    #[serde(serialize_with = "rating_or_none")]
    pub rating: Option<Rating>,
    pub phase: Phase,
    pub entered_phase: bool,
    pub assistance_invite: bool,
    pub language: Language,
    pub zip: String,
    pub pdf: String,
    pub pages: usize,
    pub unit: String,
    pub note: String,
    pub tips: String,
    /// This period's estimated charges; empty without a tariff.
    pub cost: String,
    /// A year's saving from using like the efficient neighbors, where shown.
    pub savings_per_year: String,
    /// Next period's goal, use per day.
    pub goal_per_day: String,
    /// `met` or `missed`: last period's goal, where one was set.
    pub last_goal: Option<GoalOutcome>,
    /// `mail`, `email` or `sms`.
    pub channel: Channel,
    /// How the letter left ([`Dispatch`]):
    /// `print`, `sent`, `written`, `listed` or `not sent`.
    pub delivery: Dispatch,
    /// Why paper when the household asked for another channel.
    pub channel_note: String,
    /// The first and last day of the bill the letter reports on: a month,
    /// or two or three for a household billed that often.
    pub bill_start: String,
    pub bill_end: String,
    /// The weather block's model (`hdd_only`, `cdd_only`, `hdd_cdd`), empty
    /// when the letter carries no weather block.
    pub weather_model: String,
    /// The block's figures against the same bill a year earlier, as the
    /// page rounds them (signed: positive is warmer, more use): °F warmer,
    /// the use per day the weather alone changed, and the household's own
    /// change. Empty without a bill a year earlier.
    pub weather_warmer_f: String,
    pub weather_change_per_day: String,
    pub own_change_per_day: String,
}

/// How a letter in a manifest left: what its `delivery` column says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// On paper, in a print file.
    Print,
    /// By the relay, in this run or an earlier one of the period.
    Sent,
    /// As an `.eml` file (`--emails-to`).
    Written,
    /// In `sms.csv`, for the utility's text gateway.
    Listed,
    /// An e-mail or text letter no message was made for in this run.
    NotSent,
}

impl Dispatch {
    /// The one spelling of each, in manifests and messages.
    pub fn name(self) -> &'static str {
        match self {
            Dispatch::Print => "print",
            Dispatch::Sent => "sent",
            Dispatch::Written => "written",
            Dispatch::Listed => "listed",
            Dispatch::NotSent => "not sent",
        }
    }
}

impl serde::Serialize for Dispatch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Make every file and folder this process creates private to its owner
/// (umask 077: folders 0700, files 0600). Run folders, PDFs, CSVs and the
/// state database hold names, addresses and use.
pub fn private_by_default() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// The config's `[output] umask` for what a run writes from here on; it
/// never opens files to others (the config refuses such a mask).
pub fn apply_umask(mask: u32) {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask((mask | 0o007) as libc::mode_t);
    }
}

/// In a run folder being written: the fingerprint of the run writing it.
const RESUME: &str = "resume.fingerprint";

/// `print/<file>.done.json` marks a print file finished (see
/// [`crate::print`]); a resumed run counts them, a finished one drops them.
pub fn finished_marker(staging: &Path, print_file_stem: &str) -> PathBuf {
    staging.join(format!("print/{print_file_stem}.done.json"))
}

fn finished_markers(staging: &Path) -> Vec<PathBuf> {
    files_ending(&staging.join("print"), ".done.json")
}

/// The files of `dir` whose names end in `suffix` (none when `dir` is missing).
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// The run folder being written.
pub struct RunFolder {
    pub staging: PathBuf,
    pub target: PathBuf,
    /// The target holds a finished run that this one replaces: it is moved
    /// aside when this one is committed.
    pub replace: bool,
}

/// What a run folder holds, as its `run.json` says: one period's monthly
/// reports, or one campaign's letters of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOf {
    pub campaign: Option<String>,
    pub period: String,
}

impl RunOf {
    /// What the finished folder `dir` holds; `None` when its `run.json` is
    /// missing or does not say.
    fn of_folder(dir: &Path) -> Option<RunOf> {
        let text = std::fs::read_to_string(dir.join("run.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(RunOf {
            campaign: json
                .get("campaign")
                .and_then(|c| c.as_str())
                .map(String::from),
            period: json.get("period")?.as_str()?.to_string(),
        })
    }
}

impl std::fmt::Display for RunOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.campaign {
            Some(c) => write!(f, "campaign {c} of {}", self.period),
            None => write!(f, "the reports of {}", self.period),
        }
    }
}

impl RunFolder {
    /// Prepare `<target>.partial`. Refuses to replace a folder that is not a
    /// previous run of the same thing (no `manifest.csv`, or a `run.json` of
    /// another period or campaign), so a mistyped `--out` cannot wipe data.
    pub fn create(target: &Path, run: &RunOf) -> Result<RunFolder> {
        Ok(RunFolder::open(target, None, run, false)?.0)
    }

    /// [`RunFolder::create`], resuming: when `<target>.partial` holds an
    /// interrupted run with the same `fingerprint` (inputs, settings,
    /// templates, period) it is kept, with the print files it finished, and
    /// the second value counts them. A different fingerprint is refused:
    /// mixing two runs' files would mail a mixture.
    ///
    /// A target that holds a finished run is refused unless `replace`: its
    /// print files may already be at the mail house, so it is moved aside
    /// (`<target>.replaced-N`) when this run is committed, never deleted.
    pub fn open(
        target: &Path,
        fingerprint: Option<&str>,
        run: &RunOf,
        replace: bool,
    ) -> Result<(RunFolder, usize)> {
        let listed = |e| anyhow::Error::new(e).context(format!("cannot list {}", target.display()));
        let finished = target.join("manifest.csv").exists();
        if target.exists() && !finished && target.read_dir().map_err(listed)?.next().is_some() {
            bail!(
                "{} exists and is not a neighborly run folder (no manifest.csv); choose another --out",
                target.display()
            );
        }
        if let Some(held) = RunOf::of_folder(target).filter(|held| held != run) {
            bail!(
                "{} holds {held}, not {run}; it was left as it is. Choose another --out",
                target.display()
            );
        }
        if finished && !replace {
            bail!(
                "{} holds the finished run of {run}, whose print files may already be at the \
                 mail house; it was left as it is. To run it again, add --replace: the \
                 earlier folder is moved aside, not deleted",
                target.display()
            );
        }
        let mut name = target
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".partial");
        let staging = target.with_file_name(name);
        let folder = RunFolder {
            staging: staging.clone(),
            target: target.to_path_buf(),
            replace: finished,
        };
        let stamp = staging.join(RESUME);
        if let (Some(fp), Ok(earlier)) = (fingerprint, std::fs::read_to_string(&stamp)) {
            if earlier.trim() != fp {
                bail!(
                    "{} holds an interrupted run of other inputs, settings or templates; it was left as it is. \
                     To start this run over, delete that folder (rm -r {}) and run again",
                    staging.display(),
                    staging.display()
                );
            }
            let kept = finished_markers(&staging).len();
            return Ok((folder, kept));
        }
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot clear {}", staging.display()))?;
        }
        std::fs::create_dir_all(staging.join("reports"))
            .with_context(|| format!("cannot create {}", staging.display()))?;
        if let Some(fp) = fingerprint {
            write_atomic(&stamp, fp.as_bytes())
                .with_context(|| format!("cannot write {}", stamp.display()))?;
        }
        Ok((folder, 0))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Remove every PDF in `reports/` and `print/` that is not in `keep`
    /// (paths relative to the folder): what an interrupted run made for a
    /// household this run does not mail (opted out since, say) or for a
    /// print file it no longer writes. Returns how many were removed.
    pub fn keep_only(&self, keep: &std::collections::HashSet<String>) -> Result<usize> {
        let mut removed = 0;
        for dir in ["reports", "print"] {
            for pdf in files_ending(&self.staging.join(dir), ".pdf") {
                let name = pdf.file_name().map(|n| n.to_string_lossy().into_owned());
                if name.is_some_and(|n| keep.contains(&format!("{dir}/{n}"))) {
                    continue;
                }
                std::fs::remove_file(&pdf)
                    .with_context(|| format!("cannot remove {}", pdf.display()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Move the finished run into place, replacing an earlier run of the same period.
    pub fn commit(self) -> Result<PathBuf> {
        // What only a resumed run needs does not belong to the delivered folder.
        let stamp = self.staging.join(RESUME);
        if stamp.exists() {
            std::fs::remove_file(&stamp)?;
        }
        for marker in finished_markers(&self.staging) {
            std::fs::remove_file(&marker)
                .with_context(|| format!("cannot remove {}", marker.display()))?;
        }
        // A process killed mid-write leaves `*.tmp` files; the resumed run
        // wrote every file again, so none is part of the delivery.
        for dir in ["reports", "print"].map(|d| self.staging.join(d)) {
            for tmp in files_ending(&dir, ".tmp") {
                std::fs::remove_file(&tmp)
                    .with_context(|| format!("cannot remove {}", tmp.display()))?;
            }
        }
        crate::drill::reach(crate::drill::Step::Unmarked);
        if self.replace && self.target.exists() {
            let aside = aside_name(&self.target);
            std::fs::rename(&self.target, &aside).with_context(|| {
                format!(
                    "cannot move {} aside to {}",
                    self.target.display(),
                    aside.display()
                )
            })?;
            tracing::info!("the earlier run was moved to {}", aside.display());
        } else if self.target.exists() {
            // Only an empty folder (one made for the run) can be here.
            std::fs::remove_dir(&self.target)
                .with_context(|| format!("cannot replace {}", self.target.display()))?;
        }
        std::fs::rename(&self.staging, &self.target)
            .with_context(|| format!("cannot move {} into place", self.staging.display()))?;
        Ok(self.target)
    }
}

/// `<target>.replaced-N`, the first N not taken: where a replaced run goes.
fn aside_name(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    (1..)
        .map(|n| target.with_file_name(format!("{name}.replaced-{n}")))
        .find(|p| !p.exists())
        .expect("a free name")
}

/// Write a file so that a reader, or a run resumed after a crash, sees the
/// old file or the whole new one, never part of it: a temporary file beside
/// it, then a rename over it. Not synced: a killed process loses nothing
/// the kernel holds; [`sync_filesystem`] makes a batch of them durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_through_temp(path, bytes, false)
}

/// [`write_atomic`], with the new content on the disk before the rename:
/// for a file that is written once and then relied on (a finished-file
/// marker, a saved wording file).
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_through_temp(path, bytes, true)
}

fn write_through_temp(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // A full disk leaves a short temporary file: it must not ship.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Flush everything written to the filesystem holding `dir` to the disk:
/// one call per print file (a hundred pieces) instead of one per PDF, so a
/// power cut after a file is marked finished cannot lose its pieces.
pub fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let f = std::fs::File::open(dir)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs only reads the descriptor, which `f` keeps open.
        if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    f.sync_all()?;
    Ok(())
}

/// A file name for an account's PDF: safe characters only, and a short hash
/// suffix whenever characters had to be replaced, so two ids never collide.
pub fn pdf_name(account: &str) -> String {
    let safe: String = account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == account && !safe.is_empty() {
        format!("{safe}.pdf")
    } else {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(account.as_bytes());
        format!(
            "{safe}-{:02x}{:02x}{:02x}{:02x}.pdf",
            h[0], h[1], h[2], h[3]
        )
    }
}

pub fn write_exceptions(path: &Path, exceptions: &mut [Exception]) -> Result<()> {
    writing(path, |path| {
        exceptions.sort_by(|a, b| (&a.account_id, a.reason).cmp(&(&b.account_id, b.reason)));
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(["account_id", "reason", "detail"])?;
        for e in exceptions.iter() {
            w.write_record([e.account_id.as_str(), e.reason.code(), e.detail.as_str()])?;
        }
        w.flush()?;
        Ok(())
    })
}

/// Write `value` as pretty JSON, atomically, naming the path on failure.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    writing(path, |p| {
        Ok(write_atomic(p, &serde_json::to_vec_pretty(value)?)?)
    })
}

/// Write the file at `path` with `write`; any failure names the path (a
/// full disk, a folder that vanished, a permission taken away): every
/// output write of a run goes through here or says its path itself.
pub fn writing<T>(path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    write(path).with_context(|| format!("cannot write {}", path.display()))
}

/// Call-center readiness per phase (INPUTS.md, "Phase ladder").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForecastRow {
    pub phase: String,
    pub households: usize,
    pub entering: usize,
    /// The rate the forecast used: learned when enough letters back it,
    /// else the configured one.
    pub call_rate: f64,
    pub expected_calls: f64,
    /// `[phase] call_rate_*`.
    #[serde(default)]
    pub configured_rate: f64,
    /// Learned from calls to earlier letters: the share of entering
    /// households that called, its 95% interval, and the letters behind it.
    #[serde(default)]
    pub learned_rate: Option<f64>,
    #[serde(default)]
    pub learned_low: Option<f64>,
    #[serde(default)]
    pub learned_high: Option<f64>,
    #[serde(default)]
    pub learned_from_letters: usize,
}

/// A CSV file this program wrote, as rows of column name to value; a
/// failure names the path.
pub fn read_rows(path: &Path) -> Result<Vec<std::collections::HashMap<String, String>>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    r.deserialize()
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("cannot read {}", path.display()))
}

pub fn write_forecast(path: &Path, rows: &[ForecastRow]) -> Result<()> {
    write_rows(path, rows)
}

/// `rows` as a CSV file with a header from their fields (manifests,
/// forecast); a failure names the path.
pub fn write_rows<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    writing(path, |path| {
        let mut w = csv::Writer::from_path(path)?;
        for r in rows {
            w.serialize(r)?;
        }
        Ok(w.flush()?)
    })
}

/// Counts for the closing summary and `run.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub period: String,
    pub households_in: usize,
    pub reports: usize,
    pub exceptions: usize,
    pub exceptions_by_reason: BTreeMap<String, usize>,
    pub by_rating: BTreeMap<String, usize>,
    pub by_phase: BTreeMap<String, usize>,
    pub forecast: Vec<ForecastRow>,
    pub seconds: f64,
    /// Of `seconds`, the time spent laying out and writing the PDFs.
    pub render_seconds: f64,
    pub reports_per_second: f64,
    /// The process's peak resident memory (Linux), so operators can size machines.
    pub peak_rss_mb: f64,
    pub out_dir: String,
    pub dry_run: bool,
    /// Print files an interrupted run had finished, kept by this one.
    pub resumed_files: usize,
    /// Households whose water never stopped flowing (`leaks.csv`).
    pub possible_leaks: usize,
    /// E-mails that left (or were written) in this run, and ones an earlier
    /// run of the period had already sent.
    pub emails_sent: usize,
    pub emails_already_sent: usize,
    /// Texts listed in `sms.csv` for the gateway.
    pub texts_listed: usize,
    /// Letters per phase that step up the ladder this run (the forecast's
    /// `entering`): `merge` recomputes a sharded period's forecast from them.
    pub entering_by_phase: BTreeMap<String, usize>,
    /// `K/N` when this run is one shard of its period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// SHA-256 of the settings, period, input files and templates: the
    /// shards of one period must agree on it.
    pub inputs_fingerprint: String,
    /// What the inputs said that is no household's exception (`file:line:
    /// why`), also in `data-quality.csv`.
    pub notices: Vec<String>,
}

impl Summary {
    pub fn count_exceptions(&mut self, exceptions: &[Exception]) {
        self.exceptions = exceptions.len();
        for e in exceptions {
            *self
                .exceptions_by_reason
                .entry(e.reason.code().to_string())
                .or_default() += 1;
        }
    }

    /// The closing lines printed after a run.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let verb = if self.dry_run {
            "would be rendered"
        } else {
            "out"
        };
        s.push_str(&format!("period {}\n", self.period));
        s.push_str(&format!("households in: {}\n", self.households_in));
        s.push_str(&format!("reports {verb}: {}\n", self.reports));
        s.push_str(&format!("exceptions: {}\n", self.exceptions));
        for (reason, n) in &self.exceptions_by_reason {
            s.push_str(&format!("  {reason}: {n}\n"));
        }
        let list = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.emails_sent + self.emails_already_sent + self.texts_listed > 0 {
            s.push_str(&format!(
                "e-mails: {} sent, {} already sent earlier; texts: {} listed in sms.csv\n",
                self.emails_sent, self.emails_already_sent, self.texts_listed
            ));
        }
        if self.possible_leaks > 0 {
            s.push_str(&format!(
                "possible leaks: {} household(s), listed in leaks.csv\n",
                self.possible_leaks
            ));
        }
        const SHOWN: usize = 10;
        for n in self.notices.iter().take(SHOWN) {
            s.push_str(&format!("notice: {n}\n"));
        }
        if self.notices.len() > SHOWN {
            s.push_str(&format!(
                "notice: {} more, listed in data-quality.csv\n",
                self.notices.len() - SHOWN
            ));
        }
        s.push_str(&format!("ratings: {}\n", list(&self.by_rating)));
        s.push_str(&format!("phases: {}\n", list(&self.by_phase)));
        for f in &self.forecast {
            s.push_str(&format!(
                "  forecast {}: {} letters, {} entering, {:.1} expected calls",
                f.phase, f.households, f.entering, f.expected_calls
            ));
            if let (Some(r), Some(lo), Some(hi)) = (f.learned_rate, f.learned_low, f.learned_high) {
                s.push_str(&format!(
                    " (rate {:.2}%: learned {:.2}%, 95% CI {:.2}-{:.2}%, from {} letters; configured {:.2}%)",
                    100.0 * f.call_rate,
                    100.0 * r,
                    100.0 * lo,
                    100.0 * hi,
                    f.learned_from_letters,
                    100.0 * f.configured_rate
                ));
            }
            s.push('\n');
        }
        if !self.dry_run {
            s.push_str(&format!(
                "{:.1} s ({:.1} s of it laying out and writing PDFs), {:.1} reports/s\n",
                self.seconds, self.render_seconds, self.reports_per_second
            ));
            if self.resumed_files > 0 {
                s.push_str(&format!(
                    "resumed an interrupted run: {} print file(s) were already finished and kept\n",
                    self.resumed_files
                ));
            }
            s.push_str(&format!("written to {}\n", self.out_dir));
        }
        if self.peak_rss_mb > 0.0 {
            s.push_str(&format!("peak memory: {:.0} MB\n", self.peak_rss_mb));
        }
        s
    }
}

/// Peak resident memory of this process in MB (`VmHWM`); 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Expected calls = households entering a phase this run × the phase's call rate.
pub fn forecast(
    letters: &BTreeMap<Phase, usize>,
    entering: &BTreeMap<Phase, usize>,
    rules: &crate::config::PhaseRules,
    learned: &[crate::calls::LearnedRate],
) -> Vec<ForecastRow> {
    Phase::ALL
        .iter()
        .map(|p| {
            let configured = match p {
                Phase::Tips => rules.call_rate_tips,
                Phase::Notice => rules.call_rate_notice,
                Phase::Comparison => rules.call_rate_comparison,
            };
            let learned = learned.iter().find(|l| l.phase == *p && l.letters > 0);
            let rate = match learned {
                Some(l) if l.letters >= rules.min_letters_for_rate => l.rate,
                _ => configured,
            };
            let e = entering.get(p).copied().unwrap_or(0);
            ForecastRow {
                phase: p.code().into(),
                households: letters.get(p).copied().unwrap_or(0),
                entering: e,
                call_rate: rate,
                expected_calls: e as f64 * rate,
                configured_rate: configured,
                learned_rate: learned.map(|l| l.rate),
                learned_low: learned.map(|l| l.low),
                learned_high: learned.map(|l| l.high),
                learned_from_letters: learned.map_or(0, |l| l.letters),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_names_are_safe_and_distinct() {
        assert_eq!(pdf_name("W-00012"), "W-00012.pdf");
        let a = pdf_name("../etc/passwd");
        assert!(!a.contains('/') && a.ends_with(".pdf"));
        assert_ne!(pdf_name("a/b"), pdf_name("a_b"));
    }
}
