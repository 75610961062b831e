//! The small files staff hand in: a suppression list, response events and
//! a bounce file (the first byte picks which). Each reads or fails with an
//! error; every rejected row names `file:line`.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use neighborly_core::ingest::{bounces, read_account_list, responses};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(list) = read_account_list(rest, "suppress.csv") {
                assert!(list.entries.iter().all(|(a, line)| !a.is_empty() && !a.contains('\n') && *line > 0));
            }
        }
        1 => {
            let campaigns = BTreeSet::from(["cap-invite".to_string()]);
            if let Ok(parsed) = responses::read(rest, "responses.csv", &campaigns) {
                for r in &parsed.rejected {
                    assert!(r.starts_with("responses.csv:"), "{r}");
                }
            }
        }
        _ => {
            if let Ok(read) = bounces::read(rest, "bounces.csv") {
                for (line, r) in &read.rejected {
                    assert!(*line > 0 && r.starts_with(&format!("bounces.csv:{line}:")), "{r}");
                }
                for b in &read.closing {
                    assert!(b.line > 0 && !b.why.is_empty());
                }
            }
        }
    }
});
