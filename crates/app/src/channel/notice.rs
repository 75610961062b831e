//! A short message between the monthly reports (a bill-to-date alert, a
//! peak event's notice or results): a headline, a few paragraphs and a
//! titled list, as an HTML e-mail with its plain-text alternative, or as a
//! text message.
//!
//! Every sentence comes from the wording files, filled in Rust, so customer
//! text reaches the HTML escaped, never as markup. The layout is the
//! monthly e-mail's: one 600-pixel column of tables and inline styles that
//! mail programs render, readable on a phone.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as esc};
use lettre::Message;
use lettre::message::MultiPart;

use super::email::Envelope;
use crate::model::Language;

const BRAND: &str = "#0b5c8e";
const INK: &str = "#1d2b36";
const MUTED: &str = "#51606b";
const SOFT: &str = "#eef4f8";

/// One message's sentences, filled.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Notice {
    pub lang: Language,
    pub subject: String,
    pub headline: String,
    pub greeting: String,
    /// The figures, in a shaded panel under the headline.
    pub figures: Vec<String>,
    pub list_title: String,
    pub list: Vec<String>,
    /// A second titled list (an alert's actions after its causes).
    pub second_title: String,
    pub second: Vec<String>,
    pub closing: String,
    pub unsubscribe: String,
    /// The text-message version.
    pub sms: String,
}

fn para(s: &str) -> String {
    format!(
        "<p style=\"margin:0 0 12px 0;font-size:16px;line-height:1.5;color:{INK};\">{}</p>",
        esc(s)
    )
}

fn list(title: &str, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "<h2 style=\"margin:18px 0 8px 0;font-size:18px;color:{BRAND};\">{}</h2>\
         <ul style=\"margin:0 0 12px 0;padding-left:22px;\">",
        esc(title)
    );
    for item in items {
        s.push_str(&format!(
            "<li style=\"margin:0 0 6px 0;font-size:16px;line-height:1.45;color:{INK};\">{}</li>",
            esc(item)
        ));
    }
    s.push_str("</ul>");
    s
}

/// The HTML body.
pub fn html(n: &Notice, env: &Envelope<'_>) -> String {
    let mut body = format!(
        "<h1 style=\"margin:0 0 14px 0;font-size:24px;line-height:1.25;color:{BRAND};\">{}</h1>",
        esc(&n.headline)
    );
    body.push_str(&para(&n.greeting));
    if !n.figures.is_empty() {
        body.push_str(&format!(
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
             style=\"background:{SOFT};margin:0 0 8px 0;\"><tr><td style=\"padding:14px 16px 2px 16px;\">"
        ));
        for f in &n.figures {
            body.push_str(&para(f));
        }
        body.push_str("</td></tr></table>");
    }
    body.push_str(&list(&n.list_title, &n.list));
    body.push_str(&list(&n.second_title, &n.second));
    body.push_str(&para(&n.closing));
    if !env.unsubscribe_url.is_empty() {
        body.push_str(&format!(
            "<p style=\"margin:18px 0 0 0;font-size:13px;color:{MUTED};\">{} \
             <a href=\"{}\" style=\"color:{BRAND};\">{}</a></p>",
            esc(&n.unsubscribe),
            attr(env.unsubscribe_url),
            esc(env.unsubscribe_url)
        ));
    }
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f6f8;\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f6f8;\"><tr><td align=\"center\" style=\"padding:16px 8px;\">\
         <table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:600px;background:#ffffff;\"><tr><td style=\"padding:24px 20px;font-family:Arial,Helvetica,sans-serif;\">{body}</td></tr></table>\
         </td></tr></table></body></html>",
        lang = n.lang.code(),
        title = esc(&n.subject),
    )
}

/// The plain-text body.
pub fn plain(n: &Notice, env: &Envelope<'_>) -> String {
    let mut out = vec![n.headline.clone(), String::new(), n.greeting.clone()];
    for f in &n.figures {
        out.push(String::new());
        out.push(f.clone());
    }
    for (title, items) in [(&n.list_title, &n.list), (&n.second_title, &n.second)] {
        if items.is_empty() {
            continue;
        }
        out.push(String::new());
        out.push(title.clone());
        out.extend(items.iter().map(|i| format!("- {i}")));
    }
    out.push(String::new());
    out.push(n.closing.clone());
    if !env.unsubscribe_url.is_empty() {
        out.push(String::new());
        out.push(format!("{} {}", n.unsubscribe, env.unsubscribe_url));
    }
    out.join("\n")
}

/// The e-mail, ready to send or to write as an `.eml` file.
pub fn compose(n: &Notice, env: &Envelope<'_>) -> anyhow::Result<Message> {
    Ok(
        super::email::builder(env, &n.subject)?.multipart(MultiPart::alternative_plain_html(
            plain(n, env),
            html(n, env),
        ))?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_is_escaped_in_the_html() {
        let n = Notice {
            greeting: "Hello <b>Ann</b> & co,".into(),
            headline: "H".into(),
            ..Notice::default()
        };
        let env = Envelope {
            from: "a@example.org",
            reply_to: "",
            to: "b@example.org",
            message_id: "<x@example.org>",
            unsubscribe_url: "",
            unsubscribe_mailto: "",
        };
        let h = html(&n, &env);
        assert!(h.contains("Hello &lt;b&gt;Ann&lt;/b&gt; &amp; co,"), "{h}");
        assert!(!h.contains("<b>Ann"));
    }
}
