//! The benchmark: neighborly and its peers side by side, in one run.
//!
//! ```sh
//! cargo bench --bench batch                    # full run at 10,000 households + plan stage
//! cargo bench --bench batch -- 100000          # full run at 100,000
//! cargo bench --bench batch -- plan 1000000    # plan stage only, 1M households
//! ```
//!
//! Synthetic, contract-shaped households with 14 monthly bills each, one
//! locality per ~100 households with skewed sizes (`synth --skewed`). The
//! release binary runs as a child process, as a utility would run it, so its
//! peak memory is its own (`run.json` reports it). Beside it, in the same run
//! (the machine is noisy; only ratios taken together compare), the peers of
//! `../shared/peers/`: the Typst Python binding rendering 2,000 simpler,
//! untagged reports in 2 processes, and DuckDB computing the plan stage's
//! figures on the same CSV files. Without `python3` the peers are skipped,
//! with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_neighborly");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn neighborly(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(BIN).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "neighborly {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// `run-peers.sh ARGS`: its "count seconds" line, or None (with the reason
/// printed) when the peers cannot run here.
fn peer(args: &[&str]) -> Option<(f64, f64)> {
    let script = repo().join("../shared/peers/run-peers.sh");
    if !script.exists() {
        println!("peers: {} not found, skipped", script.display());
        return None;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        println!("peers: python3 is missing, skipped");
        return None;
    }
    let out = Command::new("bash").arg(&script).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let mut it = line.split_whitespace().map(|v| v.parse::<f64>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(n), Some(s)) if out.status.success() => Some((n, s)),
        _ => {
            println!(
                "peers: {} failed, skipped: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
    }
}

/// Territory-shaped data: one locality per ~100 households (a census block
/// group or a meter route), skewed sizes, reads on 24 cycle days.
fn synth(dir: &Path, households: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let localities = (households / 100).max(5);
    neighborly(&[
        "synth",
        "--out",
        dir.to_str().unwrap(),
        "--households",
        &households.to_string(),
        "--months",
        "14",
        "--clean",
        "--localities",
        &localities.to_string(),
        "--skewed",
    ])?;
    println!(
        "synthetic data: {households} households x 14 bills in {localities} skewed localities, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A config pointing at `dir`'s data, with the shipped settings otherwise,
/// but for the weather block: the peers compute nothing like it, so the
/// figures beside them stay comparable (BENCHMARKS.md measures it apart).
fn config(dir: &Path) -> anyhow::Result<PathBuf> {
    let shipped = std::fs::read_to_string(repo().join("config/neighborly.toml"))?;
    let templates = repo().join("report-templates");
    let text = shipped
        .replace("file = \"../samples/weather.csv\"\n", "")
        .replace("../samples/customers.csv", "data/customers.csv")
        .replace("../samples/usage.csv", "data/usage.csv")
        .replace("../out/{period}", "out")
        .replace("../state/neighborly.sqlite", "state.sqlite")
        .replace("../report-templates", templates.to_str().unwrap())
        .replace("date = \"\"", "date = \"2026-11-05\"");
    let path = dir.join("config.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The plan stage beside DuckDB, in alternated pairs: this machine's speed
/// moves by a third within minutes, so one pair can mislead, and the
/// median of the pairs' ratios is what compares. The files just written
/// are flushed first: the first run after `synth` otherwise shared the
/// disk with the writeback of its 750 MB (at a million households, 10.7 s
/// where the same binary took 7.4 s on files written earlier).
fn plan_stage(dir: &Path, households: usize) -> anyhow::Result<()> {
    let config = config(dir)?;
    let data = dir.join("data");
    anyhow::ensure!(Command::new("sync").status()?.success(), "sync failed");
    let mut ratios = Vec::new();
    for pair in 1..=PLAN_PAIRS {
        let started = Instant::now();
        let printed = neighborly(&["run", "--config", config.to_str().unwrap(), "--dry-run"])?;
        let ours = started.elapsed().as_secs_f64();
        let rss = printed
            .lines()
            .find_map(|l| l.strip_prefix("peak memory: "))
            .unwrap_or("?")
            .to_string();
        print!(
            "plan stage (run --dry-run: ingest, cohorts, comparisons, phases), {households} households, pair {pair}: {ours:.2} s wall, peak memory {rss}"
        );
        match peer(&["plan", data.to_str().unwrap(), "2026-10"]) {
            Some((_, duck)) => {
                println!(
                    "; DuckDB {duck:.2} s; neighborly / DuckDB time: {:.2}",
                    ours / duck
                );
                ratios.push(ours / duck);
            }
            None => println!(),
        }
    }
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        println!(
            "plan stage beside DuckDB, median of {} pairs: {:.2}x its time",
            ratios.len(),
            ratios[ratios.len() / 2]
        );
    }
    Ok(())
}

/// Pairs of plan-stage runs (neighborly, then DuckDB).
const PLAN_PAIRS: usize = 3;

fn folder_kb(dir: &Path) -> (usize, f64) {
    let sizes: Vec<u64> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .collect()
        })
        .unwrap_or_default();
    (sizes.len(), sizes.iter().sum::<u64>() as f64 / 1024.0)
}

fn full_run(dir: &Path, households: usize) -> anyhow::Result<()> {
    let config = config(dir)?;
    neighborly(&["run", "--config", config.to_str().unwrap()])?;
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/run.json"))?)?;
    let reports = summary["reports"].as_f64().unwrap_or(0.0);
    let per_second = summary["reports_per_second"].as_f64().unwrap_or(0.0);
    println!(
        "full run (single PDFs + print files + CSVs), {households} households: {reports} reports in {:.1} s = {per_second:.1} reports/s; peak memory {:.0} MB",
        summary["seconds"].as_f64().unwrap_or(0.0),
        summary["peak_rss_mb"].as_f64().unwrap_or(f64::NAN)
    );
    let (n, kb) = folder_kb(&dir.join("out/reports"));
    let (_, print_kb) = folder_kb(&dir.join("out/print"));
    println!(
        "sizes: single PDF {:.1} KB; print file {:.1} KB per piece",
        kb / n.max(1) as f64,
        print_kb / reports.max(1.0)
    );
    let peers = tempfile::tempdir()?;
    if let Some((n, s)) = peer(&["render", "2000", peers.path().to_str().unwrap()]) {
        let theirs = n / s;
        println!(
            "render peer (typst-py, 2 processes, 2,000 untagged reports): {theirs:.1} reports/s; neighborly / peer: {:.2}x",
            per_second / theirs
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan_only = args.iter().any(|a| a == "plan");
    let households: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(if plan_only { 200_000 } else { 10_000 });
    let dir = tempfile::tempdir()?;
    synth(&dir.path().join("data"), households)?;
    plan_stage(dir.path(), households)?;
    if !plan_only {
        full_run(dir.path(), households)?;
    }
    Ok(())
}
