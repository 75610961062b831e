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
    let read = crate::ingest::bounces::read(file, &name)?;
    let mut count = BounceCount {
        soft: read.soft,
        ..BounceCount::default()
    };
    let mut rejected = read.rejected;
    for b in &read.closing {
        match close(store, b)? {
            Some(true) => count.closed += 1,
            Some(false) => count.already_closed += 1,
            None => rejected.push((
                b.line,
                format!(
                    "{name}:{}: no {} was sent to {:?}; give account_id",
                    b.line,
                    b.channel.code(),
                    b.address
                ),
            )),
        }
    }
    // In the file's order, as a person reading it would check them.
    rejected.sort_by_key(|(line, _)| *line);
    count.rejected = rejected.into_iter().map(|(_, why)| why).collect();
    Ok(count)
}

/// Close the channel a row names: `Some(true)` closed now, `Some(false)`
/// already closed, `None` when an address alone names no household the
/// store sent to.
fn close(store: &Store, b: &crate::ingest::bounces::Bounce) -> Result<Option<bool>> {
    let channel = b.channel.code();
    let account = if b.account_id.is_empty() {
        let lookup = match b.channel {
            crate::model::Channel::Sms => {
                crate::channel::e164(&b.address).unwrap_or(b.address.clone())
            }
            _ => b.address.clone(),
        };
        match store.account_of_address(channel, &lookup)? {
            Some(a) => a,
            None => return Ok(None),
        }
    } else {
        b.account_id.clone()
    };
    Ok(Some(store.block_channel(&account, channel, &b.why)?))
}
