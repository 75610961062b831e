//! Throughput benchmark: a full batch over synthetic households.
//!
//! `cargo bench --bench batch -- [households]` (default 10,000). Prints the
//! Typst cold start (fonts, library, first report), the reports per second
//! of the whole run (ingest to manifest) and the peak resident memory.

use std::time::Instant;

use neighborly::config::Config;
use neighborly::pipeline::{self, RunOptions};
use neighborly::synth::{self, SynthOptions};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let households: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    synth::generate(
        dir.path(),
        &SynthOptions {
            households,
            broken_rows: false,
            ..SynthOptions::default()
        },
    )?;
    println!(
        "synthetic data: {households} households in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut config = Config::load(&repo.join("config/neighborly.toml"))?;
    config.render.date = "2026-11-05".into();

    // Cold start: fonts, standard library, templates, first report.
    let wording = neighborly::wording::load_or_error(&config.templates_dir())?;
    let t = Instant::now();
    let renderer = neighborly::render::Renderer::new(
        &config.templates_dir(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
    )?;
    let opts = RunOptions {
        customers: Some(dir.path().join("customers.csv")),
        usage: Some(dir.path().join("usage.csv")),
        out: Some(dir.path().join("out")),
        state: Some(dir.path().join("state.sqlite")),
        ..RunOptions::default()
    };
    let plan = pipeline::plan(&config, &opts, &wording, None)?;
    let planned = t.elapsed();
    let letter = &plan.letters[0];
    let data = serde_json::to_vec(
        &neighborly::report::build(&plan.input(letter), &config, &wording)
            .map_err(anyhow::Error::msg)?,
    )?;
    let t1 = Instant::now();
    renderer
        .render(data.clone(), "cold")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cold = t1.elapsed();
    let t2 = Instant::now();
    renderer
        .render(data, "warm")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let warm = t2.elapsed();
    println!(
        "plan (ingest, cohorts, comparisons, phases) for {households}: {:.0} ms; Typst cold start + first report: {:.0} ms; same report warm: {:.1} ms",
        planned.as_secs_f64() * 1000.0,
        cold.as_secs_f64() * 1000.0,
        warm.as_secs_f64() * 1000.0
    );
    drop(plan);

    let summary = pipeline::run(&config, &opts)?;
    println!(
        "full run: {} reports, {} exceptions in {:.1} s = {:.1} reports/s on {} threads; peak RSS {:.0} MB",
        summary.reports,
        summary.exceptions,
        summary.seconds,
        summary.reports_per_second,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        peak_rss_mb()
    );
    let size: u64 = std::fs::read_dir(dir.path().join("out/reports"))?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "PDF size: {:.1} KB per report",
        size as f64 / 1024.0 / summary.reports.max(1) as f64
    );
    Ok(())
}
