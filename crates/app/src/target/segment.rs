//! Segments: which households a rule set picks, and the fields a contact
//! list shows for them. Pure: the caller supplies households and figures.

use crate::compare::Comparison;
use crate::config::Segment;
use crate::model::{Household, Status};
use crate::phase::Phase;

/// What the period's plan says about a household, for rules on figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures<'a> {
    pub comparison: Option<&'a Comparison>,
    pub phase: Option<Phase>,
    pub usage_per_day: Option<f64>,
}

fn status_code(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::Vacant => "vacant",
        Status::Closed => "closed",
    }
}

fn in_list<T: PartialEq>(list: &[T], v: &T) -> bool {
    list.is_empty() || list.contains(v)
}

/// Does the household meet every condition of the rule?
pub fn matches(rule: &Segment, h: &Household, f: &Figures<'_>) -> bool {
    let has_program = |p: &String| h.programs.iter().any(|q| q.eq_ignore_ascii_case(p));
    let rating = f.comparison.map_or("none", |c| c.rating.code()).to_string();
    rule.year_built
        .is_none_or(|r| h.year_built.is_some_and(|y| r.contains(y)))
        && rule
            .occupants
            .is_none_or(|r| h.occupants.is_some_and(|o| r.contains(o)))
        && rule
            .home_sqft
            .is_none_or(|r| h.home_sqft.is_some_and(|s| r.contains(s)))
        && (rule.programs_any.is_empty() || rule.programs_any.iter().any(has_program))
        && !rule.programs_none.iter().any(has_program)
        && (rule.locality.is_empty() || rule.locality.iter().any(|l| l == h.locality))
        && (rule.zip.is_empty() || rule.zip.iter().any(|z| h.zip.starts_with(z.as_str())))
        && in_list(&rule.service, &h.service)
        && in_list(&rule.language, &h.language)
        && in_list(&rule.status, &h.status)
        && in_list(&rule.rating, &rating)
        && (rule.phase.is_empty() || f.phase.is_some_and(|p| rule.phase.contains(&p)))
        && rule
            .percentile
            .is_none_or(|r| f.comparison.is_some_and(|c| r.contains(c.percentile)))
        && rule
            .usage_per_day
            .is_none_or(|r| f.usage_per_day.is_some_and(|u| r.contains(u)))
}

/// Whether the rule looks at the period's figures (and so needs usage data).
pub fn uses_figures(rule: &Segment) -> bool {
    !rule.rating.is_empty()
        || !rule.phase.is_empty()
        || rule.percentile.is_some()
        || rule.usage_per_day.is_some()
}

/// The fields the rule's conditions read, in a fixed order: the contact list
/// shows them so whoever reads it can see why each household is there.
pub fn used_fields(rule: &Segment) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |used: bool, name: &'static str| {
        if used {
            out.push(name);
        }
    };
    add(rule.year_built.is_some(), "year_built");
    add(rule.occupants.is_some(), "occupants");
    add(rule.home_sqft.is_some(), "home_sqft");
    add(
        !rule.programs_any.is_empty() || !rule.programs_none.is_empty(),
        "programs",
    );
    add(!rule.locality.is_empty(), "locality");
    add(!rule.service.is_empty(), "service");
    add(!rule.status.is_empty(), "status");
    add(!rule.rating.is_empty(), "rating");
    add(!rule.phase.is_empty(), "phase");
    add(rule.percentile.is_some(), "percentile");
    add(rule.usage_per_day.is_some(), "usage_per_day");
    out
}

/// A field's value as the contact list prints it.
pub fn field(h: &Household, f: &Figures<'_>, name: &str) -> String {
    let opt = |v: Option<String>| v.unwrap_or_default();
    match name {
        "year_built" => opt(h.year_built.map(|v| v.to_string())),
        "occupants" => opt(h.occupants.map(|v| v.to_string())),
        "home_sqft" => opt(h.home_sqft.map(|v| v.to_string())),
        "programs" => h.programs.join(";"),
        "locality" => h.locality.to_string(),
        "service" => h.service.as_str().to_string(),
        "status" => status_code(h.status).to_string(),
        "rating" => f.comparison.map_or("none", |c| c.rating.code()).to_string(),
        "phase" => opt(f.phase.map(|p| p.code().to_string())),
        "percentile" => opt(f.comparison.map(|c| format!("{:.1}", c.percentile))),
        "usage_per_day" => opt(f.usage_per_day.map(|u| format!("{u:.3}"))),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Between;

    fn home(year: i32, programs: &[&str]) -> Household {
        Household {
            account_id: "A1".into(),
            name: "N".into(),
            address_line1: "1 Elm St".into(),
            address_line2: None,
            city: "Davis".into(),
            state: "CA".into(),
            zip: "95616".into(),
            locality: "elm".into(),
            service: crate::model::Service::Water,
            occupants: Some(2),
            home_sqft: None,
            year_built: Some(year),
            heating_fuel: None,
            language: crate::model::Language::En,
            programs: programs.iter().map(|s| s.to_string()).collect(),
            status: Status::Active,
            do_not_mail: false,
            extra: Default::default(),
            source: "c.csv:2".into(),
        }
    }

    #[test]
    fn ranges_are_inclusive_and_programs_combine() {
        let rule = Segment {
            year_built: Some(Between {
                from: Some(1982),
                to: Some(1986),
            }),
            ..Segment::default()
        };
        let f = Figures::default();
        assert!(!matches(&rule, &home(1981, &[]), &f));
        assert!(matches(&rule, &home(1982, &[]), &f));
        assert!(matches(&rule, &home(1986, &[]), &f));
        assert!(!matches(&rule, &home(1987, &[]), &f));
        let cap = Segment {
            programs_any: vec!["snap".into(), "liheap".into()],
            programs_none: vec!["cap".into()],
            ..Segment::default()
        };
        assert!(matches(&cap, &home(1990, &["SNAP"]), &f));
        assert!(!matches(&cap, &home(1990, &["snap", "cap"]), &f));
        assert!(!matches(&cap, &home(1990, &[]), &f));
        // A rule on figures never matches a household without them.
        let high = Segment {
            rating: vec!["above-typical".into()],
            ..Segment::default()
        };
        assert!(!matches(&high, &home(1990, &[]), &f));
    }
}
