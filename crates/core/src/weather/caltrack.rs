//! CalTRACK 2.0 usage-per-day models: a household's use per day explained
//! by a base load plus heating degree days below, and cooling degree days
//! above, the home's own balance temperatures.
//!
//! The method, as the OpenEEmeter reference implements it (INPUTS.md,
//! "Weather models"):
//! - An observation is a bill (billing data) or a local day (daily data).
//!   A bill's degree days are the mean, over its days with a temperature, of
//!   each day's `max(bp - T, 0)` (heating) or `max(T - bp, 0)` (cooling); it
//!   is weighted by those days. A bill of fewer than 25 or more than 35 days,
//!   or whose hours of temperature are under 90% of its hours, is left out.
//! - Candidates: intercept only; heating only and cooling only at every
//!   balance point from 30 to 90 °F; heating and cooling at every pair with
//!   the heating point not above the cooling one. Ordinary (weighted) least
//!   squares.
//! - A candidate with degree days too few to support it is not fitted: a
//!   total of fewer than 20 degree days (weighted by days for bills), or,
//!   for daily data, fewer than 10 days with any.
//! - A candidate qualifies when its intercept and slopes are not negative
//!   and each slope's p-value is at most 0.1; the intercept-only model has
//!   an adjusted R² of 0. The highest adjusted R² wins; the first of equals
//!   (in the order above) is kept.
//! - Savings in a reporting period are the model's prediction from that
//!   period's temperatures minus the use observed; their 90% uncertainty
//!   follows ASHRAE Guideline 14's fractional savings uncertainty, with
//!   the residuals' autocorrelation.

use chrono::NaiveDate;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::Station;

/// Share of the baseline window's days the used data must cover (CalTRACK
/// 2.0's sufficiency floor).
pub const MIN_BASELINE_COVERAGE: f64 = 0.9;

/// Adjusted R² closer than this are equal.
const TIE: f64 = 1e-12;

/// Balance points tried, °F.
pub const BALANCE_POINTS: std::ops::RangeInclusive<u32> = 30..=90;

/// The four kinds of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    InterceptOnly,
    HddOnly,
    CddOnly,
    HddCdd,
}

impl ModelType {
    pub fn code(self) -> &'static str {
        match self {
            ModelType::InterceptOnly => "intercept_only",
            ModelType::HddOnly => "hdd_only",
            ModelType::CddOnly => "cdd_only",
            ModelType::HddCdd => "hdd_cdd",
        }
    }
}

/// Bills or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Billing,
    Daily,
}

/// The settings a fit follows (CalTRACK's, unless a utility decides otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub max_p_value: f64,
    /// Fewest degree days (times days, for bills) a slope needs.
    pub min_total_degree_days: f64,
    /// Fewest days with any degree days a slope needs (daily data).
    pub min_days_with_degree_days: usize,
    /// Cooling candidates are tried (not for gas).
    pub fit_cooling: bool,
    pub granularity: Granularity,
}

impl Rules {
    pub fn caltrack(granularity: Granularity, fit_cooling: bool) -> Rules {
        Rules {
            max_p_value: 0.1,
            min_total_degree_days: 20.0,
            min_days_with_degree_days: match granularity {
                Granularity::Billing => 0,
                Granularity::Daily => 10,
            },
            fit_cooling,
            granularity,
        }
    }
}

/// One bill or day of use, with its dates (inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub quantity: f64,
}

/// A bill as the model takes it.
impl From<&crate::model::Bill> for Usage {
    fn from(b: &crate::model::Bill) -> Usage {
        Usage {
            start: b.start,
            end: b.end,
            quantity: b.quantity,
        }
    }
}

/// A read (a billing period) as the model takes it.
impl From<&crate::model::Read> for Usage {
    fn from(r: &crate::model::Read) -> Usage {
        Usage {
            start: r.start,
            end: r.end,
            quantity: r.quantity,
        }
    }
}

impl Usage {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// An observation ready for the regression.
#[derive(Debug, Clone)]
struct Row {
    /// Use per day.
    y: f64,
    weight: f64,
    days: f64,
    /// Mean daily heating and cooling degree days at each balance point.
    hdd: Vec<f64>,
    cdd: Vec<f64>,
}

/// The days of `u` with a mean temperature, or `None` when the period
/// cannot be used: a bill of the wrong length, or under 90% of its hours
/// read (a day under half its hours counts none).
fn temperatures(u: &Usage, station: &Station, granularity: Granularity) -> Option<Vec<f64>> {
    let days = u.days();
    if granularity == Granularity::Billing && !(25..=35).contains(&days) {
        return None;
    }
    let (mut hours, mut length, mut temps) = (0u32, 0u32, Vec::new());
    for d in u.start.iter_days().take(days as usize) {
        match station.days.get(&d) {
            Some(t) => {
                hours += t.hours;
                length += t.length;
                temps.extend(t.mean());
            }
            None => length += 24,
        }
    }
    let enough = match granularity {
        Granularity::Billing => hours as f64 >= 0.9 * length as f64,
        Granularity::Daily => true,
    };
    (enough && !temps.is_empty()).then_some(temps)
}

fn degree_days(temps: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = temps.len() as f64;
    BALANCE_POINTS
        .map(|bp| {
            let bp = bp as f64;
            let h: f64 = temps.iter().map(|t| (bp - t).max(0.0)).sum();
            let c: f64 = temps.iter().map(|t| (t - bp).max(0.0)).sum();
            (h / n, c / n)
        })
        .unzip()
}

fn row(u: &Usage, station: &Station, granularity: Granularity) -> Option<Row> {
    let temps = temperatures(u, station, granularity)?;
    let days = u.days() as f64;
    let (hdd, cdd) = degree_days(&temps);
    Some(Row {
        y: u.quantity / days,
        weight: match granularity {
            Granularity::Billing => temps.len() as f64,
            Granularity::Daily => 1.0,
        },
        days,
        hdd,
        cdd,
    })
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Model {
    pub model_type: ModelType,
    pub heating_balance_f: Option<u32>,
    pub cooling_balance_f: Option<u32>,
    /// Base load, use per day.
    pub intercept_per_day: f64,
    /// Use per day per heating / cooling degree day.
    pub beta_hdd: Option<f64>,
    pub beta_cdd: Option<f64>,
    pub r2_adj: f64,
    /// Root-mean-square error of use per day over its mean (unweighted).
    pub cvrmse: f64,
    /// Observations the fit used.
    pub n_periods: usize,
    /// Days the observations cover.
    pub n_days: f64,
    #[serde(skip)]
    totals: Totals,
}

/// The fit's residuals on period totals, for the savings uncertainty.
#[derive(Debug, Clone, Default, PartialEq)]
struct Totals {
    rmse_adj: f64,
    autocorrelation: f64,
    mean: f64,
    variance: f64,
    n: f64,
    parameters: f64,
}

/// A weighted least-squares fit of use per day on an intercept and one or
/// two degree-day columns.
struct Fit {
    /// Intercept, then the slopes (heating before cooling).
    beta: [f64; 3],
    /// Each slope over its standard error.
    t: [f64; 2],
    /// How many slopes.
    slopes: usize,
    r2_adj: f64,
}

impl Fit {
    fn slopes(&self) -> &[f64] {
        &self.beta[1..=self.slopes]
    }
}

/// Weighted sums over the rows, so that each of the ~2,000 candidates is a
/// 2x2 solve rather than a pass over the data: totals of weight, use, use
/// squared, and per balance point of each degree-day column, its square and
/// its product with use; the heating-cooling products per pair are made on
/// demand.
struct Sums<'r> {
    rows: &'r [Row],
    w: f64,
    y: f64,
    yy: f64,
    h: Vec<f64>,
    hh: Vec<f64>,
    hy: Vec<f64>,
    c: Vec<f64>,
    cc: Vec<f64>,
    cy: Vec<f64>,
}

impl<'r> Sums<'r> {
    fn of(rows: &'r [Row]) -> Sums<'r> {
        let n = BALANCE_POINTS.count();
        let mut s = Sums {
            rows,
            w: 0.0,
            y: 0.0,
            yy: 0.0,
            h: vec![0.0; n],
            hh: vec![0.0; n],
            hy: vec![0.0; n],
            c: vec![0.0; n],
            cc: vec![0.0; n],
            cy: vec![0.0; n],
        };
        for r in rows {
            let (w, y) = (r.weight, r.y);
            s.w += w;
            s.y += w * y;
            s.yy += w * y * y;
            for b in 0..n {
                let (h, c) = (r.hdd[b], r.cdd[b]);
                s.h[b] += w * h;
                s.hh[b] += w * h * h;
                s.hy[b] += w * h * y;
                s.c[b] += w * c;
                s.cc[b] += w * c * c;
                s.cy[b] += w * c * y;
            }
        }
        s
    }

    /// Σ w·(h - h̄)(c - c̄) for one pair.
    fn hc(&self, h: usize, c: usize) -> f64 {
        let raw: f64 = self
            .rows
            .iter()
            .map(|r| r.weight * r.hdd[h] * r.cdd[c])
            .sum();
        raw - self.h[h] * self.c[c] / self.w
    }

    /// The centered column: (Σw·x, Σw·(x - x̄)², Σw·(x - x̄)(y - ȳ)).
    fn column(&self, kind: Column, b: usize) -> (f64, f64, f64) {
        let (x, xx, xy) = match kind {
            Column::Heating => (self.h[b], self.hh[b], self.hy[b]),
            Column::Cooling => (self.c[b], self.cc[b], self.cy[b]),
        };
        (x, xx - x * x / self.w, xy - x * self.y / self.w)
    }

    /// Fit the intercept and the given columns (none, one or two).
    fn fit(&self, columns: &[(Column, usize)]) -> Option<Fit> {
        // Fixed-size arrays throughout: this runs ~2,000 times a household.
        let n = self.rows.len();
        let m = columns.len();
        let k = m + 1;
        if n <= k {
            return None;
        }
        let tss = self.yy - self.y * self.y / self.w;
        let mut cols = [(0.0, 0.0, 0.0); 2];
        for (slot, &(c, b)) in cols.iter_mut().zip(columns) {
            *slot = self.column(c, b);
        }
        // The slopes solve C·β = v with C the centered cross-products.
        let mut slopes = [0.0; 2];
        let mut inverse_diag = [0.0; 2];
        match m {
            0 => {}
            1 => {
                let (_, sxx, sxy) = cols[0];
                if sxx <= 1e-12 * self.w {
                    return None;
                }
                slopes[0] = sxy / sxx;
                inverse_diag[0] = 1.0 / sxx;
            }
            2 => {
                let ((_, s11, s1y), (_, s22, s2y)) = (cols[0], cols[1]);
                let s12 = self.hc(columns[0].1, columns[1].1);
                let det = s11 * s22 - s12 * s12;
                if det <= 1e-12 * (s11 * s22).max(1e-300) {
                    return None;
                }
                slopes = [(s22 * s1y - s12 * s2y) / det, (s11 * s2y - s12 * s1y) / det];
                inverse_diag = [s22 / det, s11 / det];
            }
            _ => unreachable!("at most two degree-day columns"),
        }
        let explained: f64 = (0..m).map(|j| slopes[j] * cols[j].2).sum();
        let ssr = (tss - explained).max(0.0);
        let intercept = (self.y - (0..m).map(|j| slopes[j] * cols[j].0).sum::<f64>()) / self.w;
        let df = (n - k) as f64;
        let sigma2 = ssr / df;
        let mut t = [f64::INFINITY; 2];
        for j in 0..m {
            let se = (sigma2 * inverse_diag[j]).sqrt();
            if se > 0.0 {
                t[j] = slopes[j] / se;
            }
        }
        let r2 = if tss > 0.0 { 1.0 - ssr / tss } else { 0.0 };
        Some(Fit {
            beta: [intercept, slopes[0], slopes[1]],
            t,
            slopes: m,
            r2_adj: 1.0 - (n as f64 - 1.0) / df * (1.0 - r2),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Heating,
    Cooling,
}

/// A candidate: its kind and the balance points' positions in the grid.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    model_type: ModelType,
    heating: Option<usize>,
    cooling: Option<usize>,
}

fn candidates(rules: &Rules) -> Vec<Candidate> {
    let n = BALANCE_POINTS.count();
    let mut out = vec![Candidate {
        model_type: ModelType::InterceptOnly,
        heating: None,
        cooling: None,
    }];
    out.extend((0..n).map(|h| Candidate {
        model_type: ModelType::HddOnly,
        heating: Some(h),
        cooling: None,
    }));
    if rules.fit_cooling {
        out.extend((0..n).map(|c| Candidate {
            model_type: ModelType::CddOnly,
            heating: None,
            cooling: Some(c),
        }));
        for c in 0..n {
            out.extend((0..=c).map(|h| Candidate {
                model_type: ModelType::HddCdd,
                heating: Some(h),
                cooling: Some(c),
            }));
        }
    }
    out
}

/// Which balance points have degree days enough to estimate a slope: a
/// total (times days, for bills) of at least `min_total_degree_days`, on
/// at least `min_days_with_degree_days` observations.
fn supported(rows: &[Row], rules: &Rules, column: impl Fn(&Row) -> &[f64]) -> Vec<bool> {
    (0..BALANCE_POINTS.count())
        .map(|b| {
            let total: f64 = rows.iter().map(|r| column(r)[b] * r.weight).sum();
            let with = rows.iter().filter(|r| column(r)[b] > 0.0).count();
            total >= rules.min_total_degree_days && with >= rules.min_days_with_degree_days
        })
        .collect()
}

/// The |t| a slope needs for its two-sided p-value to be at most
/// `max_p`, by the number of coefficients (1 to 3): one quantile per fit
/// rather than a distribution function per candidate.
fn critical_t(rows: usize, max_p: f64) -> [f64; 4] {
    // The quantile is an iterative search: a run of a million households
    // asks for the same few, so each thread keeps those it has computed.
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<(usize, u64), [f64; 4]>> =
            Default::default();
    }
    KNOWN.with(|known| {
        *known
            .borrow_mut()
            .entry((rows, max_p.to_bits()))
            .or_insert_with(|| critical_t_uncached(rows, max_p))
    })
}

fn critical_t_uncached(rows: usize, max_p: f64) -> [f64; 4] {
    let mut out = [f64::INFINITY; 4];
    for (k, c) in out.iter_mut().enumerate().skip(1) {
        if rows > k
            && let Ok(t) = StudentsT::new(0.0, 1.0, (rows - k) as f64)
        {
            *c = t.inverse_cdf(1.0 - max_p / 2.0);
        }
    }
    out
}

/// Fit a household's model on its baseline use, or `None` when no
/// candidate qualifies (or no period can be used).
pub fn fit(usage: &[Usage], station: &Station, rules: &Rules) -> Option<Model> {
    let rows: Vec<Row> = usage
        .iter()
        .filter_map(|u| row(u, station, rules.granularity))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let sums = Sums::of(&rows);
    let critical = critical_t(rows.len(), rules.max_p_value);
    let heating_ok = supported(&rows, rules, |r| &r.hdd);
    let cooling_ok = supported(&rows, rules, |r| &r.cdd);
    let mut best: Option<(Fit, Candidate)> = None;
    for c in candidates(rules) {
        if c.heating.is_some_and(|h| !heating_ok[h]) || c.cooling.is_some_and(|k| !cooling_ok[k]) {
            continue;
        }
        let mut columns = [(Column::Heating, 0); 2];
        let mut m = 0;
        for column in [
            c.heating.map(|h| (Column::Heating, h)),
            c.cooling.map(|k| (Column::Cooling, k)),
        ]
        .into_iter()
        .flatten()
        {
            columns[m] = column;
            m += 1;
        }
        let Some(mut found) = sums.fit(&columns[..m]) else {
            continue;
        };
        let needed = critical[m + 1];
        if found.beta[0] < 0.0
            || found.slopes().iter().any(|b| *b < 0.0)
            || found.t[..m].iter().any(|t| t.abs() < needed)
        {
            continue;
        }
        if c.model_type == ModelType::InterceptOnly {
            found.r2_adj = 0.0;
        }
        // Balance points below every day's temperature (or above) fit
        // equally well; rounding must not choose among them: the first wins.
        if best
            .as_ref()
            .is_none_or(|b| found.r2_adj > b.0.r2_adj + TIE)
        {
            best = Some((found, c));
        }
    }
    let (fit, c) = best?;
    let bp = |i: usize| *BALANCE_POINTS.start() + i as u32;
    let mut betas = fit.slopes().iter().copied();
    let beta_hdd = c.heating.and_then(|_| betas.next());
    let beta_cdd = c.cooling.and_then(|_| betas.next());
    let mut model = Model {
        model_type: c.model_type,
        heating_balance_f: c.heating.map(bp),
        cooling_balance_f: c.cooling.map(bp),
        intercept_per_day: fit.beta[0],
        beta_hdd,
        beta_cdd,
        r2_adj: fit.r2_adj,
        cvrmse: 0.0,
        n_periods: rows.len(),
        n_days: rows.iter().map(|r| r.days).sum(),
        totals: Totals::default(),
    };
    let per_day: Vec<f64> = rows
        .iter()
        .map(|r| model.per_day(mean_hdd(&model, r), mean_cdd(&model, r)))
        .collect();
    let n = rows.len() as f64;
    let mean_abs = rows.iter().map(|r| r.y.abs()).sum::<f64>() / n;
    let sse: f64 = rows
        .iter()
        .zip(&per_day)
        .map(|(r, p)| (p - r.y).powi(2))
        .sum();
    model.cvrmse = (sse / n).sqrt() / mean_abs;
    model.totals = totals(&model, &rows, &per_day);
    Some(model)
}

fn mean_hdd(m: &Model, r: &Row) -> f64 {
    m.heating_balance_f
        .map_or(0.0, |bp| r.hdd[(bp - BALANCE_POINTS.start()) as usize])
}

fn mean_cdd(m: &Model, r: &Row) -> f64 {
    m.cooling_balance_f
        .map_or(0.0, |bp| r.cdd[(bp - BALANCE_POINTS.start()) as usize])
}

fn totals(model: &Model, rows: &[Row], per_day: &[f64]) -> Totals {
    let observed: Vec<f64> = rows.iter().map(|r| r.y * r.days).collect();
    let residuals: Vec<f64> = rows
        .iter()
        .zip(per_day)
        .zip(&observed)
        .map(|((r, p), o)| p * r.days - o)
        .collect();
    let n = rows.len() as f64;
    let parameters = (model.beta_hdd.is_some() as u8 + model.beta_cdd.is_some() as u8) as f64;
    let mean = observed.iter().map(|o| o.abs()).sum::<f64>() / n;
    let centre = observed.iter().sum::<f64>() / n;
    Totals {
        rmse_adj: (residuals.iter().map(|e| e * e).sum::<f64>() / (n - parameters)).sqrt(),
        autocorrelation: lag_one_correlation(&residuals),
        mean,
        variance: observed.iter().map(|o| (o - centre).powi(2)).sum::<f64>() / n,
        n,
        parameters,
    }
}

/// Pearson correlation of a series with itself one step later.
fn lag_one_correlation(e: &[f64]) -> f64 {
    if e.len() < 3 {
        return f64::NAN;
    }
    let (a, b) = (&e[..e.len() - 1], &e[1..]);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// What the model says about one period: its use split into base load,
/// heating and cooling.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Predicted {
    pub base: f64,
    pub heating: f64,
    pub cooling: f64,
}

impl Predicted {
    pub fn total(&self) -> f64 {
        self.base + self.heating + self.cooling
    }
}

impl Model {
    fn per_day(&self, hdd: f64, cdd: f64) -> f64 {
        self.intercept_per_day
            + self.beta_hdd.unwrap_or(0.0) * hdd
            + self.beta_cdd.unwrap_or(0.0) * cdd
    }

    /// The model's use over `start..=end` from that stretch's temperatures:
    /// each day's own degree days (a day without a temperature counts the
    /// mean of those with one). `None` when the temperatures do not cover
    /// the stretch (see the module's rules).
    pub fn predict(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        station: &Station,
        granularity: Granularity,
    ) -> Option<Predicted> {
        let u = Usage {
            start,
            end,
            quantity: 0.0,
        };
        let temps = temperatures(&u, station, granularity)?;
        let days = u.days() as f64;
        let n = temps.len() as f64;
        let mean = |f: &dyn Fn(f64) -> f64| temps.iter().map(|t| f(*t)).sum::<f64>() / n;
        let heating = match (self.heating_balance_f, self.beta_hdd) {
            (Some(bp), Some(b)) => b * mean(&|t| (bp as f64 - t).max(0.0)) * days,
            _ => 0.0,
        };
        let cooling = match (self.cooling_balance_f, self.beta_cdd) {
            (Some(bp), Some(b)) => b * mean(&|t| (t - bp as f64).max(0.0)) * days,
            _ => 0.0,
        };
        Some(Predicted {
            base: self.intercept_per_day * days,
            heating,
            cooling,
        })
    }
}

/// Savings over a reporting period: what the baseline model predicts from
/// the period's weather, less what was used.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Savings {
    pub observed: f64,
    pub predicted: f64,
    pub savings: f64,
    /// ASHRAE Guideline 14 fractional savings uncertainty at 90%, in units.
    pub uncertainty_90: Option<f64>,
    /// The regression's own prediction interval for the total at 90%.
    pub ols_uncertainty_90: Option<f64>,
    /// Reporting periods counted.
    pub periods: usize,
}

/// Savings over the reporting periods `usage` (bills or days), each one
/// predicted from its own temperatures; periods the weather does not cover
/// are left out of both totals.
pub fn savings(
    model: &Model,
    usage: &[Usage],
    station: &Station,
    granularity: Granularity,
) -> Option<Savings> {
    let mut rows = Vec::new();
    for u in usage {
        if let Some(p) = model.predict(u.start, u.end, station, granularity) {
            rows.push((u, p.total()));
        }
    }
    let (first, last) = (rows.first()?.0, rows.last()?.0);
    let observed: f64 = rows.iter().map(|(u, _)| u.quantity).sum();
    let predicted: f64 = rows.iter().map(|(_, p)| p).sum();
    // Reporting length: months of bills (as the reference counts them), or days.
    let post = match granularity {
        Granularity::Billing => (((last.end - first.start).num_days() + 1) as f64 / 30.0).round(),
        Granularity::Daily => rows.len() as f64,
    };
    let post_mean = observed / rows.len() as f64;
    let (fsu, ols) = uncertainty(&model.totals, post, post_mean, granularity).unzip();
    Some(Savings {
        observed,
        predicted,
        savings: predicted - observed,
        uncertainty_90: fsu,
        ols_uncertainty_90: ols,
        periods: rows.len(),
    })
}

/// ASHRAE Guideline 14's fractional savings uncertainty (with CalTRACK's
/// fitted correction for the reporting length in place of its constant
/// 1.26) and the OLS interval, both at 90%.
fn uncertainty(t: &Totals, post: f64, post_mean: f64, g: Granularity) -> Option<(f64, f64)> {
    let rho = t.autocorrelation;
    if post == 0.0 || !rho.is_finite() || rho.abs() == 1.0 || t.mean == 0.0 || t.variance == 0.0 {
        return None;
    }
    let student = StudentsT::new(0.0, 1.0, t.n - t.parameters).ok()?;
    let tstat = student.inverse_cdf(0.95);
    let nprime = t.n * (1.0 - rho) / (1.0 + rho);
    let (a, b, c, months) = match g {
        Granularity::Billing => (-0.00022, 0.03306, 0.94054, post),
        Granularity::Daily => (-0.00024, 0.03535, 1.00286, post / 30.0),
    };
    let fsu = t.mean
        * t.n
        * tstat
        * (a * months * months + b * months + c)
        * (t.rmse_adj / t.mean)
        * ((t.n / nprime) * (1.0 + 2.0 / nprime) * (1.0 / post)).sqrt();
    let model_error = tstat * t.rmse_adj * post / t.n.sqrt()
        * (1.0 + (t.mean - post_mean).powi(2) / t.variance).sqrt();
    let noise = tstat * t.rmse_adj * (post * t.n / nprime).sqrt();
    Some((fsu, (model_error.powi(2) + noise.powi(2)).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::DayTemp;

    /// A station whose temperature on day `i` from `first` is `temp(i)`.
    fn station(first: NaiveDate, days: usize, temp: impl Fn(usize) -> f64) -> Station {
        let mut s = Station::default();
        for i in 0..days {
            s.days.insert(
                first + chrono::Days::new(i as u64),
                DayTemp {
                    sum: temp(i) * 24.0,
                    hours: 24,
                    length: 24,
                },
            );
        }
        s
    }

    fn seasonal(i: usize) -> f64 {
        // A year of temperatures from about 20 to 90 °F, with day-to-day noise.
        let noise = ((i * 7919) % 13) as f64 - 6.0;
        55.0 - 35.0 * (2.0 * std::f64::consts::PI * i as f64 / 365.0).cos() + noise
    }

    fn day(i: usize) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(i as u64)
    }

    #[test]
    fn planted_balance_points_and_slopes_are_recovered_from_days() {
        let s = station(day(0), 365, seasonal);
        let usage: Vec<Usage> = (0..365)
            .map(|i| {
                let t = seasonal(i);
                let q = 12.0 + 1.5 * (58.0 - t).max(0.0) + 2.5 * (t - 70.0).max(0.0);
                Usage {
                    start: day(i),
                    end: day(i),
                    quantity: q + ((i * 31) % 5) as f64 * 0.2,
                }
            })
            .collect();
        let m = fit(&usage, &s, &Rules::caltrack(Granularity::Daily, true)).unwrap();
        assert_eq!(m.model_type, ModelType::HddCdd);
        assert_eq!(
            (m.heating_balance_f, m.cooling_balance_f),
            (Some(58), Some(70))
        );
        assert!((m.beta_hdd.unwrap() - 1.5).abs() < 0.01, "{m:?}");
        assert!((m.beta_cdd.unwrap() - 2.5).abs() < 0.02, "{m:?}");
        assert!((m.intercept_per_day - 12.4).abs() < 0.05, "{m:?}");
        assert!(m.r2_adj > 0.99);
    }

    #[test]
    fn bills_weighted_by_days_recover_a_heating_model_and_its_savings() {
        let s = station(day(0), 730, seasonal);
        let bill = |k: usize, cut: f64| {
            let (a, b) = (k * 30, k * 30 + 29);
            let q: f64 = (a..=b)
                .map(|i| 3.0 + 0.4 * (62.0 - seasonal(i)).max(0.0))
                .sum();
            Usage {
                start: day(a),
                end: day(b),
                quantity: q * (1.0 - cut) * (1.0 + 0.01 * ((k * 7) % 3) as f64),
            }
        };
        let baseline: Vec<Usage> = (0..12).map(|k| bill(k, 0.0)).collect();
        let m = fit(&baseline, &s, &Rules::caltrack(Granularity::Billing, false)).unwrap();
        assert_eq!(m.model_type, ModelType::HddOnly);
        assert_eq!(m.heating_balance_f, Some(62));
        assert!((m.beta_hdd.unwrap() - 0.4).abs() < 0.01, "{m:?}");
        // A year later, 10% less.
        let reporting: Vec<Usage> = (12..24).map(|k| bill(k, 0.1)).collect();
        let sv = savings(&m, &reporting, &s, Granularity::Billing).unwrap();
        assert_eq!(sv.periods, 12);
        let share = sv.savings / sv.predicted;
        assert!((share - 0.1).abs() < 0.015, "{sv:?}");
        assert!(sv.uncertainty_90.unwrap() > 0.0 && sv.uncertainty_90.unwrap() < sv.savings);
    }

    #[test]
    fn use_that_ignores_the_weather_gets_the_intercept_only_model() {
        let s = station(day(0), 365, seasonal);
        let usage: Vec<Usage> = (0..365)
            .map(|i| Usage {
                start: day(i),
                end: day(i),
                quantity: 20.0 + ((i * 7919) % 11) as f64,
            })
            .collect();
        let m = fit(&usage, &s, &Rules::caltrack(Granularity::Daily, true)).unwrap();
        assert_eq!(m.model_type, ModelType::InterceptOnly, "{m:?}");
        assert_eq!(m.r2_adj, 0.0);
    }

    #[test]
    fn a_bill_the_weather_does_not_cover_is_left_out() {
        let s = station(day(0), 20, |_| 40.0);
        let u = Usage {
            start: day(0),
            end: day(29),
            quantity: 300.0,
        };
        assert!(temperatures(&u, &s, Granularity::Billing).is_none());
        let short = Usage { end: day(19), ..u };
        assert!(
            temperatures(&short, &s, Granularity::Billing).is_none(),
            "20 days is no bill"
        );
    }
}
