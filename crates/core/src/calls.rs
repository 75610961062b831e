//! Call rates learned from calls: the second seed's lesson is that agents
//! must know how many calls a mailing brings. The configured rates are a
//! guess; calls imported as response events are attributed to the letter
//! that prompted them, and once enough letters back a phase's rate, the
//! forecast uses what was learned.

use chrono::NaiveDate;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::model::Period;
use crate::phase::Phase;

/// One mailed letter of a household.
#[derive(Debug, Clone, PartialEq)]
pub struct Mailed {
    pub period: Period,
    pub phase: Phase,
    /// The letter stepped the household up to its phase: the forecast's
    /// rates are per entering household.
    pub entered: bool,
    /// The day its run laid the letters out (the render date).
    pub mailed_on: NaiveDate,
}

/// Which of one household's letters drew at least one call: each call goes
/// to the latest letter mailed on or before its day, when it came within
/// `window_days` of it. `letters` in any order; the result holds indexes
/// into it.
pub fn called(letters: &[Mailed], calls: &[NaiveDate], window_days: i64) -> Vec<usize> {
    let mut out: Vec<usize> = calls
        .iter()
        .filter_map(|&day| {
            letters
                .iter()
                .enumerate()
                .filter(|(_, l)| l.mailed_on <= day)
                .max_by_key(|(_, l)| (l.mailed_on, l.period))
                .filter(|(_, l)| (day - l.mailed_on).num_days() <= window_days)
                .map(|(i, _)| i)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A phase's learned rate: the share of entering households that called
/// within the window, with its Wilson 95% interval (sound at the small
/// shares and counts call rates have, where the Wald interval is not).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnedRate {
    pub phase: Phase,
    /// Entering letters whose call window has closed.
    pub letters: usize,
    pub called: usize,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

impl LearnedRate {
    pub fn new(phase: Phase, letters: usize, called: usize) -> LearnedRate {
        let (low, high) = wilson(called, letters);
        LearnedRate {
            phase,
            letters,
            called,
            rate: if letters == 0 {
                0.0
            } else {
                called as f64 / letters as f64
            },
            low,
            high,
        }
    }
}

/// The Wilson score interval at 95% for `k` of `n`.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(0.975);
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn a_call_goes_to_the_latest_letter_before_it_within_the_window() {
        let letter = |p: &str, m, d| Mailed {
            period: p.parse().unwrap(),
            phase: Phase::Notice,
            entered: true,
            mailed_on: day(m, d),
        };
        let letters = [letter("2026-09", 10, 5), letter("2026-08", 9, 5)];
        // Oct 1 is after the August letter only; Oct 10 after both; a call
        // before any letter, or 40 days after, is no letter's.
        let got = called(
            &letters,
            &[day(10, 1), day(10, 10), day(8, 1), day(11, 20)],
            30,
        );
        assert_eq!(got, [0, 1]);
        assert!(called(&letters, &[day(11, 20)], 30).is_empty());
    }

    #[test]
    fn wilson_matches_published_values() {
        // Wilson 95% for 5 of 100: 0.0215 to 0.1118 (Newcombe 1998, table I style).
        let (lo, hi) = wilson(5, 100);
        assert!(
            (lo - 0.02154).abs() < 1e-4 && (hi - 0.11175).abs() < 1e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, _) = wilson(0, 50);
        assert_eq!(lo, 0.0);
    }
}
