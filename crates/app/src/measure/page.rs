//! The evaluation page's data: the JSON `report-templates/evaluation.typ` reads.

use serde::Serialize;

use super::{EvaluateOptions, Evaluation};
use crate::config::Config;

/// Entry template of the evaluation page, inside the templates folder.
pub const TEMPLATE: &str = "/evaluation.typ";

#[derive(Serialize)]
pub struct Page {
    pub title: String,
    /// `did` or `caltrack`: the page says how the saving was estimated.
    pub method: String,
    pub utility: String,
    pub experiment: String,
    pub pre: String,
    pub post: String,
    pub unit: String,
    pub headline: String,
    /// How the groups were drawn: the first sentence of the method.
    pub assignment: String,
    pub estimate: Option<super::Estimate>,
    pub rows: Vec<super::Estimate>,
    pub rates: Vec<super::RateRow>,
    pub left_out: usize,
    /// What a reader must know before trusting the estimate.
    pub warnings: Vec<String>,
    /// None when no month has data in either group.
    pub chart_svg: Option<String>,
    pub chart_alt: String,
}

fn pct(x: f64) -> String {
    format!("{x:.1}%")
}

/// A group's name as a reader of the page says it (the CSV keeps the codes).
fn label(group: &str) -> String {
    match group.split_once(':') {
        Some(("rating", r)) => format!(
            "Rated {} at enrolment",
            match r {
                "great" => "Great",
                "good" => "Good",
                "above-typical" => "Above typical",
                _ => "(no comparison)",
            }
        ),
        Some(("assistance", "yes")) => "In an assistance program".to_string(),
        Some(("assistance", _)) => "In no assistance program".to_string(),
        Some(("language", "es")) => "Letters in Spanish".to_string(),
        Some(("language", l)) => format!("Letters in {}", if l == "en" { "English" } else { l }),
        Some(("locality", l)) => format!("Locality {l}"),
        Some(("pre-use-quintile", q)) => format!(
            "Pre-period use, {} fifth",
            ["lowest", "second", "middle", "fourth", "highest"]
                [q.parse::<usize>().unwrap_or(1).clamp(1, 5) - 1]
        ),
        _ => "All households".to_string(),
    }
}

pub fn build(
    config: &Config,
    opts: &EvaluateOptions,
    e: &Evaluation,
) -> Result<Page, crate::chart::ChartError> {
    let labels: Vec<String> = e.months.iter().map(|m| m.period.clone()).collect();
    let treated: Vec<Option<f64>> = e.months.iter().map(|m| m.treatment_per_day).collect();
    let control: Vec<Option<f64>> = e.months.iter().map(|m| m.control_per_day).collect();
    let start = e.months.iter().take_while(|m| m.window == "pre").count();
    let unit = format!("{}/day", e.unit);
    let any = treated.iter().chain(&control).any(Option::is_some);
    let chart_svg = if any {
        Some(crate::chart::trend_svg(
            &labels,
            &treated,
            &control,
            start,
            ("Treatment group", "Control group", "letters start"),
            &unit,
        )?)
    } else {
        None
    };
    let what = match &opts.campaign {
        Some(c) => format!("campaign {c}"),
        None if opts.alerts => "bill-to-date alerts".to_string(),
        None => "the monthly home reports".to_string(),
    };
    let headline = match e.overall() {
        Some(o) if o.ci_low_pct > 0.0 => format!(
            "Households assigned to {what} used {} less than the control group (95% confidence interval {} to {}).",
            pct(o.savings_pct),
            pct(o.ci_low_pct),
            pct(o.ci_high_pct)
        ),
        Some(o) => format!(
            "No saving can be told apart from chance: the estimate is {} and the 95% confidence interval, {} to {}, includes zero.",
            pct(o.savings_pct),
            pct(o.ci_low_pct),
            pct(o.ci_high_pct)
        ),
        None => "Savings cannot be estimated: a group has fewer than two households with bills in both windows.".to_string(),
    };
    let chart_alt = format!(
        "Line chart of average daily use per month, {} to {}, for the treatment and control groups; letters start in {}.",
        opts.pre.from, opts.post.to, opts.post.from
    );
    let assignment = if opts.alerts {
        "Households were drawn at random, within each locality, the first time their bill looked high: sent alerts (treatment) or never alerted (control). Every drawn household is counted whether or not an alert reached it (intention to treat)."
    } else {
        "Households were assigned at random, within each group of similar neighboring homes, to receive letters (treatment) or nothing (control), and every assigned household is counted whether or not a letter reached it (intention to treat)."
    };
    Ok(Page {
        assignment: assignment.to_string(),
        method: e.method.to_string(),
        title: format!("{}: evaluation of {what}", config.utility.name),
        utility: config.utility.name.clone(),
        experiment: e.experiment.clone(),
        pre: opts.pre.to_string(),
        post: opts.post.to_string(),
        unit,
        headline,
        estimate: e.overall().cloned(),
        // Localities are many: evaluation.csv has them, the page does not.
        rows: e
            .estimates
            .iter()
            .filter(|r| !r.group.starts_with("locality:"))
            .map(|r| super::Estimate {
                group: label(&r.group),
                ..r.clone()
            })
            .collect(),
        rates: e.rates.clone(),
        left_out: e.left_out,
        warnings: e.warnings.clone(),
        chart_svg,
        chart_alt,
    })
}
