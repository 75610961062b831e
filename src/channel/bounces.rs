//! `neighborly bounces import FILE`: what came back from the e-mail relay and
//! the text gateway. A hard bounce, a failed number, an unsubscribe or a
//! STOP reply closes that channel for the household: its next report goes
//! on paper, with the reason in the manifest. Soft bounces are counted and
//! left alone (the next run tries again).
//!
//! Columns: `channel` (`email` or `sms`; taken from the address when
//! empty), `address` and/or `account_id`, `kind` (`hard`, `soft`,
//! `failed`, `unsubscribe`, `stop`), `reason`, `date`. A row naming only
//! an address is matched to the account the address was last sent to.

use std::path::Path;

use anyhow::{Context, Result};

use crate::store::Store;

/// What an import did.
#[derive(Debug, Default, PartialEq)]
pub struct BounceCount {
    /// Channels closed by this import.
    pub closed: usize,
    /// Rows for a channel already closed.
    pub already_closed: usize,
    pub soft: usize,
    /// `file:line: why` of each row that could not be used.
    pub rejected: Vec<String>,
}

pub fn import(path: &Path, store: &Store) -> Result<BounceCount> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut count = BounceCount::default();
    crate::ingest::each_record(
        file,
        &name,
        &["kind"],
        &Default::default(),
        |cols, line, row, problem| {
            if let Some(why) = problem {
                count.rejected.push(format!("{name}:{line}: {why}"));
                return Ok(());
            }
            bounce(store, &name, line, cols, row, &mut count)
        },
    )?;
    Ok(count)
}

/// Close the channel one bounce row names, or say why the row is not used.
fn bounce(
    store: &Store,
    name: &str,
    line: u64,
    cols: &crate::ingest::Columns,
    row: &csv::StringRecord,
    count: &mut BounceCount,
) -> Result<()> {
    let get = |c: &str| cols.get(row, c).unwrap_or("").to_string();
    let address = get("address");
    let channel = match get("channel").to_ascii_lowercase().as_str() {
        "" if address.contains('@') => "email".to_string(),
        "" if !address.is_empty() => "sms".to_string(),
        c @ ("email" | "sms") => c.to_string(),
        other => {
            count.rejected.push(format!(
                "{name}:{line}: unknown channel {other:?} (email or sms)"
            ));
            return Ok(());
        }
    };
    let kind = get("kind").to_ascii_lowercase();
    let reason = match kind.as_str() {
        "soft" => {
            count.soft += 1;
            return Ok(());
        }
        "hard" => "hard bounce",
        "failed" => "number failed",
        "unsubscribe" => "unsubscribed",
        "stop" => "replied STOP",
        other => {
            count.rejected.push(format!(
                "{name}:{line}: unknown kind {other:?} (hard, soft, failed, unsubscribe, stop)"
            ));
            return Ok(());
        }
    };
    let address_for_lookup = match channel.as_str() {
        "sms" => crate::channel::e164(&address).unwrap_or(address.clone()),
        _ => address.clone(),
    };
    let account = match get("account_id") {
        a if !a.is_empty() => a,
        _ => match store.account_of_address(&channel, &address_for_lookup)? {
            Some(a) => a,
            None => {
                count.rejected.push(format!(
                    "{name}:{line}: no {channel} was sent to {address:?}; give account_id"
                ));
                return Ok(());
            }
        },
    };
    let mut why = reason.to_string();
    for extra in [get("date"), get("reason")] {
        if !extra.is_empty() {
            why.push_str(&format!(" {extra}"));
        }
    }
    if store.block_channel(&account, &channel, &why)? {
        count.closed += 1;
    } else {
        count.already_closed += 1;
    }
    Ok(())
}
