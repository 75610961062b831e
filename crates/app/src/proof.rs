//! Every report variant from sample households: for `check` (does each one
//! compile and fit one sheet?) and `proof` (one PDF for sign-off).
//!
//! A variant is service × phase × rating × language × assistance invitation
//! (and, for water, a possible-leak block). Great and Good households always
//! get the comparison; Above typical ones may get any phase; a household
//! without a cohort gets the tips letter.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;

use crate::cohort::{Cohort, Similarity};
use crate::compare::{Comparison, Rating};
use crate::config::Config;
use crate::model::{Bill, Household, Language, Period, Service, Status};
use crate::phase::Phase;
use crate::render::{Renderer, TemplateError};
use crate::report::{self, ReportInput};
use crate::wording::Wording;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    pub service: Service,
    pub phase: Phase,
    pub rating: Option<Rating>,
    pub language: Language,
    pub invite: bool,
    /// Water that never stopped flowing (interval data, water only).
    pub leak: bool,
    /// The weather block (never beside a leak block or an invitation).
    pub weather: bool,
}

impl Variant {
    /// Every variant a household can receive.
    pub fn all() -> Vec<Variant> {
        let combos = [
            (Phase::Comparison, Some(Rating::Great)),
            (Phase::Comparison, Some(Rating::Good)),
            (Phase::Comparison, Some(Rating::AboveTypical)),
            (Phase::Notice, Some(Rating::AboveTypical)),
            (Phase::Tips, Some(Rating::AboveTypical)),
            (Phase::Tips, None),
        ];
        let mut out = Vec::new();
        for service in Service::ALL {
            let leaks: &[bool] = match service {
                Service::Water => &[false, true],
                _ => &[false],
            };
            for &leak in leaks {
                for language in Language::ALL {
                    for (phase, rating) in combos {
                        for invite in [false, true] {
                            out.push(Variant {
                                service,
                                phase,
                                rating,
                                language,
                                invite,
                                leak,
                                weather: false,
                            });
                        }
                    }
                }
            }
            // The weather block takes the back's room of a tip or two: a
            // comparison and a tips letter of each service and language show it.
            for language in Language::ALL {
                for (phase, rating) in [
                    (Phase::Comparison, Some(Rating::Good)),
                    (Phase::Tips, Some(Rating::AboveTypical)),
                ] {
                    out.push(Variant {
                        service,
                        phase,
                        rating,
                        language,
                        invite: false,
                        leak: false,
                        weather: true,
                    });
                }
            }
        }
        out
    }

    /// The label printed on proof pages and in `check` output.
    pub fn label(&self) -> String {
        format!(
            "{}{}{} · {} · {} · {} · {}",
            self.service.as_str(),
            if self.leak { " + leak" } else { "" },
            if self.weather { " + weather" } else { "" },
            self.phase.code(),
            self.rating.map_or("no-comparison", Rating::code),
            self.language.code(),
            if self.invite {
                "invitation"
            } else {
                "no-invitation"
            }
        )
    }
}

/// A sample household with 25 months of seasonal use ending in `period`.
fn sample(variant: &Variant, period: Period) -> (Household, Vec<Bill>, Comparison, Cohort) {
    let (name, first) = match variant.language {
        Language::En => ("Jordan Sample", "Jordan"),
        Language::Es => ("María Muestra", "María"),
    };
    // Gallons, kWh or therms a day, in proportion.
    let scale = match variant.service {
        Service::Water => 1.0,
        Service::Electric => 0.15,
        Service::Gas => 0.02,
    };
    let usage = scale
        * match variant.rating {
            Some(Rating::Great) => 92.0,
            Some(Rating::Good) => 128.0,
            _ => 214.0,
        };
    let household = Household {
        account_id: format!("PROOF-{}", variant.language.code().to_uppercase()).into(),
        name: name.into(),
        address_line1: "1234 Sample Street".into(),
        address_line2: Some("Apt 5".into()),
        city: "Maple Valley".into(),
        state: "CA".into(),
        zip: "95616".into(),
        locality: "oak-park".into(),
        service: variant.service,
        occupants: Some(3),
        home_sqft: Some(1600),
        year_built: Some(1978),
        heating_fuel: (variant.service != Service::Water).then(|| "gas".into()),
        language: variant.language,
        programs: if variant.invite {
            vec!["snap".into()]
        } else {
            vec![]
        },
        status: Status::Active,
        do_not_mail: false,
        extra: [("first_name", first.to_string())].into_iter().collect(),
        source: "proof".into(),
    };
    let bills = (0..25)
        .map(|i| {
            let p = period.offset(i - 24);
            let season =
                1.0 + 0.4 * (((p.month as f64) - 4.0) / 12.0 * std::f64::consts::TAU).sin();
            let this_month = period.month as f64;
            let norm = 1.0 + 0.4 * ((this_month - 4.0) / 12.0 * std::f64::consts::TAU).sin();
            let per_day = if i == 24 {
                usage
            } else {
                usage * season / norm * if i < 12 { 1.08 } else { 1.0 }
            };
            Bill {
                quantity: per_day * 30.0,
                days: 30,
                estimated: false,
                start: p.last_day() - chrono::Days::new(29),
                end: p.last_day(),
                file: 0,
                line: 0,
            }
        })
        .collect();
    let comparison = Comparison {
        cohort: 0,
        cohort_size: 87,
        usage_per_day: usage,
        median_per_day: 141.0 * scale,
        efficient_per_day: 104.0 * scale,
        percentile: match variant.rating {
            Some(Rating::Great) => 8.0,
            Some(Rating::Good) => 38.0,
            _ => 83.0,
        },
        rating: variant.rating.unwrap_or(Rating::AboveTypical),
    };
    let similarity = match variant.service {
        Service::Water => Similarity::Occupants {
            low: 3,
            high: Some(4),
        },
        _ => Similarity::SizeAndFuel {
            low: 1001,
            high: Some(1800),
            fuel: "gas".into(),
        },
    };
    let cohort = Cohort {
        id: "oak-park/sample".into(),
        locality: "oak-park".into(),
        similarity,
        members: vec![],
    };
    (household, bills, comparison, cohort)
}

/// 25 months of bills that follow the weather, ending at `usage` a day,
/// and the temperatures they follow: a year that swings from about 44 °F
/// to 80 °F, this month 3 °F warmer than a year earlier, and the household
/// using 8% less than a year ago for the same weather. Water and
/// electricity rise with warm days (watering, cooling), electricity and gas
/// with cold ones (heating).
fn weather_sample(
    service: Service,
    period: Period,
    usage: f64,
) -> (Vec<Bill>, crate::weather::Station) {
    use crate::weather::{DayTemp, Station};
    let first = period.offset(-25).first_day();
    let mut station = Station::default();
    let warm_month = period;
    for (i, day) in first
        .iter_days()
        .take_while(|d| *d <= period.last_day())
        .enumerate()
    {
        use chrono::Datelike;
        let season = ((day.ordinal0() as f64 - 15.0) / 365.25 * std::f64::consts::TAU).cos();
        let wiggle = ((i * 7919) % 7) as f64 - 3.0;
        let warmer = if Period::of(day) == warm_month {
            3.0
        } else {
            0.0
        };
        station.days.insert(
            day,
            DayTemp::from_mean(62.0 - 18.0 * season + wiggle + warmer),
        );
    }
    let (heat, cool) = match service {
        Service::Water => (0.0, 4.0),
        Service::Electric => (0.5, 0.9),
        Service::Gas => (0.12, 0.0),
    };
    let base = match service {
        Service::Water => 110.0,
        Service::Electric => 16.0,
        Service::Gas => 0.9,
    };
    let raw: Vec<(Period, f64)> = (0..25)
        .map(|i| {
            let p = period.offset(i - 24);
            let days: Vec<f64> = p
                .first_day()
                .iter_days()
                .take_while(|d| *d <= p.last_day())
                .filter_map(|d| station.days.get(&d).and_then(|t| t.mean()))
                .collect();
            let n = days.len() as f64;
            let per_day = base
                + heat * days.iter().map(|t| (58.0 - t).max(0.0)).sum::<f64>() / n
                + cool * days.iter().map(|t| (t - 66.0).max(0.0)).sum::<f64>() / n;
            (p, per_day * if i < 13 { 1.08 } else { 1.0 })
        })
        .collect();
    let scale = usage / raw.last().map_or(1.0, |r| r.1);
    let bills = raw
        .into_iter()
        .map(|(p, per_day)| {
            let days = (p.last_day() - p.first_day()).num_days() + 1;
            Bill {
                quantity: per_day * scale * days as f64,
                days: days as i32,
                estimated: false,
                start: p.first_day(),
                end: p.last_day(),
                file: 0,
                line: 0,
            }
        })
        .collect();
    (bills, station)
}

/// The template data of one variant, labelled when `proof` is set.
pub fn variant_data(
    variant: &Variant,
    period: Period,
    config: &Config,
    wording: &Wording,
    proof: bool,
) -> anyhow::Result<serde_json::Value> {
    let (household, mut bills, comparison, cohort) = sample(variant, period);
    let insight = if variant.weather {
        let (weathered, station) =
            weather_sample(variant.service, period, comparison.usage_per_day);
        bills = weathered;
        let floor = crate::weather::insight::Floor {
            min_r2: 0.5,
            min_bills: 9,
        };
        Some(
            crate::weather::insight::insight(&bills, period, variant.service, &station, floor)
                .context("the weather sample's model does not clear its floor")?,
        )
    } else {
        None
    };
    // Three and a half days of flow that never stopped, early in the month.
    let leak = variant.leak.then(|| {
        let start = period.first_day() + chrono::Days::new(2);
        crate::model::FlowRun {
            start: start.and_hms_opt(1, 0, 0).expect("time"),
            end: (start + chrono::Days::new(3))
                .and_hms_opt(10, 0, 0)
                .expect("time"),
            hours: 81.0,
            base_per_day: 31.0,
        }
    });
    let eligible = report::assistance_eligible(&household, config);
    let tips = report::pick_tips(
        &household,
        period,
        report::Situation {
            rating: variant.rating,
            phase: variant.phase,
            assistance_eligible: eligible,
            leak: variant.leak,
            invite: eligible && (config.assistance.invite || variant.invite),
            weather: variant.weather,
        },
        &[],
        wording,
    );
    // Every sample had a letter last month: the ones with an invitation
    // missed its goal, the others met it, so proofs show both sentences.
    let usage = comparison.usage_per_day;
    let shown = variant.rating.map(|_| &comparison);
    let goal = crate::goal::next(usage, shown, variant.phase);
    let last_goal = Some(if variant.invite {
        usage * 0.9
    } else {
        usage * 1.05
    });
    let input = ReportInput {
        household: &household,
        bills: &bills,
        period,
        comparison: variant.rating.map(|_| &comparison),
        cohort: variant.rating.map(|_| &cohort),
        phase: variant.phase,
        assistance_eligible: eligible,
        tips: &tips,
        proof_label: proof.then(|| {
            format!(
                "{}: {}",
                wording
                    .get(variant.language, "proof.label")
                    .unwrap_or("Proof"),
                variant.label()
            )
        }),
        goal,
        last_goal,
        leak: leak.as_ref(),
        similarity_dropped: false,
        insight: insight.as_ref(),
    };
    let mut config = config.clone();
    config.assistance.invite = config.assistance.invite || variant.invite;
    let data = report::build(&input, &config, wording)?;
    Ok(serde_json::to_value(data)?)
}

/// One problem found by `check` in a variant.
pub struct VariantProblem {
    pub variant: Variant,
    pub message: String,
}

/// Compile every variant; report template errors and layouts that do not fit one sheet.
pub fn check_variants(
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
    period: Period,
) -> Vec<VariantProblem> {
    let mut problems = Vec::new();
    let mut seen_errors: Vec<String> = Vec::new();
    for variant in Variant::all() {
        let data = match variant_data(&variant, period, config, wording, false) {
            Ok(d) => d,
            Err(e) => {
                let message = format!("{e:#}");
                problems.push(VariantProblem { variant, message });
                continue;
            }
        };
        match renderer.render(
            serde_json::to_vec(&data).expect("serializable"),
            &variant.label(),
        ) {
            Ok(r) if r.pages == 2 => {}
            Ok(r) => problems.push(VariantProblem {
                variant,
                message: format!(
                    "lays out on {} page(s); a report must fill exactly one sheet (2 pages)",
                    r.pages
                ),
            }),
            Err(e) => {
                // The same template error shows up in every variant: report it once.
                let text = e.to_string();
                if !seen_errors.contains(&text) {
                    seen_errors.push(text.clone());
                    problems.push(VariantProblem {
                        variant,
                        message: text,
                    });
                }
            }
        }
        Renderer::evict_cache();
    }
    problems
}

/// All variants in one labelled PDF, for sign-off before a mail run.
pub fn proof(
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
    period: Period,
) -> Result<(Vec<u8>, usize, usize), anyhow::Error> {
    let variants = Variant::all();
    let reports: Vec<serde_json::Value> = variants
        .iter()
        .map(|v| variant_data(v, period, config, wording, true))
        .collect::<anyhow::Result<_>>()?;
    let title = format!("{}: report proof, {}", config.utility.name, period);
    let rendered = renderer
        .render_batch(&title, &config.utility.name, &reports, &title)
        .map_err(|e: TemplateError| anyhow::anyhow!("{e}"))?;
    Ok((rendered.pdf, variants.len(), rendered.pages))
}

/// The period proofs and checks use: the month before the render date.
pub fn default_period(today: NaiveDate) -> Period {
    Period::of(today).offset(-1)
}

/// Write every example message (`alerts::examples`, `events::examples`)
/// into `dir`: `LABEL.html` as a mail program shows it, `LABEL.txt` with the
/// plain-text part and the text message. Returns how many.
pub fn write_messages(
    config: &Config,
    wording: &crate::wording::Wording,
    dir: &Path,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut examples = crate::alerts::examples(config, wording);
    examples.extend(crate::events::examples(config, wording));
    let env = crate::channel::email::Envelope {
        from: &config.email.from,
        reply_to: &config.email.reply_to,
        to: "someone@example.org",
        message_id: "<example@example.org>",
        unsubscribe_url: "https://example.org/unsubscribe?t=0123456789abcdef",
        unsubscribe_mailto: "",
    };
    for e in &examples {
        let html = dir.join(format!("{}.html", e.label));
        crate::output::writing(&html, |p| {
            Ok(crate::output::write_atomic(
                p,
                crate::channel::notice::html(&e.notice, &env).as_bytes(),
            )?)
        })?;
        let link = config.sms.link.replace("{token}", "0123456789abcdef");
        let text = crate::channel::sms::with_link(&e.notice.sms, &link);
        let body = format!(
            "Subject: {}\n\n{}\n\n--- text message ({} segment(s), {}, {} units) ---\n{}\n",
            e.notice.subject,
            crate::channel::notice::plain(&e.notice, &env),
            text.segments,
            text.encoding,
            text.units,
            text.body
        );
        let txt = dir.join(format!("{}.txt", e.label));
        crate::output::writing(&txt, |p| {
            Ok(crate::output::write_atomic(p, body.as_bytes())?)
        })?;
    }
    Ok(examples.len())
}
