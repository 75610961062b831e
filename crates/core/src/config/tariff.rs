//! `[tariff.water]` / `[tariff.electric]`: what the utility charges, so a
//! report can say what the household's use cost and what it could save.
//!
//! ```toml
//! [tariff.water]
//! unit = "kgal"            # the unit the tier bounds and rates are in
//! fixed = 18.50            # per bill
//! tiers = [{ up_to = 6, rate = 4.10 }, { up_to = 15, rate = 5.60 }, { rate = 8.25 }]
//!
//! [[tariff.water.seasons]] # optional: other tiers in some months
//! months = [6, 7, 8, 9]
//! tiers = [{ up_to = 8, rate = 4.10 }, { rate = 7.00 }]
//!
//! [tariff.water.budget]    # or: a water budget per household (California style)
//! indoor_per_person_per_day = 55     # gallons
//! outdoor_per_sqft_per_day = 0.05    # gallons per irrigable sq ft (column irrigable_sqft)
//! tiers = [{ up_to_pct = 100, rate = 4.0 }, { up_to_pct = 150, rate = 6.0 }, { rate = 10.0 }]
//! ```
//!
//! Every value is checked while the file is read, so a mistake fails with
//! the config's file, line and column.

use serde::Deserialize;

use crate::model::{ParseError, Service, Unit};

/// One step of a tiered rate: use up to `up_to` (in the tariff's unit per
/// billing period; none on the last tier) costs `rate` per unit.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub up_to: Option<f64>,
    pub rate: f64,
}

/// Tiers that apply in some months instead of the base ones.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    pub months: Vec<u32>,
    pub tiers: Vec<Tier>,
}

/// A budget tier: use up to `up_to_pct` percent of the household's budget.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetTier {
    pub up_to_pct: Option<f64>,
    pub rate: f64,
}

/// A water budget: indoor use per person plus outdoor use per irrigable
/// square foot (the customer file's `irrigable_sqft` column, where given).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub indoor_per_person_per_day: f64,
    #[serde(default)]
    pub outdoor_per_sqft_per_day: f64,
    pub tiers: Vec<BudgetTier>,
}

/// A service's tariff, checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawTariff")]
pub struct Tariff {
    pub unit: Unit,
    /// Canonical units (gal, kWh) per tariff unit.
    pub factor: f64,
    pub fixed: f64,
    pub tiers: Vec<Tier>,
    pub seasons: Vec<Season>,
    pub budget: Option<Budget>,
    /// Printed before the amount in English, after it in Spanish.
    pub symbol: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTariff {
    unit: String,
    #[serde(default)]
    fixed: f64,
    #[serde(default)]
    tiers: Vec<Tier>,
    #[serde(default)]
    seasons: Vec<Season>,
    budget: Option<Budget>,
    #[serde(default = "dollar")]
    symbol: String,
}

fn dollar() -> String {
    "$".into()
}

fn check_rate(rate: f64) -> Result<(), String> {
    if rate.is_finite() && rate >= 0.0 {
        Ok(())
    } else {
        Err(format!("rate {rate} must be a number of 0 or more"))
    }
}

/// Bounds rise strictly, every tier but the last has one, the last has none.
fn check_bounds(bounds: &[Option<f64>], rates: &[f64], what: &str) -> Result<(), String> {
    if bounds.is_empty() {
        return Err(format!("{what}: at least one tier is needed"));
    }
    let mut last = 0.0;
    for (i, (b, r)) in bounds.iter().zip(rates).enumerate() {
        check_rate(*r).map_err(|e| format!("{what}: tier {}: {e}", i + 1))?;
        let final_tier = i + 1 == bounds.len();
        match (b, final_tier) {
            (Some(_), true) => {
                return Err(format!(
                    "{what}: the last tier has no upper bound (leave `up_to` out)"
                ));
            }
            (None, false) => {
                return Err(format!(
                    "{what}: tier {} needs an upper bound; only the last tier has none",
                    i + 1
                ));
            }
            (Some(b), false) if !(b.is_finite() && *b > last) => {
                return Err(format!(
                    "{what}: tier {} bound {b} must be above the tier before it ({last})",
                    i + 1
                ));
            }
            (Some(b), false) => last = *b,
            (None, true) => {}
        }
    }
    Ok(())
}

impl TryFrom<RawTariff> for Tariff {
    type Error = String;

    fn try_from(raw: RawTariff) -> Result<Tariff, String> {
        let unit: Unit = raw.unit.parse().map_err(|e: ParseError| e.to_string())?;
        let (_, factor) = unit.to_canonical();
        if !(raw.fixed.is_finite() && raw.fixed >= 0.0) {
            return Err(format!("fixed charge {} must be 0 or more", raw.fixed));
        }
        let tiered = |tiers: &[Tier], what: &str| {
            let bounds: Vec<Option<f64>> = tiers.iter().map(|t| t.up_to).collect();
            let rates: Vec<f64> = tiers.iter().map(|t| t.rate).collect();
            check_bounds(&bounds, &rates, what)
        };
        match (&raw.budget, raw.tiers.is_empty()) {
            (Some(_), false) => {
                return Err("give either `tiers` or a `budget`, not both".into());
            }
            (None, true) => return Err("a tariff needs `tiers` or a `budget`".into()),
            (None, false) => tiered(&raw.tiers, "tiers")?,
            (Some(b), true) => {
                let bounds: Vec<Option<f64>> = b.tiers.iter().map(|t| t.up_to_pct).collect();
                let rates: Vec<f64> = b.tiers.iter().map(|t| t.rate).collect();
                check_bounds(&bounds, &rates, "budget tiers")?;
                for (v, name) in [
                    (b.indoor_per_person_per_day, "indoor_per_person_per_day"),
                    (b.outdoor_per_sqft_per_day, "outdoor_per_sqft_per_day"),
                ] {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(format!("budget {name} must be 0 or more"));
                    }
                }
                if !raw.seasons.is_empty() {
                    return Err("seasons apply to `tiers`; a budget tariff has none".into());
                }
            }
        }
        let mut seen = [false; 13];
        for (i, s) in raw.seasons.iter().enumerate() {
            tiered(&s.tiers, &format!("season {}", i + 1))?;
            if s.months.is_empty() {
                return Err(format!("season {}: name its months (1-12)", i + 1));
            }
            for &m in &s.months {
                if !(1..=12).contains(&m) {
                    return Err(format!("season {}: month {m} is not 1-12", i + 1));
                }
                if std::mem::replace(&mut seen[m as usize], true) {
                    return Err(format!("month {m} is in two seasons"));
                }
            }
        }
        Ok(Tariff {
            unit,
            factor,
            fixed: raw.fixed,
            tiers: raw.tiers,
            seasons: raw.seasons,
            budget: raw.budget,
            symbol: raw.symbol,
        })
    }
}

/// `[tariff]`: one tariff per service; a service without one shows no money.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tariffs {
    pub water: Option<Tariff>,
    pub electric: Option<Tariff>,
    pub gas: Option<Tariff>,
}

impl Tariffs {
    pub fn of(&self, service: Service) -> Option<&Tariff> {
        match service {
            Service::Water => self.water.as_ref(),
            Service::Electric => self.electric.as_ref(),
            Service::Gas => self.gas.as_ref(),
        }
    }

    /// Each tariff's tiers as `check` prints them.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (service, t) in [
            (Service::Water, &self.water),
            (Service::Electric, &self.electric),
            (Service::Gas, &self.gas),
        ] {
            let Some(t) = t else { continue };
            let unit = format!("{:?}", t.unit).to_lowercase();
            let tiers = |tiers: &[Tier]| -> String {
                let mut from = 0.0;
                tiers
                    .iter()
                    .map(|tier| {
                        let s = match tier.up_to {
                            Some(b) => format!("{from}-{b} {unit} at {}{:.2}", t.symbol, tier.rate),
                            None => format!("over {from} {unit} at {}{:.2}", t.symbol, tier.rate),
                        };
                        from = tier.up_to.unwrap_or(from);
                        s
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut line = format!(
                "tariff {}: fixed {}{:.2} per bill; ",
                service.as_str(),
                t.symbol,
                t.fixed
            );
            match &t.budget {
                Some(b) => line.push_str(&format!(
                    "budget {} gal/person/day + {} gal/irrigable sq ft/day, tiers {}",
                    b.indoor_per_person_per_day,
                    b.outdoor_per_sqft_per_day,
                    b.tiers
                        .iter()
                        .map(|x| match x.up_to_pct {
                            Some(p) => format!("to {p}% at {}{:.2}", t.symbol, x.rate),
                            None => format!("above at {}{:.2}", t.symbol, x.rate),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                None => line.push_str(&tiers(&t.tiers)),
            }
            for s in &t.seasons {
                line.push_str(&format!("; months {:?}: {}", s.months, tiers(&s.tiers)));
            }
            out.push(line);
        }
        out
    }
}
