//! The usage file against three known customers: every customer ends
//! accepted or as one exception, reads stay aligned and sane, and every
//! rejection names `usage.csv:line`.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use neighborly_core::ingest::{read_customers, read_usage};
use neighborly_core::model::Service;

const CUSTOMERS: &str = "account_id,name,address_line1,city,state,zip,locality\n\
                         A,Ann,1 Elm,Davis,CA,95616,n\nB,Bo,2 Elm,Davis,CA,95616,n\n\
                         C,Cy,3 Elm,Davis,CA,95616,n\n";

fuzz_target!(|data: &[u8]| {
    let mut d = read_customers(CUSTOMERS.as_bytes(), "customers.csv", Service::Water, &Default::default()).unwrap();
    if read_usage(data, "usage.csv", &mut d, &Default::default()).is_err() {
        return;
    }
    assert_eq!(d.reads.len(), d.households.len());
    let accepted: HashSet<&str> = d.households.iter().map(|h| h.account_id.as_str()).collect();
    let rejected: HashSet<&str> = d.exceptions.iter().map(|e| e.account_id.as_str()).collect();
    for known in ["A", "B", "C"] {
        assert!(
            accepted.contains(known) ^ rejected.contains(known),
            "{known} must end in exactly one place"
        );
    }
    assert_eq!(
        d.exceptions.len(),
        rejected.len(),
        "an account reported twice: {:?}",
        d.exceptions
    );
    for e in &d.exceptions {
        assert!(e.detail.starts_with("usage.csv:"), "no line: {}", e.detail);
    }
    for reads in &d.reads {
        for r in reads {
            assert!(r.quantity.is_finite() && r.quantity >= 0.0, "{r:?}");
            assert!(r.start <= r.end, "{r:?}");
        }
    }
});
