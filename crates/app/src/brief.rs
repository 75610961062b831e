//! The call-center brief: who is about to receive harder news, and what to say.
//!
//! A comparison mailed to everyone at once floods a call center whose agents
//! were not told it was coming. Every run therefore leaves `agent-brief.md` beside the
//! forecast, listing the accounts that entered the *notice* or *comparison*
//! step this run, with talking points comms staff maintain in
//! `report-templates/agent-talking-points.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::config::Config;
use crate::model::Period;
use crate::output::{self, ForecastRow, ManifestRow};
use crate::phase::Phase;

pub use crate::store::LastRun;

/// What the weather did this period, over the letters that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherNote {
    /// Letters carrying the weather block with a year-earlier comparison.
    pub letters: usize,
    /// Medians over those letters: °F warmer than a year earlier, and the
    /// use per day the weather alone and the households themselves changed.
    pub warmer_by: f64,
    pub weather_change: f64,
    pub own_change: f64,
}

impl WeatherNote {
    /// The medians over the manifest's weather columns (`weather_warmer_f`,
    /// `weather_change_per_day`, `own_change_per_day`) of the letters that
    /// have them, as the pages print them; no letter, no note. A merged
    /// period reads its merged manifest, so shards and a whole run agree.
    pub fn of<'r>(rows: impl Iterator<Item = [&'r str; 3]>) -> Option<WeatherNote> {
        let parsed: Vec<[f64; 3]> = rows
            .filter_map(|r| {
                let [a, b, c] = r.map(|v| v.parse::<f64>().ok());
                Some([a?, b?, c?])
            })
            .collect();
        let median = |k: usize| {
            let mut v: Vec<f64> = parsed.iter().map(|r| r[k]).collect();
            v.sort_by(f64::total_cmp);
            crate::compare::quantile_type7(&v, 0.5)
        };
        (!parsed.is_empty()).then(|| WeatherNote {
            letters: parsed.len(),
            warmer_by: median(0),
            weather_change: median(1),
            own_change: median(2),
        })
    }

    /// One talking point: the month's weather in figures, for a caller who
    /// asks why the bill went up (or down).
    fn talking_point(&self, period: Period, unit: &str) -> String {
        let dir = |v: f64, up: &str, down: &str| {
            if v >= 0.0 {
                up.to_string()
            } else {
                down.to_string()
            }
        };
        format!(
            "- **Weather this period.** {} letters explain the weather (\"Weather and your use\" on the back). \
             For the median household, {period} was {:.0} °F {} than a year earlier; the weather alone {} its use by about \
             {:.1} {}, and its own habits {} it by about {:.1} {}. A caller whose bill rose in a {} month is told how \
             much of the change the weather explains, from the letter's own figures.",
            self.letters,
            self.warmer_by.abs(),
            dir(self.warmer_by, "warmer", "colder"),
            dir(self.weather_change, "raised", "lowered"),
            self.weather_change.abs(),
            unit,
            dir(self.own_change, "raised", "lowered"),
            self.own_change.abs(),
            unit,
            dir(self.warmer_by, "warm", "cold"),
        )
    }
}

/// What the brief says beyond its table: the forecast, the last run's
/// calls and the weather.
pub struct Context<'a> {
    pub forecast: &'a [ForecastRow],
    pub last: Option<&'a LastRun>,
    pub weather: Option<WeatherNote>,
}

/// Write the brief for `period`; `name_of` gives an account's name.
pub fn write<'a>(
    path: &Path,
    period: Period,
    name_of: impl Fn(&str) -> Option<&'a str>,
    rows: &[ManifestRow],
    context: &Context,
    config: &Config,
) -> Result<()> {
    output::writing(path, |path| {
        // The weather point and the last run's calls go above the table.
        let mut extra = String::new();
        if let Some(note) = &context.weather {
            writeln!(
                extra,
                "{}",
                note.talking_point(period, &unit_per_day(config))
            )?;
            writeln!(extra)?;
        }
        if let Some(last) = context.last {
            last_run(&mut extra, last, config)?;
        }
        let mut s = head(period, rows.len(), context.forecast, config, &extra)?;
        for r in rows
            .iter()
            .filter(|r| r.entered_phase && matches!(r.phase, Phase::Notice | Phase::Comparison))
        {
            let name = name_of(r.account_id.as_str()).unwrap_or("");
            // Names come from customer data: keep table cells intact.
            let name = name.replace('|', "/");
            writeln!(
                s,
                "| {} | {} | {} | {} | {} {} | {} | {} | {} |",
                r.account_id,
                name,
                r.phase.code(),
                r.rating.map_or("none", |r| r.code()),
                r.usage_per_day,
                r.unit,
                r.neighbors_median_per_day,
                r.language.code(),
                compared_with(r)
            )?;
        }
        std::fs::write(path, s)?;
        Ok(())
    })
}

/// The unit per day the brief speaks in.
fn unit_per_day(config: &Config) -> String {
    format!("{}/day", config.utility.service.canonical_unit())
}

/// The brief of a period run in shards: the combined letters, forecast and
/// weather, and every shard's table of households, in shard order.
pub fn merge(
    path: &Path,
    period: Period,
    letters: usize,
    forecast: &[ForecastRow],
    weather: Option<&WeatherNote>,
    shard_briefs: &[String],
    config: &Config,
) -> Result<()> {
    output::writing(path, |path| {
        let extra = match weather {
            Some(note) => format!("{}\n\n", note.talking_point(period, &unit_per_day(config))),
            None => String::new(),
        };
        let mut s = head(period, letters, forecast, config, &extra)?;
        for brief in shard_briefs {
            let table = brief
                .rsplit_once(TABLE_RULE)
                .map(|(_, rest)| rest)
                .unwrap_or("");
            for line in table.lines().filter(|l| l.starts_with("| ")) {
                writeln!(s, "{line}")?;
            }
        }
        std::fs::write(path, s)?;
        Ok(())
    })
}

/// Whom the letter compared the household with, as an agent would say it:
/// a caller told "homes like yours" must hear the truth when the cohort was
/// the whole area.
fn compared_with(r: &ManifestRow) -> String {
    match r.cohort_id.rsplit_once('/') {
        None => "no comparison".into(),
        Some((_, "all")) => format!("all {} homes in the area", r.cohort_size),
        Some((_, traits)) => format!("{} homes with {traits}", r.cohort_size),
    }
}

/// The line under the households table's header: the rows follow it.
const TABLE_RULE: &str = "|---|---|---|---|---:|---:|---|---|\n";

/// How the last run's forecast came out: set beside this run's, so the
/// call center can see whether to trust it.
fn last_run(s: &mut String, (period, rows): &LastRun, config: &Config) -> Result<()> {
    writeln!(
        s,
        "## Last run ({period}): forecast and the calls that came\n\n\
         Calls imported as response events, within {} days of the letter.\n",
        config.phase.call_window_days
    )?;
    writeln!(
        s,
        "| letter | entering | rate used | expected calls | calls so far |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for (f, came) in rows {
        writeln!(
            s,
            "| {} | {} | {:.2}% | {:.1} | {came} |",
            f.phase.code(),
            f.entering,
            100.0 * f.call_rate,
            f.expected_calls
        )?;
    }
    writeln!(s)?;
    Ok(())
}

/// Everything up to the households table's rows.
fn head(
    period: Period,
    letters: usize,
    forecast: &[ForecastRow],
    config: &Config,
    extra: &str,
) -> Result<String> {
    let mut s = String::new();
    writeln!(
        s,
        "# Call-center brief: {} reports for {}",
        config.utility.name, period
    )?;
    writeln!(s)?;
    writeln!(
        s,
        "Letters mailed this run: {letters}. Expected extra calls by letter type:"
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
    s.push_str(extra);
    writeln!(s, "## Households that entered a harder letter this run")?;
    writeln!(s)?;
    writeln!(
        s,
        "| account | name | letter | rating | use per day | neighbors' median | language | compared with |"
    )?;
    s.push_str(TABLE_RULE);
    Ok(s)
}
