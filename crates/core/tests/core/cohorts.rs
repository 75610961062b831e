//! Cohort formation against a plain reference, on generated territories:
//! `cohort::plan` numbers localities and fuels and sorts (group, member)
//! pairs to stay linear at a million households; the reference here walks
//! every candidate for every step of every ladder, as the rules are written
//! (INPUTS.md, DESIGN.md), and both must give the same cohorts, members,
//! assignments and relaxed homes.

use proptest::prelude::*;

use neighborly_core::cohort::{self, Assignment, Similarity};
use neighborly_core::config::CohortRules;
use neighborly_core::ingest::read_customers;
use neighborly_core::model::{Household, Service};

const LOCALITIES: [&str; 4] = ["north", "south", "elm", "oak-park"];
const FUELS: [&str; 3] = ["gas", "electric", "oil"];

/// A generated home: service, locality, occupants, floor area, fuel.
type Home = (usize, usize, Option<u32>, Option<u32>, Option<usize>);

/// The homes as a customer file's rows, read the way a run reads them.
fn households(homes: &[Home]) -> Vec<Household> {
    let mut csv = String::from(
        "account_id,name,address_line1,city,state,zip,locality,service,occupants,home_sqft,heating_fuel\n",
    );
    let text = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    for (k, &(service, locality, occupants, sqft, fuel)) in homes.iter().enumerate() {
        csv.push_str(&format!(
            "A{k},N,1 Elm,Davis,CA,95616,{},{},{},{},{}\n",
            LOCALITIES[locality],
            ["water", "electric", "gas"][service],
            text(occupants),
            text(sqft),
            fuel.map_or("", |f| FUELS[f]),
        ));
    }
    let data = read_customers(
        csv.as_bytes(),
        "customers.csv",
        Service::Water,
        &Default::default(),
    )
    .expect("the generated file reads");
    assert!(data.exceptions.is_empty(), "{:?}", data.exceptions);
    data.households
}

/// The band of `value`: after the last bound below it, up to the first at
/// or above it (open past the last bound).
fn band(value: u32, bounds: &[u32]) -> (u32, Option<u32>) {
    match bounds.iter().position(|&b| value <= b) {
        Some(0) => (0, Some(bounds[0])),
        Some(k) => (bounds[k - 1] + 1, Some(bounds[k])),
        None => (bounds.last().map_or(0, |b| b + 1), None),
    }
}

/// The steps a home may be compared over, strictest first.
fn steps(h: &Household, rules: &CohortRules) -> Vec<Similarity> {
    let mut out = Vec::new();
    match h.service {
        Service::Water => {
            if let Some(n) = h.occupants {
                let (low, high) = band(n, &rules.occupant_bands);
                out.push(Similarity::Occupants {
                    low: low.max(1),
                    high,
                });
            }
        }
        Service::Electric | Service::Gas => {
            if let Some(sqft) = h.home_sqft {
                let (low, high) = band(sqft, &rules.sqft_bands);
                if let Some(fuel) = &h.heating_fuel {
                    out.push(Similarity::SizeAndFuel {
                        low,
                        high,
                        fuel: fuel.to_string(),
                    });
                }
                out.push(Similarity::Size { low, high });
            }
        }
    }
    out.push(Similarity::Locality);
    out
}

/// Every candidate of `h`'s service and locality whose own steps include
/// `step`, in candidate order.
fn members(
    homes: &[Household],
    h: &Household,
    step: &Similarity,
    rules: &CohortRules,
) -> Vec<usize> {
    (0..homes.len())
        .filter(|&j| {
            let o = &homes[j];
            o.service == h.service && o.locality == h.locality && steps(o, rules).contains(step)
        })
        .collect()
}

fn homes() -> impl Strategy<Value = Vec<Home>> {
    let home = (
        0usize..3,
        0usize..4,
        prop::option::weighted(0.8, 1u32..7),
        prop::option::weighted(0.8, 400u32..4000),
        prop::option::weighted(0.6, 0usize..3),
    );
    prop::collection::vec(home, 1..90)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn cohorts_match_a_plain_reference(
        generated in homes(),
        min_size in 1usize..9,
        relax in any::<bool>(),
        one_service in any::<bool>(),
    ) {
        let generated: Vec<Home> = generated
            .iter()
            .map(|g| if one_service { (0, g.1, g.2, g.3, g.4) } else { *g })
            .collect();
        let homes = households(&generated);
        let rules = CohortRules { min_size, relax_similarity: relax, ..CohortRules::default() };
        let refs: Vec<&Household> = homes.iter().collect();
        let plan = cohort::plan(&refs, &rules);
        prop_assert_eq!(plan.assignments.len(), homes.len());

        // (service, locality, step) of each cohort, in the order ids are
        // handed out: the order candidates first choose them.
        let mut chosen_keys: Vec<(Service, String, Similarity)> = Vec::new();
        let mut relaxed = Vec::new();
        for (i, h) in homes.iter().enumerate() {
            let ladder = steps(h, &rules);
            let allowed = if ladder.len() > 1 && !relax { ladder.len() - 1 } else { ladder.len() };
            let chosen = ladder[..allowed]
                .iter()
                .find(|s| members(&homes, h, s, &rules).len() >= min_size);
            if ladder.len() > 1 && chosen == Some(&Similarity::Locality) {
                relaxed.push(i);
            }
            match chosen {
                Some(step) => {
                    let key = (h.service, h.locality.to_string(), step.clone());
                    let id = match chosen_keys.iter().position(|k| *k == key) {
                        Some(id) => id,
                        None => {
                            chosen_keys.push(key);
                            chosen_keys.len() - 1
                        }
                    };
                    prop_assert_eq!(&plan.assignments[i], &Assignment::Cohort(id), "home {}", i);
                    let cohort = &plan.cohorts[id];
                    prop_assert_eq!(&cohort.similarity, step);
                    prop_assert_eq!(cohort.locality.as_str(), h.locality.as_str());
                    prop_assert_eq!(&cohort.members, &members(&homes, h, step, &rules));
                    prop_assert!(cohort.id.contains(h.locality.as_str()), "{}", cohort.id);
                }
                None => {
                    let all = members(&homes, h, &Similarity::Locality, &rules).len();
                    prop_assert_eq!(
                        &plan.assignments[i],
                        &Assignment::TooFew { locality_size: all },
                        "home {}", i
                    );
                }
            }
        }
        prop_assert_eq!(plan.cohorts.len(), chosen_keys.len());
        prop_assert_eq!(plan.relaxed, relaxed);
    }
}
