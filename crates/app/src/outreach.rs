//! Messages between the monthly reports (alerts, peak events): who may get
//! one, the holdout drawn once per household, and each message sent once.
//!
//! - **Holds**: a vacant or closed account, do-not-mail, the suppression
//!   list and an opt-out keep a household's messages back, as they keep
//!   its letters.
//! - **Channels**: e-mail or text only, chosen as the monthly reports
//!   choose (`channel::route`); a household that asked for paper, or whose
//!   e-mail or number cannot be used, gets none, and the reason is its
//!   delivery.
//! - **Holdout**: households are drawn the first time they could be sent a
//!   message of the experiment, stratified by locality, with the control
//!   group's salted order; the store keeps the draw for good.
//! - **Once**: every message has a key (`alert:2026-11-05`, the bill
//!   period's first day; `peak:...`); an e-mail is recorded `sending`
//!   before it leaves and `sent` after (`channel::deliver::send_once`); a
//!   text is listed in the command's texts file and recorded once that file
//!   is written. A key already sent on any channel is not sent again.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};

use crate::channel::deliver::{Delivery, Outbox, SmsRow, send_once};
use crate::channel::email::Envelope;
use crate::channel::notice::{self, Notice};
use crate::channel::{self, Reachable, sms};
use crate::config::Config;
use crate::control::{self, Group, Newcomer};
use crate::exception::Exception;
use crate::model::{Channel, Household, Period, Status};
use crate::pipeline::RunOptions;
use crate::store::{Assigned, SendStatus, Store};

/// Households counted by what became of their message.
#[derive(Debug, Default, serde::Serialize)]
pub struct Tally {
    /// Sent, written as a file or listed as a text.
    pub messaged: usize,
    pub held_out: usize,
    pub already_sent: usize,
    /// By delivery code (`sent`, `held-out`, `no-channel`...).
    pub by_delivery: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// Count one household's delivery (`code` or `code: detail`).
    pub fn add(&mut self, delivery: &str) {
        let code = delivery.split(':').next().unwrap_or("");
        match code {
            "sent" | "written" | "listed" => self.messaged += 1,
            "held-out" => self.held_out += 1,
            "already-sent" => self.already_sent += 1,
            _ => {}
        }
        *self.by_delivery.entry(code.to_string()).or_default() += 1;
    }

    /// The counts by delivery, one per line, indented.
    pub fn render_text(&self) -> String {
        self.by_delivery
            .iter()
            .map(|(k, n)| format!("  {k}: {n}\n"))
            .collect()
    }
}

/// The store a message run reads, and its run lock for `period` unless this
/// is a dry run (which reads an existing store and takes no lock): one
/// message run at a time, and none while a monthly run writes.
pub fn open_store(
    config: &Config,
    run: &RunOptions,
    period: Period,
) -> Result<(Option<Store>, Option<crate::store::RunLock>)> {
    let store = crate::pipeline::open_store(config, run, run.dry_run)?;
    let lock = match store.as_ref().filter(|_| !run.dry_run) {
        Some(s) => Some(s.lock(period, crate::shard::Shard::WHOLE)?),
        None => None,
    };
    Ok((store, lock))
}

/// What each household may be sent, and how sends are kept to once.
pub struct Outreach<'a> {
    config: &'a Config,
    /// What is known of earlier sends, draws and opt-outs (none before the
    /// first real run).
    store: Option<&'a Store>,
    /// Send, draw and record nothing; say what would be done.
    dry_run: bool,
    emails_to: Option<&'a Path>,
    suppressed: HashSet<String>,
    opted_out: HashMap<String, String>,
    blocks: crate::model::ChannelBlocks,
    /// (account, key) of every message already sent under the prefix.
    sent: HashSet<(String, String)>,
    outbox: Option<Outbox>,
    texts: Vec<(SmsRow, String, String)>,
    default: Channel,
    reachable: Reachable,
}

impl<'a> Outreach<'a> {
    /// Read what the store knows for messages whose keys start with `prefix`.
    pub fn open(
        config: &'a Config,
        opts: &'a RunOptions,
        store: Option<&'a Store>,
        households: &[Household],
        exceptions: &[Exception],
        prefix: &str,
    ) -> Result<Outreach<'a>> {
        let suppressed =
            crate::pipeline::suppressed(opts.suppress.as_deref(), households, exceptions)?
                .accounts
                .into_iter()
                .collect();
        let (opted_out, blocks, sent) = match store {
            Some(s) => (s.opt_outs()?, s.channel_blocks()?, s.sent_under(prefix)?),
            None => Default::default(),
        };
        Ok(Outreach {
            config,
            store,
            dry_run: opts.dry_run,
            emails_to: opts.emails_to.as_deref(),
            suppressed,
            opted_out,
            blocks,
            sent,
            outbox: None,
            texts: Vec::new(),
            default: config.channels.default,
            reachable: opts.reachable(config),
        })
    }

    /// Groups for `candidates` in `experiment`: earlier draws as they are,
    /// newcomers drawn now (by locality) and recorded unless this is a dry run.
    pub fn groups(
        &self,
        experiment: &str,
        share: f64,
        period: Period,
        candidates: &[&Household],
    ) -> Result<HashMap<String, Group>> {
        let (earlier, counts) = match self.store {
            Some(s) => (s.assignments(experiment)?, s.stratum_counts(experiment)?),
            None => Default::default(),
        };
        let mut out: HashMap<String, Group> = HashMap::new();
        let mut newcomers = Vec::new();
        for h in candidates {
            match earlier.get(h.account_id.as_str()) {
                Some(a) => {
                    out.insert(h.account_id.to_string(), a.group);
                }
                None => newcomers.push(Newcomer {
                    account_id: &h.account_id,
                    stratum: &h.locality,
                }),
            }
        }
        let drawn = control::assign(
            &newcomers,
            &counts,
            share,
            &self.config.control.salt,
            experiment,
        );
        let assigned: Vec<Assigned> = newcomers
            .iter()
            .zip(drawn)
            .map(|(n, group)| Assigned {
                account_id: n.account_id.to_string(),
                group,
                period,
                stratum: n.stratum.to_string(),
                rating: None,
            })
            .collect();
        if let Some(store) = self.store.filter(|_| !self.dry_run) {
            store.assign(experiment, &assigned)?;
        }
        out.extend(assigned.into_iter().map(|a| (a.account_id, a.group)));
        Ok(out)
    }

    /// Why a household gets no message of any kind, as its delivery.
    pub fn hold(&self, h: &Household) -> Option<String> {
        match h.status {
            Status::Vacant => return Some("vacant".into()),
            Status::Closed => return Some("closed".into()),
            Status::Active => {}
        }
        crate::pipeline::mail_hold(h, &self.suppressed, &self.opted_out)
            .map(|(reason, _)| reason.code().to_string())
    }

    pub fn already_sent(&self, account: &str, key: &str) -> bool {
        self.sent.contains(&(account.to_string(), key.to_string()))
    }

    /// Send `message` to the household once under `key`; its delivery.
    /// `kind` and `id_key` make the Message-ID (`<kind.id_key.token@domain>`).
    pub fn deliver(
        &mut self,
        h: &Household,
        key: &str,
        kind: &str,
        id_key: &str,
        message: &Notice,
    ) -> Result<(Channel, String)> {
        if self.already_sent(&h.account_id, key) {
            return Ok((Channel::Mail, "already-sent".into()));
        }
        let route = channel::route(h, self.default, &self.blocks, &self.reachable);
        if route.channel == Channel::Mail {
            let why = if route.fallback.is_empty() {
                "asks for paper".to_string()
            } else {
                route.fallback
            };
            return Ok((Channel::Mail, format!("no-channel: {why}")));
        }
        let store = match self.store {
            Some(s) if !self.dry_run => s,
            _ => return Ok((route.channel, "dry-run".into())),
        };
        let config = self.config;
        let token = channel::token(&config.channels.link_salt, &h.account_id);
        if route.channel == Channel::Sms {
            let link = config.sms.link.replace("{token}", &token);
            let text = sms::with_link(&message.sms, &link);
            let id = crate::channel::deliver::message_id_for(kind, id_key, &token, "sms");
            self.texts.push((
                SmsRow {
                    account_id: h.account_id.to_string(),
                    mobile: route.address.clone(),
                    text: text.body,
                    encoding: text.encoding,
                    units: text.units,
                    segments: text.segments,
                },
                key.to_string(),
                id,
            ));
            return Ok((Channel::Sms, "listed".into()));
        }
        if self.outbox.is_none() {
            self.outbox = Outbox::open(config, self.emails_to)?;
        }
        let Some(outbox) = self.outbox.as_mut() else {
            return Ok((Channel::Email, "not-delivered: no e-mail relay".into()));
        };
        let message_id =
            crate::channel::deliver::message_id_for(kind, id_key, &token, &config.email.from);
        let unsubscribe = config.email.unsubscribe_url.replace("{token}", &token);
        let env = Envelope {
            from: &config.email.from,
            reply_to: &config.email.reply_to,
            to: &route.address,
            message_id: &message_id,
            unsubscribe_url: &unsubscribe,
            unsubscribe_mailto: &config.email.unsubscribe_mailto,
        };
        let email = notice::compose(message, &env)
            .with_context(|| format!("cannot compose the message to {}", h.account_id))?;
        let result = send_once(
            outbox,
            store,
            &h.account_id,
            key,
            &route.address,
            &message_id,
            &email,
        )?;
        let label = match result {
            Delivery::Sent | Delivery::Written => {
                self.sent
                    .insert((h.account_id.to_string(), key.to_string()));
                result.label()
            }
            other => format!("not-delivered: {}", other.label()),
        };
        Ok((Channel::Email, label))
    }

    /// Write the texts for the gateway to `path`, then record them as sent
    /// (a kill between the two lists them again, under the same ids).
    pub fn finish(self, path: &Path) -> Result<usize> {
        if self.dry_run {
            return Ok(0);
        }
        crate::output::writing(path, |p| {
            let mut w = csv::Writer::from_path(p)?;
            w.write_record([
                "account_id",
                "mobile",
                "text",
                "encoding",
                "units",
                "segments",
                "message_id",
            ])?;
            for (sms, _, id) in &self.texts {
                w.write_record([
                    sms.account_id.as_str(),
                    &sms.mobile,
                    &sms.text,
                    sms.encoding,
                    &sms.units.to_string(),
                    &sms.segments.to_string(),
                    id,
                ])?;
            }
            Ok(w.flush()?)
        })?;
        if let Some(store) = self.store {
            for (sms, key, id) in &self.texts {
                store.record_send_for(
                    &sms.account_id,
                    key,
                    Channel::Sms,
                    id,
                    &sms.mobile,
                    SendStatus::Sent,
                )?;
            }
        }
        Ok(self.texts.len())
    }
}
