//! The customer file: any bytes give an error (a missing column) or a
//! dataset in which every accepted account is unique, no account is both
//! accepted and an exception, and every rejected row names `file:line`.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use neighborly_core::ingest::read_customers;
use neighborly_core::model::Service;

fuzz_target!(|data: &[u8]| {
    let Ok(d) = read_customers(data, "customers.csv", Service::Water, &Default::default()) else {
        return;
    };
    let mut accepted = HashSet::new();
    for h in &d.households {
        assert!(accepted.insert(h.account_id.as_str()), "{} accepted twice", h.account_id);
    }
    assert_eq!(d.reads.len(), d.households.len());
    for e in &d.exceptions {
        assert!(!accepted.contains(e.account_id.as_str()), "{} both ways", e.account_id);
        assert!(
            e.detail.starts_with("customers.csv:") && e.detail[14..].starts_with(|c: char| c.is_ascii_digit()),
            "no line: {}",
            e.detail
        );
    }
});
