//! Ingest: read the customer and usage files of the data contract into a [`Dataset`].
//!
//! Files are streamed row by row with one reused record; nothing but the parsed
//! households and their reads is kept. A bad row never stops the batch: the
//! household it belongs to is moved to the exceptions with the row's
//! `file:line`. Only a file that cannot be read at all, or lacks a required
//! column, is an error.

mod blocks;
pub mod bounces;
mod customers;
pub mod greenbutton;
pub mod interval;
mod list;
pub mod mapping;
mod names;
pub mod responses;
pub mod series;
mod usage;
pub mod zone;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::exception::{Exception, Reason};
use crate::model::{Household, Read, Service};

pub use customers::{read_customers, read_customers_sized};
pub use list::{AccountList, Matched, read_account_list};
pub use series::{FlowRun, Incomplete, IntervalRules, Series};
pub use usage::read_usage;
pub use zone::Zone;

/// Households that passed validation, their reads, and the rows that did not.
#[derive(Debug, Default)]
pub struct Dataset {
    pub households: Vec<Household>,
    /// `reads[i]` belongs to `households[i]`, sorted by end date.
    pub reads: Vec<Vec<Read>>,
    /// Input households (or usage-only accounts) that were rejected while reading.
    pub exceptions: Vec<Exception>,
    /// File names a read's `file` indexes (0 is the usage file).
    pub files: Vec<String>,
    /// Months of interval data left out for low coverage, by account.
    pub incomplete: HashMap<String, Vec<Incomplete>>,
    /// Uninterrupted water flow found in interval data, by account.
    pub runs: HashMap<String, Vec<FlowRun>>,
    /// Use per local day from interval data, by account, when the read
    /// rules keep days.
    pub days: HashMap<String, Vec<series::DayUse>>,
    /// Intervals as read, by account, inside the read rules' `keep_spans`.
    pub intervals: HashMap<String, Vec<crate::model::Interval>>,
}

/// Where a run's reads come from: `usage.csv` (monthly reads), an interval
/// CSV and a Green Button folder, any of them, all merged per account.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub customers: PathBuf,
    pub usage: Option<PathBuf>,
    pub interval: Option<PathBuf>,
    pub greenbutton: Option<PathBuf>,
}

impl Sources {
    /// Every file that feeds a run, for its fingerprint.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let mut out = vec![self.customers.clone()];
        out.extend(self.usage.clone());
        out.extend(self.interval.clone());
        if let Some(dir) = &self.greenbutton {
            let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            names.sort();
            out.extend(names);
        }
        Ok(out)
    }
}

/// How the input files are written, and how interval data becomes
/// monthly bills.
#[derive(Debug, Clone)]
pub struct ReadRules {
    /// The utility's zone (Green Button files may state their own).
    pub zone: Zone,
    pub intervals: IntervalRules,
    /// How the customer and usage files are written (`[mapping]`).
    pub mapping: mapping::Mapping,
}

/// Read the customer file and every usage source.
pub fn load(sources: &Sources, default_service: Service, rules: &ReadRules) -> Result<Dataset> {
    let customers = &sources.customers;
    let file = std::fs::File::open(customers)
        .with_context(|| format!("cannot open customer file {}", customers.display()))?;
    let started = std::time::Instant::now();
    let size = file.metadata().ok().map(|m| m.len());
    let mut data = read_customers_sized(
        file,
        &display_name(customers),
        default_service,
        &rules.mapping.customers,
        size,
    )?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        households = data.households.len(),
        "ingest: customers read"
    );
    anyhow::ensure!(
        sources.usage.is_some() || sources.interval.is_some() || sources.greenbutton.is_some(),
        "no usage data: give a usage file, an interval file or a Green Button folder"
    );
    data.files.push(
        sources
            .usage
            .as_deref()
            .map(display_name)
            .unwrap_or_else(|| "usage.csv".into()),
    );
    if let Some(usage) = &sources.usage {
        let file = std::fs::File::open(usage)
            .with_context(|| format!("cannot open usage file {}", usage.display()))?;
        read_usage(file, &display_name(usage), &mut data, &rules.mapping.usage)?;
    }
    let series = read_series(sources, rules, &mut data.files)?;
    merge_series(&mut data, series);
    Ok(data)
}

/// The interval CSV and Green Button sources, one series per (account, meter).
pub fn read_series(
    sources: &Sources,
    rules: &ReadRules,
    files: &mut Vec<String>,
) -> Result<Vec<(String, Series)>> {
    let mut out = Vec::new();
    if let Some(path) = &sources.interval {
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot open interval file {}", path.display()))?;
        let index = u32::try_from(files.len()).unwrap_or(u32::MAX);
        files.push(display_name(path));
        let name = display_name(path);
        out.extend(interval::read_intervals_as(
            file,
            &name,
            index,
            rules.zone,
            &rules.intervals,
            &rules.mapping.interval,
        )?);
    }
    if let Some(dir) = &sources.greenbutton {
        out.extend(greenbutton::read_folder(
            dir,
            rules.zone,
            &rules.intervals,
            files,
        )?);
    }
    Ok(out)
}

/// Add interval-derived reads to their households. A meter's defect moves
/// its household to the exceptions; a meter of another service than the
/// household's is a unit mismatch; an account the customer file lacks is
/// reported once.
fn merge_series(data: &mut Dataset, series: Vec<(String, Series)>) {
    if series.is_empty() {
        return;
    }
    let index: HashMap<String, usize> = data
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| (h.account_id.to_string(), i))
        .collect();
    let rejected: std::collections::HashSet<String> = data
        .exceptions
        .iter()
        .map(|e| e.account_id.clone())
        .collect();
    let mut defects: BTreeMap<usize, Exception> = BTreeMap::new();
    let mut unknown: BTreeMap<String, String> = BTreeMap::new();
    for (account, s) in series {
        let Some(&i) = index.get(&account) else {
            if !rejected.contains(&account) {
                let what = s
                    .reads
                    .first()
                    .map(|r| format!("{}:{}", data.files[r.file as usize], r.line))
                    .or_else(|| s.defect.as_ref().map(|d| d.1.clone()))
                    .unwrap_or_default();
                unknown.entry(account).or_insert(what);
            }
            continue;
        };
        let h = &data.households[i];
        let problem = match (&s.defect, s.service) {
            (Some((reason, detail)), _) => Some((*reason, detail.clone())),
            (None, Some(service)) if service != h.service => Some((
                Reason::UnitMismatch,
                format!(
                    "{}: {} readings but the account is {}",
                    s.reads
                        .first()
                        .map(|r| format!("{}:{}", data.files[r.file as usize], r.line))
                        .unwrap_or_default(),
                    service.as_str(),
                    h.service.as_str()
                ),
            )),
            _ => None,
        };
        if let Some((reason, detail)) = problem {
            defects
                .entry(i)
                .or_insert_with(|| Exception::new(account, reason, detail));
            continue;
        }
        data.reads[i].extend(s.reads);
        if !s.incomplete.is_empty() {
            data.incomplete
                .entry(account.clone())
                .or_default()
                .extend(s.incomplete);
        }
        if !s.days.is_empty() {
            data.days.entry(account.clone()).or_default().extend(s.days);
        }
        if !s.intervals.is_empty() {
            data.intervals
                .entry(account.clone())
                .or_default()
                .extend(s.intervals);
        }
        if !s.runs.is_empty() {
            data.runs.entry(account).or_default().extend(s.runs);
        }
    }
    for (account, at) in unknown {
        data.exceptions.push(Exception::new(
            account,
            Reason::UnknownAccount,
            format!("{at}: interval data for an account not in the customer file"),
        ));
    }
    data.reject(defects);
}

impl Dataset {
    /// Move the households at `defects`' indexes to the exceptions (with
    /// whatever interval data said of them), keeping households and reads
    /// aligned, then put every household's reads in date order.
    pub fn reject(&mut self, mut defects: BTreeMap<usize, Exception>) {
        if !defects.is_empty() {
            let households = std::mem::take(&mut self.households);
            let reads = std::mem::take(&mut self.reads);
            for (i, (h, r)) in households.into_iter().zip(reads).enumerate() {
                if let Some(ex) = defects.remove(&i) {
                    self.incomplete.remove(h.account_id.as_str());
                    self.runs.remove(h.account_id.as_str());
                    self.exceptions.push(ex);
                } else {
                    self.households.push(h);
                    self.reads.push(r);
                }
            }
        }
        for reads in &mut self.reads {
            reads.sort_by_key(|r| (r.end, r.start));
        }
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `input` as UTF-8: decoded as it streams when the export is in another
/// encoding (`[mapping.*] encoding`), a byte-order mark dropped.
pub fn decoded<'a>(
    input: impl std::io::Read + 'a,
    encoding: mapping::Encoding,
) -> Box<dyn std::io::Read + 'a> {
    match encoding.decoder() {
        None => Box::new(input),
        Some(enc) => Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(enc))
                .build(input),
        ),
    }
}

/// The longest line an input file may have. A CSV row, a suppression list
/// entry or an XML element longer than this is not data: the file is
/// refused with the line where it happened, and memory stays bounded.
pub const MAX_LINE: usize = 1 << 20;

/// The longest text a customer field may hold (a name, an address line):
/// beyond it the row is an exception rather than a letter nobody can mail.
pub const MAX_FIELD: usize = 500;

/// A reader that fails, with the line, at a line longer than [`MAX_LINE`].
/// The error is sticky: every later read fails the same way.
pub struct LineLimit<R> {
    inner: R,
    file: String,
    line: u64,
    run: usize,
    failed: bool,
}

impl<R> LineLimit<R> {
    pub fn new(inner: R, file: &str) -> LineLimit<R> {
        LineLimit {
            inner,
            file: file.to_string(),
            line: 1,
            run: 0,
            failed: false,
        }
    }

    fn error(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}:{}: a line longer than {} bytes; the file is not what it should be",
                self.file, self.line, MAX_LINE
            ),
        )
    }
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failed {
            return Err(self.error());
        }
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        match memchr::memrchr(b'\n', chunk) {
            Some(last) => {
                let first = memchr::memchr(b'\n', chunk).unwrap_or(last);
                if self.run + first > MAX_LINE {
                    self.failed = true;
                    return Err(self.error());
                }
                self.line += memchr::memchr_iter(b'\n', chunk).count() as u64;
                self.run = n - last - 1;
            }
            None => self.run += n,
        }
        if self.run > MAX_LINE {
            self.failed = true;
            return Err(self.error());
        }
        Ok(n)
    }
}

/// Column positions by header name, so column order is free.
pub struct Columns {
    /// Fx hashing: column names are looked up for every field of every row.
    index: rustc_hash::FxHashMap<String, usize>,
}

impl Columns {
    pub fn new(headers: &csv::StringRecord, file: &str, required: &[&str]) -> Result<Self> {
        Columns::renamed(headers, file, required, &[])
    }

    /// Columns of a file whose export names some of them otherwise:
    /// `renamed` holds (contract name, the export's header) pairs from
    /// `[mapping.*.columns]`. A mapped header the file lacks is an error.
    pub fn renamed(
        headers: &csv::StringRecord,
        file: &str,
        required: &[&str],
        renamed: &[(&str, &str)],
    ) -> Result<Self> {
        let norm = |h: &str| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        let mut index: rustc_hash::FxHashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (norm(h), i))
            .collect();
        let found = || headers.iter().collect::<Vec<_>>().join(", ");
        // One export column may feed two contract columns (a read date that
        // is both a bill's end and a register's date).
        for (ours, theirs) in renamed {
            let Some(at) = headers.iter().position(|h| norm(h) == norm(theirs)) else {
                anyhow::bail!(
                    "{file}:1: the mapping names column {theirs:?} for {ours}, but the header has no such column (found: {})",
                    found()
                );
            };
            index.remove(&norm(theirs));
            index.insert((*ours).to_string(), at);
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{file}:1: header lacks required column(s): {} (found: {})",
            missing.join(", "),
            found()
        );
        Ok(Columns { index })
    }

    /// The trimmed value of a column, `None` when absent or empty.
    pub fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        field(record, self.at(name))
    }

    /// A column's position, looked up once instead of for every row.
    pub fn at(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn names(&self) -> impl Iterator<Item = (&str, usize)> {
        self.index.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Read a CSV file with a header row, calling `each` for every record with
/// its line (right with CRLF endings and quoted line breaks) and, when the
/// record cannot be used, why. For the smaller files (responses, bounces,
/// lists); the household files use [`blocks`] directly to parse on all cores.
pub fn each_record(
    input: impl std::io::Read,
    file: &str,
    required: &[&str],
    dialect: &Dialect<'_>,
    mut each: impl FnMut(&Columns, u64, &csv::StringRecord, Option<String>) -> Result<()>,
) -> Result<Columns> {
    let input = decoded(input, dialect.encoding);
    let mut input = std::io::BufReader::with_capacity(1 << 20, LineLimit::new(input, file));
    let headers = blocks::read_header(&mut input, file, dialect.delimiter)?;
    let cols = Columns::renamed(&headers, file, required, dialect.renamed)?;
    blocks::for_each_block(&mut input, file, blocks::BLOCK, 1, |parts| {
        let mut result = Ok(());
        for piece in parts {
            blocks::for_each_row(
                piece,
                headers.len(),
                dialect.delimiter,
                |line, record, problem| {
                    if result.is_ok() {
                        result = each(&cols, line, record, problem);
                    }
                },
            );
        }
        result
    })?;
    Ok(cols)
}

/// How a CSV file is written: its encoding, delimiter and renamed columns.
pub struct Dialect<'a> {
    pub encoding: mapping::Encoding,
    pub delimiter: u8,
    pub renamed: &'a [(&'a str, &'a str)],
}

impl Default for Dialect<'_> {
    fn default() -> Self {
        Dialect {
            encoding: mapping::Encoding::Utf8,
            delimiter: b',',
            renamed: &[],
        }
    }
}

/// The trimmed value at a column position, `None` when absent or empty.
pub fn field(record: &csv::StringRecord, at: Option<usize>) -> Option<&str> {
    let v = record.get(at?)?;
    // Most fields begin and end with a letter or digit, which no
    // whitespace can be: only the others are trimmed (a Unicode trim
    // of every field of 14 million rows was a twentieth of the reading).
    let b = v.as_bytes();
    let bare = |c: Option<&u8>| c.is_some_and(u8::is_ascii_alphanumeric);
    let v = if bare(b.first()) && bare(b.last()) {
        v
    } else {
        v.trim()
    };
    (!v.is_empty()).then_some(v)
}

/// An ISO date (`YYYY-MM-DD`), read without a format interpreter: meter
/// files hold millions of them. Anything else is None.
pub fn parse_iso_date(v: &str) -> Option<chrono::NaiveDate> {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}
