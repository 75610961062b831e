//! The call-center brief: who is about to receive harder news, and what to say.
//!
//! Seed 004: a utility mailed comparisons to everyone at once and its agents
//! were unprepared. Every run therefore leaves `agent-brief.md` beside the
//! forecast, listing the accounts that entered the *notice* or *comparison*
//! step this run, with talking points comms staff maintain in
//! `report-templates/agent-talking-points.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::model::Period;
use crate::output::{ForecastRow, ManifestRow};

/// Write the brief for `period`; `name_of` gives an account's name.
pub fn write<'a>(
    path: &Path,
    period: Period,
    name_of: impl Fn(&str) -> Option<&'a str>,
    rows: &[ManifestRow],
    forecast: &[ForecastRow],
    config: &Config,
) -> Result<()> {
    let mut s = String::new();
    writeln!(
        s,
        "# Call-center brief: {} reports for {}",
        config.utility.name, period
    )?;
    writeln!(s)?;
    writeln!(
        s,
        "Letters mailed this run: {}. Expected extra calls by letter type:",
        rows.len()
    )?;
    writeln!(s)?;
    writeln!(
        s,
        "| letter | letters | entering this run | calls per entering household | expected calls |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for f in forecast {
        writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} |",
            f.phase, f.households, f.entering, f.call_rate, f.expected_calls
        )?;
    }
    writeln!(s)?;
    let talking = config.templates_dir().join("agent-talking-points.md");
    if let Ok(text) = std::fs::read_to_string(&talking) {
        writeln!(s, "{}", text.trim_end())?;
        writeln!(s)?;
    }
    writeln!(s, "## Households that entered a harder letter this run")?;
    writeln!(s)?;
    writeln!(
        s,
        "| account | name | letter | rating | use per day | neighbors' median | language |"
    )?;
    writeln!(s, "|---|---|---|---|---:|---:|---|")?;
    for r in rows
        .iter()
        .filter(|r| r.entered_phase && (r.phase == "notice" || r.phase == "comparison"))
    {
        let name = name_of(r.account_id.as_str()).unwrap_or("");
        // Names come from customer data: keep table cells intact.
        let name = name.replace('|', "/");
        writeln!(
            s,
            "| {} | {} | {} | {} | {} {} | {} | {} |",
            r.account_id,
            name,
            r.phase,
            r.rating,
            r.usage_per_day,
            r.unit,
            r.neighbors_median_per_day,
            r.language
        )?;
    }
    std::fs::write(path, s)?;
    Ok(())
}
