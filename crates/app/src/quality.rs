//! The data-quality report: what the inputs of a run were worth, for the
//! analyst who prepares them (`data-quality.csv` and `data-quality.html`
//! in every run folder, and `neighborly check-data` without a run).
//!
//! It is computed from the plan alone, before anything is rendered, so a
//! run and `check-data` on the same inputs say the same thing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use html_escape::encode_text as esc;
use serde::Serialize;

use crate::exception::Reason;
use crate::model::HouseholdIx;
use crate::pipeline::plan::Plan;

/// Examples kept per exception reason.
const EXAMPLES: usize = 3;

/// One line of `data-quality.csv`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QualityRow {
    /// `summary`, `exception`, `locality`, `notice`.
    pub section: &'static str,
    pub item: String,
    pub count: usize,
    /// Of the households in, for exceptions; of the locality's, for
    /// localities (letters); of the period's bills, for estimated reads.
    pub share_pct: String,
    pub detail: String,
}

/// One locality's coverage.
#[derive(Debug, Default, Clone)]
struct Locality {
    households: usize,
    with_bill: usize,
    compared: usize,
    dropped_similarity: usize,
    letters: usize,
}

/// The report, ready to write.
#[derive(Debug, Default)]
pub struct Quality {
    pub period: String,
    pub households_in: usize,
    pub letters: usize,
    pub bills: usize,
    pub estimated_bills: usize,
    /// Reason -> (count, first examples).
    exceptions: BTreeMap<Reason, (usize, Vec<String>)>,
    localities: BTreeMap<String, Locality>,
    pub notices: Vec<String>,
}

impl Quality {
    /// The quality of the inputs `plan` was made from (a run takes it
    /// before rendering adds exceptions of its own).
    pub fn of(plan: &Plan) -> Quality {
        let mut q = Quality {
            period: plan.period.to_string(),
            households_in: plan.households_in,
            letters: plan.letters.len(),
            notices: plan.notices.clone(),
            ..Quality::default()
        };
        for e in &plan.exceptions {
            let entry = q.exceptions.entry(e.reason).or_default();
            entry.0 += 1;
            if entry.1.len() < EXAMPLES {
                entry.1.push(format!("{}: {}", e.account_id, e.detail));
            }
        }
        let mailed: HashSet<HouseholdIx> = plan.letters.iter().map(|l| l.household).collect();
        let dropped: HashSet<HouseholdIx> = plan.similarity_dropped.iter().copied().collect();
        let mut localities: HashMap<&str, Locality> = HashMap::new();
        for (i, h) in plan.households.iter().enumerate() {
            let ix = HouseholdIx::new(i);
            let l = localities.entry(h.locality.as_str()).or_default();
            l.households += 1;
            if let Some(b) = plan.bills[i].iter().find(|b| b.period() == plan.period) {
                l.with_bill += 1;
                q.bills += 1;
                q.estimated_bills += usize::from(b.estimated);
            }
            l.compared += usize::from(plan.comparisons[i].is_some());
            l.dropped_similarity += usize::from(dropped.contains(&ix));
            l.letters += usize::from(mailed.contains(&ix));
        }
        q.localities = localities
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        q
    }

    /// Every figure as rows of `data-quality.csv`.
    pub fn rows(&self) -> Vec<QualityRow> {
        let pct = |n: usize, of: usize| {
            if of == 0 {
                String::new()
            } else {
                format!("{:.1}", 100.0 * n as f64 / of as f64)
            }
        };
        let row = |section, item: &str, count, share_pct, detail: String| QualityRow {
            section,
            item: item.to_string(),
            count,
            share_pct,
            detail,
        };
        let mut out = vec![
            row(
                "summary",
                "households in",
                self.households_in,
                String::new(),
                String::new(),
            ),
            row(
                "summary",
                "letters",
                self.letters,
                pct(self.letters, self.households_in),
                String::new(),
            ),
            row(
                "summary",
                "estimated reads",
                self.estimated_bills,
                pct(self.estimated_bills, self.bills),
                format!("of {} bills for {}", self.bills, self.period),
            ),
        ];
        let dropped: usize = self.localities.values().map(|l| l.dropped_similarity).sum();
        out.push(row(
            "summary",
            "compared with the whole locality",
            dropped,
            String::new(),
            "too few homes shared their traits: the letter says so".into(),
        ));
        for (reason, (n, examples)) in &self.exceptions {
            out.push(row(
                "exception",
                reason.code(),
                *n,
                pct(*n, self.households_in),
                examples.join(" | "),
            ));
        }
        for (name, l) in &self.localities {
            out.push(row(
                "locality",
                name,
                l.households,
                pct(l.letters, l.households),
                format!(
                    "{} with a bill for {}, {} compared, {} with the whole locality, {} letters",
                    l.with_bill, self.period, l.compared, l.dropped_similarity, l.letters
                ),
            ));
        }
        for n in &self.notices {
            out.push(row("notice", "input", 1, String::new(), n.clone()));
        }
        out
    }

    /// A page an analyst opens in a browser: self-contained, no scripts,
    /// every value from the inputs escaped.
    pub fn html(&self, utility: &str) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Data quality, {period}</title><style>{STYLE}</style></head><body>\
             <h1>Data quality: {utility}, {period}</h1>",
            period = esc(&self.period),
            utility = esc(utility),
        );
        let _ = write!(
            s,
            "<p class=\"lead\">{} households in, {} letters, {} set aside. \
             {} of {} bills for the period were estimated.</p>",
            self.households_in,
            self.letters,
            self.exceptions.values().map(|e| e.0).sum::<usize>(),
            self.estimated_bills,
            self.bills
        );
        s.push_str(
            "<h2>Households set aside, by reason</h2><p class=\"key\"><span class=\"data\">data to fix</span> \
             <span class=\"hold\">held on purpose or by the rules</span></p>",
        );
        s.push_str("<table><thead><tr><th>reason</th><th class=\"n\">households</th><th>share</th><th>first examples</th></tr></thead><tbody>");
        for (reason, (n, examples)) in &self.exceptions {
            let share = 100.0 * *n as f64 / self.households_in.max(1) as f64;
            let kind = if reason.is_data_error() {
                "data"
            } else {
                "hold"
            };
            let _ = write!(
                s,
                "<tr class=\"{kind}\"><td><code>{}</code></td><td class=\"n\">{n}</td>\
                 <td><span class=\"bar\" style=\"width:{:.0}px\"></span> {share:.1}%</td><td><ul>",
                reason.code(),
                share.clamp(0.0, 100.0) * 1.2
            );
            for e in examples {
                let _ = write!(s, "<li>{}</li>", esc(e));
            }
            s.push_str("</ul></td></tr>");
        }
        s.push_str("</tbody></table>");
        s.push_str("<h2>Coverage by locality</h2>");
        s.push_str("<table><thead><tr><th>locality</th><th class=\"n\">households read</th><th class=\"n\">with a bill</th><th class=\"n\">compared</th><th class=\"n\">compared with the whole locality</th><th class=\"n\">letters</th></tr></thead><tbody>");
        for (name, l) in &self.localities {
            let flag = if l.dropped_similarity > 0 {
                " class=\"relaxed\""
            } else {
                ""
            };
            let _ = write!(
                s,
                "<tr{flag}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(name),
                l.households,
                l.with_bill,
                l.compared,
                l.dropped_similarity,
                l.letters
            );
        }
        s.push_str("</tbody></table>");
        if !self.notices.is_empty() {
            s.push_str("<h2>Notices about the input files</h2><ul>");
            for n in &self.notices {
                let _ = write!(s, "<li>{}</li>", esc(n));
            }
            s.push_str("</ul>");
        }
        s.push_str("</body></html>\n");
        s
    }

    /// Write the CSV and the page.
    pub fn write(&self, csv: &Path, html: &Path, utility: &str) -> Result<()> {
        crate::output::write_rows(csv, &self.rows())?;
        crate::output::writing(html, |p| Ok(std::fs::write(p, self.html(utility))?))
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1d2731}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}.lead{font-size:1.05rem}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d5dde4;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#eef3f7}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
ul{margin:0;padding-left:1.1rem}code{font-size:.92em}\
.bar{display:inline-block;height:.7rem;background:#2f6f9f;vertical-align:middle}\
tr.data td:first-child{border-left:4px solid #b3541e}tr.hold td:first-child{border-left:4px solid #8aa3b5}\
tr.relaxed td{background:#fff7e6}td:nth-child(-n+3){white-space:nowrap}\
.key span{padding-left:.4rem;margin-right:1rem}.key .data{border-left:4px solid #b3541e}.key .hold{border-left:4px solid #8aa3b5}";
