//! `neighborly import`: interval data (Green Button XML, interval CSV) as
//! the monthly reads the run derives from it, written in the `usage.csv`
//! contract so analysts can inspect and reuse them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::ingest::{self, ReadRules, Series, Sources};

/// What an import wrote.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub accounts: usize,
    pub rows: usize,
    /// Accounts whose data could not be used, with the reason.
    pub defects: Vec<(String, String)>,
    /// Months left out for low coverage: (account, detail).
    pub incomplete: Vec<(String, String)>,
}

/// Read the interval sources and write `out` (one row per account and
/// local calendar month or billing period, in the source's service unit:
/// kWh, therm or gal). Accounts whose data has a defect are left out and
/// listed in the summary.
pub fn import(
    interval: Option<PathBuf>,
    greenbutton: Option<PathBuf>,
    rules: &ReadRules,
    out: &Path,
) -> Result<ImportSummary> {
    anyhow::ensure!(
        interval.is_some() || greenbutton.is_some(),
        "nothing to import: give --greenbutton DIR or --interval FILE (or set them in [input])"
    );
    let sources = Sources {
        interval,
        greenbutton,
        ..Sources::default()
    };
    let mut files = vec![String::new()];
    let mut series: Vec<(String, Series)> = ingest::read_series(&sources, rules, &mut files)?;
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let mut summary = ImportSummary::default();
    let mut text = String::from("account_id,period_start,period_end,quantity,unit,estimated\n");
    let mut accounts = std::collections::BTreeSet::new();
    let mut rows: Vec<(String, crate::model::Read, &'static str)> = Vec::new();
    for (account, s) in &series {
        if let Some((reason, detail)) = &s.defect {
            summary
                .defects
                .push((account.clone(), format!("{reason}: {detail}")));
            continue;
        }
        for i in &s.incomplete {
            summary.incomplete.push((account.clone(), i.detail.clone()));
        }
        let unit = s.service.map_or("", |sv| sv.canonical_unit());
        for r in &s.reads {
            rows.push((account.clone(), *r, unit));
        }
        accounts.insert(account.clone());
    }
    rows.sort_by(|a, b| (&a.0, a.1.end, a.1.start).cmp(&(&b.0, b.1.end, b.1.start)));
    for (account, r, unit) in &rows {
        let account = if account.contains([',', '"', '\n']) {
            format!("\"{}\"", account.replace('"', "\"\""))
        } else {
            account.clone()
        };
        text.push_str(&format!(
            "{account},{},{},{},{unit},{}\n",
            r.start,
            r.end,
            quantity(r.quantity),
            r.estimated
        ));
    }
    summary.rows = rows.len();
    summary.accounts = accounts.len();
    let mut f =
        std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(summary)
}

/// Enough digits to round-trip what meters measure (a thousandth of a
/// unit), without binary noise such as `0.30000000000000004`.
fn quantity(q: f64) -> String {
    let s = format!("{q:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".into() } else { s.into() }
}

impl ImportSummary {
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{} monthly read(s) for {} account(s)\n",
            self.rows, self.accounts
        );
        for (a, d) in &self.defects {
            out.push_str(&format!("not imported: {a}: {d}\n"));
        }
        for (a, d) in &self.incomplete {
            out.push_str(&format!("month left out: {a}: {d}\n"));
        }
        out
    }
}
