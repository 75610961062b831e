//! Response events as the CIS, the call center or the lab export them
//! (`account_id, date, event[, campaign]`): read here, counted by the
//! measurement, kept by the store.

use std::collections::BTreeSet;

use anyhow::Result;

/// Events the importer knows by name; others are accepted if they are
/// lowercase words joined by `-`, so a utility can add its own.
pub const KNOWN_EVENTS: [&str; 7] = [
    "cap-enrolled",
    "kit-requested",
    "sample-returned",
    "call",
    "opt-out",
    "email-open",
    "portal-login",
];

/// One response event: something a household did that a letter may have caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub account_id: String,
    pub date: chrono::NaiveDate,
    pub event: String,
    /// The campaign it answers, empty for none in particular.
    pub campaign: String,
}

/// Events read from a file, and the rows that could not be read (`file:line: why`).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Response>,
    pub rejected: Vec<String>,
}

fn event_name_ok(e: &str) -> bool {
    !e.is_empty()
        && !e.starts_with('-')
        && !e.ends_with('-')
        && e.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Read a responses file named `name`. Missing required columns stop the
/// import; a bad row is reported with its line and skipped. `campaigns` are
/// the names a `campaign` value may take.
pub fn read(input: impl std::io::Read, name: &str, campaigns: &BTreeSet<String>) -> Result<Parsed> {
    let mut out = Parsed::default();
    super::each_record(
        input,
        name,
        &["account_id", "date", "event"],
        &super::Dialect::default(),
        |cols, line, record, problem| {
            let event = match problem {
                Some(why) => Err(why),
                None => parse_event(cols, record, campaigns),
            };
            match event {
                Ok(e) => out.events.push(e),
                Err(why) => out.rejected.push(format!("{name}:{line}: {why}")),
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// One row as an event, or why it is not one.
fn parse_event(
    cols: &super::Columns,
    record: &csv::StringRecord,
    campaigns: &BTreeSet<String>,
) -> Result<Response, String> {
    let field = |c: &str| cols.get(record, c).unwrap_or("");
    let account_id = field("account_id");
    if account_id.is_empty() {
        return Err("account_id is empty".into());
    }
    let day = super::parse_iso_date(field("date"))
        .ok_or_else(|| format!("date {:?} is not YYYY-MM-DD", field("date")))?;
    let ev = field("event").to_ascii_lowercase();
    if !event_name_ok(&ev) {
        return Err(format!(
            "event {:?} is not a lowercase-hyphenated name (e.g. {})",
            field("event"),
            KNOWN_EVENTS.join(", ")
        ));
    }
    let camp = field("campaign").to_string();
    if !camp.is_empty() && !campaigns.contains(&camp) {
        return Err(format!(
            "campaign {camp:?} is not a [campaigns.*] of the config"
        ));
    }
    Ok(Response {
        account_id: account_id.to_string(),
        date: day,
        event: ev,
        campaign: camp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_and_bad_rows_named_by_line() {
        let campaigns = BTreeSet::from(["cap-invite".to_string()]);
        let file = "account_id,date,event,campaign\n\
                    W1,2026-10-04,Kit-Requested,\n\
                    W2,2026-10-05,cap-enrolled,cap-invite\n\
                    ,2026-10-05,call,\n\
                    W3,10/05/2026,call,\n\
                    W4,2026-10-06,-odd,\n\
                    W5,2026-10-06,call,lead-letter\n";
        let parsed = read(file.as_bytes(), "responses.csv", &campaigns).unwrap();
        let events: Vec<(&str, &str, &str)> = parsed
            .events
            .iter()
            .map(|e| (e.account_id.as_str(), e.event.as_str(), e.campaign.as_str()))
            .collect();
        assert_eq!(
            events,
            [
                ("W1", "kit-requested", ""),
                ("W2", "cap-enrolled", "cap-invite")
            ]
        );
        let lines: Vec<&str> = parsed
            .rejected
            .iter()
            .map(|r| r.split(": ").next().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "responses.csv:4",
                "responses.csv:5",
                "responses.csv:6",
                "responses.csv:7"
            ]
        );
    }
}
