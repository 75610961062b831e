//! Interval CSV in a DST zone: every meter ends with reads or a defect
//! naming `i.csv:line`; months are finite, non-negative and inside one month.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neighborly_core::ingest::interval::read_intervals;
use neighborly_core::ingest::{IntervalRules, Zone};

fuzz_target!(|data: &[u8]| {
    let zone = Zone::named("America/Chicago").unwrap();
    let rules = IntervalRules {
        min_coverage: 0.5,
        leak_hours: 3,
        // Days too: the weather fit reads them from the same parse.
        keep_days: true,
        keep_spans: None,
    };
    let Ok(meters) = read_intervals(data, "i.csv", 1, zone, &rules) else {
        return;
    };
    for (account, s) in &meters {
        if let Some((_, detail)) = &s.defect {
            assert!(detail.starts_with("i.csv:"), "{account}: {detail}");
            assert!(s.reads.is_empty() && s.runs.is_empty());
            continue;
        }
        for r in &s.reads {
            assert!(r.quantity.is_finite() && r.quantity >= 0.0, "{account}: {r:?}");
            assert!(r.start <= r.end, "{account}: {r:?}");
        }
        for i in &s.incomplete {
            assert!(i.detail.starts_with("i.csv:"), "{}", i.detail);
            assert!(i.coverage >= 0.0 && i.coverage < 1.0);
        }
        for run in &s.runs {
            assert!(run.hours >= 3.0 && run.base_per_day >= 0.0, "{run:?}");
        }
    }
});
