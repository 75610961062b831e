//! The studio's pages: server-rendered HTML with a little plain JavaScript
//! (`studio.js`), no build step. Every value from a file or the data is
//! escaped; the page reads well without styles and with a screen reader
//! (labels on every field, one fieldset per part of the page, a live status).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Studio;
use super::draft;
use super::pick::{CampaignPick, Pick, RenderReply, render_draft, wording_name};
use super::view;
use crate::model::Language;
use crate::wording::{PLACEHOLDERS, Sources, Wording, placeholders};

const SCRIPT: &str = include_str!("studio.js");
const STYLE: &str = include_str!("studio.css");

/// Text as HTML (element content and quoted attributes alike).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn shell(title: &str, body: &str, data: &serde_json::Value) -> String {
    // JSON inside <script> must not close the element.
    let json = data.to_string().replace("</", "<\\/");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to the sentences</a>\
         <header><h1>neighborly studio</h1><nav aria-label=\"Studio\"><a href=\"/\">Report wording</a> \
         <a href=\"/tips\">Tip rules</a> <a href=\"/account\">Account look-up</a> <a href=\"/proof.pdf\" download>Download the proof book (PDF)</a></nav></header>\
         {body}<script id=\"studio-data\" type=\"application/json\">{json}</script>\
         <script>{SCRIPT}</script></body></html>",
        title = esc(title)
    )
}

fn select(name: &str, label: &str, options: &[(&str, &str)], current: &str) -> String {
    let mut s = format!("<label>{label} <select name=\"{name}\">");
    for (value, text) in options {
        let sel = if *value == current { " selected" } else { "" };
        let _ = write!(
            s,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(value),
            esc(text)
        );
    }
    s.push_str("</select></label> ");
    s
}

fn picker(pick: &Pick, studio: &Studio) -> String {
    let v = |o: &Option<String>, d: &str| o.clone().unwrap_or_else(|| d.into());
    let mut s = String::from(
        "<form class=\"pick\" method=\"get\" action=\"/\"><fieldset><legend>What to show</legend>\
         <span class=\"report-only\">",
    );
    s += &select(
        "service",
        "Service",
        &[("water", "Water"), ("electric", "Electricity")],
        &v(&pick.service, studio.config.utility.service.as_str()),
    );
    s += &select(
        "phase",
        "Phase",
        &[
            ("comparison", "Comparison"),
            ("notice", "Notice"),
            ("tips", "Tips"),
        ],
        &v(&pick.phase, "comparison"),
    );
    s += &select(
        "rating",
        "Rating",
        &[
            ("great", "Great"),
            ("good", "Good"),
            ("above-typical", "Above typical"),
            ("none", "No comparison"),
        ],
        &v(&pick.rating, "good"),
    );
    s += &select(
        "lang",
        "Language",
        &[("en", "English"), ("es", "Español")],
        &v(&pick.lang, "en"),
    );
    s += &select(
        "invite",
        "Assistance invitation",
        &[("no", "No"), ("yes", "Yes")],
        &v(&pick.invite, "no"),
    );
    s += &select(
        "weather",
        "Weather block",
        &[("no", "No"), ("yes", "Yes")],
        &v(&pick.weather, "no"),
    );
    // The choices above shape the monthly report only; a campaign letter
    // has a language and nothing else (the page hides them then).
    s.push_str("</span>");
    let mut campaigns = vec![("", "None: the monthly report")];
    campaigns.extend(
        studio
            .config
            .campaigns
            .keys()
            .map(|k| (k.as_str(), k.as_str())),
    );
    s += &select(
        "campaign",
        "Campaign letter",
        &campaigns,
        pick.campaign.as_deref().unwrap_or(""),
    );
    let _ = write!(
        s,
        "<label>or a real account <input name=\"account\" value=\"{}\" size=\"10\" \
         autocomplete=\"off\"></label> <button type=\"submit\">Show</button></fieldset></form>",
        esc(pick.account.as_deref().unwrap_or(""))
    );
    s
}

/// The placeholders a sentence uses, as the form lists them.
fn used_placeholders(texts: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = texts
        .iter()
        .flat_map(|t| placeholders(t))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn field(key: &str, texts: &BTreeMap<Language, BTreeMap<String, String>>) -> String {
    let id = key.replace(['.', '-', '[', ']'], "_");
    let values: Vec<&str> = Language::ALL
        .iter()
        .map(|l| texts[l].get(key).map_or("", String::as_str))
        .collect();
    let mut s = format!(
        "<div class=\"field\" data-key=\"{k}\"><h3 id=\"k_{id}\">{k}</h3><div class=\"pair\">",
        k = esc(key)
    );
    for (lang, value) in Language::ALL.iter().zip(&values) {
        let (name, code) = match lang {
            Language::En => ("English", "en"),
            Language::Es => ("Español", "es"),
        };
        let rows = (value.chars().count() / 40 + 1).clamp(1, 6);
        let _ = write!(
            s,
            "<label lang=\"{code}\"><span>{name}</span><textarea rows=\"{rows}\" data-lang=\"{code}\" \
             data-key=\"{k}\" data-original=\"{v}\" aria-describedby=\"k_{id} p_{id}_{code}\" \
             name=\"{code}:{k}\">{v}</textarea></label>",
            k = esc(key),
            v = esc(value)
        );
    }
    let used = used_placeholders(&values);
    s.push_str("</div>");
    if !used.is_empty() {
        let list: Vec<String> = used
            .iter()
            .map(|p| format!("<code>{{{}}}</code>", esc(p)))
            .collect();
        let _ = write!(
            s,
            "<p class=\"uses\">Placeholders here: {}</p>",
            list.join(" ")
        );
    }
    for code in ["en", "es"] {
        let _ = write!(
            s,
            "<p class=\"problem\" id=\"p_{id}_{code}\" data-for=\"{code}:{k}\" role=\"alert\"></p>",
            k = esc(key)
        );
    }
    s.push_str("</div>");
    s
}

/// The main page: the picker, the sentences of the variant grouped as on the
/// page, and its pages rendered.
pub(super) fn index(s: &Studio, pick: &Pick) -> String {
    if let Some(campaign) = pick.campaign(s) {
        return campaign_index(s, pick, campaign);
    }
    let mut body = picker(pick, s);
    let sources = match Sources::read(&s.dir) {
        Ok(src) => src,
        Err(p) => {
            let list: Vec<String> = p
                .iter()
                .map(|p| format!("<li>{}</li>", esc(&p.to_string())))
                .collect();
            body += &format!(
                "<main id=\"main\"><ul class=\"problems\">{}</ul></main>",
                list.join("")
            );
            return shell("neighborly studio", &body, &serde_json::json!({}));
        }
    };
    let texts: BTreeMap<Language, BTreeMap<String, String>> = sources
        .texts
        .iter()
        .map(|(l, t)| (*l, draft::sentences(t)))
        .collect();
    let base: BTreeMap<String, String> = sources
        .texts
        .iter()
        .map(|(l, t)| (wording_name(*l), draft::fingerprint(t)))
        .collect();
    let sections: anyhow::Result<view::Sections> = match Wording::parse(&s.dir, &sources) {
        Ok(w) => pick.target(s).and_then(|target| {
            let plan = matches!(target, view::Target::Account(_)).then(|| s.plan());
            let plan_ref = plan.as_ref().and_then(|p| p.as_ref().as_ref().ok());
            let period = plan_ref.map_or(s.period, |p| p.period);
            view::trace(&target, &s.config, &w, plan_ref, period, &s.renderer)
        }),
        Err(problems) => {
            // Broken files on disk (a key missing in Spanish...): say where,
            // and offer every sentence so the gap can be filled here.
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("<li>{}</li>", esc(&p.to_string())))
                .collect();
            let _ = write!(
                body,
                "<div class=\"problem\" role=\"alert\"><p>The wording files have \
                 problems; fill in or correct the sentences below and save:</p><ul>{}</ul></div>",
                list.join("")
            );
            let mut keys: Vec<String> = texts.values().flat_map(|t| t.keys().cloned()).collect();
            keys.sort();
            keys.dedup();
            Ok(vec![("Every sentence".to_string(), keys)])
        }
    };
    // Alerts and peak-event messages print on no page; their sentences
    // live in the same files and are edited here too (`proof --messages`
    // shows them as e-mails).
    let sections = sections.map(|mut sections| {
        let keys: Vec<String> = texts
            .get(&Language::En)
            .into_iter()
            .flat_map(|t| t.keys())
            .filter(|k| k.starts_with("alert.") || k.starts_with("peak."))
            .cloned()
            .collect();
        if !keys.is_empty() {
            sections.push((
                "Between reports: bill alerts and peak events (e-mail and text)".to_string(),
                keys,
            ));
        }
        sections
    });
    let first = render_draft(s, pick, &[]);
    body += &form_and_pages(PLACEHOLDERS, &sections, &texts, &first);
    let data = serde_json::json!({
        "token": s.token,
        "pick": pick,
        "base": base,
        "placeholders": PLACEHOLDERS.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        "version": s.version.load(std::sync::atomic::Ordering::Relaxed),
    });
    shell("neighborly studio: report wording", &body, &data)
}

/// A campaign letter's page: every sentence of its wording files.
fn campaign_index(s: &Studio, pick: &Pick, campaign: anyhow::Result<CampaignPick>) -> String {
    let mut body = picker(pick, s);
    let c = match campaign {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(
                body,
                "<main id=\"main\"><p class=\"problem\">{}</p></main>",
                esc(&format!("{e:#}"))
            );
            return shell("neighborly studio", &body, &serde_json::json!({}));
        }
    };
    let mut texts = BTreeMap::new();
    let mut base = BTreeMap::new();
    for lang in Language::ALL {
        let text = std::fs::read_to_string(c.file(lang)).unwrap_or_default();
        base.insert(c.file_name(lang), draft::fingerprint(&text));
        texts.insert(lang, draft::sentences(&text));
    }
    let keys: Vec<String> = texts[&Language::En].keys().cloned().collect();
    let sections = Ok(vec![(
        "The letter: front in the chosen language, back in the other".to_string(),
        keys,
    )]);
    let first = render_draft(s, pick, &[]);
    let help: Vec<(&str, &str)> = crate::target::letter::PLACEHOLDERS
        .iter()
        .map(|p| (*p, "see TEMPLATES.md, Campaign letters"))
        .collect();
    body += &form_and_pages(&help, &sections, &texts, &first);
    let data = serde_json::json!({
        "token": s.token,
        "pick": pick,
        "base": base,
        "placeholders": crate::target::letter::PLACEHOLDERS,
        "version": s.version.load(std::sync::atomic::Ordering::Relaxed),
    });
    shell("neighborly studio: campaign letter", &body, &data)
}

/// The form of sentences beside the rendered pages.
fn form_and_pages(
    help: &[(&str, &str)],
    sections: &anyhow::Result<view::Sections>,
    texts: &BTreeMap<Language, BTreeMap<String, String>>,
    first: &RenderReply,
) -> String {
    let mut body = String::new();
    body += "<main id=\"main\"><div class=\"columns\"><section class=\"sentences\" aria-label=\"Sentences\">";
    body += "<div class=\"actions\"><button id=\"save\" type=\"button\" disabled>Save</button> \
             <button id=\"discard\" type=\"button\" disabled>Discard changes</button> \
             <span id=\"status\" role=\"status\" aria-live=\"polite\"></span></div>";
    body += "<div id=\"general\" class=\"problem\" role=\"alert\"></div>\
             <p id=\"save-note\" class=\"problem\" role=\"alert\"></p>";
    match sections {
        Ok(sections) => {
            for (title, keys) in sections {
                let _ = write!(body, "<fieldset><legend>{}</legend>", esc(title));
                for key in keys {
                    body += &field(key, texts);
                }
                body += "</fieldset>";
            }
        }
        Err(e) => {
            let _ = write!(
                body,
                "<pre class=\"problem\">{}</pre>",
                esc(&format!("{e:#}"))
            );
        }
    }
    let help: Vec<String> = help
        .iter()
        .map(|(p, what)| format!("<dt><code>{{{}}}</code></dt><dd>{}</dd>", esc(p), esc(what)))
        .collect();
    let _ = write!(
        body,
        "<details><summary>Every placeholder</summary><dl>{}</dl></details></section>",
        help.join("")
    );
    body += "<section class=\"preview\" aria-label=\"The pages as printed\"><p id=\"timing\"></p><div id=\"pages\">";
    for n in 1..=first.pages {
        let _ = write!(
            body,
            "<figure><img src=\"/page/{id}/{n}\" alt=\"Page {n} as printed; its text follows.\" width=\"612\">\
             <figcaption><details><summary>Text of page {n}</summary><pre class=\"page-text\">{t}</pre>\
             </details></figcaption></figure>",
            id = first.id,
            t = esc(first.text.get(n - 1).map_or("", String::as_str))
        );
    }
    body += "</div>";
    for p in &first.problems {
        let _ = write!(body, "<pre class=\"problem\">{}</pre>", esc(&p.message));
    }
    body += "</section></div></main>";
    body
}

/// Tip rules: conditions editable, texts, and the households each one picks.
/// An account's whole story (what `neighborly account ID` prints), for
/// answering a household's question about the letter it got: every letter
/// by period and campaign, messages, groups, opt-outs and responses.
pub(super) fn account(s: &Studio, id: Option<&str>) -> String {
    let id = id.map(str::trim).unwrap_or("");
    let mut body = format!(
        "<main id=\"main\"><h2>Account look-up</h2>\
         <form method=\"get\" action=\"/account\" role=\"search\">\
         <label for=\"account-id\">Account number</label> \
         <input id=\"account-id\" name=\"id\" value=\"{}\" autocomplete=\"off\" required> \
         <button type=\"submit\">Look up</button></form>",
        esc(id)
    );
    if !id.is_empty() {
        let found =
            crate::account::look_up(&s.config, id, s.run.state.clone(), s.run.customers.as_ref());
        match found {
            Ok(view) => {
                let _ = write!(
                    body,
                    "<section aria-label=\"Account {}\"><pre class=\"account\">{}</pre></section>",
                    esc(&view.account_id),
                    esc(&view.render_text())
                );
            }
            Err(e) => {
                let _ = write!(
                    body,
                    "<p class=\"problem\" role=\"alert\">{}</p>",
                    esc(&format!("{e:#}"))
                );
            }
        }
    }
    body.push_str("</main>");
    shell(
        "neighborly studio: account look-up",
        &body,
        &serde_json::json!({"token": s.token}),
    )
}

pub(super) fn tips(s: &Studio) -> String {
    let mut body = String::from(
        "<main id=\"main\"><h2>Tip rules</h2><p>A tip applies when every condition it names holds. \
        Conditions: services, months (1-12), ratings (great, good, above-typical, none), phases (tips, notice, comparison), \
        built_before, built_after, min_occupants, max_occupants, heating_fuels, assistance (true/false), priority (higher first). \
        The tip's title and text are edited with the other sentences, under <code>tips.&lt;id&gt;</code>.</p>",
    );
    let wording = match crate::wording::load_or_error(&s.dir) {
        Ok(w) => w,
        Err(e) => {
            let _ = write!(
                body,
                "<pre class=\"problem\">{}</pre></main>",
                esc(&format!("{e:#}"))
            );
            return shell(
                "neighborly studio: tip rules",
                &body,
                &serde_json::json!({"token": s.token}),
            );
        }
    };
    let source = std::fs::read_to_string(s.dir.join("tips.toml")).unwrap_or_default();
    let plan = s.plan();
    let mut picks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut letters = 0;
    if let Ok(plan) = plan.as_ref() {
        letters = plan.letters.len();
        for l in &plan.letters {
            let h = plan.household(l.household);
            let chosen = crate::report::pick_tips(
                h,
                plan.period,
                crate::report::Situation {
                    rating: plan.comparison(l).map(|c| c.rating),
                    phase: l.decision.phase,
                    assistance_eligible: l.assistance_eligible,
                    leak: l.leak.is_some(),
                    invite: l.assistance_eligible && s.config.assistance.invite,
                    weather: l.insight.is_some(),
                },
                &[],
                &wording,
            );
            for id in chosen {
                picks.entry(id).or_default().push(h.account_id.to_string());
            }
        }
    }
    for rule in &wording.tips {
        let id = &rule.id;
        let conditions = draft::tip_conditions(&source, id).unwrap_or_default();
        let title = wording
            .get(Language::En, &format!("tips.{id}.title"))
            .unwrap_or("");
        let who = picks.get(id).map_or(&[][..], Vec::as_slice);
        let sample: Vec<String> = who
            .iter()
            .take(8)
            .map(|a| format!("<a href=\"/?account={a}\">{a}</a>", a = esc(a)))
            .collect();
        let hid = id.replace(['.', '-'], "_");
        let _ = write!(
            body,
            "<section class=\"tip\" aria-labelledby=\"t_{hid}\"><h3 id=\"t_{hid}\">{id}: {title}</h3>\
             <label>Conditions (one per line)<textarea rows=\"{rows}\" data-tip=\"{id}\">{c}</textarea></label>\
             <button type=\"button\" data-save-tip=\"{id}\">Save conditions</button>\
             <p class=\"problem\" role=\"alert\" data-tip-problem=\"{id}\"></p>\
             <p>Shown to {n} of this period's {letters} reports{colon}{list}</p></section>",
            id = esc(id),
            title = esc(title),
            rows = conditions.lines().count().max(2),
            c = esc(&conditions),
            n = who.len(),
            colon = if sample.is_empty() {
                "."
            } else {
                ", for example: "
            },
            list = sample.join(", ")
        );
    }
    if let Err(e) = plan.as_ref() {
        let _ = write!(
            body,
            "<p class=\"problem\">Households cannot be shown: {}</p>",
            esc(&format!("{e:#}"))
        );
    }
    body += "<p id=\"status\" role=\"status\" aria-live=\"polite\"></p></main>";
    let data = serde_json::json!({ "token": s.token, "tips_base": draft::fingerprint(&source) });
    shell("neighborly studio: tip rules", &body, &data)
}
