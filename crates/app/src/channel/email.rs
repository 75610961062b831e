//! The e-mail of one household: the same content as its PDF, as HTML that
//! mail programs render (tables and inline styles, no scripts, no CSS
//! files), a plain-text alternative, the charts as inline PNG images with
//! their descriptions as alt text, and the PDF attached.
//!
//! Every sentence comes from the report data, which the wording files
//! filled (`report::build`), so there is no second copy of any sentence and
//! the same phase rules apply. Customer text is escaped, never markup.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as esc};
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, MultiPart, SinglePart};
use serde_json::Value;

use crate::model::Phase;
use crate::report::ReportData;

const BRAND: &str = "#0b5c8e";
const INK: &str = "#1d2b36";
const MUTED: &str = "#51606b";
const SOFT: &str = "#eef4f8";

/// One chart as a picture: its content id, PNG bytes and description.
pub struct Chart {
    pub cid: &'static str,
    pub png: Vec<u8>,
    pub alt: String,
}

/// What identifies a message and lets its reader leave.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub reply_to: &'a str,
    pub to: &'a str,
    /// `<...@domain>`, derived from (account, period): the same on every try.
    pub message_id: &'a str,
    pub unsubscribe_url: &'a str,
    pub unsubscribe_mailto: &'a str,
}

/// A sentence from the filled wording by dotted key.
fn t<'a>(text: &'a Value, key: &str) -> &'a str {
    key.split('.')
        .try_fold(text, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A message's envelope: from, to, subject, its stable Message-ID, a
/// reply-to, and `List-Unsubscribe` (mailto and URL) with RFC 8058's
/// one-click `List-Unsubscribe-Post` when there is a URL.
pub fn builder(
    env: &Envelope<'_>,
    subject: &str,
) -> anyhow::Result<lettre::message::MessageBuilder> {
    let mut builder = Message::builder()
        .from(env.from.parse()?)
        .to(env.to.parse()?)
        .subject(subject)
        .message_id(Some(env.message_id.to_string()));
    if !env.reply_to.is_empty() {
        builder = builder.reply_to(env.reply_to.parse()?);
    }
    let mut targets = Vec::new();
    if !env.unsubscribe_mailto.is_empty() {
        targets.push(format!(
            "<mailto:{}?subject=unsubscribe>",
            env.unsubscribe_mailto
        ));
    }
    if !env.unsubscribe_url.is_empty() {
        targets.push(format!("<{}>", env.unsubscribe_url));
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ));
    }
    if !targets.is_empty() {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            targets.join(", "),
        ));
    }
    Ok(builder)
}

/// The message, ready to send or to write as an `.eml` file.
pub fn compose(
    d: &ReportData,
    env: &Envelope<'_>,
    charts: &[Chart],
    pdf: &[u8],
) -> anyhow::Result<Message> {
    let builder = builder(env, t(&d.text, "email.subject"))?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(html(d, charts, env)));
    for c in charts {
        related = related.singlepart(
            Attachment::new_inline(c.cid.to_string())
                .body(c.png.clone(), ContentType::parse("image/png")?),
        );
    }
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(plain(d, env)))
        .multipart(related);
    let name = format!(
        "{}.pdf",
        crate::output::pdf_name(&d.account_id).trim_end_matches(".pdf")
    );
    let attachment =
        Attachment::new(name).body(pdf.to_vec(), ContentType::parse("application/pdf")?);
    Ok(builder.multipart(
        MultiPart::mixed()
            .multipart(alternative)
            .singlepart(attachment),
    )?)
}

/// The blocks of the report in reading order, as (heading, paragraphs).
fn sections(d: &ReportData) -> Vec<(String, Vec<String>)> {
    let text = &d.text;
    let s = |k: &str| t(text, k).to_string();
    let mut out = Vec::new();
    match (d.variant, d.rating) {
        (Phase::Comparison, Some(r)) if d.compared => {
            let r = r.code();
            let key = format!("comparison.{r}");
            out.push((
                s(&format!("{key}.headline")),
                vec![
                    format!("{}: {}", s("labels.rating"), s(&format!("rating.{r}"))),
                    s(&format!("{key}.body")),
                ],
            ));
        }
        (Phase::Notice, _) => out.push((
            s("notice.headline"),
            vec![
                s("notice.greeting"),
                s("notice.body"),
                s("notice.reminder"),
                s("notice.action"),
            ],
        )),
        _ => {
            let mut p = vec![s("tips_letter.greeting"), s("tips_letter.body")];
            if d.rating.is_none() {
                p.push(s("tips_letter.no_comparison"));
            }
            out.push((s("tips_letter.headline"), p));
        }
    }
    out.iter_mut()
        .for_each(|(_, p)| p.retain(|x| !x.is_empty() && !x.ends_with(": ")));
    out
}

fn money_lines(d: &ReportData) -> Vec<String> {
    if !d.money {
        return vec![];
    }
    let mut m = vec![t(&d.text, "money.cost").to_string()];
    if d.savings {
        m.push(t(&d.text, "money.savings").to_string());
    }
    if d.tip_saving {
        m.push(t(&d.text, "money.tip").to_string());
    }
    m
}

fn goal_lines(d: &ReportData) -> Vec<String> {
    let Some(goal) = d.goal else { return vec![] };
    let mut g = vec![t(&d.text, &format!("goal.{}", goal.code())).to_string()];
    if d.money {
        g.push(t(&d.text, "goal.cost").to_string());
    }
    if let Some(last) = d.last_goal {
        g.push(t(&d.text, &format!("goal.{}", last.code())).to_string());
    }
    g
}

/// The weather block as lines: its headline, its sentences, then the
/// year's use part by part with share and amount, and the caption.
fn weather_lines(d: &ReportData) -> Vec<String> {
    let Some(w) = &d.weather else { return vec![] };
    let text = &d.text;
    let sentences: Vec<&str> = w
        .sentences
        .iter()
        .map(|k| t(text, &format!("weather.{k}")))
        .collect();
    let mut out = vec![t(text, "weather.headline").to_string()];
    if !sentences.is_empty() {
        out.push(sentences.join(" "));
    }
    out.push(t(text, "weather.split_title").to_string());
    for p in &w.parts {
        out.push(format!(
            "{}: {}% ({})",
            t(text, &format!("weather.{}", p.key)),
            p.percent,
            p.per_day
        ));
    }
    out.push(t(text, "weather.split_caption").to_string());
    out
}

fn para(s: &str) -> String {
    format!(
        "<p style=\"margin:0 0 10px 0;font-size:15px;line-height:1.45;color:{INK};\">{}</p>",
        esc(s)
    )
}

fn heading(s: &str, size: u32) -> String {
    format!(
        "<h2 style=\"margin:18px 0 8px 0;font-size:{size}px;line-height:1.25;color:{BRAND};\">{}</h2>",
        esc(s)
    )
}

fn image(charts: &[Chart], cid: &str) -> String {
    charts
        .iter()
        .find(|c| c.cid == cid)
        .map(|c| {
            format!(
                "<img src=\"cid:{}\" alt=\"{}\" width=\"560\" style=\"display:block;width:100%;max-width:560px;height:auto;border:0;\">",
                c.cid,
                attr(&c.alt)
            )
        })
        .unwrap_or_default()
}

/// The HTML body: one centered 600-pixel table, inline styles only.
/// The blocks come in the PDF's reading order, the same as `plain`'s.
pub fn html(d: &ReportData, charts: &[Chart], env: &Envelope<'_>) -> String {
    let mut body = String::new();
    html_masthead(&mut body, d);
    html_sections(&mut body, d, charts);
    html_money(&mut body, d);
    if d.leak {
        html_leak(&mut body, &d.text);
    }
    html_history(&mut body, d, charts);
    html_weather(&mut body, d);
    html_goal(&mut body, d);
    html_tips(&mut body, d);
    if d.invite {
        html_invite(&mut body, &d.text);
    }
    html_footer(&mut body, &d.text, env);
    html_page(d, &body)
}

/// The utility and period over the report's name.
fn html_masthead(body: &mut String, d: &ReportData) {
    let utility = d.return_address.first().map(String::as_str).unwrap_or("");
    body.push_str(&format!(
        "<p style=\"margin:0;font-size:13px;color:{MUTED};\">{} · {}</p>",
        esc(utility),
        esc(&d.period)
    ));
    body.push_str(&format!(
        "<h1 style=\"margin:4px 0 14px 0;font-size:24px;color:{BRAND};\">{}</h1>",
        esc(t(&d.text, "report_name"))
    ));
}

/// The phase's sections, and for a comparison its chart and explanation.
fn html_sections(body: &mut String, d: &ReportData, charts: &[Chart]) {
    let text = &d.text;
    for (h, paragraphs) in sections(d) {
        body.push_str(&heading(&h, 20));
        for p in paragraphs {
            body.push_str(&para(&p));
        }
    }
    if d.variant == Phase::Comparison && d.compared {
        body.push_str(&format!(
            "<p style=\"margin:12px 0 4px 0;font-weight:bold;font-size:15px;color:{INK};\">{}</p>",
            esc(t(text, "comparison.chart_title"))
        ));
        body.push_str(&image(charts, "comparison"));
        body.push_str(&format!(
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:10px 0;\"><tr><td style=\"background:{SOFT};padding:10px;font-size:14px;color:{INK};\">{}</td></tr></table>",
            esc(t(text, "comparison.explain"))
        ));
    }
}

/// The money sentences, then the bill's lines with its total in bold.
fn html_money(body: &mut String, d: &ReportData) {
    for line in money_lines(d) {
        body.push_str(&para(&line));
    }
    if d.bill.is_empty() {
        return;
    }
    body.push_str(&heading(t(&d.text, "money.breakdown"), 17));
    body.push_str(
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"3\" cellspacing=\"0\">",
    );
    let last = d.bill.len() - 1;
    for (i, (label, amount)) in d.bill.iter().enumerate() {
        let weight = if i == last { "bold" } else { "normal" };
        body.push_str(&format!(
            "<tr><td style=\"font-size:14px;font-weight:{weight};color:{INK};\">{}</td><td align=\"right\" style=\"font-size:14px;font-weight:{weight};color:{INK};\">{}</td></tr>",
            esc(label),
            esc(amount)
        ));
    }
    body.push_str("</table>");
}

/// The possible-leak box, framed so it stands out: its checks as a list.
fn html_leak(body: &mut String, text: &Value) {
    body.push_str(&format!(
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:14px 0;border:2px solid {BRAND};\"><tr><td style=\"padding:12px;\">"
    ));
    body.push_str(&heading(t(text, "leak.headline"), 18));
    body.push_str(&para(t(text, "leak.body")));
    body.push_str(&para(t(text, "leak.checks_title")));
    body.push_str("<ul style=\"margin:0;padding-left:20px;\">");
    for c in text["leak"]["checks"].as_array().into_iter().flatten() {
        body.push_str(&format!(
            "<li style=\"font-size:14px;line-height:1.4;color:{INK};\">{}</li>",
            esc(c.as_str().unwrap_or(""))
        ));
    }
    body.push_str("</ul></td></tr></table>");
}

/// The history chart with its caption.
fn html_history(body: &mut String, d: &ReportData, charts: &[Chart]) {
    let text = &d.text;
    body.push_str(&heading(t(text, "history.headline"), 18));
    body.push_str(&image(charts, "history"));
    body.push_str(&format!(
        "<p style=\"margin:4px 0 10px 0;font-size:12px;color:{MUTED};\">{}</p>",
        esc(t(text, "history.caption"))
    ));
}

/// The weather block, when the report has one: its first line as heading.
fn html_weather(body: &mut String, d: &ReportData) {
    if let [headline, rest @ ..] = weather_lines(d).as_slice() {
        body.push_str(&heading(headline, 17));
        for line in rest {
            body.push_str(&para(line));
        }
    }
}

/// The goal box, when the report sets a goal.
fn html_goal(body: &mut String, d: &ReportData) {
    let goal = goal_lines(d);
    if goal.is_empty() {
        return;
    }
    body.push_str(&format!(
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:10px 0;\"><tr><td style=\"background:{SOFT};padding:12px;\">"
    ));
    body.push_str(&heading(t(&d.text, "goal.headline"), 17));
    for line in goal {
        body.push_str(&para(&line));
    }
    body.push_str("</td></tr></table>");
}

/// The tips, each a bold title over its text.
fn html_tips(body: &mut String, d: &ReportData) {
    if d.tips.is_empty() {
        return;
    }
    body.push_str(&heading(t(&d.text, "tips_section.headline"), 18));
    for tip in &d.tips {
        body.push_str(&format!(
            "<p style=\"margin:0 0 2px 0;font-size:15px;font-weight:bold;color:{INK};\">{}</p>",
            esc(&tip.title)
        ));
        body.push_str(&para(&tip.body));
    }
}

/// The program invitation, framed like the leak box.
fn html_invite(body: &mut String, text: &Value) {
    body.push_str(&format!(
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:14px 0;border:2px solid {BRAND};\"><tr><td style=\"padding:12px;\">"
    ));
    body.push_str(&heading(t(text, "invite.headline"), 18));
    body.push_str(&para(t(text, "invite.body")));
    body.push_str(&format!(
        "<p style=\"margin:0;font-size:15px;font-weight:bold;color:{INK};\">{}</p>",
        esc(t(text, "invite.action"))
    ));
    body.push_str("</td></tr></table>");
}

/// How to reach the utility, why the letter came and that the PDF is
/// attached, and the unsubscribe link when there is one.
fn html_footer(body: &mut String, text: &Value, env: &Envelope<'_>) {
    body.push_str(&heading(t(text, "contact.headline"), 18));
    body.push_str(&para(&format!(
        "{} {}",
        t(text, "contact.call"),
        t(text, "contact.web")
    )));
    body.push_str(&format!(
        "<hr style=\"border:0;border-top:1px solid #c9d3db;margin:18px 0;\"><p style=\"margin:0 0 8px 0;font-size:12px;color:{MUTED};\">{}</p><p style=\"margin:0 0 8px 0;font-size:12px;color:{MUTED};\">{}</p>",
        esc(t(text, "email.attached")),
        esc(t(text, "footer.why"))
    ));
    if !env.unsubscribe_url.is_empty() {
        body.push_str(&format!(
            "<p style=\"margin:0;font-size:12px;color:{MUTED};\">{} <a href=\"{}\" style=\"color:{BRAND};\">{}</a></p>",
            esc(t(text, "email.unsubscribe")),
            attr(env.unsubscribe_url),
            esc(env.unsubscribe_url)
        ));
    }
}

/// The document around `body`: its language, title and preheader (the
/// line mail programs show beside the subject), and the centered table.
fn html_page(d: &ReportData, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f6f8;\">\
         <span style=\"display:none;max-height:0;overflow:hidden;\">{pre}</span>\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f6f8;\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\
         <table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:600px;background:#ffffff;\"><tr><td style=\"padding:24px 20px;font-family:Arial,Helvetica,sans-serif;\">{body}</td></tr></table>\
         </td></tr></table></body></html>",
        lang = d.lang,
        title = esc(&d.title),
        pre = esc(t(&d.text, "email.preheader")),
    )
}

/// The plain-text alternative: the same sentences, in the same order.
pub fn plain(d: &ReportData, env: &Envelope<'_>) -> String {
    let text = &d.text;
    let mut out = vec![
        format!("{} - {}", t(text, "report_name"), d.period),
        String::new(),
    ];
    for (h, paragraphs) in sections(d) {
        out.push(h);
        out.extend(paragraphs);
        out.push(String::new());
    }
    if d.variant == Phase::Comparison && d.compared {
        for (label, key) in [
            ("labels.you", "usage"),
            ("labels.all_neighbors", "median"),
            ("labels.efficient_neighbors", "efficient"),
        ] {
            if let Some(v) = d.figures.get(key) {
                out.push(format!("{}: {v}", t(text, label)));
            }
        }
        out.push(t(text, "comparison.explain").to_string());
        out.push(String::new());
    }
    out.extend(money_lines(d));
    for (label, amount) in &d.bill {
        out.push(format!("  {label}: {amount}"));
    }
    if d.leak {
        out.push(String::new());
        out.push(t(text, "leak.headline").to_string());
        out.push(t(text, "leak.body").to_string());
        for c in text["leak"]["checks"].as_array().into_iter().flatten() {
            out.push(format!("- {}", c.as_str().unwrap_or("")));
        }
    }
    out.push(String::new());
    out.push(t(text, "history.headline").to_string());
    if let Some(h) = d.charts.get("history") {
        out.push(h.alt.clone());
    }
    out.push(String::new());
    let weather = weather_lines(d);
    if !weather.is_empty() {
        out.extend(weather);
        out.push(String::new());
    }
    out.extend(goal_lines(d));
    if !d.tips.is_empty() {
        out.push(String::new());
        out.push(t(text, "tips_section.headline").to_string());
        for tip in &d.tips {
            out.push(format!("* {}: {}", tip.title, tip.body));
        }
    }
    if d.invite {
        out.push(String::new());
        out.push(t(text, "invite.headline").to_string());
        out.push(t(text, "invite.body").to_string());
        out.push(t(text, "invite.action").to_string());
    }
    out.push(String::new());
    out.push(format!(
        "{} {}",
        t(text, "contact.call"),
        t(text, "contact.web")
    ));
    out.push(String::new());
    out.push(t(text, "email.attached").to_string());
    out.push(t(text, "footer.why").to_string());
    if !env.unsubscribe_url.is_empty() {
        out.push(format!(
            "{} {}",
            t(text, "email.unsubscribe"),
            env.unsubscribe_url
        ));
    }
    out.join("\n")
}

/// A campaign letter as an e-mail: its wording in reading order (headline,
/// greeting, body paragraphs, each titled list, action, closing, signature),
/// the letter's PDF attached. Campaign wording files are free in their keys;
/// these are the ones the shipped letters use, and any other key is left to
/// the PDF.
pub fn compose_letter(
    text: &Value,
    lang: &str,
    env: &Envelope<'_>,
    pdf_name: &str,
    pdf: &[u8],
) -> anyhow::Result<Message> {
    let s = |k: &str| t(text, k).to_string();
    let list = |k: &str| -> Vec<String> {
        text[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let mut html = String::new();
    let mut plain = Vec::new();
    html.push_str(&format!(
        "<h1 style=\"margin:0 0 14px 0;font-size:22px;color:{BRAND};\">{}</h1>",
        esc(&s("headline"))
    ));
    plain.push(s("headline"));
    plain.push(String::new());
    for p in std::iter::once(s("greeting")).chain(list("body")) {
        html.push_str(&para(&p));
        plain.push(p);
    }
    let titled: Vec<String> = text
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| k.ends_with("_title") && !k.starts_with("back"))
        .cloned()
        .collect();
    for key in titled {
        let items = list(key.trim_end_matches("_title"));
        if items.is_empty() {
            continue;
        }
        html.push_str(&heading(&s(&key), 17));
        plain.push(String::new());
        plain.push(s(&key));
        html.push_str("<ul style=\"margin:0 0 10px 0;padding-left:20px;\">");
        for item in items {
            html.push_str(&format!(
                "<li style=\"font-size:15px;line-height:1.45;color:{INK};\">{}</li>",
                esc(&item)
            ));
            plain.push(format!("- {item}"));
        }
        html.push_str("</ul>");
    }
    for key in ["action", "closing"] {
        let v = s(key);
        if !v.is_empty() {
            html.push_str(&para(&v));
            plain.push(String::new());
            plain.push(v);
        }
    }
    let signature = list("signature");
    html.push_str(&para(&signature.join(" · ")));
    plain.push(String::new());
    plain.extend(signature);
    if !env.unsubscribe_url.is_empty() {
        html.push_str(&format!(
            "<p style=\"margin:16px 0 0 0;font-size:12px;color:{MUTED};\"><a href=\"{}\" style=\"color:{BRAND};\">{}</a></p>",
            attr(env.unsubscribe_url),
            esc(env.unsubscribe_url)
        ));
        plain.push(env.unsubscribe_url.to_string());
    }
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f6f8;\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f6f8;\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\
         <table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:600px;background:#ffffff;\"><tr><td style=\"padding:24px 20px;font-family:Arial,Helvetica,sans-serif;\">{html}</td></tr></table>\
         </td></tr></table></body></html>",
        title = esc(&s("document_title")),
    );
    let builder = builder(env, &s("document_title"))?;
    let body = MultiPart::alternative_plain_html(plain.join("\n"), html);
    let attachment = Attachment::new(pdf_name.to_string())
        .body(pdf.to_vec(), ContentType::parse("application/pdf")?);
    Ok(builder.multipart(MultiPart::mixed().multipart(body).singlepart(attachment))?)
}
