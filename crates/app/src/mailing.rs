//! One mailing path for every letter the program sends: the monthly
//! reports and each campaign. A [`Mailing`] says what is particular to its
//! letters (their template, data, e-mail and text); [`Mailroom::send`]
//! does the rest the same way for all: paper first in presorted
//! print files, then the e-mail and text households' own PDFs; a template
//! that fails for every one of the first households stops the run; each
//! e-mail leaves once (the store remembers what left, so a resumed or
//! repeated run does not send again); texts are listed for the gateway.
//!
//! The caller keeps what differs in its records: which manifest it writes,
//! and when the store hears of the texts.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Result, bail};

use crate::channel::deliver::{Delivery, Outbox, SmsRow, message_id, send_once};
use crate::channel::email::Envelope;
use crate::channel::{self, Route};
use crate::config::Config;
use crate::exception::{Exception, Reason};
use crate::model::{Channel, Household, Period};
use crate::output::Dispatch;
use crate::output::RunFolder;
use crate::pipeline::options::RunOptions;
use crate::print::{Piece, PieceError, PrintJob};
use crate::render::Renderer;
use crate::shard::Shard;
use crate::store::{SendStatus, Store};

/// How many households a template may fail for, from the first, before the
/// template (not the data) is taken to be broken and the run stops.
pub const PREFLIGHT: usize = 3;

/// What is particular to one mailing's letters. Recipients are numbered
/// `k` in mailing order, as given to [`lay_out`] and [`deliver`].
pub trait Mailing: Sync {
    /// The period the letters are for: their PDFs' identifiers, IMb serials
    /// and Message-IDs carry it.
    fn period(&self) -> Period;
    /// The batch template laying out many letters in one document.
    fn batch_template(&self) -> String;
    /// The print files' title (the PDF's metadata).
    fn title(&self) -> String;
    /// What a template failure names: `the report`, `campaign NAME: the letter`.
    fn template_label(&self) -> String;
    /// The identifier of a household's own PDF: unique to this mailing.
    fn piece_id(&self, household: &Household) -> String;
    /// The part of the period this run makes: IMb serials come from its range.
    fn shard(&self) -> Shard {
        Shard::WHOLE
    }
    /// The template data of recipient `k`.
    fn data(&self, k: usize) -> Result<serde_json::Value, PieceError>;
    /// The key the store records this mailing's sends under: the period
    /// for the reports, `campaign:NAME` for a campaign.
    fn send_key(&self) -> String;
    /// The part of an e-mail's Message-ID that names the letter: the
    /// household's token, with a campaign's tag before it.
    fn message_tag(&self, _account: &str, token: &str) -> String {
        token.to_string()
    }
    /// The e-mail to recipient `k`, its PDF attached.
    fn email(&self, k: usize, envelope: &Envelope<'_>, pdf: &[u8]) -> Result<lettre::Message>;
    /// The text to recipient `k`, with its link; `None` for a mailing that
    /// has no text version (its routes never say text).
    fn text(&self, _k: usize, _link: &str) -> Result<Option<channel::sms::Text>> {
        Ok(None)
    }
}

/// One household of a mailing and how its letter goes.
#[derive(Clone, Copy)]
pub struct Recipient<'a> {
    pub household: &'a Household,
    pub route: &'a Route,
}

/// A letter laid out: recipient `k`'s PDF (in the run folder) and its pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    pub k: usize,
    pub pdf: String,
    pub pages: usize,
}

/// What laying a mailing out made.
#[derive(Debug, Default)]
pub struct Laid {
    /// Letters made, in mailing order.
    pub made: Vec<Made>,
    /// Households the template could not lay out (`render-failed`).
    pub failed: Vec<Exception>,
    /// The print files written (`print/print-001.pdf`...).
    pub files: HashSet<String>,
    /// Print files an interrupted run had finished, kept.
    pub kept: usize,
}

/// Where and with what a mailing is made: the run folder being written,
/// the settings, the renderer, the store and the relay's stand-in.
pub struct Mailroom<'a> {
    pub dir: &'a Path,
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub store: &'a Store,
    /// `--emails-to`: e-mails written as files here instead of sent.
    pub emails_to: Option<&'a Path>,
    /// A progress bar while the letters are laid out.
    pub progress: bool,
}

impl<'a> Mailroom<'a> {
    /// A run's mailroom: its staging folder, and the command line's
    /// `--emails-to` and progress bar.
    pub fn new(
        folder: &'a RunFolder,
        config: &'a Config,
        renderer: &'a Renderer,
        store: &'a Store,
        opts: &'a RunOptions,
    ) -> Mailroom<'a> {
        Mailroom {
            dir: &folder.staging,
            config,
            renderer,
            store,
            emails_to: opts.emails_to.as_deref(),
            progress: opts.progress,
        }
    }

    /// Lay every recipient's letter out, then deliver the e-mails and texts.
    pub fn send<M: Mailing>(
        &self,
        mailing: &M,
        recipients: &[Recipient<'_>],
    ) -> Result<(Laid, Deliveries)> {
        let (dir, config) = (self.dir, self.config);
        let laid = lay_out(
            mailing,
            recipients,
            dir,
            config,
            self.renderer,
            self.progress,
        )?;
        let deliveries = deliver(
            mailing,
            recipients,
            &laid.made,
            dir,
            config,
            self.emails_to,
            self.store,
        )?;
        Ok((laid, deliveries))
    }
}

/// Lay out every recipient's letter into `dir` (a run folder being
/// written): paper households into presorted print files, the others into
/// their own PDFs only, from the same layout.
fn lay_out<M: Mailing>(
    mailing: &M,
    recipients: &[Recipient<'_>],
    dir: &Path,
    config: &Config,
    renderer: &Renderer,
    progress: bool,
) -> Result<Laid> {
    let bar = progress_bar(progress, recipients.len());
    let index: HashMap<&str, usize> = recipients
        .iter()
        .enumerate()
        .map(|(k, r)| (r.household.account_id.as_str(), k))
        .collect();
    let mut laid = Laid::default();
    for paper in [true, false] {
        let group: Vec<&Household> = recipients
            .iter()
            .filter(|r| (r.route.channel == Channel::Mail) == paper)
            .map(|r| r.household)
            .collect();
        if group.is_empty() {
            continue;
        }
        // Sequences count within the group: the mail house's are 1..n.
        let pieces = Piece::numbered(group, |h| mailing.piece_id(h));
        let template = mailing.batch_template();
        let job = PrintJob {
            batch_template: &template,
            title: mailing.title(),
            author: &config.utility.name,
            period: mailing.period(),
            data: |piece: &Piece| mailing.data(index[piece.account_id]),
            mail: paper,
            shard: mailing.shard(),
        };
        let (mut seen, mut good) = (0, 0);
        let production =
            crate::print::produce(dir, &pieces, config, renderer, &job, |chunk, outcomes| {
                for (piece, outcome) in chunk.iter().zip(outcomes) {
                    match outcome {
                        Ok(p) => {
                            laid.made.push(Made {
                                k: index[piece.account_id],
                                pdf: p.pdf,
                                pages: p.pages,
                            });
                            good += 1;
                        }
                        Err(e) => laid.failed.push(Exception::new(
                            piece.account_id,
                            Reason::RenderFailed,
                            e.to_string(),
                        )),
                    }
                    seen += 1;
                    bar.inc(1);
                }
                // A template that fails for every household is a template
                // error, not bad data: stop instead of filling the exceptions.
                if good == 0
                    && seen >= pieces.len().min(PREFLIGHT)
                    && let Some(e) = laid.failed.last()
                {
                    bail!(
                        "{} template failed for the first {seen} household(s):\n{}",
                        mailing.template_label(),
                        e.detail
                    );
                }
                Ok(())
            })?;
        if paper {
            laid.kept += production.kept;
        }
        laid.files.extend(
            production
                .rows
                .into_iter()
                .map(|r| r.file)
                .filter(|f| !f.is_empty()),
        );
    }
    bar.finish_and_clear();
    laid.made.sort_by_key(|m| m.k);
    Ok(laid)
}

fn progress_bar(shown: bool, len: usize) -> indicatif::ProgressBar {
    let bar = if shown {
        indicatif::ProgressBar::new(len as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} reports  {per_sec}  ETA {eta}",
        )
        .expect("valid template"),
    );
    bar
}

/// What the e-mails and texts of a mailing became.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// What became of each e-mail and text household's letter, by account.
    pub outcome: HashMap<String, Delivery>,
    /// Texts to list in `sms.csv`, in mailing order.
    pub sms_rows: Vec<SmsRow>,
    /// (account, mobile, Message-ID) of each text listed: recorded as
    /// handed over once the folder holding `sms.csv` is published.
    pub texts: Vec<(String, String, String)>,
    pub emails_sent: usize,
    pub emails_already_sent: usize,
}

impl Deliveries {
    /// The run summary's counts of e-mails and texts.
    pub fn count(&self, summary: &mut crate::output::Summary) {
        summary.emails_sent = self.emails_sent;
        summary.emails_already_sent = self.emails_already_sent;
        summary.texts_listed = self.texts.len();
    }

    /// The manifest's `delivery` for recipient `k`'s letter, or the
    /// `not-delivered` exception that takes it out of the manifest.
    pub fn of(&self, r: &Recipient<'_>) -> std::result::Result<Dispatch, Exception> {
        let account = &r.household.account_id;
        match (r.route.channel, self.outcome.get(account.as_str())) {
            (Channel::Mail, _) => Ok(Dispatch::Print),
            (channel, Some(d)) => d.dispatch().ok_or_else(|| {
                Exception::new(
                    account.clone(),
                    Reason::NotDelivered,
                    format!("{}: {}", channel.code(), d.label()),
                )
            }),
            (_, None) => Ok(Dispatch::NotSent),
        }
    }
}

/// Send each e-mail household's letter once (the store knows what left in
/// an earlier run under the same key) and list each text household's.
fn deliver<M: Mailing>(
    mailing: &M,
    recipients: &[Recipient<'_>],
    made: &[Made],
    dir: &Path,
    config: &Config,
    emails_to: Option<&Path>,
    store: &Store,
) -> Result<Deliveries> {
    let mut out = Deliveries::default();
    if made
        .iter()
        .all(|m| recipients[m.k].route.channel == Channel::Mail)
    {
        return Ok(out);
    }
    let key = mailing.send_key();
    let sends = store.sends_for(&key)?;
    let mut post = Post {
        config,
        emails_to,
        store,
        key: &key,
        outbox: None,
    };
    for m in made {
        let r = &recipients[m.k];
        let account = &r.household.account_id;
        let channel = r.route.channel;
        if channel == Channel::Mail {
            continue;
        }
        let token = channel::token(&config.channels.link_salt, account);
        if sends.get(&(account.to_string(), channel)) == Some(&SendStatus::Sent) {
            if channel == Channel::Email {
                out.emails_already_sent += 1;
            }
            out.outcome.insert(account.to_string(), Delivery::Sent);
            continue;
        }
        let delivery = match channel {
            Channel::Sms => match list_text(mailing, m.k, r, &token, config, &mut out)? {
                true => Delivery::Listed,
                false => continue,
            },
            _ => post.email(mailing, m, r, &token, dir)?,
        };
        if channel == Channel::Email && delivery.delivered() {
            out.emails_sent += 1;
        }
        out.outcome.insert(account.to_string(), delivery);
    }
    Ok(out)
}

/// List recipient `k`'s text for `sms.csv`; false when the mailing has no
/// text version.
fn list_text<M: Mailing>(
    mailing: &M,
    k: usize,
    r: &Recipient<'_>,
    token: &str,
    config: &Config,
    out: &mut Deliveries,
) -> Result<bool> {
    let link = config.sms.link.replace("{token}", token);
    let Some(text) = mailing.text(k, &link)? else {
        return Ok(false);
    };
    let account = &r.household.account_id;
    let mobile = &r.route.address;
    let id = message_id(mailing.period(), token, "sms");
    out.texts.push((account.to_string(), mobile.clone(), id));
    out.sms_rows.push(SmsRow {
        account_id: account.to_string(),
        mobile: mobile.clone(),
        text: text.body,
        encoding: text.encoding,
        units: text.units,
        segments: text.segments,
    });
    Ok(true)
}

/// The e-mail side of a delivery: the relay, opened for the first letter
/// that needs it, and the key sends are recorded under.
struct Post<'a> {
    config: &'a Config,
    emails_to: Option<&'a Path>,
    store: &'a Store,
    key: &'a str,
    /// `None` until opened; then `Some(None)` when no relay is configured.
    outbox: Option<Option<Outbox>>,
}

impl Post<'_> {
    /// Send recipient `m.k` its letter with its PDF, once.
    fn email<M: Mailing>(
        &mut self,
        mailing: &M,
        m: &Made,
        r: &Recipient<'_>,
        token: &str,
        dir: &Path,
    ) -> Result<Delivery> {
        let config = self.config;
        let outbox = match &mut self.outbox {
            Some(o) => o,
            None => self.outbox.insert(Outbox::open(config, self.emails_to)?),
        };
        let Some(outbox) = outbox.as_mut() else {
            return Ok(Delivery::NoRelay);
        };
        let account = &r.household.account_id;
        let tag = mailing.message_tag(account, token);
        let id = message_id(mailing.period(), &tag, &config.email.from);
        let unsubscribe = config.email.unsubscribe_url.replace("{token}", token);
        let env = Envelope {
            from: &config.email.from,
            reply_to: &config.email.reply_to,
            to: &r.route.address,
            message_id: &id,
            unsubscribe_url: &unsubscribe,
            unsubscribe_mailto: &config.email.unsubscribe_mailto,
        };
        let path = dir.join(&m.pdf);
        let pdf = std::fs::read(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let message = mailing.email(m.k, &env, &pdf)?;
        let to = &r.route.address;
        send_once(outbox, self.store, account, self.key, to, &id, &message)
    }
}
