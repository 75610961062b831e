//! Settings for aiming and measuring: the randomized control group, segments
//! (named rule sets over customer fields and the period's figures) and
//! campaigns (one-off letters to a segment).
//!
//! Values are checked while the TOML is read, so a typo or a bad value is
//! reported with the config file's line and column like any other config
//! error. The rules themselves are applied by the `target` module of the `neighborly` crate.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, de};

use crate::model::{Language, Service, Status};

/// The randomized control group of the monthly reports (INPUTS.md,
/// "Control group"): a share of households, drawn per cohort, that receives nothing
/// so that the reports' savings can be measured against it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Control {
    /// Share of newly seen households held back, 0 to 0.5.
    #[serde(deserialize_with = "share")]
    pub share: f64,
    /// Mixed into the hash that orders households for the draw; a utility
    /// picks its own so its assignment cannot be guessed from account ids.
    pub salt: String,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            share: 0.0,
            salt: "neighborly".into(),
        }
    }
}

pub(super) fn share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=0.5).contains(&v) {
        return Err(de::Error::custom(format!(
            "share must be between 0 and 0.5, not {v}"
        )));
    }
    Ok(v)
}

/// An inclusive range; either end may be left open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Between<T> {
    pub from: Option<T>,
    pub to: Option<T>,
}

impl<T: PartialOrd + Copy> Between<T> {
    pub fn contains(&self, v: T) -> bool {
        self.from.is_none_or(|f| v >= f) && self.to.is_none_or(|t| v <= t)
    }
}

impl<'de, T: Deserialize<'de> + PartialOrd + fmt::Display + Copy> Deserialize<'de> for Between<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw<T> {
            from: Option<T>,
            to: Option<T>,
        }
        let raw = Raw::<T>::deserialize(d)?;
        if raw.from.is_none() && raw.to.is_none() {
            return Err(de::Error::custom("a range needs `from`, `to` or both"));
        }
        if let (Some(f), Some(t)) = (raw.from, raw.to)
            && f > t
        {
            return Err(de::Error::custom(format!(
                "range from {f} to {t} is empty (`from` is after `to`)"
            )));
        }
        Ok(Between {
            from: raw.from,
            to: raw.to,
        })
    }
}

/// A list of values parsed with `FromStr`, so a misspelled language or status
/// is an error at its line rather than a rule that silently matches nobody.
fn parsed_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| s.parse().map_err(de::Error::custom))
        .collect()
}

/// Ratings a segment may name: the three of the comparison and `none` (no comparison).
pub const RATING_NAMES: [&str; 4] = ["great", "good", "above-typical", "none"];

fn rating_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    for n in &names {
        if !RATING_NAMES.contains(&n.as_str()) {
            return Err(de::Error::custom(format!(
                "unknown rating {n:?} (expected one of {})",
                RATING_NAMES.join(", ")
            )));
        }
    }
    Ok(names)
}

fn lowercase_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect())
}

/// A segment: every condition given must hold. Conditions on customer fields
/// need only the customer file; `rating`, `phase`, `percentile` and
/// `usage_per_day` use the period's comparison (households without one do not
/// match them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Segment {
    /// What the segment is for, printed with its counts.
    pub description: String,
    pub year_built: Option<Between<i32>>,
    pub occupants: Option<Between<u32>>,
    pub home_sqft: Option<Between<u32>>,
    /// Enrolled in at least one of these programs.
    #[serde(deserialize_with = "lowercase_list")]
    pub programs_any: Vec<String>,
    /// Enrolled in none of these programs.
    #[serde(deserialize_with = "lowercase_list")]
    pub programs_none: Vec<String>,
    pub locality: Vec<String>,
    /// ZIP codes or prefixes (`956` matches 95616).
    pub zip: Vec<String>,
    #[serde(deserialize_with = "parsed_list")]
    pub service: Vec<Service>,
    #[serde(deserialize_with = "parsed_list")]
    pub language: Vec<Language>,
    #[serde(deserialize_with = "parsed_list")]
    pub status: Vec<Status>,
    #[serde(deserialize_with = "rating_list")]
    pub rating: Vec<String>,
    #[serde(deserialize_with = "parsed_list")]
    pub phase: Vec<crate::model::Phase>,
    pub percentile: Option<Between<f64>>,
    pub usage_per_day: Option<Between<f64>>,
}

/// A one-off letter to a segment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// The `[segments.NAME]` it goes to.
    pub segment: String,
    /// Template folder under the templates folder; default `campaigns/NAME`.
    #[serde(default)]
    pub templates: Option<String>,
    /// Share of the segment held back (not mailed) to measure the letter's effect.
    #[serde(default, deserialize_with = "share")]
    pub holdout: f64,
    /// Response event that counts as the letter working (e.g. `kit-requested`),
    /// shown first in the evaluation.
    #[serde(default)]
    pub goal_event: String,
    /// Mail the monthly reports' control group too (a regulatory notice
    /// every customer must get). Off by default: a control household that
    /// gets any letter no longer measures what the reports do.
    #[serde(default)]
    pub include_control: bool,
}

/// Names of segments and campaigns end up in file names and store keys.
pub fn check_name(name: &str) -> Result<(), crate::model::ParseError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(crate::model::ParseError::format(
            "name",
            name,
            "lowercase letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

pub type Segments = BTreeMap<String, Segment>;
pub type Campaigns = BTreeMap<String, Campaign>;
