//! What the studio shows: a variant (or a real account) laid out with the
//! draft wording, its pages as PNG images with their text, and which
//! sentences the variant prints, in the order the page shows them.

use typst::layout::{Frame, FrameItem, Point};
use typst::model::Document;
use typst::visualize::ImageKind;
use typst_layout::PagedDocument;

use anyhow::Context;

use crate::config::Config;
use crate::model::{Language, Period, Service};
use crate::pipeline::Plan;
use crate::proof::Variant;
use crate::render::Renderer;
use crate::wording::Wording;

/// What to lay out.
#[derive(Debug, Clone)]
pub enum Target {
    Variant { variant: Variant, service: Service },
    Account(String),
}

impl Target {
    pub fn language(&self, plan: Option<&Plan>) -> Language {
        match self {
            Target::Variant { variant, .. } => variant.language,
            Target::Account(id) => plan
                .and_then(|p| p.households.iter().find(|h| h.account_id == id))
                .map_or(Language::En, |h| h.language),
        }
    }
}

/// The JSON the report template reads, for `target` with `wording`.
pub fn data(
    target: &Target,
    config: &Config,
    wording: &Wording,
    plan: Option<&Plan>,
    period: Period,
) -> anyhow::Result<serde_json::Value> {
    match target {
        Target::Variant { variant, service } => {
            let mut config = config.clone();
            config.utility.service = *service;
            crate::proof::variant_data(variant, period, &config, wording, false)
        }
        Target::Account(id) => {
            let plan = plan.context("the customer and usage files could not be read")?;
            let letter = plan
                .letters
                .iter()
                .find(|l| plan.household(l.household).account_id == id)
                .with_context(|| format!("account {id} gets no report for {}", plan.period))?;
            let mut input = plan.input(letter);
            // Tip rules may be edited too: choose with the draft's rules.
            let tips = crate::report::pick_tips(
                input.household,
                plan.period,
                crate::report::Situation {
                    rating: plan.comparison(letter).map(|c| c.rating),
                    phase: letter.decision.phase,
                    assistance_eligible: letter.assistance_eligible,
                    leak: letter.leak.is_some(),
                    invite: letter.assistance_eligible && config.assistance.invite,
                    weather: letter.insight.is_some(),
                },
                &[],
                wording,
            );
            input.tips = &tips;
            let data = crate::report::build(&input, config, wording)?;
            Ok(serde_json::to_value(data)?)
        }
    }
}

/// Pages as PNG images and as text (for screen readers and for search).
pub struct Pages {
    pub png: Vec<Vec<u8>>,
    pub text: Vec<String>,
}

/// Pixels per point of the page images: a letter page is 918 px wide.
const SCALE: f64 = 1.5;

pub fn pages(document: &PagedDocument) -> Pages {
    let png = Renderer::png_pages(document, SCALE);
    let text = document
        .pages()
        .iter()
        .map(|p| lines(&p.frame).join("\n"))
        .collect();
    Pages { png, text }
}

/// The text of a frame as lines, top to bottom and left to right.
fn lines(frame: &Frame) -> Vec<String> {
    let mut runs = Vec::new();
    walk(frame, Point::zero(), &mut runs, &mut Vec::new());
    runs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<String> = Vec::new();
    let mut last_y = f64::NEG_INFINITY;
    for (y, _, text) in runs {
        if (y - last_y).abs() > 2.0 || out.is_empty() {
            out.push(text);
        } else if let Some(line) = out.last_mut() {
            line.push(' ');
            line.push_str(&text);
        }
        last_y = y;
    }
    out
}

/// Text runs `(y, x, text)` in points, and images' descriptions and SVG text.
fn walk(frame: &Frame, at: Point, runs: &mut Vec<(f64, f64, String)>, images: &mut Vec<String>) {
    for (pos, item) in frame.items() {
        let p = at + *pos;
        match item {
            FrameItem::Group(g) => {
                let shift = Point::new(g.transform.tx, g.transform.ty);
                walk(&g.frame, p + shift, runs, images);
            }
            FrameItem::Text(t) => runs.push((p.y.to_pt(), p.x.to_pt(), t.text.to_string())),
            FrameItem::Image(image, ..) => {
                images.extend(image.alt().map(str::to_string));
                if let ImageKind::Svg(svg) = image.kind() {
                    images.push(String::from_utf8_lossy(svg.data().as_slice()).into_owned());
                }
            }
            _ => {}
        }
    }
}

/// Sentences a layout prints, grouped as the studio shows them: one group per
/// page in reading order, then text inside charts and image descriptions,
/// then the PDF's title, which is not printed.
pub type Sections = Vec<(String, Vec<String>)>;

/// Lay out `target` with every sentence of its language replaced by a marker
/// and read the markers back from the pages.
pub fn trace(
    target: &Target,
    config: &Config,
    wording: &Wording,
    plan: Option<&Plan>,
    period: Period,
    renderer: &Renderer,
) -> anyhow::Result<Sections> {
    let lang = target.language(plan);
    let (traced, keys) = wording.traced(lang);
    let json = data(target, config, &traced, plan, period)?;
    let document = renderer.layout(serde_json::to_vec(&json)?)?;
    Renderer::evict_cache();
    let mut seen = vec![false; keys.len()];
    let take = |text: &str, seen: &mut Vec<bool>| -> Vec<String> {
        let mut found = Vec::new();
        for n in markers(text) {
            if n < keys.len() && !seen[n] {
                seen[n] = true;
                found.push(keys[n].clone());
            }
        }
        found
    };
    let mut sections = Vec::new();
    let mut images = Vec::new();
    for (i, page) in document.pages().iter().enumerate() {
        let mut runs = Vec::new();
        walk(&page.frame, Point::zero(), &mut runs, &mut images);
        runs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let text: String = runs
            .iter()
            .map(|r| r.2.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        sections.push((format!("Page {}", i + 1), take(&text, &mut seen)));
    }
    sections.push((
        "In the charts and image descriptions".into(),
        take(&images.join(" "), &mut seen),
    ));
    let title = document
        .info()
        .title
        .as_ref()
        .map(|t| t.to_string())
        .unwrap_or_default();
    sections.push((
        "Not printed: the PDF's title (read aloud by screen readers)".into(),
        take(&title, &mut seen),
    ));
    sections.retain(|(_, keys)| !keys.is_empty());
    Ok(sections)
}

/// Numbers of the `§n§` markers in `text`, in order.
fn markers(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut parts = text.split('§');
    parts.next();
    let mut inside = true;
    for part in parts {
        if inside && let Ok(n) = part.parse() {
            out.push(n);
            inside = false;
            continue;
        }
        inside = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::markers;

    #[test]
    fn markers_are_read_in_order() {
        assert_eq!(markers("a §3§ b §12§§4§ c § d §x§ §7§"), vec![3, 12, 4, 7]);
    }
}
