//! `neighborly check`: everything a run, a proof, an evaluation or a campaign
//! can render, compiled before any household is, so a broken template costs
//! seconds instead of a mail run.
//!
//! What it covers: the wording files and tip rules ([`Wording::load`]), every
//! report variant through `report.typ` (and whether it fits one sheet), all
//! variants in one document through `batch.typ` (the print files' template),
//! the evaluation page with example figures, the e-mail's chart pictures,
//! each configured campaign's
//! single and batch letter in both languages, and then every other `.typ`
//! file in the templates folder: a file no document reads is still parsed, so
//! a syntax error waiting in it is found today and not on the day it is used.

use std::path::Path;

use crate::config::Config;
use crate::render::Renderer;
use crate::wording::Wording;

/// What `check` found: lines that passed and problems (each printable as is,
/// with `file:line:col` where there is one).
#[derive(Debug, Default)]
pub struct Report {
    pub passed: Vec<String>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check every template, wording file and tip rule of `config`'s templates folder.
pub fn check(config: &Config) -> Report {
    let mut report = Report::default();
    let dir = config.templates_dir();
    let today = crate::pipeline::render_date(config);
    let period = crate::proof::default_period(today);
    let renderer = match Renderer::new(&dir, today) {
        Ok(r) => r,
        Err(e) => {
            report.problems.push(format!("{e:#}"));
            return report;
        }
    };
    match Wording::load(&dir) {
        Ok(wording) => {
            let voiced: Vec<&str> = wording.voiced().iter().map(|s| s.as_str()).collect();
            report.passed.push(format!(
                "wording for {} languages ({} sentences laid over for {}) and {} tip rules",
                crate::model::Language::ALL.len(),
                if voiced.is_empty() { "no" } else { "service" },
                if voiced.is_empty() {
                    "any service".to_string()
                } else {
                    voiced.join(" and ")
                },
                wording.tips.len()
            ));
            documents(config, &wording, &renderer, period, &mut report);
        }
        Err(problems) => report
            .problems
            .extend(problems.iter().map(ToString::to_string)),
    }
    report.passed.extend(config.tariff.describe());
    campaigns(config, &renderer, period, &mut report);
    every_file(&dir, &renderer, &mut report);
    report
}

/// Every alert and peak-event message, in both languages and every
/// service: each sentence filled, and each text within its segments (one
/// GSM-7 segment in English; Spanish may need UCS-2, two segments).
fn messages(config: &Config, wording: &Wording, report: &mut Report) {
    let link = "https://example.org/r/0123456789abcdef";
    let mut examples = crate::alerts::examples(config, wording);
    examples.extend(crate::events::examples(config, wording));
    let before = report.problems.len();
    for e in &examples {
        let n = &e.notice;
        let text = crate::channel::sms::with_link(&n.sms, link);
        let mut fields = vec![&n.subject, &n.headline, &n.greeting, &n.closing, &text.body];
        fields.extend(&n.figures);
        fields.extend(&n.list);
        fields.extend(&n.second);
        if let Some(f) = fields.iter().find(|f| f.is_empty() || f.contains('{')) {
            report.problems.push(format!(
                "message {}: a sentence is empty or has an unfilled placeholder: {f:?}",
                e.label
            ));
        }
        let most = if n.lang == crate::model::Language::En {
            1
        } else {
            2
        };
        if text.segments > most
            || (n.lang == crate::model::Language::En && text.encoding != "gsm-7")
        {
            report.problems.push(format!(
                "message {}: its text takes {} {} segment(s) ({} units; at most {most}): {}",
                e.label, text.segments, text.encoding, text.units, text.body
            ));
        }
    }
    if report.problems.len() == before {
        report.passed.push(format!(
            "{} alert and peak-event messages in 2 languages, texts within their segments",
            examples.len()
        ));
    }
}

/// The report variants, the batch document and the evaluation page.
fn documents(
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
    period: crate::model::Period,
    report: &mut Report,
) {
    let variants = crate::proof::Variant::all().len();
    let problems = crate::proof::check_variants(config, wording, renderer, period);
    if problems.is_empty() {
        report
            .passed
            .push(format!("{variants} report variants compiled (report.typ)"));
    }
    for p in problems {
        report
            .problems
            .push(format!("variant {}:\n{}", p.variant.label(), p.message));
    }
    match crate::proof::proof(config, wording, renderer, period) {
        Ok((_, n, pages)) => report.passed.push(format!(
            "{n} variants in one print document, {pages} pages (batch.typ)"
        )),
        Err(e) => report.problems.push(format!("print document:\n{e:#}")),
    }
    Renderer::evict_cache();
    let evaluation = crate::measure::example_page(config, period)
        .and_then(|page| Ok(serde_json::to_vec(&page)?))
        .and_then(|json| {
            renderer
                .layout_template(crate::measure::TEMPLATE, json)
                .map_err(|e| anyhow::anyhow!("{e}"))
        });
    match evaluation {
        Ok(_) => report
            .passed
            .push("evaluation page with example figures (evaluation.typ)".into()),
        Err(e) => report.problems.push(format!("evaluation page:\n{e:#}")),
    }
    messages(config, wording, report);
    let event = crate::events::example_evaluation();
    let page = crate::events::event_page(config, &event, &crate::events::example_window())
        .and_then(|page| Ok(serde_json::to_vec(&page)?))
        .and_then(|json| {
            renderer
                .layout_template(crate::events::EVENT_TEMPLATE, json)
                .map_err(|e| anyhow::anyhow!("{e}"))
        });
    match page {
        Ok(_) => report
            .passed
            .push("peak event page with example figures (event.typ)".into()),
        Err(e) => report.problems.push(format!("peak event page:\n{e:#}")),
    }
    // The e-mail's chart pictures, from a compared variant (both charts).
    let variant = crate::proof::Variant::all()[0];
    let charts = crate::proof::variant_data(&variant, period, config, wording, false)
        .and_then(|data| Ok(serde_json::to_vec(&data)?))
        .and_then(|json| {
            renderer
                .layout_template(crate::pipeline::EMAIL_CHARTS, json)
                .map_err(|e| anyhow::anyhow!("{e}"))
        });
    Renderer::evict_cache();
    match charts {
        Ok(d) if d.pages().len() == 2 => report
            .passed
            .push("e-mail chart pictures, one page per chart (email-charts.typ)".into()),
        Ok(d) => report.problems.push(format!(
            "email-charts.typ: {} page(s) for 2 charts; each chart must be one page",
            d.pages().len()
        )),
        Err(e) => report.problems.push(format!("e-mail charts:\n{e:#}")),
    }
}

/// Each configured campaign's letters, both languages.
fn campaigns(
    config: &Config,
    renderer: &Renderer,
    period: crate::model::Period,
    report: &mut Report,
) {
    for name in config.campaigns.keys() {
        match crate::target::campaign::proof(config, name, renderer, period) {
            Ok(_) => report.passed.push(format!(
                "campaign {name}: single and batch letters, English and Spanish"
            )),
            Err(e) => report.problems.push(format!("{e:#}")),
        }
        Renderer::evict_cache();
    }
}

/// Every `.typ` file under the templates folder that no document above read:
/// parsed, and on a syntax error compiled alone for its file and line (Typst
/// stops at syntax errors before evaluating anything, so nothing else is
/// reported about a file that is only a module).
fn every_file(dir: &Path, renderer: &Renderer, report: &mut Report) {
    let compiled = renderer.templates().compiled_files();
    let mut files = Vec::new();
    typ_files(dir, dir, &mut files);
    files.sort();
    let mut parsed = 0;
    for rel in &files {
        if compiled.contains(rel) {
            continue;
        }
        parsed += 1;
        let Ok(text) = std::fs::read_to_string(dir.join(rel)) else {
            report.problems.push(format!(
                "{}: cannot read as UTF-8 text",
                dir.join(rel).display()
            ));
            continue;
        };
        if typst::syntax::parse(&text)
            .errors_and_warnings()
            .0
            .is_empty()
        {
            continue;
        }
        match renderer.layout_template(&format!("/{rel}"), b"{}".to_vec()) {
            Err(e) => report.problems.push(e.to_string()),
            Ok(_) => report.problems.push(format!(
                "{}: syntax error (the compiler did not locate it)",
                dir.join(rel).display()
            )),
        }
    }
    report.passed.push(format!(
        "{} template files: {} compiled, {parsed} parsed (not used by any document above)",
        files.len(),
        files.len() - parsed
    ));
}

/// `.typ` files under `dir`, as paths relative to `root` with `/` separators.
fn typ_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            typ_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "typ")
            && let Ok(rel) = path.strip_prefix(root)
        {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}
