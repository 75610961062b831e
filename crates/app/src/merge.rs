//! `neighborly merge`: one period's shard folders made into the files a
//! single run writes.
//!
//! Each shard (`run --shard K/N`) wrote a complete run folder for its
//! localities. Merging checks that all N are there, finished, of the same
//! period, inputs, settings and templates, and writes beside them the
//! combined `manifest.csv`, `exceptions.csv`, `cohorts.csv`, `leaks.csv`,
//! `sms.csv`, `print-manifest.csv`, `forecast.csv`, `agent-brief.md` and
//! `run.json`, plus `print-files.csv`: the print files stay in their shard
//! folders, listed in shard order. Paths inside the combined files point
//! from the merged folder into the shard folders. Every row of every shard
//! appears once; the union equals a single run's rows (cohorts, exceptions
//! and leaks in the single run's order, manifests shard by shard, each in
//! presort order within its shard).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::model::Period;
use crate::output::{self, Summary};
use crate::phase::Phase;
use crate::shard::Shard;

/// What a merge found and wrote.
#[derive(Debug, Clone)]
pub struct Merged {
    pub shards: usize,
    pub summary: Summary,
    pub print_files: usize,
}

/// One shard folder, checked.
struct Part {
    dir: PathBuf,
    /// The shard folder as seen from the merged folder.
    rel: PathBuf,
    shard: Shard,
    summary: Summary,
}

/// Merge `shard_dirs` (in any order) into `out` for `period`.
pub fn merge(
    config: &Config,
    period: Period,
    out: &Path,
    shard_dirs: &[PathBuf],
) -> Result<Merged> {
    output::apply_umask(config.output.umask.bits());
    if out.join("reports").is_dir() {
        bail!(
            "{} holds a single run (it has reports/); merge into the folder that holds the shard folders",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let parts = read_parts(period, out, shard_dirs)?;
    let summary = merged_summary(period, out, &parts)?;
    concat_files(&parts, out)?;
    let print_files = write_print_files(&parts, out)?;
    output::write_forecast(&out.join("forecast.csv"), &summary.forecast)?;
    write_brief(config, period, out, &parts, &summary)?;
    // run.json last: its presence says the merge finished.
    output::write_atomic(&out.join("run.json"), &serde_json::to_vec_pretty(&summary)?)?;
    Ok(Merged {
        shards: parts.len(),
        summary,
        print_files,
    })
}

/// The period's summary from its shards': counts added up, times as the
/// slowest shard's, and the forecast of the whole period.
fn merged_summary(period: Period, out: &Path, parts: &[Part]) -> Result<Summary> {
    let mut summary = Summary {
        period: period.to_string(),
        inputs_fingerprint: parts[0].summary.inputs_fingerprint.clone(),
        out_dir: out.display().to_string(),
        ..Summary::default()
    };
    for p in parts {
        let s = &p.summary;
        summary.households_in += s.households_in;
        summary.reports += s.reports;
        summary.exceptions += s.exceptions;
        summary.possible_leaks += s.possible_leaks;
        summary.emails_sent += s.emails_sent;
        summary.emails_already_sent += s.emails_already_sent;
        summary.texts_listed += s.texts_listed;
        summary.resumed_files += s.resumed_files;
        // Shards run side by side: the period took as long as the slowest.
        summary.seconds = summary.seconds.max(s.seconds);
        summary.render_seconds = summary.render_seconds.max(s.render_seconds);
        summary.peak_rss_mb = summary.peak_rss_mb.max(s.peak_rss_mb);
        add(&mut summary.exceptions_by_reason, &s.exceptions_by_reason);
        add(&mut summary.by_rating, &s.by_rating);
        add(&mut summary.by_phase, &s.by_phase);
        add(&mut summary.entering_by_phase, &s.entering_by_phase);
    }
    summary.reports_per_second = summary.reports as f64 / summary.seconds.max(1e-9);
    summary.forecast = merged_forecast(parts, &summary)?;
    Ok(summary)
}

/// The combined CSV files. The manifests' PDF and print-file paths are
/// made relative to the merged folder, since the files stay in the shards'.
fn concat_files(parts: &[Part], out: &Path) -> Result<()> {
    let with_pdf = |p: &Part, col: &str, v: &str| -> String {
        if v.is_empty() || col != "pdf" && col != "file" {
            v.to_string()
        } else {
            p.rel.join(v).to_string_lossy().into_owned()
        }
    };
    concat(parts, out, "manifest.csv", &with_pdf, Order::AsShards)?;
    concat(parts, out, "print-manifest.csv", &with_pdf, Order::AsShards)?;
    let as_is = |_: &Part, _: &str, v: &str| v.to_string();
    for (name, order) in [
        ("sms.csv", Order::AsShards),
        ("exceptions.csv", Order::By("account_id")),
        ("leaks.csv", Order::By("account_id")),
        ("cohorts.csv", Order::By("cohort_id")),
    ] {
        concat(parts, out, name, &as_is, order)?;
    }
    Ok(())
}

/// The agent brief of the whole period from the shards' briefs. It reads
/// the merged `manifest.csv`, so it comes after `concat_files`.
fn write_brief(
    config: &Config,
    period: Period,
    out: &Path,
    parts: &[Part],
    summary: &Summary,
) -> Result<()> {
    let briefs = parts
        .iter()
        .map(|p| {
            std::fs::read_to_string(p.dir.join("agent-brief.md"))
                .with_context(|| format!("cannot read {}/agent-brief.md", p.dir.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    // The weather talking point from the merged manifest's weather columns.
    let manifest = crate::output::read_rows(&out.join("manifest.csv"))?;
    let weather = crate::brief::WeatherNote::of(manifest.iter().map(|r| {
        [
            "weather_warmer_f",
            "weather_change_per_day",
            "own_change_per_day",
        ]
        .map(|k| r.get(k).map_or("", String::as_str))
    }));
    crate::brief::merge(
        &out.join("agent-brief.md"),
        period,
        summary.reports,
        &summary.forecast,
        weather.as_ref(),
        &briefs,
        config,
    )
}

fn add(into: &mut BTreeMap<String, usize>, from: &BTreeMap<String, usize>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// Counts keyed by phase code, keyed by phase.
/// The period's forecast from its shards': letters and entering households
/// summed, and the rates (configured, learned, its interval) as the first
/// shard read them, not whatever config the merge was given (the
/// fingerprint proved the shards' settings the same).
fn merged_forecast(parts: &[Part], summary: &Summary) -> Result<Vec<output::ForecastRow>> {
    let letters = by_phase(&summary.by_phase)?;
    let entering = by_phase(&summary.entering_by_phase)?;
    parts[0]
        .summary
        .forecast
        .iter()
        .map(|row| {
            let p = phase(&row.phase)?;
            let e = entering.get(&p).copied().unwrap_or(0);
            Ok(output::ForecastRow {
                households: letters.get(&p).copied().unwrap_or(0),
                entering: e,
                expected_calls: e as f64 * row.call_rate,
                ..row.clone()
            })
        })
        .collect()
}

fn by_phase(counts: &BTreeMap<String, usize>) -> Result<BTreeMap<Phase, usize>> {
    counts
        .iter()
        .map(|(code, &n)| Ok((phase(code)?, n)))
        .collect()
}

fn phase(code: &str) -> Result<Phase> {
    code.parse()
        .map_err(|e: crate::model::ParseError| anyhow::anyhow!("run.json: {e}"))
}

/// Read and check every shard's `run.json`: one finished folder per index
/// `0..N`, all of `period`, all with the same inputs fingerprint.
fn read_parts(period: Period, out: &Path, dirs: &[PathBuf]) -> Result<Vec<Part>> {
    if dirs.is_empty() {
        bail!("no shard folders given");
    }
    let mut parts: Vec<Part> = Vec::new();
    for dir in dirs {
        let json = dir.join("run.json");
        let text = match std::fs::read(&json) {
            Ok(t) => t,
            Err(_) => {
                let mut partial = dir.as_os_str().to_os_string();
                partial.push(".partial");
                if Path::new(&partial).exists() {
                    bail!(
                        "{}: that shard has not finished ({} is still there); run it again with the same arguments to resume it",
                        dir.display(),
                        Path::new(&partial).display()
                    );
                }
                bail!(
                    "{}: no run.json, so not a finished shard folder",
                    dir.display()
                );
            }
        };
        let summary: Summary = serde_json::from_slice(&text)
            .with_context(|| format!("{}: unreadable", json.display()))?;
        let Some(shard) = summary.shard.as_deref() else {
            bail!("{}: a whole-period run, not a shard", dir.display());
        };
        let shard: Shard = shard.parse().with_context(|| json.display().to_string())?;
        if summary.period != period.to_string() {
            bail!(
                "{}: shard of period {}, not {period}",
                dir.display(),
                summary.period
            );
        }
        if summary.dry_run {
            bail!("{}: a dry run wrote no reports", dir.display());
        }
        let rel = pathdiff::diff_paths(absolute(dir)?, absolute(out)?).unwrap_or(dir.clone());
        parts.push(Part {
            dir: dir.clone(),
            rel,
            shard,
            summary,
        });
    }
    parts.sort_by_key(|p| p.shard.index);
    let first = &parts[0];
    let count = first.shard.count;
    for p in &parts {
        if p.shard.count != count {
            bail!(
                "{} is shard {} but {} is shard {}: the shards come from runs split differently",
                p.dir.display(),
                p.shard,
                first.dir.display(),
                first.shard
            );
        }
        if p.summary.inputs_fingerprint != first.summary.inputs_fingerprint {
            bail!(
                "{} and {} were run on different inputs, settings or templates; run every shard on the same ones",
                first.dir.display(),
                p.dir.display()
            );
        }
    }
    for w in parts.windows(2) {
        if w[0].shard.index == w[1].shard.index {
            bail!(
                "shard {} given twice: {} and {}",
                w[0].shard,
                w[0].dir.display(),
                w[1].dir.display()
            );
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !parts.iter().any(|p| p.shard.index == *k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard(s) {} missing: run them (neighborly run --shard K/{count}) and merge again",
            missing.join(", ")
        );
    }
    Ok(parts)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

enum Order {
    /// Shard 0's rows, then shard 1's...
    AsShards,
    /// Stably sorted by a column: each value's rows come from one shard,
    /// already in the single run's order.
    By(&'static str),
}

/// Concatenate one CSV file of every shard that has it (with one header),
/// mapping each field with `map(part, column, value)`.
fn concat(
    parts: &[Part],
    out: &Path,
    name: &str,
    map: &dyn Fn(&Part, &str, &str) -> String,
    order: Order,
) -> Result<()> {
    let mut header: Option<csv::StringRecord> = None;
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for p in parts {
        let path = p.dir.join(name);
        if !path.exists() {
            continue;
        }
        let mut r = csv::Reader::from_path(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let h = r.headers()?.clone();
        if h.is_empty() {
            // A shard with no letters (its localities all had exceptions)
            // wrote an empty manifest.
            continue;
        }
        match &header {
            Some(first) if first != &h => {
                bail!("{}: columns differ from the other shards'", path.display())
            }
            Some(_) => {}
            None => header = Some(h.clone()),
        }
        for rec in r.records() {
            let rec = rec.with_context(|| format!("cannot read {}", path.display()))?;
            rows.push(
                rec.iter()
                    .zip(h.iter())
                    .map(|(v, col)| map(p, col, v))
                    .collect(),
            );
        }
    }
    let Some(header) = header else {
        return Ok(());
    };
    if let Order::By(col) = order {
        let i = header
            .iter()
            .position(|h| h == col)
            .with_context(|| format!("{name}: no {col} column"))?;
        rows.sort_by(|a, b| a[i].cmp(&b[i]));
    }
    let mut bytes = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        w.write_record(&header)?;
        for r in &rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    output::write_atomic(&out.join(name), &bytes)
        .with_context(|| format!("cannot write {}", out.join(name).display()))
}

/// `print-files.csv`: every print file in the order to print them (shard
/// by shard), with its pieces and sheets' pages, for the mail house.
fn write_print_files(parts: &[Part], out: &Path) -> Result<usize> {
    let mut bytes = Vec::new();
    let mut n = 0;
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        w.write_record(["shard", "file", "pieces", "pages"])?;
        for p in parts {
            let path = p.dir.join("print-manifest.csv");
            if !path.exists() {
                continue;
            }
            let mut files: Vec<(String, usize, usize)> = Vec::new();
            for row in csv::Reader::from_path(&path)?.deserialize() {
                let row: crate::print::PrintRow = row?;
                match files.last_mut() {
                    Some((f, pieces, pages)) if *f == row.file => {
                        *pieces += 1;
                        *pages += row.page_count;
                    }
                    _ => files.push((row.file.clone(), 1, row.page_count)),
                }
            }
            for (file, pieces, pages) in files {
                let file = p.rel.join(&file).to_string_lossy().into_owned();
                w.write_record([
                    p.shard.to_string(),
                    file,
                    pieces.to_string(),
                    pages.to_string(),
                ])?;
                n += 1;
            }
        }
        w.flush()?;
    }
    output::write_atomic(&out.join("print-files.csv"), &bytes)?;
    Ok(n)
}
