//! Report data: everything one household's letter shows, as the JSON the
//! template reads (`json("/household.json")`).
//!
//! This is where figures are formatted, wording placeholders filled, tips
//! picked and charts drawn. It produces data only; layout is the template's job.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::chart::{self, Bar, ChartError, Month};
use crate::cohort::{Cohort, Similarity};
use crate::compare::{Comparison, Rating};
use crate::config::Config;
use crate::goal::{GoalKind, GoalOutcome};
use crate::model::{Bill, Household, Language, Period, Service};
use crate::phase::Phase;
use crate::wording::{TipContext, Wording, fill_str};

/// Tips shown per report: three on the front; tips and notice letters,
/// whose back has no comparison tips, add two more there.
pub const TIPS_PER_REPORT: usize = 3;
/// The most a tip's saving may be of the household's own use per day this
/// bill: `fix-leaks` saves an average home 27 gal a day, half of what a
/// one-person home uses.
pub const TIP_SAVING_MAX_SHARE: f64 = 0.2;
/// Tips chosen for a tips or notice letter.
pub const TIPS_PER_LETTER: usize = 5;
/// Longest recipient line a #10 window shows legibly (INPUTS.md, "Print-mail window").
pub const ADDRESS_LINE_MAX: usize = 40;
/// Most lines in the recipient block.
pub const ADDRESS_LINES_MAX: usize = 5;

/// What the pipeline knows about a household this period.
pub struct ReportInput<'a> {
    pub household: &'a Household,
    pub bills: &'a [Bill],
    pub period: Period,
    pub comparison: Option<&'a Comparison>,
    pub cohort: Option<&'a Cohort>,
    pub phase: Phase,
    pub assistance_eligible: bool,
    /// Tip ids chosen for this letter (see [`pick_tips`]).
    pub tips: &'a [String],
    /// Set on proof pages so reviewers know which variant they are reading.
    pub proof_label: Option<String>,
    /// The use per day this letter sets as next period's goal.
    pub goal: Option<f64>,
    /// The goal the last letter set for this period.
    pub last_goal: Option<f64>,
    /// Water that never stopped flowing during the period.
    pub leak: Option<&'a crate::model::FlowRun>,
    /// Compared with every home of its locality, since too few homes shared
    /// its traits: the letter says so instead of "similar homes".
    pub similarity_dropped: bool,
    /// The weather block's figures, when the letter carries one.
    pub insight: Option<&'a crate::weather::insight::Insight>,
}

/// The money a letter shows, computed through the service's tariff.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyFigures {
    /// The service charge of this period's bill (one per month it covers).
    pub fixed: f64,
    /// This period's bill: fixed charge plus the use through the tiers.
    pub cost: f64,
    /// The use part of that bill, tier by tier (what the bill lines show).
    pub charges: Vec<crate::money::Charge>,
    /// A year's saving from using like the efficient neighbors (Above
    /// typical households shown the comparison).
    pub savings_year: Option<f64>,
    /// The first tip with a quantity, and what it saves in a year (tips and
    /// notice letters).
    pub tip: Option<(String, f64)>,
    /// Next period's bill at the goal.
    pub goal_cost: Option<f64>,
}

/// The letter's money, or None when the service has no tariff (or a budget
/// tariff meets a household of unknown size): no made-up numbers.
pub fn money(input: &ReportInput, config: &Config, wording: &Wording) -> Option<MoneyFigures> {
    let h = input.household;
    let t = config.tariff.of(h.service)?;
    let bill = input.bills.iter().find(|b| b.period() == input.period)?;
    let charges = crate::money::charges(t, h, bill.quantity, bill.days.into(), bill.end)?;
    let fixed = crate::money::fixed(t, bill.days.into());
    let cost = fixed
        + charges
            .iter()
            .map(crate::money::Charge::amount)
            .sum::<f64>();
    let compared = input.phase == Phase::Comparison;
    let savings_year = input
        .comparison
        .filter(|c| compared && c.rating == Rating::AboveTypical)
        .filter(|c| c.efficient_per_day < c.usage_per_day && c.usage_per_day > 0.0)
        .and_then(|c| {
            let ratio = c.efficient_per_day / c.usage_per_day;
            crate::money::yearly_saving(t, h, input.bills, input.period, |b| b.quantity * ratio)
        });
    let tip = if compared {
        None
    } else {
        input.tips.iter().find_map(|id| {
            let per_day = wording.tips.iter().find(|r| &r.id == id)?.saves_per_day?;
            // A tip's saving is an average home's; a small home is never
            // promised more than a share of its own use.
            let per_day = per_day.min(TIP_SAVING_MAX_SHARE * bill.per_day());
            let year = crate::money::yearly_saving(t, h, input.bills, input.period, |b| {
                b.quantity - per_day * b.days as f64
            })?;
            Some((id.clone(), year))
        })
    };
    let goal_cost = input.goal.and_then(|g| {
        let months = crate::model::bill_months(bill.days.into()) as i32;
        let (end, days) = crate::money::next_bill_days(input.period, months);
        crate::money::cost(t, h, g * days as f64, days, end)
    });
    Some(MoneyFigures {
        fixed,
        cost,
        charges,
        savings_year,
        tip,
        goal_cost,
    })
}

#[derive(Serialize)]
pub struct ReportData {
    pub lang: &'static str,
    /// The phase's letter: `tips`, `notice` or `comparison` to templates.
    pub variant: Phase,
    pub rating: Option<Rating>,
    pub account_id: String,
    pub title: String,
    pub recipient: Vec<String>,
    pub return_address: Vec<String>,
    pub period: String,
    pub compared: bool,
    pub invite: bool,
    /// The bill's cost is shown (a tariff is configured).
    pub money: bool,
    /// The yearly saving of using like the efficient neighbors is shown.
    pub savings: bool,
    /// A tip's yearly saving is shown.
    pub tip_saving: bool,
    /// Next period's goal: `typical`, `keep` or `less` (see [`crate::goal`]).
    pub goal: Option<GoalKind>,
    /// Whether last period's goal was `met` or `missed`.
    pub last_goal: Option<GoalOutcome>,
    /// This period's bill line by line (label, amount), the total last;
    /// empty without a tariff.
    pub bill: Vec<(String, String)>,
    pub figures: BTreeMap<&'static str, String>,
    pub charts: BTreeMap<&'static str, ChartData>,
    pub tips: Vec<TipText>,
    pub text: Value,
    pub household: BTreeMap<String, String>,
    pub proof_label: Option<String>,
    /// The paper and envelope windows, for the layout.
    pub print: crate::config::Sheet,
    /// The piece's Intelligent Mail barcode (65 letters F/A/D/T); set for
    /// print files when `[print.imb]` is configured.
    pub imb: Option<String>,
    /// Draw the envelope windows' outlines over page 1 (previews only).
    pub show_windows: bool,
    /// Water never stopped flowing during the period: the leak block.
    pub leak: bool,
    /// What the weather did to this bill and where the year's use went.
    pub weather: Option<WeatherBlock>,
}

/// The weather block's data: which `weather.*` sentences to print (their
/// figures are filled in the wording) and the year's use by part.
#[derive(Serialize)]
pub struct WeatherBlock {
    pub sentences: Vec<&'static str>,
    pub parts: Vec<WeatherPart>,
}

/// One part of the year's use: `base`, `heating` or `cooling`.
#[derive(Serialize)]
pub struct WeatherPart {
    pub key: &'static str,
    /// Its share of the year, 0 to 1 (the bar's width).
    pub share: f64,
    /// The share in whole percent (the parts add up to 100).
    pub percent: u32,
    /// Its use per day, with unit.
    pub per_day: String,
}

/// The weather block of a letter carrying one, and the placeholders its
/// sentences use (`degrees`, `last_period`, `weather_change`, `own_change`).
fn weather_block(
    insight: &crate::weather::insight::Insight,
    service: Service,
    lang: Language,
    with_unit: &dyn Fn(f64) -> String,
    period_name: &dyn Fn(Period) -> String,
    vars: &mut BTreeMap<&str, String>,
) -> WeatherBlock {
    let mut sentences = Vec::new();
    // A change that prints as zero is no change.
    let shown = |v: f64| format_quantity(v.abs(), service, lang);
    let zero = |v: f64| shown(v).chars().all(|c| matches!(c, '0' | '.' | ','));
    if let Some(c) = &insight.change {
        vars.insert("last_period", period_name(c.last_period));
        vars.insert("degrees", format!("{:.0} °F", c.warmer_by.abs()));
        vars.insert("weather_change", with_unit(c.weather_change.abs()));
        vars.insert("own_change", with_unit(c.own_change.abs()));
        sentences.push(match c.warmer_by {
            t if t.abs() < 1.0 => "same_temperature",
            t if t > 0.0 => "warmer",
            _ => "colder",
        });
        sentences.push(match c.weather_change {
            w if zero(w) => "weather_same",
            w if w > 0.0 => "weather_more",
            _ => "weather_less",
        });
        sentences.push(match c.own_change {
            o if zero(o) => "own_same",
            o if o > 0.0 => "own_more",
            _ => "own_less",
        });
    }
    let split = &insight.split;
    let total = split.total();
    let raw = [
        ("base", split.base),
        ("heating", split.heating),
        ("cooling", split.cooling),
    ];
    let kept: Vec<(&'static str, f64)> = raw
        .into_iter()
        .filter(|(_, v)| total > 0.0 && v / total >= 0.005)
        .collect();
    let percents = whole_percents(&kept.iter().map(|(_, v)| v / total).collect::<Vec<_>>());
    let parts = kept
        .iter()
        .zip(percents)
        .map(|(&(key, v), percent)| WeatherPart {
            key,
            share: v / total,
            percent,
            per_day: with_unit(v),
        })
        .collect();
    WeatherBlock { sentences, parts }
}

/// Shares as whole percents that add up to 100 (largest remainders first).
fn whole_percents(shares: &[f64]) -> Vec<u32> {
    let sum: f64 = shares.iter().sum();
    if sum <= 0.0 {
        return vec![0; shares.len()];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s / sum * 100.0).collect();
    let mut out: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let short = 100 - out.iter().sum::<u32>() as usize;
    for &i in order.iter().take(short) {
        out[i] += 1;
    }
    out
}

#[derive(Serialize)]
pub struct ChartData {
    pub svg: String,
    pub alt: String,
}

#[derive(Serialize)]
pub struct TipText {
    pub id: String,
    pub title: String,
    pub body: String,
}

/// Format a per-day figure: whole gallons, or kWh with one decimal (in
/// English; manifests and goal checks use this form).
pub fn format_per_day(value: f64, service: Service) -> String {
    format_quantity(value, service, Language::En)
}

/// A quantity as the household's language writes numbers: whole gallons
/// (`12,345`; Spanish `1234`, `12 345`) or kWh and therms with one decimal
/// (`23.5`; Spanish `23,5`).
pub fn format_quantity(value: f64, service: Service, lang: Language) -> String {
    match service {
        Service::Water => thousands(value.round() as i64, lang),
        Service::Electric | Service::Gas => match lang {
            Language::En => format!("{value:.1}"),
            Language::Es => format!("{value:.1}").replace('.', ","),
        },
    }
}

/// A quantity rounded as the page prints it, written for a CSV file (no
/// grouping, a decimal point): whole gallons, kWh and therms to 0.1.
pub fn plain_quantity(value: f64, service: Service) -> String {
    match service {
        Service::Water => format!("{}", value.round() as i64),
        Service::Electric | Service::Gas => format!("{value:.1}"),
    }
}

fn thousands(n: i64, lang: Language) -> String {
    let digits = crate::money::whole_number(n.unsigned_abs(), lang);
    if n < 0 { format!("-{digits}") } else { digits }
}

/// Why a household's name and address cannot be printed in the envelope
/// window, if they cannot: an address line over [`ADDRESS_LINE_MAX`]
/// characters, or a name that does not fit the lines the address leaves.
/// Such a letter is held (`address-too-long`): a cut address is a letter
/// the mail house cannot deliver, or delivers to the wrong door.
pub fn address_misfit(h: &Household) -> Option<String> {
    // Almost every address fits with room to spare, and a line of at most
    // that many bytes has at most that many characters: such a household
    // is known to fit without building its lines (asked for a million).
    let city_line_bytes = h.city.len() + h.state.len() + h.zip.len() + 2;
    let short = |s: &str| s.len() <= ADDRESS_LINE_MAX;
    if short(&h.address_line1)
        && h.address_line2.as_deref().is_none_or(short)
        && city_line_bytes <= ADDRESS_LINE_MAX
        && short(&h.name)
    {
        return None;
    }
    let city_line = format!("{} {} {}", h.city, h.state, h.zip);
    let address = [
        ("address_line1", Some(h.address_line1.as_str())),
        ("address_line2", h.address_line2.as_deref()),
        ("city, state and zip", Some(city_line.as_str())),
    ];
    for (what, line) in address {
        let Some(line) = line else { continue };
        let n = line.chars().count();
        if n > ADDRESS_LINE_MAX {
            return Some(format!(
                "{}: {what} {line:?} is {n} characters; the envelope window shows {ADDRESS_LINE_MAX}",
                h.source
            ));
        }
    }
    let room = ADDRESS_LINES_MAX - address.iter().filter(|(_, l)| l.is_some()).count();
    let long_word = h
        .name
        .split_whitespace()
        .any(|w| w.chars().count() > ADDRESS_LINE_MAX);
    let lines = wrap(&h.name, ADDRESS_LINE_MAX).len();
    (long_word || lines > room).then(|| {
        format!(
            "{}: name {:?} needs {lines} line(s) of {ADDRESS_LINE_MAX} characters; the window has room for {room}",
            h.source, h.name
        )
    })
}

/// The recipient block: at most 5 lines of at most 40 characters, a long
/// name wrapped onto a second line when there is room. Letters whose
/// address does not fit ([`address_misfit`]) are held before this is made;
/// for any other caller, what does not fit is cut rather than spilling
/// outside the window.
pub fn recipient_block(h: &Household) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let city_line = format!("{} {} {}", h.city, h.state, h.zip);
    let address: Vec<&str> = std::iter::once(h.address_line1.as_str())
        .chain(h.address_line2.as_deref())
        .chain(std::iter::once(city_line.as_str()))
        .collect();
    let room_for_name = ADDRESS_LINES_MAX - address.len();
    let name_lines = wrap(&h.name, ADDRESS_LINE_MAX);
    lines.extend(name_lines.into_iter().take(room_for_name.max(1)));
    for a in address {
        lines.push(
            wrap(a, ADDRESS_LINE_MAX)
                .into_iter()
                .next()
                .unwrap_or_default(),
        );
    }
    lines
}

/// Greedy word wrap; a word longer than `width` is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let word: String = word.chars().take(width).collect();
        let len = current.chars().count();
        if len == 0 {
            current = word;
        } else if len + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut current, word));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn similarity_text(wording: &Wording, lang: Language, cohort: &Cohort) -> String {
    let band = |low: u32, high: Option<u32>| match high {
        Some(h) if h == low => low.to_string(),
        Some(h) => format!("{low}–{h}"),
        None => format!("{low}+"),
    };
    let get = |key: &str| wording.get(lang, key).unwrap_or(key).to_string();
    match &cohort.similarity {
        Similarity::Occupants { low, high } => {
            let n = band(*low, *high);
            let key = if *low == 1 && *high == Some(1) {
                "similar.one_person"
            } else {
                "similar.occupants"
            };
            fill_str(&get(key), &BTreeMap::from([("n", n)]))
        }
        Similarity::SizeAndFuel { low, high, fuel } => fill_str(
            &get("similar.size_fuel"),
            &BTreeMap::from([("sqft", band(*low, *high)), ("fuel", fuel.clone())]),
        ),
        Similarity::Size { low, high } => fill_str(
            &get("similar.size"),
            &BTreeMap::from([("sqft", band(*low, *high))]),
        ),
        Similarity::Locality => get("similar.locality"),
    }
}

/// One household's voice: its wording (its service's overlay) in its
/// language, the unit its figures are printed in, and month names.
struct Speaker<'a> {
    wording: &'a Wording,
    lang: Language,
    service: Service,
    unit: String,
    months: Vec<String>,
    months_short: Vec<String>,
}

impl<'a> Speaker<'a> {
    fn of(wording: &'a Wording, h: &Household) -> Speaker<'a> {
        // An electric or gas household reads its service's sentences.
        let wording = wording.voice(h.service);
        let lang = h.language;
        let unit_key = match h.service {
            Service::Water => "units.water_per_day",
            Service::Electric => "units.electric_per_day",
            Service::Gas => "units.gas_per_day",
        };
        Speaker {
            wording,
            lang,
            service: h.service,
            unit: wording
                .get(lang, unit_key)
                .unwrap_or(h.service.canonical_unit())
                .to_string(),
            months: wording.list(lang, "months"),
            months_short: wording.list(lang, "months_short"),
        }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.wording.get(self.lang, key)
    }

    /// `key`'s sentence with `vars` filled in; empty when it has none.
    fn fill(&self, key: &str, vars: &BTreeMap<&str, String>) -> String {
        fill_str(self.get(key).unwrap_or(""), vars)
    }

    fn month(&self, p: Period, short: bool) -> String {
        let names = if short {
            &self.months_short
        } else {
            &self.months
        };
        names
            .get(p.month as usize - 1)
            .cloned()
            .unwrap_or_else(|| p.month.to_string())
    }

    fn with_unit(&self, v: f64) -> String {
        format!(
            "{} {}",
            format_quantity(v, self.service, self.lang),
            self.unit
        )
    }

    /// The period a bill covers, by its months: `October 2026`,
    /// `September–October 2026`, `December 2025–January 2026`.
    fn period_label(&self, period: Period, bill_months: i32) -> String {
        match period.offset(1 - bill_months) {
            _ if bill_months == 1 => format!("{} {}", self.month(period, false), period.year),
            first if first.year == period.year => format!(
                "{}–{} {}",
                self.month(first, false),
                self.month(period, false),
                period.year
            ),
            first => format!(
                "{} {}–{} {}",
                self.month(first, false),
                first.year,
                self.month(period, false),
                period.year
            ),
        }
    }
}

/// Assemble the report data for one household.
pub fn build(
    input: &ReportInput,
    config: &Config,
    wording: &Wording,
) -> Result<ReportData, ChartError> {
    let h = input.household;
    let speaker = Speaker::of(wording, h);
    let lang = speaker.lang;
    let this_bill = input.bills.iter().find(|b| b.period() == input.period);
    // A bill of two or three months is named by its months.
    let bill_months = this_bill.map_or(1, Bill::months);
    let period_label = speaker.period_label(input.period, bill_months);
    let usage = this_bill.map(Bill::per_day).unwrap_or(0.0);
    let mut vars = base_vars(input, config, &speaker, &period_label, usage);
    let money = money(input, config, speaker.wording);
    let tariff = config.tariff.of(h.service);
    if let (Some(m), Some(t)) = (&money, tariff) {
        money_vars(&mut vars, m, t, &speaker);
    }
    if let Some(leak) = input.leak {
        leak_vars(&mut vars, leak, &speaker);
    }
    if let Some(g) = input.goal {
        vars.insert("goal", speaker.with_unit(g));
    }
    let last_goal = input.last_goal.filter(|_| this_bill.is_some()).map(|g| {
        vars.insert("last_goal", speaker.with_unit(g));
        crate::goal::outcome(usage, g, |v| format_per_day(v, h.service))
    });
    let bill = match (tariff, &money) {
        (Some(t), Some(m)) => bill_lines(t, h, m, speaker.wording, &vars, lang),
        _ => vec![],
    };
    let weather = input.insight.map(|insight| {
        weather_block(
            insight,
            h.service,
            lang,
            &|v| speaker.with_unit(v),
            &|p| format!("{} {}", speaker.month(p, false), p.year),
            &mut vars,
        )
    });
    // The side-by-side numbers appear only in the comparison letter.
    let compared = input.phase == Phase::Comparison && input.comparison.is_some();
    let mut charts = BTreeMap::new();
    if let Some(c) = input.comparison.filter(|_| compared) {
        charts.insert("comparison", comparison_chart(c, &speaker, &vars)?);
    }
    charts.insert("history", history_chart(input, &speaker, &vars)?);
    Ok(ReportData {
        lang: lang.code(),
        variant: input.phase,
        rating: input.comparison.map(|c| c.rating),
        account_id: h.account_id.to_string(),
        title: fill_str(
            speaker
                .get("document_title")
                .unwrap_or("{utility} report, {period}"),
            &vars,
        ),
        recipient: recipient_block(h),
        return_address: std::iter::once(config.utility.name.clone())
            .chain(config.utility.return_address.iter().cloned())
            .collect(),
        period: period_label,
        compared,
        invite: input.assistance_eligible && config.assistance.invite,
        money: money.is_some(),
        savings: money.as_ref().is_some_and(|m| m.savings_year.is_some()),
        tip_saving: money.as_ref().is_some_and(|m| m.tip.is_some()),
        goal: input
            .goal
            .map(|_| GoalKind::of(input.comparison, input.phase)),
        last_goal,
        bill,
        figures: figures(&vars, input.comparison),
        charts,
        tips: tip_texts(input.tips, &speaker, &vars),
        text: sentences(&speaker, &vars, input.similarity_dropped, bill_months),
        household: household_fields(h),
        proof_label: input.proof_label.clone(),
        print: config.print.sheet(),
        imb: None,
        show_windows: false,
        leak: input.leak.is_some(),
        weather,
    })
}

/// The placeholders every sentence may use: who, where, the period, the
/// use, and the comparison's figures when there is one.
fn base_vars<'v>(
    input: &ReportInput,
    config: &Config,
    speaker: &Speaker<'_>,
    period_label: &str,
    usage: f64,
) -> BTreeMap<&'v str, String> {
    let h = input.household;
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("name", h.greeting_name().to_string());
    vars.insert("utility", config.utility.name.clone());
    vars.insert("phone", config.utility.phone.clone());
    vars.insert("website", config.utility.website.clone());
    vars.insert("period", period_label.to_string());
    vars.insert("usage", speaker.with_unit(usage));
    vars.insert("unit", speaker.unit.clone());
    vars.insert("locality", h.locality.to_string());
    vars.insert("cap_phone", config.assistance.phone.clone());
    vars.insert("cap_website", config.assistance.website.clone());
    if let (Some(c), Some(cohort)) = (input.comparison, input.cohort) {
        vars.insert("median", speaker.with_unit(c.median_per_day));
        vars.insert("efficient", speaker.with_unit(c.efficient_per_day));
        vars.insert("cohort_size", c.cohort_size.to_string());
        vars.insert(
            "similar",
            similarity_text(speaker.wording, speaker.lang, cohort),
        );
        let above = if c.median_per_day > 0.0 {
            (usage / c.median_per_day - 1.0) * 100.0
        } else {
            0.0
        };
        vars.insert("percent_above", format!("{:.0}", above.max(0.0)));
    }
    vars
}

/// The bill's amounts, in the tariff's currency and the household's language.
fn money_vars(
    vars: &mut BTreeMap<&str, String>,
    m: &MoneyFigures,
    tariff: &crate::config::tariff::Tariff,
    speaker: &Speaker<'_>,
) {
    let amount = |v: f64, cents: bool| crate::money::format(v, &tariff.symbol, speaker.lang, cents);
    vars.insert("cost", amount(m.cost, true));
    if let Some(s) = m.savings_year {
        vars.insert("savings_year", amount(s, false));
    }
    if let Some((id, s)) = &m.tip {
        vars.insert("tip_savings", amount(*s, false));
        vars.insert(
            "tip_title",
            speaker
                .get(&format!("tips.{id}.title"))
                .unwrap_or(id)
                .to_string(),
        );
    }
    if let Some(g) = m.goal_cost {
        vars.insert("goal_cost", amount(g, true));
    }
}

/// When the water never stopped, and how much ran.
fn leak_vars(
    vars: &mut BTreeMap<&str, String>,
    leak: &crate::ingest::FlowRun,
    speaker: &Speaker<'_>,
) {
    let when = |t: chrono::NaiveDateTime| {
        use chrono::Datelike;
        let month = speaker
            .months
            .get(t.month0() as usize)
            .cloned()
            .unwrap_or_default();
        match speaker.lang {
            Language::En => format!("{month} {}", t.day()),
            Language::Es => format!("{} de {month}", t.day()),
        }
    };
    vars.insert("leak_from", when(leak.start));
    vars.insert("leak_to", when(leak.end));
    vars.insert("leak_hours", format!("{:.0}", leak.hours));
    vars.insert("leak_per_day", speaker.with_unit(leak.base_per_day));
}

/// The three bars: the household, all its neighbors, the efficient ones.
fn comparison_chart(
    c: &Comparison,
    speaker: &Speaker<'_>,
    vars: &BTreeMap<&str, String>,
) -> Result<ChartData, ChartError> {
    let label = |k: &str| speaker.get(k).unwrap_or(k).to_string();
    let (you, all, eff) = (
        label("labels.you"),
        label("labels.all_neighbors"),
        label("labels.efficient_neighbors"),
    );
    let bar = |label, value: f64| Bar {
        label,
        value,
        value_text: speaker.with_unit(value),
    };
    let bars = [
        bar(&you, c.usage_per_day),
        bar(&all, c.median_per_day),
        bar(&eff, c.efficient_per_day),
    ];
    Ok(ChartData {
        svg: chart::comparison_svg(&bars)?,
        alt: speaker.fill("alt.comparison", vars),
    })
}

/// Own history: the 13 months ending with this period against a year
/// earlier. Bills as billed: a bill of two or three months shows its use
/// per day in each month it covers (a month with a bill of its own keeps it).
fn history_chart(
    input: &ReportInput,
    speaker: &Speaker<'_>,
    vars: &BTreeMap<&str, String>,
) -> Result<ChartData, ChartError> {
    let mut per_day: BTreeMap<Period, f64> = input
        .bills
        .iter()
        .map(|b| (b.period(), b.per_day()))
        .collect();
    for b in input.bills.iter().filter(|b| b.months() > 1) {
        for p in b.periods() {
            per_day.entry(p).or_insert(b.per_day());
        }
    }
    let labels: Vec<String> = (0..13)
        .map(|i| speaker.month(input.period.offset(i - 12), true))
        .collect();
    let history: Vec<Month> = (0..13)
        .map(|i| {
            let p = input.period.offset(i - 12);
            Month {
                label: &labels[i as usize],
                this_year: per_day.get(&p).copied(),
                last_year: per_day.get(&p.offset(-12)).copied(),
            }
        })
        .collect();
    let last_year = per_day.get(&input.period.offset(-12)).copied();
    let mut hist_vars = vars.clone();
    hist_vars.insert(
        "last_year",
        last_year
            .map(|v| speaker.with_unit(v))
            .unwrap_or_else(|| "—".into()),
    );
    let legend = (
        speaker.get("labels.this_year").unwrap_or("This year"),
        speaker.get("labels.last_year").unwrap_or("Last year"),
    );
    let alt_key = if last_year.is_some() {
        "alt.history"
    } else {
        "alt.history_new"
    };
    Ok(ChartData {
        svg: chart::history_svg(&history, legend, &speaker.unit)?,
        alt: speaker.fill(alt_key, &hist_vars),
    })
}

/// Each chosen tip's title and body, placeholders filled.
fn tip_texts(
    tips: &[String],
    speaker: &Speaker<'_>,
    vars: &BTreeMap<&str, String>,
) -> Vec<TipText> {
    tips.iter()
        .map(|id| TipText {
            id: id.clone(),
            title: fill_str(speaker.get(&format!("tips.{id}.title")).unwrap_or(id), vars),
            body: speaker.fill(&format!("tips.{id}.body"), vars),
        })
        .collect()
}

/// The figures templates place on their own (the same strings the
/// sentences use), and the percentile.
fn figures(
    vars: &BTreeMap<&str, String>,
    comparison: Option<&Comparison>,
) -> BTreeMap<&'static str, String> {
    let mut figures = BTreeMap::new();
    for key in [
        "usage",
        "median",
        "efficient",
        "cohort_size",
        "percent_above",
        "similar",
        "cost",
        "savings_year",
        "goal",
    ] {
        if let Some(v) = vars.get(key) {
            figures.insert(key, v.clone());
        }
    }
    if let Some(c) = comparison {
        figures.insert("percentile", format!("{:.0}", c.percentile));
    }
    figures
}

/// Every sentence of the wording, filled in, with the variants this letter
/// needs swapped in: the explanation of a cohort formed without a
/// similarity criterion, and goals that speak of the next bill rather than
/// next month.
fn sentences(
    speaker: &Speaker<'_>,
    vars: &BTreeMap<&str, String>,
    similarity_dropped: bool,
    bill_months: i32,
) -> Value {
    let mut text = speaker.wording.resolve(speaker.lang, vars);
    let mut swap = |table: &str, key: &str, with: &str| {
        if let Some(v) = text.pointer(&format!("/{table}/{with}")).cloned() {
            text[table][key] = v;
        }
    };
    if similarity_dropped {
        swap("comparison", "explain", "explain_all");
    }
    if bill_months > 1 {
        for key in ["headline", "less", "cost", "met", "missed"] {
            swap("goal", key, &format!("{key}_bill"));
        }
    }
    text
}

/// The customer row's fields templates may print, the extra columns too.
fn household_fields(h: &Household) -> BTreeMap<String, String> {
    let mut household: BTreeMap<String, String> = h
        .extra
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    household.insert("account_id".into(), h.account_id.to_string());
    household.insert("name".into(), h.name.to_string());
    household.insert("locality".into(), h.locality.to_string());
    household
}

/// A bill's lines as the household reads them: the service charge, each
/// tier's share of the use at its rate, and the total.
fn bill_lines(
    t: &crate::config::tariff::Tariff,
    h: &Household,
    m: &MoneyFigures,
    wording: &Wording,
    vars: &BTreeMap<&str, String>,
    lang: Language,
) -> Vec<(String, String)> {
    use crate::model::Unit;
    let amount = |v: f64| crate::money::format(v, &t.symbol, lang, true);
    let get = |k: &str| wording.get(lang, k).unwrap_or(k).to_string();
    let per = get(&format!(
        "money.per.{}",
        match t.unit {
            Unit::Gallon => "gal",
            Unit::Kgal => "kgal",
            Unit::Ccf => "ccf",
            Unit::CubicMeter => "m3",
            Unit::Kwh => "kwh",
            Unit::Therm => "therm",
        }
    ));
    let unit = h.service.canonical_unit();
    let mut lines = vec![(get("money.fixed"), amount(m.fixed))];
    // A bill spanning two seasons meets the same rate twice: one line each rate.
    let mut merged: Vec<crate::money::Charge> = Vec::new();
    for c in &m.charges {
        match merged.iter_mut().find(|m| m.rate == c.rate) {
            Some(m) => m.quantity += c.quantity,
            None => merged.push(*c),
        }
    }
    for c in merged {
        let mut v = vars.clone();
        v.insert(
            "quantity",
            format!(
                "{} {unit}",
                format_quantity(c.quantity * t.factor, h.service, lang)
            ),
        );
        v.insert("rate", amount(c.rate));
        v.insert("per", per.clone());
        lines.push((fill_str(&get("money.tier"), &v), amount(c.amount())));
    }
    lines.push((get("money.total"), amount(m.cost)));
    lines
}

/// What a letter says this period, beyond the household itself: what tip
/// rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    pub rating: Option<Rating>,
    pub phase: Phase,
    pub assistance_eligible: bool,
    /// The report carries a possible-leak block.
    pub leak: bool,
    /// The report carries the assistance invitation.
    pub invite: bool,
    /// The report carries the weather block (on the back).
    pub weather: bool,
}

/// How many tips a letter prints, decided here so that the manifest and
/// the store list exactly the tips on the page. A comparison has three on
/// its back (two beside a leak block, one beside a leak and an
/// invitation); tips and notice letters three on the front and two more on
/// the back, unless a leak block, or a notice's invitation, takes that room.
/// The weather block (shown only without those two) takes the room of one
/// tip on a comparison's back and of both back tips on the others.
pub fn tips_printed(phase: Phase, leak: bool, invite: bool, weather: bool) -> usize {
    match phase {
        Phase::Comparison if weather => TIPS_PER_REPORT - 1,
        Phase::Notice | Phase::Tips if weather => TIPS_PER_REPORT,
        Phase::Comparison if leak && invite => 1,
        Phase::Comparison if leak => 2,
        Phase::Comparison => TIPS_PER_REPORT,
        Phase::Notice if leak || invite => TIPS_PER_REPORT,
        Phase::Tips if leak => TIPS_PER_REPORT,
        Phase::Notice | Phase::Tips => TIPS_PER_LETTER,
    }
}

/// Choose the tips for a letter: the best-matching rules, avoiding last period's.
pub fn pick_tips(
    h: &Household,
    period: Period,
    situation: Situation,
    last_tips: &[String],
    wording: &Wording,
) -> Vec<String> {
    let Situation {
        rating,
        phase,
        assistance_eligible,
        leak,
        invite,
        weather,
    } = situation;
    let context = TipContext {
        leak,
        service: h.service,
        month: period.month,
        rating,
        phase,
        year_built: h.year_built,
        occupants: h.occupants,
        heating_fuel: h.heating_fuel.as_deref(),
        assistance_eligible,
    };
    wording
        .pick_tips(
            &context,
            last_tips,
            tips_printed(phase, leak, invite, weather),
        )
        .into_iter()
        .map(|t| t.id.clone())
        .collect()
}

/// Whether a household qualifies for the assistance invitation: enrolled in a
/// partner program and not already in the utility's own CAP.
pub fn assistance_eligible(h: &Household, config: &Config) -> bool {
    let a = &config.assistance;
    !h.programs
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&a.cap_program))
        && h.programs.iter().any(|p| {
            a.eligible_programs
                .iter()
                .any(|e| e.eq_ignore_ascii_case(p))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0, Language::En), "0");
        assert_eq!(thousands(999, Language::En), "999");
        assert_eq!(thousands(1234567, Language::En), "1,234,567");
        assert_eq!(format_per_day(23.456, Service::Electric), "23.5");
        assert_eq!(
            format_quantity(1234.4, Service::Water, Language::Es),
            "1234"
        );
        assert_eq!(
            format_quantity(12345.0, Service::Water, Language::Es),
            "12\u{a0}345"
        );
        assert_eq!(
            format_quantity(12345.0, Service::Water, Language::En),
            "12,345"
        );
        assert_eq!(
            format_quantity(23.456, Service::Electric, Language::Es),
            "23,5"
        );
    }

    #[test]
    fn long_lines_wrap_or_cut_within_the_window() {
        let w = wrap(
            "The Estate of Maria Guadalupe Hernandez-Villanueva de la Cruz",
            40,
        );
        assert!(
            w.len() >= 2 && w.iter().all(|l| l.chars().count() <= 40),
            "{w:?}"
        );
        assert_eq!(wrap("x".repeat(60).as_str(), 40)[0].len(), 40);
    }
}
