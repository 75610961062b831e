//! Ingest: read the customer and usage files of the data contract into a [`Dataset`].
//!
//! Files are streamed row by row with one reused record; nothing but the parsed
//! households and their reads is kept. A bad row never stops the batch: the
//! household it belongs to is moved to the exceptions with the row's
//! `file:line`. Only a file that cannot be read at all, or lacks a required
//! column, is an error.

mod blocks;
mod customers;
mod usage;

use std::path::Path;

use anyhow::{Context, Result};

use crate::exception::Exception;
use crate::model::{Household, Read, Service};

pub use customers::read_customers;
pub use usage::read_usage;

/// Households that passed validation, their reads, and the rows that did not.
#[derive(Debug, Default)]
pub struct Dataset {
    pub households: Vec<Household>,
    /// `reads[i]` belongs to `households[i]`, sorted by end date.
    pub reads: Vec<Vec<Read>>,
    /// Input households (or usage-only accounts) that were rejected while reading.
    pub exceptions: Vec<Exception>,
}

/// Read both files of the contract.
pub fn load(customers: &Path, usage: &Path, default_service: Service) -> Result<Dataset> {
    let file = std::fs::File::open(customers)
        .with_context(|| format!("cannot open customer file {}", customers.display()))?;
    let started = std::time::Instant::now();
    let mut data = read_customers(file, &display_name(customers), default_service)?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        households = data.households.len(),
        "ingest: customers read"
    );
    let file = std::fs::File::open(usage)
        .with_context(|| format!("cannot open usage file {}", usage.display()))?;
    read_usage(file, &display_name(usage), &mut data)?;
    Ok(data)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Column positions by header name, so column order is free.
pub(crate) struct Columns {
    /// Fx hashing: column names are looked up for every field of every row.
    index: rustc_hash::FxHashMap<String, usize>,
}

impl Columns {
    pub(crate) fn new(headers: &csv::StringRecord, file: &str, required: &[&str]) -> Result<Self> {
        let index: rustc_hash::FxHashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                    i,
                )
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{file}:1: header lacks required column(s): {} (found: {})",
            missing.join(", "),
            headers.iter().collect::<Vec<_>>().join(", ")
        );
        Ok(Columns { index })
    }

    /// The trimmed value of a column, `None` when absent or empty.
    pub(crate) fn get<'r>(&self, record: &'r csv::StringRecord, name: &str) -> Option<&'r str> {
        let v = record.get(*self.index.get(name)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// A column's position, looked up once instead of for every row.
    pub(crate) fn at(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = (&str, usize)> {
        self.index.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// The trimmed value at a column position, `None` when absent or empty.
pub(crate) fn field(record: &csv::StringRecord, at: Option<usize>) -> Option<&str> {
    let v = record.get(at?)?.trim();
    (!v.is_empty()).then_some(v)
}

/// An ISO date (`YYYY-MM-DD`), read without a format interpreter: meter
/// files hold millions of them. Anything else is None.
pub(crate) fn parse_iso_date(v: &str) -> Option<chrono::NaiveDate> {
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
