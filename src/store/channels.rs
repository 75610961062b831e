//! Sends by e-mail and text, and the addresses that must not be used again.
//!
//! A send is recorded as `sending` before the message leaves and `sent`
//! once the relay accepted it, keyed by (account, period, channel): a
//! re-run or a resumed run skips every `sent` one. A `sending` row left by
//! a killed run is sent again (the relay saw it at most once more, in the
//! moment between its acceptance and the record; the Message-ID is the same,
//! so a relay or mailbox that deduplicates drops it).

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::params;

use super::{Store, now};
use crate::model::Period;

impl Store {
    /// (account, channel) -> status of this period's sends.
    pub fn sends(&self, period: Period) -> Result<HashMap<(String, String), String>> {
        self.sends_for(&period.to_string())
    }

    /// The same for any key: a period (`2026-10`) or a campaign (`campaign:NAME`).
    pub fn sends_for(&self, key: &str) -> Result<HashMap<(String, String), String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_id, channel, status FROM sends WHERE period = ?1")?;
        let rows = stmt.query_map(params![key], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Record that a message is about to leave (or, with `sent`, that it left).
    pub fn record_send(
        &self,
        account: &str,
        period: Period,
        channel: &str,
        message_id: &str,
        address: &str,
        status: &str,
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
        channel: &str,
        message_id: &str,
        address: &str,
        status: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sends (account_id, period, channel, message_id, address, status, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (account_id, period, channel)
             DO UPDATE SET status = excluded.status, at = excluded.at",
            params![account, key, channel, message_id, address, status, now()],
        )?;
        Ok(())
    }

    /// Stop using a channel for a household (bounce, failed number, unsubscribe).
    /// The first reason recorded is kept.
    pub fn block_channel(&self, account: &str, channel: &str, reason: &str) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO channel_blocks (account_id, channel, reason, at)
             VALUES (?1, ?2, ?3, ?4)",
            params![account, channel, reason, now()],
        )?;
        Ok(n == 1)
    }

    /// (account, channel) -> why that channel is not used.
    pub fn channel_blocks(&self) -> Result<HashMap<(String, String), String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_id, channel, reason FROM channel_blocks")?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// The channel each household was last reached by in the periods
    /// `from..=to` (e-mail or text sends; the rest were on paper).
    pub fn delivered_channels(&self, from: Period, to: Period) -> Result<HashMap<String, String>> {
        let mut stmt = self.conn.prepare(
            "SELECT account_id, channel FROM sends
             WHERE status = 'sent' AND period >= ?1 AND period <= ?2 ORDER BY period, at",
        )?;
        let rows = stmt.query_map(params![from.to_string(), to.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (account, channel) = row?;
            out.insert(account, channel);
        }
        Ok(out)
    }

    /// The account an address was last sent to on a channel, for bounce files
    /// that name only the address.
    pub fn account_of_address(&self, channel: &str, address: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT account_id FROM sends WHERE channel = ?1 AND lower(address) = lower(?2)
                 ORDER BY at DESC LIMIT 1",
                params![channel, address],
                |r| r.get(0),
            )
            .optional()?)
    }
}
