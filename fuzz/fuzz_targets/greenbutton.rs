//! One Green Button file: any bytes end as series with reads, or defects
//! naming `gb.xml:line`; quantities are finite and non-negative.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neighborly_core::ingest::greenbutton::{Mapping, read_file};
use neighborly_core::ingest::{IntervalRules, Zone};

fuzz_target!(|data: &[u8]| {
    let rules = IntervalRules {
        min_coverage: 0.5,
        leak_hours: 24,
        // Days too: the weather fit reads them from the same parse.
        keep_days: true,
        keep_spans: None,
    };
    let zone = Zone::named("UTC").unwrap();
    let series = read_file(data, "gb.xml", 1, "ACCT", &Mapping::default(), zone, &rules);
    for (account, s) in &series {
        assert!(!account.is_empty());
        if let Some((_, detail)) = &s.defect {
            assert!(detail.starts_with("gb.xml:"), "{detail}");
            continue;
        }
        for r in &s.reads {
            assert!(r.quantity.is_finite() && r.quantity >= 0.0, "{r:?}");
            assert!(r.start <= r.end, "{r:?}");
        }
    }
});
