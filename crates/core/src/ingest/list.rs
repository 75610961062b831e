//! Account lists: the suppression file and `opt-out --file` (INPUTS.md,
//! "Account lists").
//!
//! One account per line, or the first column of a CSV export. A byte-order
//! mark, blank lines, `#` comments and an `account_id` header are skipped.
//! Every entry keeps its line so that one matching no household is reported
//! rather than silently doing nothing.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use anyhow::{Context, Result};

/// The accounts a list names, each with its line.
#[derive(Debug, Clone, Default)]
pub struct AccountList {
    pub file: String,
    pub entries: Vec<(String, u64)>,
}

/// What a list matched among the households of a run.
#[derive(Debug, Default)]
pub struct Matched {
    /// Account ids as the customer file writes them, in the list's order,
    /// each once.
    pub accounts: Vec<String>,
    /// `file:line: why` for each entry that matched no household.
    pub unmatched: Vec<String>,
}

/// Read a list. Only an unreadable file (or a line over [`super::MAX_LINE`])
/// is an error.
pub fn read_account_list(input: impl std::io::Read, file: &str) -> Result<AccountList> {
    let mut out = AccountList {
        file: file.to_string(),
        entries: Vec::new(),
    };
    let reader = std::io::BufReader::new(super::LineLimit::new(input, file));
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {file}"))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_start_matches('\u{feff}');
        let account = text
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if account.is_empty()
            || account.starts_with('#')
            || account.eq_ignore_ascii_case("account_id")
        {
            continue;
        }
        out.entries.push((account.to_string(), n as u64 + 1));
    }
    Ok(out)
}

impl AccountList {
    /// One account typed on the command line.
    pub fn one(account: &str) -> AccountList {
        AccountList {
            file: "the command line".into(),
            entries: vec![(account.to_string(), 1)],
        }
    }

    /// Match the entries against `accounts` (the customer file's ids): an
    /// exact match first, else the one account equal to it ignoring ASCII
    /// case (`w000004` finds `W000004`). An entry matching none, or several
    /// accounts that differ only in case, is reported with its line.
    pub fn resolve<'a>(&self, accounts: impl IntoIterator<Item = &'a str>) -> Matched {
        let mut exact: HashSet<&str> = HashSet::new();
        let mut folded: HashMap<String, Vec<&str>> = HashMap::new();
        for a in accounts {
            exact.insert(a);
            folded.entry(a.to_ascii_uppercase()).or_default().push(a);
        }
        let mut out = Matched::default();
        let mut seen: HashSet<&str> = HashSet::new();
        for (entry, line) in &self.entries {
            let found = match exact.get(entry.as_str()) {
                Some(&one) => Some(one),
                None => match folded.get(&entry.to_ascii_uppercase()).map(Vec::as_slice) {
                    Some([one]) => Some(*one),
                    Some(many) => {
                        out.unmatched.push(format!(
                            "{}:{line}: {entry:?} matches {} accounts that differ only in case ({}); write it as the customer file does",
                            self.file,
                            many.len(),
                            many.join(", ")
                        ));
                        None
                    }
                    None => {
                        out.unmatched.push(format!(
                            "{}:{line}: {entry:?} is no household of the customer file",
                            self.file
                        ));
                        None
                    }
                },
            };
            if let Some(a) = found.filter(|a| seen.insert(a)) {
                out.accounts.push(a.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_comments_headers_and_case() {
        let text = "\u{feff}W1\r\n\r\n# held by legal\r\naccount_id,reason\r\nw2,returned mail\r\nW9\r\n  \"W3\"  \r\n";
        let list = read_account_list(text.as_bytes(), "hold.txt").unwrap();
        let lines: Vec<u64> = list.entries.iter().map(|e| e.1).collect();
        assert_eq!(lines, [1, 5, 6, 7]);
        let m = list.resolve(["W1", "W2", "W3", "W4"]);
        assert_eq!(m.accounts, ["W1", "W2", "W3"], "in the list's order");
        assert_eq!(
            m.unmatched,
            ["hold.txt:6: \"W9\" is no household of the customer file"]
        );
    }

    #[test]
    fn case_never_guesses_between_two_accounts() {
        let list = read_account_list("ab\nAb\n".as_bytes(), "l").unwrap();
        let m = list.resolve(["AB", "Ab"]);
        assert_eq!(m.accounts.len(), 1, "the exact one: {:?}", m.accounts);
        assert!(m.unmatched[0].starts_with("l:1: \"ab\" matches 2 accounts"));
    }
}
