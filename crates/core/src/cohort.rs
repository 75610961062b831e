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

/// The similarity keys of a household, strictest first, always ending in `Locality`.
fn ladder(h: &Household, rules: &CohortRules) -> Vec<Similarity> {
    let mut steps = Vec::with_capacity(3);
    match h.service {
        Service::Water => {
            if let Some(n) = h.occupants {
                let (low, high) = band(n, &rules.occupant_bands);
                steps.push(Similarity::Occupants {
                    low: low.max(1),
                    high,
                });
            }
        }
        // Heating and cooling drive both energy bills: floor area and fuel.
        Service::Electric | Service::Gas => {
            if let Some(sqft) = h.home_sqft {
                let (low, high) = band(sqft, &rules.sqft_bands);
                if let Some(fuel) = &h.heating_fuel {
                    steps.push(Similarity::SizeAndFuel {
                        low,
                        high,
                        fuel: fuel.to_string(),
                    });
                }
                steps.push(Similarity::Size { low, high });
            }
        }
    }
    steps.push(Similarity::Locality);
    steps
}

/// Group candidates into cohorts. `candidates` are the households eligible to
/// be neighbors this period; the result assigns each one a cohort or none.
pub fn plan(candidates: &[&Household], rules: &CohortRules) -> CohortPlan {
    // (service, locality, similarity) -> members. Only looked up, never
    // walked: ids are handed out in candidate order, so a hash map keeps
    // them deterministic and makes this linear in households.
    // Localities are numbered first: a key of a number hashes and compares
    // in a step, where the name took a string hash per ladder step.
    let mut numbers: FxHashMap<&str, u32> = FxHashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let locality: Vec<u32> = candidates
        .iter()
        .map(|h| {
            *numbers.entry(h.locality.as_str()).or_insert_with(|| {
                names.push(h.locality.as_str());
                names.len() as u32 - 1
            })
        })
        .collect();
    let mut groups: FxHashMap<(Service, u32, Similarity), Vec<usize>> = FxHashMap::default();
    let ladders: Vec<Vec<Similarity>> = candidates.iter().map(|h| ladder(h, rules)).collect();
    for (i, (h, steps)) in candidates.iter().zip(&ladders).enumerate() {
        for s in steps {
            groups
                .entry((h.service, locality[i], s.clone()))
                .or_default()
                .push(i);
        }
    }

    // Cohort ids carry the service only when services mix. Decided once: asked
    // per new cohort, this scan made the plan households x cohorts.
    let mixed = candidates
        .first()
        .is_some_and(|first| candidates.iter().any(|c| c.service != first.service));
    let mut plan = CohortPlan::default();
    let mut ids: FxHashMap<(Service, u32, Similarity), usize> = FxHashMap::default();
    for (i, (h, steps)) in candidates.iter().zip(ladders).enumerate() {
        let key_of = |s: Similarity| (h.service, locality[i], s);
        // The locality is the last step; a home with traits may only fall
        // back to it when the settings allow.
        let finer = steps.len() > 1;
        let allowed = if finer && !rules.relax_similarity {
            steps.len() - 1
        } else {
            steps.len()
        };
        let chosen = steps
            .into_iter()
            .take(allowed)
            .map(key_of)
            .find(|k| groups[k].len() >= rules.min_size);
        if finer && chosen.as_ref().is_some_and(|k| k.2 == Similarity::Locality) {
            plan.relaxed.push(i);
        }
        let assignment = match chosen {
            Some(key) => {
                let next = plan.cohorts.len();
                let id = *ids.entry(key.clone()).or_insert(next);
                if id == next {
                    let (service, number, similarity) = key.clone();
                    let locality = names[number as usize];
                    let prefix = if mixed {
                        format!("{}/", service.as_str())
                    } else {
                        String::new()
                    };
                    plan.cohorts.push(Cohort {
                        id: format!("{prefix}{locality}/{}", similarity.key()),
                        locality: locality.to_string(),
                        similarity,
                        members: groups[&key].clone(),
                    });
                }
                Assignment::Cohort(id)
            }
            None => Assignment::TooFew {
                locality_size: groups[&key_of(Similarity::Locality)].len(),
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
