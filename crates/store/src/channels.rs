//! Sends by e-mail and text, and the addresses that must not be used again.
//!
//! A send is recorded as `sending` before the message leaves and `sent`
//! once the relay accepted it, keyed by (account, period, channel): a
//! re-run or a resumed run skips every `sent` one. A `sending` row left by
//! a killed run is sent again (the relay saw it at most once more, in the
//! moment between its acceptance and the record; the Message-ID is the same,
//! so a relay or mailbox that deduplicates drops it).

use std::collections::HashMap;

use super::db::vals;
use super::{Store, now};
use anyhow::{Result, anyhow};
use neighborly_core::model::{Channel, ChannelBlocks, Period};

/// Where a message stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Recorded just before the message leaves: a run killed in between
    /// leaves it so, and the next run sends it again.
    Sending,
    /// The relay accepted it, or the gateway's file was handed over.
    Sent,
}

impl SendStatus {
    pub fn code(self) -> &'static str {
        match self {
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
        }
    }

    fn parse(code: &str) -> Result<SendStatus> {
        match code {
            "sending" => Ok(SendStatus::Sending),
            "sent" => Ok(SendStatus::Sent),
            other => Err(anyhow!("unknown send status {other:?} in the store")),
        }
    }
}

impl Store {
    /// (account, channel) -> status of this period's sends.
    pub fn sends(&self, period: Period) -> Result<HashMap<(String, Channel), SendStatus>> {
        self.sends_for(&period.to_string())
    }

    /// The same for any key: a period (`2026-10`) or a campaign (`campaign:NAME`).
    pub fn sends_for(&self, key: &str) -> Result<HashMap<(String, Channel), SendStatus>> {
        self.db()
            .query(
                "SELECT account_id, channel, status FROM sends WHERE period = ?1",
                &vals![key],
            )?
            .into_iter()
            .map(|r| {
                let channel: Channel = r.text(1)?.parse()?;
                Ok(((r.text(0)?, channel), SendStatus::parse(&r.text(2)?)?))
            })
            .collect()
    }

    /// (account, key) of every message sent under keys that start with
    /// `prefix` (`alert:`), on any channel: one such message per key.
    pub fn sent_under(&self, prefix: &str) -> Result<std::collections::HashSet<(String, String)>> {
        // Keys from `prefix` up to (not including) the prefix with its last
        // character moved one up: a range both databases index.
        let mut past = prefix.to_string();
        let last = past.pop().map_or(0, u32::from);
        past.push(char::from_u32(last + 1).unwrap_or(char::MAX));
        self.db()
            .query(
                "SELECT account_id, period FROM sends
                 WHERE status = 'sent' AND period >= ?1 AND period < ?2",
                &vals![prefix, past],
            )?
            .into_iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .collect()
    }

    /// Record that a message is about to leave (or, with `sent`, that it left).
    pub fn record_send(
        &self,
        account: &str,
        period: Period,
        channel: Channel,
        message_id: &str,
        address: &str,
        status: SendStatus,
    ) -> Result<()> {
        self.record_send_for(
            account,
            &period.to_string(),
            channel,
            message_id,
            address,
            status,
        )
    }

    /// [`Store::record_send`] under any key (a campaign's `campaign:NAME`).
    pub fn record_send_for(
        &self,
        account: &str,
        key: &str,
        channel: Channel,
        message_id: &str,
        address: &str,
        status: SendStatus,
    ) -> Result<()> {
        self.db().execute(
            "INSERT INTO sends (account_id, period, channel, message_id, address, status, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (account_id, period, channel)
             DO UPDATE SET status = excluded.status, at = excluded.at",
            &vals![
                account,
                key,
                channel.code(),
                message_id,
                address,
                status.code(),
                now()
            ],
        )?;
        Ok(())
    }

    /// Stop using a channel for a household (bounce, failed number, unsubscribe).
    /// The first reason recorded is kept.
    pub fn block_channel(&self, account: &str, channel: &str, reason: &str) -> Result<bool> {
        let n = self.db().execute(
            "INSERT INTO channel_blocks (account_id, channel, reason, at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            &vals![account, channel, reason, now()],
        )?;
        Ok(n == 1)
    }

    /// The channels closed to households, and why.
    pub fn channel_blocks(&self) -> Result<ChannelBlocks> {
        let mut blocks = ChannelBlocks::default();
        for r in self.db().query(
            "SELECT account_id, channel, reason FROM channel_blocks ORDER BY at",
            &[],
        )? {
            let channel: Channel = r.text(1)?.parse()?;
            blocks.insert(r.text(0)?, channel, r.text(2)?);
        }
        Ok(blocks)
    }

    /// The channel each household was last reached by in the periods
    /// `from..=to` (e-mail or text sends; the rest were on paper).
    pub fn delivered_channels(&self, from: Period, to: Period) -> Result<HashMap<String, String>> {
        let rows = self.db().query(
            "SELECT account_id, channel FROM sends
             WHERE status = 'sent' AND period >= ?1 AND period <= ?2 ORDER BY period, at",
            &vals![from.to_string(), to.to_string()],
        )?;
        let mut out = HashMap::new();
        for r in rows {
            out.insert(r.text(0)?, r.text(1)?);
        }
        Ok(out)
    }

    /// The account an address was last sent to on a channel, for bounce files
    /// that name only the address.
    pub fn account_of_address(&self, channel: &str, address: &str) -> Result<Option<String>> {
        self.db()
            .query_one(
                "SELECT account_id FROM sends WHERE channel = ?1 AND lower(address) = lower(?2)
                 ORDER BY at DESC LIMIT 1",
                &vals![channel, address],
            )?
            .map(|r| r.text(0))
            .transpose()
    }
}
