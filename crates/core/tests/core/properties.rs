//! Properties of the numeric core, checked on generated inputs (proptest,
//! 256 cases each so `cargo test` stays quick): quantiles and percentiles
//! against plain reference computations, unit round trips, per-day
//! normalization, the phase ladder's promises, and the barcode encoder.

use proptest::prelude::*;

use neighborly_core::compare::{Rating, percentile_rank, quantile_type7};
use neighborly_core::model::{Phase, Read, Unit, bills_from_reads};
use neighborly_core::phase::{Ladder, decide};

fn values() -> impl Strategy<Value = Vec<f64>> {
    // Whole and half gallons, as meters give them, with plenty of ties.
    prop::collection::vec((0u32..400).prop_map(|v| f64::from(v) / 2.0), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn type7_quantiles_match_a_reference(mut v in values(), p in 0.0f64..=1.0) {
        v.sort_by(f64::total_cmp);
        let q = quantile_type7(&v, p);
        // Reference: the two order statistics around (n-1)p, linearly blended.
        let h = (v.len() - 1) as f64 * p;
        let (lo, hi) = (v[h.floor() as usize], v[h.ceil() as usize]);
        let want = lo + (h - h.floor()) * (hi - lo);
        prop_assert!((q - want).abs() <= 1e-9 * want.abs().max(1.0), "{q} vs {want}");
        prop_assert!(q >= v[0] && q <= v[v.len() - 1]);
        // Monotone in p.
        let q2 = quantile_type7(&v, (p + 0.1).min(1.0));
        prop_assert!(q2 >= q);
    }

    #[test]
    fn percentiles_count_strictly_lower_neighbors(mut v in values(), pick in any::<prop::sample::Index>()) {
        v.sort_by(f64::total_cmp);
        let value = v[pick.index(v.len())];
        let rank = percentile_rank(&v, value);
        if v.len() < 2 {
            prop_assert_eq!(rank, 0.0);
        } else {
            let below = v.iter().filter(|x| **x < value).count();
            prop_assert_eq!(rank, 100.0 * below as f64 / (v.len() - 1) as f64);
            // Ties share a rank; the lowest value ranks 0.
            prop_assert_eq!(percentile_rank(&v, v[0]), 0.0);
            prop_assert!(rank <= 100.0);
        }
    }

    #[test]
    fn units_convert_to_canonical_and_back(q in 0.0f64..1e7, which in 0usize..6) {
        let unit = [Unit::Gallon, Unit::Kgal, Unit::Ccf, Unit::CubicMeter, Unit::Kwh, Unit::Therm][which];
        let (_, factor) = unit.to_canonical();
        let back = q * factor / factor;
        prop_assert!((back - q).abs() <= 1e-9 * q.max(1.0));
        prop_assert!(factor > 0.0);
    }

    #[test]
    fn a_bill_is_its_reads_per_day(
        cuts in prop::collection::btree_set(2u32..28, 0..5),
        amounts in prop::collection::vec(0.0f64..5000.0, 6),
    ) {
        // One month cut into consecutive reads at random days.
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        let mut starts = vec![1u32];
        starts.extend(cuts.iter().copied());
        let mut reads = Vec::new();
        for (k, &s) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(31, |n| n - 1);
            reads.push(Read { start: day(s), end: day(end), quantity: amounts[k], estimated: false, file: 0, line: k as u32 + 2 });
        }
        let bills = bills_from_reads(&reads);
        prop_assert_eq!(bills.len(), 1);
        let total: f64 = reads.iter().map(|r| r.quantity).sum();
        prop_assert!((bills[0].quantity - total).abs() < 1e-6);
        prop_assert_eq!(bills[0].days, 31);
        prop_assert!((bills[0].per_day() - total / 31.0).abs() < 1e-9);
    }

    #[test]
    fn the_ladder_never_skips_a_step_nor_passes_the_cap(
        ratings in prop::collection::vec(0u8..4, 1..30),
        eligible in any::<bool>(),
        tips in 1u32..4,
        notice in 1u32..4,
    ) {
        let rules = neighborly_core::config::PhaseRules {
            min_periods_tips: tips,
            min_periods_notice: notice,
            ..Default::default()
        };
        let cap = if eligible { rules.assistance_max_phase } else { Phase::Comparison };
        let mut ladder: Option<Ladder> = None;
        let mut highest: Option<Phase> = None;
        for r in ratings {
            let rating = match r {
                0 => None,
                1 => Some(Rating::Great),
                2 => Some(Rating::Good),
                _ => Some(Rating::AboveTypical),
            };
            let d = decide(ladder, ladder.map(|_| 1), rating, eligible, &rules);
            match rating {
                Some(Rating::Great | Rating::Good) => prop_assert_eq!(d.phase, Phase::Comparison),
                None => prop_assert_eq!(d.phase, Phase::Tips),
                Some(Rating::AboveTypical) => {
                    prop_assert!(d.phase <= cap, "{:?} past the cap {:?}", d.phase, cap);
                    let allowed = match highest {
                        None => Phase::Tips,
                        Some(h) => h.next(),
                    };
                    prop_assert!(d.phase <= allowed, "{:?} skipped from {:?}", d.phase, highest);
                    highest = highest.max(Some(d.phase));
                }
            }
            ladder = Some(d.ladder);
        }
    }

    #[test]
    fn barcodes_are_65_bars_and_differ_when_the_piece_differs(
        a in 0u64..1_000_000_000,
        b in 0u64..1_000_000_000,
        zip in 10000u32..99999,
    ) {
        let code = |serial: u64| {
            let tracking = neighborly_core::imb::tracking_code("00", "300", "567094", &format!("{serial:09}")).unwrap();
            neighborly_core::imb::encode(&tracking, &zip.to_string()).unwrap()
        };
        let (x, y) = (code(a), code(b));
        prop_assert_eq!(x.len(), 65);
        prop_assert!(x.chars().all(|c| "FADT".contains(c)));
        prop_assert_eq!(a == b, x == y);
    }
}
