//! Channels: paper, e-mail or a text message for each household.
//!
//! A household's channel comes from the customer file's `channel` column
//! (else `[channels] default`) and needs a usable address: an e-mail
//! address that parses, or a mobile number in E.164 form, with consent where
//! the file carries it (`email_consent`; texts always need `sms_consent`).
//! A channel the household cannot be reached on (no address, no consent, a
//! hard bounce, a failed number, an unsubscribe or STOP) falls back to paper,
//! and the reason goes in the manifest. Everything here is pure: the store's
//! blocks are handed in.

pub mod bounces;
pub mod deliver;
pub mod email;
pub mod notice;
pub mod sms;

use sha2::{Digest, Sha256};

use crate::model::{Channel, ChannelBlocks, Household};

/// Where a household's report goes, and why not where it asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub channel: Channel,
    /// The e-mail address or mobile number; empty for paper.
    pub address: String,
    /// Why the household gets paper instead of the channel it asked for.
    pub fallback: String,
}

impl Route {
    fn mail(fallback: String) -> Route {
        Route {
            channel: Channel::Mail,
            address: String::new(),
            fallback,
        }
    }
}

/// Which channels this run can use at all: e-mail needs a relay or an
/// `--emails-to` folder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reachable {
    pub email: bool,
    pub sms: bool,
}

/// Choose a household's channel; `blocks` says which channels are closed
/// to whom.
pub fn route(
    h: &Household,
    default: Channel,
    blocks: &ChannelBlocks,
    reachable: &Reachable,
) -> Route {
    let asked = match h
        .extra
        .get("channel")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => default,
        Some(v) => match v.parse::<Channel>() {
            Ok(c) => c,
            Err(e) => return Route::mail(e.to_string()),
        },
    };
    let consent = |column: &str, required: bool| match h.extra.get(column).map(|s| s.trim()) {
        None | Some("") => !required,
        Some(v) => matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "y" | "1"),
    };
    let address = match asked {
        Channel::Mail => return Route::mail(String::new()),
        Channel::Email => {
            let raw = h.extra.get("email").map(|s| s.trim()).unwrap_or("");
            if raw.is_empty() {
                return Route::mail("no e-mail address".into());
            }
            if raw.parse::<lettre::Address>().is_err() {
                return Route::mail(format!("e-mail address {raw:?} is not valid"));
            }
            if !consent("email_consent", false) {
                return Route::mail("no consent to e-mail".into());
            }
            raw.to_string()
        }
        Channel::Sms => {
            let raw = h.extra.get("mobile").map(|s| s.trim()).unwrap_or("");
            if raw.is_empty() {
                return Route::mail("no mobile number".into());
            }
            let Some(number) = e164(raw) else {
                return Route::mail(format!("mobile number {raw:?} is not valid"));
            };
            if !consent("sms_consent", true) {
                return Route::mail("no consent to texts (sms_consent)".into());
            }
            number
        }
    };
    if let Some(reason) = blocks.get(&h.account_id, asked) {
        return Route::mail(format!("{}: {reason}", asked.code()));
    }
    if asked == Channel::Email && !reachable.email {
        return Route::mail("no e-mail relay configured ([email] smtp_url)".into());
    }
    if asked == Channel::Sms && !reachable.sms {
        return Route::mail("no text link configured ([sms] link)".into());
    }
    Route {
        channel: asked,
        address,
        fallback: String::new(),
    }
}

/// A mobile number in E.164 form: `+` and 8 to 15 digits; a 10-digit North
/// American number gets `+1`.
pub fn e164(raw: &str) -> Option<String> {
    let plus = raw.starts_with('+');
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed {
        return None;
    }
    match (plus, digits.len()) {
        (true, 8..=15) => Some(format!("+{digits}")),
        (false, 10) => Some(format!("+1{digits}")),
        (false, 11) if digits.starts_with('1') => Some(format!("+{digits}")),
        _ => None,
    }
}

/// The household's token for links and unsubscribe: not guessable from the
/// account id without the salt, the same every time.
pub fn token(salt: &str, account: &str) -> String {
    let digest = Sha256::digest(format!("{salt}\u{1f}{account}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn household(extra: &[(&str, &str)]) -> Household {
        Household {
            account_id: "A1".into(),
            name: "Ann".into(),
            address_line1: "1 Elm".into(),
            address_line2: None,
            city: "Davis".into(),
            state: "CA".into(),
            zip: "95616".into(),
            locality: "elm".into(),
            service: crate::model::Service::Water,
            occupants: None,
            home_sqft: None,
            year_built: None,
            heating_fuel: None,
            language: crate::model::Language::En,
            programs: vec![],
            status: crate::model::Status::Active,
            do_not_mail: false,
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            source: "customers.csv:2".into(),
        }
    }

    #[test]
    fn every_missing_piece_falls_back_to_paper_with_its_reason() {
        let none = ChannelBlocks::default();
        let all = Reachable {
            email: true,
            sms: true,
        };
        let r = |extra: &[(&str, &str)]| route(&household(extra), Channel::Mail, &none, &all);
        assert_eq!(r(&[]).channel, Channel::Mail);
        assert_eq!(r(&[("channel", "email")]).fallback, "no e-mail address");
        assert!(
            r(&[("channel", "email"), ("email", "not an address")])
                .fallback
                .contains("is not valid")
        );
        let ok = r(&[("channel", "email"), ("email", "ann@example.org")]);
        assert_eq!(
            (ok.channel, ok.address.as_str()),
            (Channel::Email, "ann@example.org")
        );
        assert_eq!(
            r(&[
                ("channel", "email"),
                ("email", "ann@example.org"),
                ("email_consent", "false")
            ])
            .fallback,
            "no consent to e-mail"
        );
        assert_eq!(
            r(&[("channel", "sms"), ("mobile", "(530) 555-0100")]).fallback,
            "no consent to texts (sms_consent)"
        );
        let text = r(&[
            ("channel", "sms"),
            ("mobile", "(530) 555-0100"),
            ("sms_consent", "yes"),
        ]);
        assert_eq!(
            (text.channel, text.address.as_str()),
            (Channel::Sms, "+15305550100")
        );
        assert!(
            r(&[("channel", "fax")])
                .fallback
                .contains("unknown channel")
        );
        let mut blocks = ChannelBlocks::default();
        blocks.insert(
            household(&[]).account_id.to_string(),
            Channel::Email,
            "hard bounce 2026-10-02".to_string(),
        );
        let bounced = route(
            &household(&[("channel", "email"), ("email", "ann@example.org")]),
            Channel::Mail,
            &blocks,
            &all,
        );
        assert_eq!(bounced.channel, Channel::Mail);
        assert_eq!(bounced.fallback, "email: hard bounce 2026-10-02");
    }
}
