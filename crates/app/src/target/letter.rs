//! A campaign letter's wording and data.
//!
//! Each campaign folder (`report-templates/campaigns/NAME/`) holds its own
//! layout (`letter.typ` for one letter, `batch.typ` for print files) and its
//! wording in `wording/en.toml` and `wording/es.toml`, so comms staff change
//! the words without touching layout, and layout without touching Rust. The
//! letter is printed in the household's language on the front and in the
//! other language on the back, so a mixed-language home can read it either way.
//! Customer values reach the template as strings inside JSON, never as markup.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::model::{Household, Language, Period};
use crate::wording::{
    Problem, fill, fill_str, find_key_line, flatten_keys, placeholders, toml_problem, walk_strings,
};

/// Placeholders a campaign's wording may use.
pub const PLACEHOLDERS: [&str; 13] = [
    "name",
    "account_id",
    "address",
    "year_built",
    "locality",
    "programs",
    "utility",
    "phone",
    "website",
    "email",
    "assistance_phone",
    "assistance_website",
    "period",
];

/// Keys every campaign wording file must define (the layout reads them).
pub const REQUIRED: [&str; 6] = [
    "document_title",
    "letter_name",
    "headline",
    "greeting",
    "body",
    "closing",
];

/// A campaign's wording in both languages.
#[derive(Debug, Clone)]
pub struct CampaignWording {
    pub dir: PathBuf,
    texts: BTreeMap<Language, toml::Table>,
}

impl CampaignWording {
    /// Load and check both wording files: syntax, required keys, the same
    /// keys in both languages, and known placeholders. Problems carry file:line.
    pub fn load(dir: &Path) -> Result<CampaignWording, Vec<Problem>> {
        let mut read = BTreeMap::new();
        let mut problems = Vec::new();
        for lang in Language::ALL {
            let file = CampaignWording::file(dir, lang);
            match std::fs::read_to_string(&file) {
                Ok(s) => {
                    read.insert(lang, s);
                }
                Err(e) => problems.push(Problem {
                    file,
                    line: 1,
                    column: 1,
                    message: format!("cannot read: {e}"),
                    source_line: String::new(),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        CampaignWording::parse(dir, &read)
    }

    /// `wording/<lang>.toml` in a campaign's folder.
    pub fn file(dir: &Path, lang: Language) -> PathBuf {
        dir.join("wording").join(format!("{}.toml", lang.code()))
    }

    /// The wording from file contents held in memory (the studio's unsaved
    /// edits), checked as [`CampaignWording::load`] checks the files.
    pub fn parse(
        dir: &Path,
        read: &BTreeMap<Language, String>,
    ) -> Result<CampaignWording, Vec<Problem>> {
        let mut texts = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut problems = Vec::new();
        let problem =
            |file: &Path, (line, source_line): (usize, String), message: String| Problem {
                file: file.to_path_buf(),
                line,
                column: 1,
                message,
                source_line,
            };
        for (lang, source) in read {
            let (lang, source) = (*lang, source.clone());
            let file = CampaignWording::file(dir, lang);
            match toml::from_str::<toml::Table>(&source) {
                Ok(t) => {
                    texts.insert(lang, t);
                    sources.insert(lang, (file, source));
                }
                Err(e) => problems.push(toml_problem(&file, &source, &e)),
            }
        }
        for (lang, table) in &texts {
            let (file, source) = &sources[lang];
            let keys = flatten_keys(table);
            for key in REQUIRED {
                if !keys.contains(key) {
                    problems.push(problem(
                        file,
                        (1, String::new()),
                        format!("missing key {key:?} (the layout needs it)"),
                    ));
                }
            }
            for (other, other_table) in &texts {
                if other == lang {
                    continue;
                }
                let theirs = flatten_keys(other_table);
                for key in keys.difference(&theirs) {
                    problems.push(problem(
                        file,
                        find_key_line(source, key),
                        format!("key {key:?} is missing from {}.toml", other.code()),
                    ));
                }
            }
            walk_strings(table, "", &mut |key, _, s| {
                for p in placeholders(s) {
                    if !PLACEHOLDERS.contains(&p) {
                        problems.push(problem(
                            file,
                            find_key_line(source, key),
                            format!(
                                "unknown placeholder {{{p}}} (known: {})",
                                PLACEHOLDERS.join(", ")
                            ),
                        ));
                    }
                }
            });
        }
        if problems.is_empty() {
            Ok(CampaignWording {
                dir: dir.to_path_buf(),
                texts,
            })
        } else {
            Err(problems)
        }
    }

    fn resolve(&self, lang: Language, vars: &BTreeMap<&str, String>) -> serde_json::Value {
        fill(&toml::Value::Table(self.texts[&lang].clone()), vars)
    }

    /// Every string key, for tests and `check` output.
    pub fn keys(&self) -> BTreeSet<String> {
        flatten_keys(&self.texts[&Language::En])
    }
}

/// The JSON a campaign layout reads at `/household.json`.
#[derive(Debug, Serialize)]
pub struct LetterData {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub account_id: String,
    pub title: String,
    pub date: String,
    pub recipient: Vec<String>,
    pub return_address: Vec<String>,
    /// Wording in the household's language, placeholders filled.
    pub text: serde_json::Value,
    /// The same letter in the other language, for the back.
    pub other: serde_json::Value,
    /// The paper and envelope windows, for the layout.
    pub print: crate::config::Sheet,
    pub imb: Option<String>,
    pub show_windows: bool,
    pub proof_label: Option<String>,
}

/// A day without its year, as a person writes it: `November 5`,
/// `5 de noviembre`; with the weekday, `Wednesday, August 12`,
/// `miércoles 12 de agosto`.
pub fn short_date(day: chrono::NaiveDate, lang: Language, weekday: bool) -> String {
    use chrono::Datelike;
    const EN: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const ES: [&str; 7] = [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ];
    let full = long_date(day, lang);
    let without_year = match lang {
        Language::En => full
            .rsplit_once(", ")
            .map_or(full.clone(), |(d, _)| d.to_string()),
        Language::Es => full
            .rsplit_once(" de ")
            .map_or(full.clone(), |(d, _)| d.to_string()),
    };
    if !weekday {
        return without_year;
    }
    let w = day.weekday().num_days_from_monday() as usize;
    match lang {
        Language::En => format!("{}, {without_year}", EN[w]),
        Language::Es => format!("{} {without_year}", ES[w]),
    }
}

/// The letter's date as a person writes it in the language.
pub fn long_date(day: chrono::NaiveDate, lang: Language) -> String {
    use chrono::Datelike;
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const ES: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let m = day.month0() as usize;
    match lang {
        Language::En => format!("{} {}, {}", EN[m], day.day(), day.year()),
        Language::Es => format!("{} de {} de {}", day.day(), ES[m], day.year()),
    }
}

fn other(lang: Language) -> Language {
    match lang {
        Language::En => Language::Es,
        Language::Es => Language::En,
    }
}

/// One household's letter data.
pub fn build(
    h: &Household,
    period: Period,
    config: &Config,
    wording: &CampaignWording,
    today: chrono::NaiveDate,
) -> LetterData {
    let address = std::iter::once(h.address_line1.clone())
        .chain(h.address_line2.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let u = &config.utility;
    let a = &config.assistance;
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("name", h.greeting_name().to_string()),
        ("account_id", h.account_id.to_string()),
        ("address", address),
        (
            "year_built",
            h.year_built.map(|y| y.to_string()).unwrap_or_default(),
        ),
        ("locality", h.locality.to_string()),
        ("programs", h.programs.join(", ")),
        ("utility", u.name.clone()),
        ("phone", u.phone.clone()),
        ("website", u.website.clone()),
        ("email", u.email.clone()),
        ("assistance_phone", a.phone.clone()),
        ("assistance_website", a.website.clone()),
        ("period", period.to_string()),
    ]);
    let text = wording.resolve(h.language, &vars);
    let title = text
        .get("document_title")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    LetterData {
        lang: h.language.code(),
        other_lang: other(h.language).code(),
        account_id: h.account_id.to_string(),
        title: fill_str(&title, &vars),
        date: long_date(today, h.language),
        recipient: crate::report::recipient_block(h),
        return_address: std::iter::once(u.name.clone())
            .chain(u.return_address.iter().cloned())
            .collect(),
        other: wording.resolve(other(h.language), &vars),
        text,
        print: config.print.sheet(),
        imb: None,
        show_windows: false,
        proof_label: None,
    }
}
