//! `[alerts]` and `[peak]`: the messages sent between the monthly reports.

use serde::{Deserialize, Deserializer, de};

use super::targeting::share;

/// `[alerts]`: bill-to-date alerts (`neighborly alert`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// A household is alerted when its projected bill is at least this many
    /// percent above its usual bill ...
    #[serde(deserialize_with = "positive")]
    pub high_bill_pct: f64,
    /// ... and at least this many dollars above it: a small bill that
    /// doubles is not worth a message.
    pub min_dollars: f64,
    /// Days of the household's own recent use that project the rest of
    /// its bill period.
    pub recent_days: usize,
    /// Days of the period that must have passed before a projection is
    /// trusted.
    pub min_days: i64,
    /// Share of the households that first qualify for an alert held out,
    /// never alerted, so that what alerts do can be measured (0 to 0.5).
    #[serde(deserialize_with = "share")]
    pub holdout: f64,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            high_bill_pct: 30.0,
            min_dollars: 10.0,
            recent_days: 7,
            min_days: 7,
            holdout: 0.1,
        }
    }
}

impl Alerts {
    pub fn rules(&self) -> crate::alert::AlertRules {
        crate::alert::AlertRules {
            high_bill_pct: self.high_bill_pct,
            min_dollars: self.min_dollars,
            recent_days: self.recent_days,
            min_days: self.min_days,
        }
    }
}

/// `[peak]`: peak-event messages (`neighborly peak-event`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Peak {
    /// Share of households held out of every event's messages (0 to 0.5),
    /// drawn once per household.
    #[serde(deserialize_with = "share")]
    pub holdout: f64,
    /// The baseline looks at this many similar days before the event ...
    pub baseline_days: usize,
    /// ... and averages the highest-use ones of them.
    pub baseline_highest: usize,
    /// A household whose use in the window fell at least this many percent
    /// below its baseline is thanked; the others are encouraged.
    pub thanks_pct: f64,
}

impl Default for Peak {
    fn default() -> Self {
        Peak {
            holdout: 0.1,
            baseline_days: 10,
            baseline_highest: 3,
            thanks_pct: 1.0,
        }
    }
}

impl Peak {
    pub fn rules(&self) -> crate::peak::BaselineRules {
        crate::peak::BaselineRules {
            days: self.baseline_days,
            highest: self.baseline_highest,
        }
    }
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(de::Error::custom(format!(
            "must be a number above 0, not {v}"
        )));
    }
    Ok(v)
}
