//! Phase: how much bad news a household is ready for.
//!
//! Households rated Great or Good get the comparison with praise. A household
//! rated Above typical climbs a ladder, one step per period at most:
//! `tips` → `notice` → `comparison` (INPUTS.md, "Phase ladder"). The rules,
//! decided here once so every stage agrees:
//!
//! - **New household** (no earlier letter): starts at the bottom; if above
//!   typical it gets `tips`.
//! - **Step up** only after `min_periods_*` letters *mailed* at the current
//!   step. A period with no letter (no bill, do-not-mail, render failure) counts
//!   for nothing: the ladder pauses, it never skips a step.
//! - **Rating improves** (Great/Good): the household gets the comparison with
//!   praise; its ladder step is kept, not reset.
//! - **Rating worsens again**: the household resumes at the step it had reached,
//!   so someone who already saw the notice is not sent back to tips, and nobody
//!   jumps ahead of the pace.
//! - **Long silence**: after `reset_after_months` without a letter, the ladder
//!   restarts at the bottom, since an old letter is forgotten.
//! - **Assistance-eligible** households never climb past
//!   `assistance_max_phase` (default `notice`): they get the invitation instead.
//! - **No comparison possible** (cohort too small): a `tips` letter with the
//!   household's own history; the ladder does not move.
//!
//! Pure functions; the `neighborly` crate's store persists the results.

use crate::compare::Rating;
use crate::config::PhaseRules;

pub use crate::model::Phase;

/// Where a household stands on the bad-news ladder after a mailed letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ladder {
    /// Highest step reached; `None` until the household is first rated Above typical.
    pub step: Option<Phase>,
    /// Letters mailed at `step` so far.
    pub letters: u32,
}

/// The phase decided for one household and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub phase: Phase,
    /// Ladder state after this letter is mailed.
    pub ladder: Ladder,
    /// The ladder reached a new step this period (what the call center plans for).
    pub entered: bool,
}

/// How long (in months) a ladder is remembered without a letter.
pub const RESET_AFTER_MONTHS: i32 = 12;

/// Decide a household's phase from its last mailed ladder state.
///
/// `months_since_last` is the number of periods since that letter (`None`: never mailed).
pub fn decide(
    previous: Option<Ladder>,
    months_since_last: Option<i32>,
    rating: Option<Rating>,
    assistance_eligible: bool,
    rules: &PhaseRules,
) -> Decision {
    let fresh = matches!(months_since_last, Some(m) if m > RESET_AFTER_MONTHS);
    let ladder = if fresh {
        Ladder::default()
    } else {
        previous.unwrap_or_default()
    };
    let cap = if assistance_eligible {
        rules.assistance_max_phase
    } else {
        Phase::Comparison
    };
    match rating {
        None => Decision {
            phase: Phase::Tips,
            ladder,
            entered: false,
        },
        Some(Rating::Great | Rating::Good) => Decision {
            phase: Phase::Comparison,
            ladder,
            entered: false,
        },
        Some(Rating::AboveTypical) => {
            let (step, letters, entered) = match ladder.step {
                None => (Phase::Tips.min(cap), 1, true),
                Some(step) => {
                    let step = step.min(cap);
                    let min = match step {
                        Phase::Tips => rules.min_periods_tips,
                        Phase::Notice => rules.min_periods_notice,
                        Phase::Comparison => u32::MAX,
                    };
                    if ladder.letters >= min.max(1) && step.next().min(cap) != step {
                        (step.next(), 1, true)
                    } else {
                        (step, ladder.letters.saturating_add(1), false)
                    }
                }
            };
            Decision {
                phase: step,
                ladder: Ladder {
                    step: Some(step),
                    letters,
                },
                entered,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ratings: &[Option<Rating>], eligible: bool, rules: &PhaseRules) -> Vec<Phase> {
        let mut ladder = None;
        ratings
            .iter()
            .map(|r| {
                let d = decide(ladder, ladder.map(|_| 1), *r, eligible, rules);
                ladder = Some(d.ladder);
                d.phase
            })
            .collect()
    }

    const HIGH: Option<Rating> = Some(Rating::AboveTypical);
    const GOOD: Option<Rating> = Some(Rating::Good);

    #[test]
    fn persistent_high_user_climbs_one_step_per_period() {
        let got = run(&[HIGH, HIGH, HIGH, HIGH], false, &PhaseRules::default());
        assert_eq!(
            got,
            [
                Phase::Tips,
                Phase::Notice,
                Phase::Comparison,
                Phase::Comparison
            ]
        );
    }

    #[test]
    fn improving_keeps_the_step_and_worsening_resumes_it() {
        let got = run(
            &[HIGH, HIGH, GOOD, HIGH, HIGH],
            false,
            &PhaseRules::default(),
        );
        assert_eq!(
            got,
            [
                Phase::Tips,
                Phase::Notice,
                Phase::Comparison,
                Phase::Comparison,
                Phase::Comparison
            ]
        );
        // The Good month shows the comparison but leaves the ladder at notice
        // with one letter, so the next high month climbs to the comparison.
    }

    #[test]
    fn slower_pacing_and_assistance_cap() {
        let rules = PhaseRules {
            min_periods_tips: 2,
            ..PhaseRules::default()
        };
        let got = run(&[HIGH, HIGH, HIGH, HIGH], false, &rules);
        assert_eq!(
            got,
            [Phase::Tips, Phase::Tips, Phase::Notice, Phase::Comparison]
        );
        let got = run(&[HIGH, HIGH, HIGH, HIGH], true, &PhaseRules::default());
        assert_eq!(
            got,
            [Phase::Tips, Phase::Notice, Phase::Notice, Phase::Notice]
        );
    }

    #[test]
    fn a_long_silence_restarts_the_ladder() {
        let rules = PhaseRules::default();
        let before = Ladder {
            step: Some(Phase::Comparison),
            letters: 5,
        };
        let d = decide(
            Some(before),
            Some(RESET_AFTER_MONTHS + 1),
            HIGH,
            false,
            &rules,
        );
        assert_eq!(d.phase, Phase::Tips);
        assert!(d.entered);
    }

    #[test]
    fn no_comparison_means_tips_without_moving() {
        let before = Ladder {
            step: Some(Phase::Notice),
            letters: 1,
        };
        let d = decide(Some(before), Some(1), None, false, &PhaseRules::default());
        assert_eq!((d.phase, d.ladder, d.entered), (Phase::Tips, before, false));
    }
}
