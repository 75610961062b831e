//! Wording: every sentence a report prints, per language, apart from layout.
//!
//! `report-templates/wording/<lang>.toml` holds the text with `{placeholders}`
//! for household figures; `report-templates/tips.toml` holds the rules that
//! pick tips. Placeholders are filled here in Rust, and the finished strings
//! reach Typst as data, so a household's name can never become markup.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::compare::Rating;
use crate::model::{Language, Service};
use crate::phase::Phase;

/// Placeholders a wording string may use, and what they hold.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("name", "the household's name as in the customer file"),
    ("utility", "the utility's name"),
    ("phone", "the utility's phone number"),
    ("website", "the utility's website"),
    ("period", "the billing month, e.g. October 2026"),
    ("usage", "the household's use per day, with unit"),
    ("median", "all neighbors' use per day (median), with unit"),
    (
        "efficient",
        "efficient neighbors' use per day (20th percentile), with unit",
    ),
    ("unit", "the unit per day, e.g. gallons per day"),
    (
        "percent_above",
        "how much more than the median the household used, in percent",
    ),
    (
        "cohort_size",
        "how many similar homes the household is compared with",
    ),
    (
        "similar",
        "what the compared homes share, e.g. homes with 3-4 people",
    ),
    ("locality", "the neighborhood"),
    ("cap_phone", "the assistance program's phone number"),
    ("cap_website", "the assistance program's website"),
    (
        "last_year",
        "use per day in the same month last year (history chart text only)",
    ),
    ("cost", "this period's estimated charges (with a tariff)"),
    (
        "savings_year",
        "a year's saving from using like the efficient neighbors (with a tariff)",
    ),
    ("tip_title", "the title of the tip whose saving is shown"),
    (
        "degrees",
        "how much warmer or colder this bill's days were than a year earlier, e.g. 3 °F (weather block)",
    ),
    (
        "last_period",
        "the same billing month a year earlier, e.g. October 2025 (weather block)",
    ),
    (
        "weather_change",
        "how much the weather alone changed the use per day, with unit (weather block)",
    ),
    (
        "own_change",
        "how much the household itself changed its use per day, with unit (weather block)",
    ),
    (
        "tip_savings",
        "what that tip saves in a year (with a tariff)",
    ),
    ("goal", "next period's goal, use per day with unit"),
    (
        "goal_cost",
        "next period's charges at the goal (with a tariff)",
    ),
    ("last_goal", "the goal the last letter set for this period"),
    (
        "link",
        "the household's short link (sms.* and the texts of alert.* and peak.*)",
    ),
    (
        "leak_from",
        "when water started flowing without a stop (leak.* only)",
    ),
    ("leak_to", "when that flow was last seen (leak.* only)"),
    (
        "leak_hours",
        "how many hours it never stopped (leak.* only)",
    ),
    (
        "leak_per_day",
        "the lowest flow of those hours, per day, with unit (leak.* only)",
    ),
    ("quantity", "the use charged at one rate (money.tier only)"),
    (
        "rate",
        "the price of one unit at that rate (money.tier only)",
    ),
    (
        "per",
        "the unit the rate is for, from money.per (money.tier only)",
    ),
    (
        "as_of",
        "the last day an alert's figures include (alert.* only)",
    ),
    (
        "bill_start",
        "the first day of the household's bill period (alert.* only)",
    ),
    (
        "bill_end",
        "the last day of the household's bill period (alert.* only)",
    ),
    (
        "used_so_far",
        "use from the period's first day to the as-of date, with unit (alert.* only)",
    ),
    (
        "projected_use",
        "the period's projected use, with unit (alert.* only)",
    ),
    (
        "projected_cost",
        "the period's projected bill (alert.* only)",
    ),
    (
        "usual_cost",
        "the household's usual bill for such a period (alert.* only)",
    ),
    (
        "over_usual",
        "how far the projected bill is above the usual one, in percent (alert.* only)",
    ),
    (
        "event_day",
        "the peak event's day, e.g. Wednesday, August 12 (peak.* only)",
    ),
    (
        "event_hours",
        "the peak event's hours, e.g. 4:00 PM to 8:00 PM (peak.* only)",
    ),
    (
        "window_use",
        "the household's use in the event's hours, with unit (peak.* only)",
    ),
    (
        "baseline_use",
        "its usual use in those hours on similar days, with unit (peak.* only)",
    ),
    (
        "reduction",
        "baseline less use in the event's hours, with unit (peak.* only)",
    ),
    (
        "reduction_pct",
        "that reduction in percent of the baseline (peak.* only)",
    ),
    ("n", "number of people (similar.* only)"),
    ("sqft", "floor-area band (similar.* only)"),
    ("fuel", "heating fuel (similar.* only)"),
];

/// The loaded wording of every language plus the tip rules.
#[derive(Debug, Clone)]
pub struct Wording {
    pub dir: PathBuf,
    texts: BTreeMap<Language, Text>,
    pub tips: Vec<TipRule>,
    tips_source: String,
    /// Per service, the wording with `wording/<service>/<lang>.toml` laid
    /// over the base files: an electric or gas report speaks of energy.
    voices: BTreeMap<Service, Box<Wording>>,
}

/// The text of the wording files and the tip rules, as read from disk or as
/// edited in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    pub texts: BTreeMap<Language, String>,
    pub tips: String,
    /// `wording/<service>/<lang>.toml`: the sentences a service says differently.
    pub overlays: BTreeMap<(Service, Language), String>,
}

impl Sources {
    pub fn read(templates: &Path) -> Result<Sources, Vec<Problem>> {
        let mut texts = BTreeMap::new();
        let mut problems = Vec::new();
        let mut read = |file: PathBuf, what: &str| match std::fs::read_to_string(&file) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(Problem {
                    file,
                    line: 1,
                    column: 1,
                    message: format!("cannot read {what}: {e}"),
                    source_line: String::new(),
                });
                None
            }
        };
        for lang in Language::ALL {
            if let Some(s) = read(Sources::wording_file(templates, lang), "wording file") {
                texts.insert(lang, s);
            }
        }
        let tips = read(templates.join("tips.toml"), "tip rules");
        let mut overlays = BTreeMap::new();
        for service in Service::ALL {
            for lang in Language::ALL {
                let file = Sources::overlay_file(templates, service, lang);
                if file.exists()
                    && let Some(s) = read(file, "service wording file")
                {
                    overlays.insert((service, lang), s);
                }
            }
        }
        match tips {
            Some(tips) if problems.is_empty() => Ok(Sources {
                texts,
                tips,
                overlays,
            }),
            _ => Err(problems),
        }
    }

    /// `wording/<service>/<lang>.toml` in the templates folder.
    pub fn overlay_file(templates: &Path, service: Service, lang: Language) -> PathBuf {
        templates
            .join("wording")
            .join(service.as_str())
            .join(format!("{}.toml", lang.code()))
    }

    /// `wording/<lang>.toml` in the templates folder.
    pub fn wording_file(templates: &Path, lang: Language) -> PathBuf {
        templates
            .join("wording")
            .join(format!("{}.toml", lang.code()))
    }
}

#[derive(Debug, Clone)]
struct Text {
    file: PathBuf,
    source: String,
    table: toml::Table,
}

/// When a tip applies. Every condition given must hold; absent ones always do.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TipRule {
    pub id: String,
    /// Higher first among matching tips.
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub services: Vec<Service>,
    /// Bill months, 1-12.
    #[serde(default)]
    pub months: Vec<u32>,
    #[serde(default)]
    pub ratings: Vec<String>,
    #[serde(default)]
    pub phases: Vec<String>,
    pub built_before: Option<i32>,
    pub built_after: Option<i32>,
    pub min_occupants: Option<u32>,
    pub max_occupants: Option<u32>,
    #[serde(default)]
    pub heating_fuels: Vec<String>,
    /// `true`: only for assistance-eligible households; `false`: only for others.
    pub assistance: Option<bool>,
    /// `true`: only with a possible-leak block (interval data); `false`: only
    /// without one (a report that already says how to find the leak).
    pub leak: Option<bool>,
    /// What following the tip saves, in the service's unit per day (gal,
    /// kWh): with a tariff, the report turns it into money a year.
    pub saves_per_day: Option<f64>,
}

/// What a tip rule can look at.
pub struct TipContext<'a> {
    pub service: Service,
    pub month: u32,
    pub rating: Option<Rating>,
    pub phase: Phase,
    pub year_built: Option<i32>,
    pub occupants: Option<u32>,
    pub heating_fuel: Option<&'a str>,
    pub assistance_eligible: bool,
    pub leak: bool,
}

impl TipRule {
    pub fn matches(&self, c: &TipContext) -> bool {
        let rating = c.rating.map(Rating::code).unwrap_or("none");
        (self.services.is_empty() || self.services.contains(&c.service))
            && (self.months.is_empty() || self.months.contains(&c.month))
            && (self.ratings.is_empty() || self.ratings.iter().any(|r| r == rating))
            && (self.phases.is_empty() || self.phases.iter().any(|p| p == c.phase.code()))
            && self
                .built_before
                .is_none_or(|y| c.year_built.is_some_and(|b| b < y))
            && self
                .built_after
                .is_none_or(|y| c.year_built.is_some_and(|b| b > y))
            && self
                .min_occupants
                .is_none_or(|n| c.occupants.is_some_and(|o| o >= n))
            && self
                .max_occupants
                .is_none_or(|n| c.occupants.is_some_and(|o| o <= n))
            && (self.heating_fuels.is_empty()
                || c.heating_fuel
                    .is_some_and(|f| self.heating_fuels.iter().any(|h| h == f)))
            && self.assistance.is_none_or(|a| a == c.assistance_eligible)
            && self.leak.is_none_or(|l| l == c.leak)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TipsFile {
    #[serde(default)]
    tip: Vec<TipRule>,
}

/// A wording problem, located like a compiler error.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub source_line: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )?;
        if !self.source_line.is_empty() {
            write!(f, "\n    {}", self.source_line)?;
        }
        Ok(())
    }
}

pub fn toml_problem(file: &Path, source: &str, e: &toml::de::Error) -> Problem {
    let at = crate::located::Located::of_toml(file, source, e);
    Problem {
        source_line: at.source_line(source).to_string(),
        file: at.file,
        line: at.line,
        column: at.column,
        message: e.message().to_string(),
    }
}

impl Wording {
    /// Load `wording/en.toml`, `wording/es.toml` and `tips.toml` from the templates folder.
    /// Syntax errors fail here; [`Wording::validate`] finds the subtler problems.
    pub fn load(templates: &Path) -> Result<Wording, Vec<Problem>> {
        Wording::parse(templates, &Sources::read(templates)?)
    }

    /// Wording from file contents held in memory (the studio's unsaved
    /// edits), checked exactly as [`Wording::load`] checks the files.
    pub fn parse(templates: &Path, sources: &Sources) -> Result<Wording, Vec<Problem>> {
        let mut texts = BTreeMap::new();
        let mut problems = Vec::new();
        for (lang, source) in &sources.texts {
            let file = Sources::wording_file(templates, *lang);
            match toml::from_str::<toml::Table>(source) {
                Ok(table) => {
                    texts.insert(
                        *lang,
                        Text {
                            file,
                            source: source.clone(),
                            table,
                        },
                    );
                }
                Err(e) => problems.push(toml_problem(&file, source, &e)),
            }
        }
        let tips_file = templates.join("tips.toml");
        let tips = match toml::from_str::<TipsFile>(&sources.tips) {
            Ok(t) => t.tip,
            Err(e) => {
                problems.push(toml_problem(&tips_file, &sources.tips, &e));
                vec![]
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut wording = Wording {
            dir: templates.to_path_buf(),
            texts,
            tips,
            tips_source: sources.tips.clone(),
            voices: BTreeMap::new(),
        };
        let mut problems = wording.validate();
        let services: BTreeSet<Service> = sources.overlays.keys().map(|(s, _)| *s).collect();
        for service in services {
            match wording.overlaid(templates, service, sources) {
                Ok(voice) => {
                    problems.extend(voice.validate());
                    wording.voices.insert(service, Box::new(voice));
                }
                Err(p) => problems.extend(p),
            }
        }
        if problems.is_empty() {
            Ok(wording)
        } else {
            Err(problems)
        }
    }

    /// The base wording with a service's overlay files laid over it. An
    /// overlay may only replace sentences the base has, so a typo in a key
    /// is an error rather than a sentence nobody reads.
    fn overlaid(
        &self,
        templates: &Path,
        service: Service,
        sources: &Sources,
    ) -> Result<Wording, Vec<Problem>> {
        let mut voice = self.clone();
        let mut problems = Vec::new();
        for (lang, text) in voice.texts.iter_mut() {
            let Some(source) = sources.overlays.get(&(service, *lang)) else {
                continue;
            };
            let file = Sources::overlay_file(templates, service, *lang);
            let overlay = match toml::from_str::<toml::Table>(source) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(toml_problem(&file, source, &e));
                    continue;
                }
            };
            let base = flatten_keys(&text.table);
            for key in flatten_keys(&overlay) {
                if !base.contains(&key) {
                    let (line, src) = find_key_line(source, &key);
                    problems.push(Problem {
                        file: file.clone(),
                        line,
                        column: 1,
                        message: format!(
                            "key `{key}` is not in wording/{}.toml: a service file may only \
                             replace sentences the base wording has",
                            lang.code()
                        ),
                        source_line: src,
                    });
                }
            }
            merge(&mut text.table, overlay);
            text.file = file;
            text.source = source.clone();
        }
        if problems.is_empty() {
            Ok(voice)
        } else {
            Err(problems)
        }
    }

    /// The services whose sentences are laid over the base wording.
    pub fn voiced(&self) -> Vec<Service> {
        self.voices.keys().copied().collect()
    }

    /// The wording a household of `service` reads.
    pub fn voice(&self, service: Service) -> &Wording {
        self.voices.get(&service).map_or(self, |v| v)
    }

    /// Keys present in one language but not another, unknown placeholders,
    /// tips without text, and tip rules naming unknown ratings or phases.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let keys: BTreeMap<Language, BTreeSet<String>> = self
            .texts
            .iter()
            .map(|(l, t)| (*l, flatten_keys(&t.table)))
            .collect();
        for (lang, text) in &self.texts {
            for (other, other_keys) in &keys {
                if other == lang {
                    continue;
                }
                for key in keys[lang].difference(other_keys) {
                    let (line, src) = find_key_line(&text.source, key);
                    problems.push(Problem {
                        file: text.file.clone(),
                        line,
                        column: 1,
                        message: format!("key `{key}` is missing in {}.toml", other.code()),
                        source_line: src,
                    });
                }
            }
            walk_strings(&text.table, "", &mut |key, _, value| {
                for name in placeholders(value) {
                    if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
                        let (line, src) = find_key_line(&text.source, key);
                        let column = src.find(&format!("{{{name}}}")).map_or(1, |c| c + 1);
                        problems.push(Problem {
                            file: text.file.clone(),
                            line,
                            column,
                            message: format!(
                                "unknown placeholder {{{name}}}; known: {}",
                                PLACEHOLDERS
                                    .iter()
                                    .map(|(p, _)| *p)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            source_line: src,
                        });
                    }
                }
            });
            for rule in &self.tips {
                let key = format!("tips.{}.title", rule.id);
                if !keys[lang].contains(&key) {
                    problems.push(self.tip_problem(
                        &rule.id,
                        format!("tip `{}` has no title in {}.toml", rule.id, lang.code()),
                    ));
                }
            }
        }
        for rule in &self.tips {
            for r in &rule.ratings {
                if r != "none" && r.parse::<Rating>().is_err() {
                    problems.push(self.tip_problem(
                        &rule.id,
                        format!("unknown rating `{r}` (great, good, above-typical, none)"),
                    ));
                }
            }
            for p in &rule.phases {
                if p.parse::<Phase>().is_err() {
                    problems.push(self.tip_problem(
                        &rule.id,
                        format!("unknown phase `{p}` (tips, notice, comparison)"),
                    ));
                }
            }
            if rule.months.iter().any(|m| !(1..=12).contains(m)) {
                problems.push(self.tip_problem(&rule.id, "months must be between 1 and 12".into()));
            }
        }
        problems
    }

    fn tip_problem(&self, id: &str, message: String) -> Problem {
        let file = self.dir.join("tips.toml");
        let source = &self.tips_source;
        let needle = format!("\"{id}\"");
        let line = source
            .lines()
            .position(|l| l.contains(&needle))
            .map_or(1, |i| i + 1);
        Problem {
            source_line: source.lines().nth(line - 1).unwrap_or("").to_string(),
            file,
            line,
            column: 1,
            message,
        }
    }

    /// The wording of one language with placeholders filled, as JSON for the template.
    pub fn resolve(&self, lang: Language, vars: &BTreeMap<&str, String>) -> serde_json::Value {
        fill(&toml::Value::Table(self.texts[&lang].table.clone()), vars)
    }

    /// A copy in which every sentence of `lang` is replaced by a marker
    /// (`§12§`, the key's index in the returned list). Laying a report out
    /// with it shows which sentences a variant prints, and where: the studio's
    /// form follows the page. Lists (month names) are left as they are.
    pub fn traced(&self, lang: Language) -> (Wording, Vec<String>) {
        fn mark(table: &mut toml::Table, prefix: &str, keys: &mut Vec<String>) {
            for (k, v) in table.iter_mut() {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::String(s) => {
                        *s = format!("§{}§", keys.len());
                        keys.push(key);
                    }
                    toml::Value::Table(t) => mark(t, &key, keys),
                    _ => {}
                }
            }
        }
        let mut copy = self.clone();
        let mut keys = Vec::new();
        if let Some(text) = copy.texts.get_mut(&lang) {
            mark(&mut text.table, "", &mut keys);
        }
        // A service's wording has the same keys in the same order, so its
        // markers carry the same numbers; the studio edits the base files.
        for voice in copy.voices.values_mut() {
            if let Some(text) = voice.texts.get_mut(&lang) {
                mark(&mut text.table, "", &mut Vec::new());
            }
        }
        (copy, keys)
    }

    /// The file a language's wording came from.
    pub fn file(&self, lang: Language) -> Option<&Path> {
        self.texts.get(&lang).map(|t| t.file.as_path())
    }

    /// A list of strings from the wording (e.g. month names), or empty.
    pub fn list(&self, lang: Language, key: &str) -> Vec<String> {
        self.texts[&lang]
            .table
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A single string by dotted key, placeholders left as they are.
    pub fn get(&self, lang: Language, key: &str) -> Option<&str> {
        let mut value: Option<&toml::Value> = None;
        let mut table = &self.texts[&lang].table;
        for part in key.split('.') {
            value = table.get(part);
            if let Some(toml::Value::Table(t)) = value {
                table = t;
            }
        }
        value.and_then(|v| v.as_str())
    }

    /// The best tips for a household: matching rules by priority, skipping the
    /// ones it saw last period when enough others match.
    pub fn pick_tips(
        &self,
        context: &TipContext,
        last_shown: &[String],
        count: usize,
    ) -> Vec<&TipRule> {
        let mut matching: Vec<&TipRule> = self.tips.iter().filter(|t| t.matches(context)).collect();
        matching.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
        let fresh: Vec<&TipRule> = matching
            .iter()
            .copied()
            .filter(|t| !last_shown.contains(&t.id))
            .collect();
        let mut chosen: Vec<&TipRule> = fresh.into_iter().take(count).collect();
        // Too few fresh tips: top up with repeats rather than show fewer.
        for t in matching {
            if chosen.len() >= count {
                break;
            }
            if !chosen.iter().any(|c| c.id == t.id) {
                chosen.push(t);
            }
        }
        chosen
    }
}

/// Lay `over` onto `base`, table by table.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

pub fn flatten_keys(table: &toml::Table) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(prefix: &str, t: &toml::Table, out: &mut BTreeSet<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(inner) => walk(&key, inner, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }
    walk("", table, &mut out);
    out
}

/// Every string of a wording table with its dotted key; a string inside a
/// list (paragraphs, month names) also gets its position in the list.
pub fn walk_strings(
    table: &toml::Table,
    prefix: &str,
    f: &mut dyn FnMut(&str, Option<usize>, &str),
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => f(&key, None, s),
            toml::Value::Table(t) => walk_strings(t, &key, f),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::String(s) = item {
                        f(&key, Some(i), s)
                    }
                }
            }
            _ => {}
        }
    }
}

/// Names inside `{...}` in a wording string.
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push(name);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

pub fn fill(value: &toml::Value, vars: &BTreeMap<&str, String>) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(fill_str(s, vars)),
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), fill(v, vars))).collect())
        }
        toml::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(|v| fill(v, vars)).collect())
        }
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
    }
}

/// Replace every known `{placeholder}`; unknown ones stay visible (and `check` reports them).
pub fn fill_str(s: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| vars.get(&after[..close]).map(|v| (close, v)))
        {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The line (1-based) of a dotted key in a TOML file, found by its table
/// header and key; line 1 if it cannot be found.
pub fn find_key_line(source: &str, dotted: &str) -> (usize, String) {
    let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut in_table = table.is_empty();
    for (i, line) in source.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_table = t.trim_matches(|c| c == '[' || c == ']').trim() == table;
            continue;
        }
        if in_table && t.split('=').next().map(|k| k.trim().trim_matches('"')) == Some(key) {
            return (i + 1, line.to_string());
        }
    }
    (1, source.lines().next().unwrap_or("").to_string())
}

/// Load wording or turn its problems into one error message.
pub fn load_or_error(templates: &Path) -> Result<Wording> {
    Wording::load(templates)
        .map_err(|problems| {
            anyhow::anyhow!(
                "{}",
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
        .with_context(|| format!("wording in {} is not valid", templates.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_placeholders_and_leaves_others() {
        let vars = BTreeMap::from([
            ("name", "Ana {usage}".to_string()),
            ("usage", "5".to_string()),
        ]);
        // A value containing braces is not expanded again.
        assert_eq!(
            fill_str("Hi {name}, {usage} {nope}", &vars),
            "Hi Ana {usage}, 5 {nope}"
        );
        assert_eq!(placeholders("a {x} {y_2} {} { z}"), vec!["x", "y_2"]);
    }

    #[test]
    fn finds_keys_under_their_table() {
        let src = "title = \"a\"\n[rating]\ngreat = \"b\"\n[other]\ngreat = \"c\"\n";
        assert_eq!(find_key_line(src, "other.great").0, 5);
        assert_eq!(find_key_line(src, "title").0, 1);
    }
}
