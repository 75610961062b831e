//! What came back from the e-mail relay and the text gateway, read:
//! `channel` (`email` or `sms`; taken from the address when empty),
//! `address` and/or `account_id`, `kind` (`hard`, `soft`, `failed`,
//! `unsubscribe`, `stop`), `reason`, `date`. Which household a row closes,
//! when it names only an address, is for the store to say.

use anyhow::Result;

use crate::model::Channel;

/// One row that closes a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounce {
    /// The row's line in its file.
    pub line: u64,
    pub channel: Channel,
    pub address: String,
    /// Empty when the row names only an address.
    pub account_id: String,
    /// Why the channel closes: the kind in words, then the row's date and reason.
    pub why: String,
}

/// A bounce file read.
#[derive(Debug, Default)]
pub struct Bounces {
    pub closing: Vec<Bounce>,
    /// Soft bounces: counted, left alone (the next run tries again).
    pub soft: usize,
    /// (line, `file:line: why`) of each row that could not be used.
    pub rejected: Vec<(u64, String)>,
}

/// Read a bounce file named `name`. A missing `kind` column stops the
/// import; a row that cannot be used is reported with its line.
pub fn read(input: impl std::io::Read, name: &str) -> Result<Bounces> {
    let mut out = Bounces::default();
    super::each_record(
        input,
        name,
        &["kind"],
        &Default::default(),
        |cols, line, row, problem| {
            let get = |c: &str| cols.get(row, c).unwrap_or("");
            let read = match problem {
                Some(why) => Err(why),
                None => bounce(line, get),
            };
            match read {
                Ok(Some(b)) => out.closing.push(b),
                Ok(None) => out.soft += 1,
                Err(why) => out.rejected.push((line, format!("{name}:{line}: {why}"))),
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// One row: the channel it closes, `None` for a soft bounce, or why it is
/// not used.
fn bounce<'r>(line: u64, get: impl Fn(&str) -> &'r str) -> Result<Option<Bounce>, String> {
    let address = get("address");
    let channel = match get("channel").to_ascii_lowercase().as_str() {
        "" if address.contains('@') => Channel::Email,
        "" if !address.is_empty() => Channel::Sms,
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        other => return Err(format!("unknown channel {other:?} (email or sms)")),
    };
    let reason = match get("kind").to_ascii_lowercase().as_str() {
        "soft" => return Ok(None),
        "hard" => "hard bounce",
        "failed" => "number failed",
        "unsubscribe" => "unsubscribed",
        "stop" => "replied STOP",
        other => {
            return Err(format!(
                "unknown kind {other:?} (hard, soft, failed, unsubscribe, stop)"
            ));
        }
    };
    let mut why = reason.to_string();
    for extra in [get("date"), get("reason")] {
        if !extra.is_empty() {
            why.push(' ');
            why.push_str(extra);
        }
    }
    Ok(Some(Bounce {
        line,
        channel,
        address: address.to_string(),
        account_id: get("account_id").to_string(),
        why,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_close_channels_count_soft_bounces_and_name_bad_lines() {
        let file = "channel,address,account_id,kind,reason,date\n\
                    ,ana@example.org,,hard,mailbox gone,2026-10-03\n\
                    ,+15305550100,W1,stop,,\n\
                    email,bo@example.org,W2,soft,full,\n\
                    fax,123,W3,hard,,\n\
                    sms,+15305550101,,bounced,,\n";
        let read = read(file.as_bytes(), "bounces.csv").unwrap();
        assert_eq!(read.soft, 1);
        assert_eq!(
            read.closing,
            vec![
                Bounce {
                    line: 2,
                    channel: Channel::Email,
                    address: "ana@example.org".into(),
                    account_id: String::new(),
                    why: "hard bounce 2026-10-03 mailbox gone".into(),
                },
                Bounce {
                    line: 3,
                    channel: Channel::Sms,
                    address: "+15305550100".into(),
                    account_id: "W1".into(),
                    why: "replied STOP".into(),
                },
            ]
        );
        assert_eq!(
            read.rejected,
            vec![
                (
                    5,
                    "bounces.csv:5: unknown channel \"fax\" (email or sms)".to_string()
                ),
                (
                    6,
                    "bounces.csv:6: unknown kind \"bounced\" (hard, soft, failed, unsubscribe, stop)"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_file_without_kind_is_refused() {
        assert!(read("address\nana@example.org\n".as_bytes(), "b.csv").is_err());
    }
}
