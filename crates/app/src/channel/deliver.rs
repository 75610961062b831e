//! Sending: each e-mail household's message leaves once, through the
//! relay (rate-limited, retried with backoff) or into a folder of `.eml`
//! files; each text household's message is listed in `sms.csv` for the
//! utility's gateway.
//!
//! Every e-mail is recorded in the store (`sending`, then `sent`) keyed by
//! (account, period, channel), so a re-run or a resumed run never sends one
//! twice. A relay's permanent refusal (5xx) closes the channel for that
//! household: its next report goes on paper, with the reason.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lettre::Transport;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;

use crate::config::Config;
use crate::model::{Channel, Period};
use crate::output::Dispatch;
use crate::store::SendStatus;

/// Where e-mails go: a relay, or a folder of `.eml` files (`--emails-to`).
pub enum Outbox {
    Smtp {
        transport: Box<SmtpTransport>,
        pause: Duration,
        retries: u32,
        last: Option<Instant>,
        /// Set when a message failed every attempt: the relay is taken to
        /// be down and the rest fail at once (a re-run sends them).
        down: Option<String>,
    },
    Folder(PathBuf),
}

/// Send one e-mail at most once, under `key` (a period, or `campaign:NAME`):
/// recorded as `sending` before it leaves and `sent` once the relay took it
/// (or its file was written); a permanent refusal closes the household's
/// e-mail channel, so its next letter goes on paper.
pub fn send_once(
    outbox: &mut Outbox,
    store: &crate::store::Store,
    account: &str,
    key: &str,
    address: &str,
    message_id: &str,
    message: &lettre::Message,
) -> Result<Delivery> {
    let record =
        |status| store.record_send_for(account, key, Channel::Email, message_id, address, status);
    record(SendStatus::Sending)?;
    let stem = crate::output::pdf_name(account);
    let result = outbox.deliver(stem.trim_end_matches(".pdf"), message);
    match &result {
        Delivery::Sent | Delivery::Written => record(SendStatus::Sent)?,
        Delivery::Refused(e) => {
            store.block_channel(account, "email", &format!("refused by the relay: {e}"))?;
        }
        Delivery::Failed(_) | Delivery::Listed | Delivery::NoRelay => {}
    }
    Ok(result)
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent,
    Written,
    /// The relay refused it for good; the channel is closed for the household.
    Refused(String),
    /// It could not be sent this time (the relay was unreachable or busy).
    Failed(String),
    /// A text, listed in `sms.csv` for the utility's gateway.
    Listed,
    /// No relay is configured: nothing was tried.
    NoRelay,
}

impl Delivery {
    /// Whether the message left (or, for a text, was handed over).
    pub fn delivered(&self) -> bool {
        self.dispatch().is_some()
    }

    /// How a delivered message left; None when it did not.
    pub fn dispatch(&self) -> Option<Dispatch> {
        match self {
            Delivery::Sent => Some(Dispatch::Sent),
            Delivery::Written => Some(Dispatch::Written),
            Delivery::Listed => Some(Dispatch::Listed),
            Delivery::NoRelay | Delivery::Refused(_) | Delivery::Failed(_) => None,
        }
    }

    /// What happened, in words: the manifest's `delivery` (its
    /// [`Dispatch`] name), or why it was not delivered.
    pub fn label(&self) -> String {
        match (self, self.dispatch()) {
            (_, Some(dispatch)) => dispatch.name().into(),
            (Delivery::Refused(e), None) => format!("refused: {e}"),
            (Delivery::Failed(e), None) => format!("failed: {e}"),
            (_, None) => "no e-mail relay".into(),
        }
    }
}

impl Outbox {
    /// The outbox a run uses: `--emails-to DIR` wins, else `[email] smtp_url`.
    pub fn open(config: &Config, emails_to: Option<&Path>) -> Result<Option<Outbox>> {
        if let Some(dir) = emails_to {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            return Ok(Some(Outbox::Folder(dir.to_path_buf())));
        }
        let e = &config.email;
        if e.smtp_url.is_empty() {
            return Ok(None);
        }
        let mut builder = SmtpTransport::from_url(&e.smtp_url)
            .with_context(|| format!("email.smtp_url {:?} is not a relay URL", e.smtp_url))?
            .timeout(Some(Duration::from_secs(30)));
        let user = url_user(&e.smtp_url);
        if let (Some(user), Ok(password)) = (user, std::env::var(&e.password_env)) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Some(Outbox::Smtp {
            transport: Box::new(builder.build()),
            pause: Duration::from_secs_f64(1.0 / e.per_second),
            retries: e.retries,
            last: None,
            down: None,
        }))
    }

    /// Send or write one message.
    pub fn deliver(&mut self, file_stem: &str, message: &lettre::Message) -> Delivery {
        match self {
            Outbox::Folder(dir) => {
                let path = dir.join(format!("{file_stem}.eml"));
                match crate::output::write_atomic(&path, &message.formatted()) {
                    Ok(()) => Delivery::Written,
                    Err(e) => Delivery::Failed(format!("cannot write {}: {e}", path.display())),
                }
            }
            Outbox::Smtp {
                transport,
                pause,
                retries,
                last,
                down,
            } => {
                if let Some(e) = down {
                    return Delivery::Failed(format!("relay unavailable: {e}"));
                }
                let mut wait = Duration::from_millis(500);
                for attempt in 0..=*retries {
                    if let Some(t) = last {
                        let since = t.elapsed();
                        if since < *pause {
                            std::thread::sleep(*pause - since);
                        }
                    }
                    *last = Some(Instant::now());
                    match transport.send(message) {
                        Ok(_) => return Delivery::Sent,
                        Err(e) if e.is_permanent() => return Delivery::Refused(e.to_string()),
                        Err(e) if attempt == *retries => {
                            *down = Some(e.to_string());
                            return Delivery::Failed(e.to_string());
                        }
                        Err(e) => {
                            tracing::warn!("e-mail to {file_stem} not sent ({e}); trying again");
                            std::thread::sleep(wait);
                            wait *= 2;
                        }
                    }
                }
                Delivery::Failed("no attempt made".into())
            }
        }
    }
}

/// The user name in `smtp://user@host`, if any.
fn url_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let (userinfo, _) = rest.split_once('@')?;
    let user = userinfo.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

/// `<report.period.token@domain>`: the same for a household and period on
/// every attempt, so a relay or mailbox can tell a repeat.
pub fn message_id(period: Period, token: &str, from: &str) -> String {
    message_id_for("report", &period.to_string(), token, from)
}

/// `<kind.key.token@domain>` for any message kind (`alert` and a bill
/// period's first day, `peak` and an event): stable across attempts.
pub fn message_id_for(kind: &str, key: &str, token: &str, from: &str) -> String {
    let domain = from
        .rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("neighborly.invalid");
    format!("<{kind}.{key}.{token}@{domain}>")
}

/// One row of `sms.csv`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SmsRow {
    pub account_id: String,
    pub mobile: String,
    pub text: String,
    pub encoding: &'static str,
    pub units: usize,
    pub segments: usize,
}
