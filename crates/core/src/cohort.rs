//! Cohorts: which neighbors a household is compared with.
//!
//! Neighbors share a `locality` and, where the data allows, a similar home:
//! occupant band for water; floor-area band and heating fuel for electricity.
//! Criteria are relaxed one step at a time (dropping the least important
//! first) until a group reaches `min_size`; if even the whole locality is too
//! small, the household gets no comparison. Cohorts of different strictness
//! may overlap: a household's cohort is *all* homes similar to it, whether or
//! not they found a stricter cohort of their own.
//!
//! Pure: no I/O, deterministic output order.

use rustc_hash::FxHashMap;

use crate::config::CohortRules;
use crate::model::{Household, Service};

/// A group of similar neighboring homes.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Stable id, e.g. `north/occupants:3-4` or `north/all`.
    pub id: String,
    pub locality: String,
    /// Human-readable description of what the homes share, without the locality.
    pub similarity: Similarity,
    /// Indices into the candidate list, in ascending order.
    pub members: Vec<usize>,
}

/// What besides the locality the homes of a cohort have in common.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Similarity {
    Occupants {
        low: u32,
        high: Option<u32>,
    },
    SizeAndFuel {
        low: u32,
        high: Option<u32>,
        fuel: String,
    },
    Size {
        low: u32,
        high: Option<u32>,
    },
    Locality,
}

impl Similarity {
    fn key(&self) -> String {
        let band = |low: &u32, high: &Option<u32>| match high {
            Some(h) if h == low => format!("{low}"),
            Some(h) => format!("{low}-{h}"),
            None => format!("{low}+"),
        };
        match self {
            Similarity::Occupants { low, high } => format!("occupants:{}", band(low, high)),
            Similarity::SizeAndFuel { low, high, fuel } => {
                format!("sqft:{}/fuel:{fuel}", band(low, high))
            }
            Similarity::Size { low, high } => format!("sqft:{}", band(low, high)),
            Similarity::Locality => "all".into(),
        }
    }
}

/// Where a candidate household's comparison comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    Cohort(usize),
    /// Even the whole locality has fewer than `min_size` comparable homes.
    TooFew {
        locality_size: usize,
    },
}

#[derive(Debug, Default)]
pub struct CohortPlan {
    pub cohorts: Vec<Cohort>,
    /// One entry per candidate, in candidate order.
    pub assignments: Vec<Assignment>,
    /// Candidates compared with their whole locality because too few homes
    /// shared their traits (the similarity criterion was dropped).
    pub relaxed: Vec<usize>,
}

/// Band a value into `bands` (ascending upper bounds; the last band is open).
fn band(value: u32, bounds: &[u32]) -> (u32, Option<u32>) {
    let mut low = 0;
    for &b in bounds {
        if value <= b {
            return (low, Some(b));
        }
        low = b + 1;
    }
    (low, None)
}

/// A similarity step in numbers: its kind, its band and its fuel (by
/// number), so a group's key hashes, compares and sorts in a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Step {
    kind: StepKind,
    low: u32,
    /// `u32::MAX` for an open band.
    high: u32,
    fuel: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum StepKind {
    Occupants,
    SizeAndFuel,
    Size,
    Locality,
}

impl Step {
    const LOCALITY: Step = Step {
        kind: StepKind::Locality,
        low: 0,
        high: 0,
        fuel: 0,
    };

    fn band(kind: StepKind, (low, high): (u32, Option<u32>), fuel: u32) -> Step {
        Step {
            kind,
            low,
            high: high.unwrap_or(u32::MAX),
            fuel,
        }
    }

    /// The step in words; `fuels` names the fuels by number.
    fn similarity(self, fuels: &[&str]) -> Similarity {
        let (low, high) = (self.low, (self.high != u32::MAX).then_some(self.high));
        match self.kind {
            StepKind::Occupants => Similarity::Occupants { low, high },
            StepKind::SizeAndFuel => Similarity::SizeAndFuel {
                low,
                high,
                fuel: fuels[self.fuel as usize].to_string(),
            },
            StepKind::Size => Similarity::Size { low, high },
            StepKind::Locality => Similarity::Locality,
        }
    }
}

/// A household's steps, strictest first, always ending in the locality.
#[derive(Clone, Copy)]
struct Ladder {
    steps: [Step; 3],
    len: u8,
}

impl Ladder {
    fn steps(&self) -> &[Step] {
        &self.steps[..self.len as usize]
    }
}

/// The similarity steps of a household, strictest first, always ending in
/// `Locality`; `fuel` is its heating fuel's number.
fn ladder(h: &Household, rules: &CohortRules, fuel: u32) -> Ladder {
    let mut l = Ladder {
        steps: [Step::LOCALITY; 3],
        len: 0,
    };
    let mut push = |step| {
        l.steps[l.len as usize] = step;
        l.len += 1;
    };
    match h.service {
        Service::Water => {
            if let Some(n) = h.occupants {
                let (low, high) = band(n, &rules.occupant_bands);
                push(Step::band(StepKind::Occupants, (low.max(1), high), 0));
            }
        }
        // Heating and cooling drive both energy bills: floor area and fuel.
        Service::Electric | Service::Gas => {
            if let Some(sqft) = h.home_sqft {
                let banded = band(sqft, &rules.sqft_bands);
                if h.heating_fuel.is_some() {
                    push(Step::band(StepKind::SizeAndFuel, banded, fuel));
                }
                push(Step::band(StepKind::Size, banded, 0));
            }
        }
    }
    push(Step::LOCALITY);
    l
}

/// The homes a step groups: the service, the locality (by number) and the
/// step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupKey {
    service: Service,
    locality: u32,
    step: Step,
}

/// Number each distinct value in order of first appearance: the values
/// in that order, and each item's number.
fn number<'h>(items: impl Iterator<Item = &'h str>) -> (Vec<&'h str>, Vec<u32>) {
    let mut numbers: FxHashMap<&str, u32> = FxHashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let of = items
        .map(|name| {
            *numbers.entry(name).or_insert_with(|| {
                names.push(name);
                names.len() as u32 - 1
            })
        })
        .collect();
    (names, of)
}

/// Group candidates into cohorts. `candidates` are the households eligible to
/// be neighbors this period; the result assigns each one a cohort or none.
///
/// Linear but for one sort, and all of it on all cores but the numbering
/// and the handing out of ids: localities and fuels are numbered, so a
/// group's key is a few numbers; every (group, member) pair is sorted, so
/// each group's members are one run in ascending order; each household's
/// cohort is the first step of its ladder with enough members; ids are
/// then handed out in candidate order, so the output is deterministic.
pub fn plan(candidates: &[&Household], rules: &CohortRules) -> CohortPlan {
    use rayon::prelude::*;
    let (localities, locality) = number(candidates.iter().map(|h| h.locality.as_str()));
    let (fuels, fuel) = number(
        candidates
            .iter()
            .map(|h| h.heating_fuel.as_deref().unwrap_or("")),
    );
    let key = |i: usize, step: Step| GroupKey {
        service: candidates[i].service,
        locality: locality[i],
        step,
    };
    let ladders: Vec<Ladder> = candidates
        .par_iter()
        .zip(&fuel)
        .map(|(h, &f)| ladder(h, rules, f))
        .collect();
    let mut pairs: Vec<(GroupKey, u32)> = ladders
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, l)| l.steps().iter().map(move |&s| (key(i, s), i as u32)))
        .collect();
    pairs.par_sort_unstable();
    let mut groups: FxHashMap<GroupKey, std::ops::Range<usize>> = FxHashMap::default();
    let mut at = 0;
    for run in pairs.chunk_by(|a, b| a.0 == b.0) {
        groups.insert(run[0].0, at..at + run.len());
        at += run.len();
    }
    let size = |k: &GroupKey| groups[k].len();
    // Each household's chosen step; `None` when even its locality is too
    // small. The locality is the last step; a home with traits may only
    // fall back to it when the settings allow.
    let chosen: Vec<Option<GroupKey>> = ladders
        .par_iter()
        .enumerate()
        .map(|(i, l)| {
            let steps = l.steps();
            let allowed = if steps.len() > 1 && !rules.relax_similarity {
                steps.len() - 1
            } else {
                steps.len()
            };
            steps[..allowed]
                .iter()
                .map(|&s| key(i, s))
                .find(|k| size(k) >= rules.min_size)
        })
        .collect();

    // Cohort ids carry the service only when services mix. Decided once: asked
    // per new cohort, this scan made the plan households x cohorts.
    let mixed = candidates
        .first()
        .is_some_and(|first| candidates.iter().any(|c| c.service != first.service));
    let mut plan = CohortPlan::default();
    let mut ids: FxHashMap<GroupKey, usize> = FxHashMap::default();
    for (i, (l, chosen)) in ladders.iter().zip(chosen).enumerate() {
        if l.len > 1 && chosen.is_some_and(|k| k.step.kind == StepKind::Locality) {
            plan.relaxed.push(i);
        }
        let assignment = match chosen {
            Some(k) => {
                let next = plan.cohorts.len();
                let id = *ids.entry(k).or_insert(next);
                if id == next {
                    let locality = localities[k.locality as usize];
                    let similarity = k.step.similarity(&fuels);
                    let prefix = if mixed {
                        format!("{}/", k.service.as_str())
                    } else {
                        String::new()
                    };
                    plan.cohorts.push(Cohort {
                        id: format!("{prefix}{locality}/{}", similarity.key()),
                        locality: locality.to_string(),
                        similarity,
                        members: pairs[groups[&k].clone()]
                            .iter()
                            .map(|&(_, m)| m as usize)
                            .collect(),
                    });
                }
                Assignment::Cohort(id)
            }
            None => Assignment::TooFew {
                locality_size: size(&key(i, Step::LOCALITY)),
            },
        };
        plan.assignments.push(assignment);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Language, Origin, Status};

    fn home(id: usize, locality: &str, occupants: Option<u32>) -> Household {
        Household {
            account_id: format!("A{id}").into(),
            name: "N".into(),
            address_line1: "1 Elm".into(),
            address_line2: None,
            city: "Davis".into(),
            state: "CA".into(),
            zip: "95616".into(),
            locality: locality.into(),
            service: Service::Water,
            occupants,
            home_sqft: None,
            year_built: None,
            heating_fuel: None,
            language: Language::En,
            programs: vec![],
            status: Status::Active,
            do_not_mail: false,
            extra: Default::default(),
            source: Origin::from("test"),
        }
    }

    #[test]
    fn bands_are_inclusive_and_open_ended() {
        let bounds = [1, 2, 4];
        assert_eq!(band(1, &bounds), (0, Some(1)));
        assert_eq!(band(3, &bounds), (3, Some(4)));
        assert_eq!(band(4, &bounds), (3, Some(4)));
        assert_eq!(band(9, &bounds), (5, None));
    }

    #[test]
    fn relaxes_to_locality_then_gives_up() {
        let rules = CohortRules {
            min_size: 3,
            ..CohortRules::default()
        };
        // north: three 2-person homes (own cohort) and one 5-person home (relaxed).
        // south: two homes, too few for any comparison.
        let homes = [
            home(0, "north", Some(2)),
            home(1, "north", Some(2)),
            home(2, "north", Some(2)),
            home(3, "north", Some(5)),
            home(4, "south", Some(2)),
            home(5, "south", None),
        ];
        let refs: Vec<&Household> = homes.iter().collect();
        let plan = plan(&refs, &rules);
        let id = |i: usize| match &plan.assignments[i] {
            Assignment::Cohort(c) => plan.cohorts[*c].id.clone(),
            Assignment::TooFew { locality_size } => format!("none:{locality_size}"),
        };
        assert_eq!(id(0), "north/occupants:2");
        assert_eq!(id(3), "north/all");
        assert_eq!(id(4), "none:2");
        assert_eq!(id(5), "none:2");
        let all = plan.cohorts.iter().find(|c| c.id == "north/all").unwrap();
        assert_eq!(all.members, vec![0, 1, 2, 3]);
        assert_eq!(
            plan.relaxed,
            [3],
            "only the 5-person home dropped its trait"
        );

        // Forbidden, the 5-person home gets no comparison instead.
        let strict = super::plan(
            &refs,
            &CohortRules {
                relax_similarity: false,
                ..rules
            },
        );
        assert!(matches!(strict.assignments[3], Assignment::TooFew { .. }));
        assert!(matches!(strict.assignments[0], Assignment::Cohort(_)));
        assert!(strict.relaxed.is_empty());
    }

    #[test]
    fn ids_name_the_service_only_when_services_mix() {
        let rules = CohortRules {
            min_size: 2,
            ..CohortRules::default()
        };
        let water = [home(0, "north", None), home(1, "north", None)];
        let refs: Vec<&Household> = water.iter().collect();
        let ids: Vec<String> = plan(&refs, &rules)
            .cohorts
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["north/all"]);

        let mut mixed = water.to_vec();
        for i in 2..4 {
            let mut h = home(i, "north", None);
            h.service = Service::Electric;
            mixed.push(h);
        }
        let refs: Vec<&Household> = mixed.iter().collect();
        let ids: Vec<String> = plan(&refs, &rules)
            .cohorts
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["water/north/all", "electric/north/all"]);
    }
}
