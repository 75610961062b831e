//! Text messages: one short message per household, from the wording files
//! (`[sms]`), with the household's link. Length is counted as phones do: in
//! the GSM 03.38 alphabet (7 bits; `€`, `^`, `{`, `}`, `[`, `]`, `~`, `\`
//! and `|` count twice) when every character is in it, else in UCS-2 (any
//! accented letter outside GSM, e.g. `í`, `ó`, `ú` in Spanish, makes a text
//! UCS-2). One segment holds 160 GSM or 70 UCS-2 units; longer texts are
//! split into segments of 153 or 67.

use serde::Serialize;

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// A text as the gateway will send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Text {
    pub body: String,
    /// `gsm-7` or `ucs-2`.
    pub encoding: &'static str,
    /// Length in the encoding's units (septets or UTF-16 code units).
    pub units: usize,
    pub segments: usize,
}

/// Measure a message.
pub fn measure(body: &str) -> Text {
    let gsm: Option<usize> = body.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (encoding, units, single, multi) = match gsm {
        Some(n) => ("gsm-7", n, 160, 153),
        None => ("ucs-2", body.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    Text {
        body: body.to_string(),
        encoding,
        units,
        segments,
    }
}

/// The household's text: its variant's sentence, the assistance sentence
/// when it is invited, the link filled in.
pub fn compose(
    text: &serde_json::Value,
    variant: crate::model::Phase,
    invite: bool,
    link: &str,
) -> Text {
    let sms = &text["sms"];
    let mut body = sms[variant.code()].as_str().unwrap_or_default().to_string();
    if invite && let Some(extra) = sms["invite"].as_str() {
        body.push(' ');
        body.push_str(extra);
    }
    measure(&body.replace("{link}", link))
}

/// A message's text with the household's link: a no-break space (Spanish
/// amounts, `91 $`) is outside the GSM alphabet and would cost a text
/// half its length, so it becomes a plain space.
pub fn with_link(body: &str, link: &str) -> Text {
    measure(&body.replace("{link}", link).replace('\u{a0}', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_counted_as_phones_count_them() {
        assert_eq!(measure(&"a".repeat(160)).segments, 1);
        assert_eq!(measure(&"a".repeat(161)).segments, 2);
        assert_eq!(measure(&"a".repeat(306)).segments, 2);
        assert_eq!(measure(&"a".repeat(307)).segments, 3);
        let euro = measure("€");
        assert_eq!((euro.encoding, euro.units), ("gsm-7", 2));
        let es = measure("Su informe de octubre está listo");
        assert_eq!(es.encoding, "ucs-2");
        assert_eq!(measure(&"á".repeat(70)).segments, 1);
        assert_eq!(measure(&"á".repeat(71)).segments, 2);
    }
}
