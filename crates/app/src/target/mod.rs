//! Target: reach a chosen segment with a personal message.
//!
//! [`segment`] applies a `[segments.NAME]` rule set to the customer file, or
//! to the households of a period's plan when the rules read ratings, phases
//! or percentiles, and [`write_contacts`] writes the contact list; [`campaign`] sends a
//! one-off letter to a segment through the same print machinery as the
//! monthly run. This module reads the plan; it never changes how the plan is made.

pub mod campaign;
pub mod letter;
pub mod segment;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::config::{Config, Segment};
use crate::model::{Bill, Household};
use crate::pipeline::{Plan, RunOptions};
use segment::Figures;

/// The households a segment picks, in presort order (ZIP, address).
pub struct Selection<'a> {
    pub name: String,
    pub rule: &'a Segment,
    /// Indices into the population.
    pub members: Vec<usize>,
}

/// Who a segment is drawn from. A rule on customer fields alone reads the
/// whole customer file, so a household whose meter reads were rejected is
/// still invited to sample its water; a rule on figures needs the period's
/// comparison, so it draws from the households the plan compared (the
/// caller plans the period only for such rules).
pub fn population(
    config: &Config,
    opts: &RunOptions,
    plan: Option<&Plan>,
    rule: &Segment,
) -> Result<Population> {
    if segment::uses_figures(rule) {
        let plan =
            plan.context("this segment's rules read the period's figures, which need its plan")?;
        return Ok(Population {
            households: plan.households.clone(),
            data_errors: data_errors(&plan.exceptions),
        });
    }
    let (data, _) = read_customer_file(config, opts.customers.as_ref())?;
    Ok(Population {
        households: data.households,
        data_errors: data_errors(&data.exceptions),
    })
}

/// The whole customer file (`--customers`, else the config's), and its path.
pub fn read_customer_file(
    config: &Config,
    customers: Option<&PathBuf>,
) -> Result<(crate::ingest::Dataset, PathBuf)> {
    let (path, _) = config.input_files(customers, None);
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open customer file {}", path.display()))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let data = crate::ingest::read_customers(
        file,
        &name,
        config.utility.service,
        &config.mapping.customers,
    )?;
    Ok((data, path))
}

/// The customer-file accounts a list names (the command line's one id, or
/// an `--file` list), matched as INPUTS.md's "Account lists" says: exactly,
/// else the one account equal ignoring case. Rows rejected for bad data
/// count: they are still customers. Any entry that matches nobody refuses
/// the whole request, naming each such entry with its line, so that an
/// operator's typo is never recorded against nobody while the household
/// goes on getting letters.
pub fn resolve_accounts(
    config: &Config,
    customers: Option<&PathBuf>,
    list: &crate::ingest::AccountList,
) -> Result<Vec<String>> {
    let (data, path) = read_customer_file(config, customers)?;
    resolve_in(&data, &path, list)
}

/// [`resolve_accounts`] over a customer file already read from `path`.
pub fn resolve_in(
    data: &crate::ingest::Dataset,
    path: &Path,
    list: &crate::ingest::AccountList,
) -> Result<Vec<String>> {
    let ids = data
        .households
        .iter()
        .map(|h| h.account_id.as_str())
        .chain(data.exceptions.iter().map(|e| e.account_id.as_str()));
    let matched = list.resolve(ids);
    if !matched.unmatched.is_empty() {
        bail!(
            "nothing recorded: {} in {}:\n{}",
            if matched.unmatched.len() == 1 {
                "an account is not".to_string()
            } else {
                format!("{} accounts are not", matched.unmatched.len())
            },
            path.display(),
            matched.unmatched.join("\n")
        );
    }
    Ok(matched.accounts)
}

/// The households a segment may pick, and how many input rows were rejected.
pub struct Population {
    pub households: Vec<Household>,
    pub data_errors: usize,
}

fn data_errors(exceptions: &[crate::exception::Exception]) -> usize {
    exceptions
        .iter()
        .filter(|e| e.reason.is_data_error())
        .count()
}

/// Each letter's phase by household: the phase rules may read.
fn phases(plan: &Plan) -> HashMap<&str, crate::phase::Phase> {
    plan.letters
        .iter()
        .map(|l| {
            (
                plan.household(l.household).account_id.as_str(),
                l.decision.phase,
            )
        })
        .collect()
}

/// What the plan knows of households, by account (nothing without a plan).
pub struct FigureBook<'a> {
    plan: Option<&'a Plan>,
    index: HashMap<&'a str, usize>,
    phases: HashMap<&'a str, crate::phase::Phase>,
}

impl<'a> FigureBook<'a> {
    pub fn new(plan: Option<&'a Plan>) -> FigureBook<'a> {
        FigureBook {
            plan,
            index: plan
                .iter()
                .flat_map(|p| p.households.iter().enumerate())
                .map(|(i, h)| (h.account_id.as_str(), i))
                .collect(),
            phases: plan.map(phases).unwrap_or_default(),
        }
    }

    pub fn of(&self, account: &str) -> Figures<'a> {
        let (Some(plan), Some(&i)) = (self.plan, self.index.get(account)) else {
            return Figures::default();
        };
        Figures {
            comparison: plan.comparisons[i].as_ref(),
            phase: self.phases.get(account).copied(),
            usage_per_day: plan.bills[i]
                .iter()
                .find(|b| b.period() == plan.period)
                .map(Bill::per_day),
        }
    }
}

/// The segment's rule set, or an error naming the known ones.
pub fn rule<'a>(config: &'a Config, name: &str) -> Result<&'a Segment> {
    config.segments.get(name).with_context(|| {
        format!(
            "no [segments.{name}] in the config (known: {})",
            config
                .segments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Apply the named segment to a population.
pub fn select<'a>(
    config: &'a Config,
    population: &[Household],
    book: &FigureBook<'_>,
    name: &str,
) -> Result<Selection<'a>> {
    let rule = rule(config, name)?;
    let mut members: Vec<usize> = (0..population.len())
        .filter(|&i| segment::matches(rule, &population[i], &book.of(&population[i].account_id)))
        .collect();
    members.sort_by(|&a, &b| presort_key(&population[a]).cmp(&presort_key(&population[b])));
    Ok(Selection {
        name: name.to_string(),
        rule,
        members,
    })
}

fn presort_key(h: &Household) -> (&str, &str, &str) {
    (&h.zip, &h.address_line1, &h.account_id)
}

/// Write the contact list: mailing fields, language, and the fields the rules used.
pub fn write_contacts(
    path: &Path,
    population: &[Household],
    book: &FigureBook<'_>,
    selection: &Selection<'_>,
) -> Result<()> {
    let used = segment::used_fields(selection.rule);
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut header = vec![
        "account_id",
        "name",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "zip",
        "language",
    ];
    header.extend(used.iter().copied());
    w.write_record(&header)?;
    for &i in &selection.members {
        let h = &population[i];
        let f = book.of(&h.account_id);
        let mut row = vec![
            h.account_id.to_string(),
            h.name.to_string(),
            h.address_line1.to_string(),
            h.address_line2.as_deref().unwrap_or_default().to_string(),
            h.city.to_string(),
            h.state.to_string(),
            h.zip.to_string(),
            h.language.code().to_string(),
        ];
        row.extend(used.iter().map(|u| segment::field(h, &f, u)));
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// `neighborly segment NAME`: plan the period, select, write the list, and
/// return the counts to print.
pub fn segment_command(
    config: &Config,
    opts: &RunOptions,
    name: &str,
    out: &Path,
) -> Result<String> {
    let rule = rule(config, name)?;
    // Rules on customer fields need neither the usage file nor a plan.
    let plan = if segment::uses_figures(rule) {
        let wording = crate::wording::load_or_error(&config.templates_dir())?;
        let store = crate::pipeline::open_store(config, opts, true)?;
        Some(crate::pipeline::plan_for(
            config,
            opts,
            &wording,
            store.as_ref(),
            crate::pipeline::Purpose::Selection,
        )?)
    } else {
        None
    };
    let Population {
        households: population,
        data_errors: rejected,
    } = population(config, opts, plan.as_ref(), rule)?;
    let book = FigureBook::new(plan.as_ref());
    let selection = select(config, &population, &book, name)?;
    write_contacts(out, &population, &book, &selection)?;
    let mut by_language: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &selection.members {
        *by_language
            .entry(population[i].language.code())
            .or_default() += 1;
    }
    let mut s = format!(
        "segment {name}: {} of {} households ({})\n",
        selection.members.len(),
        population.len(),
        selection.rule.description
    );
    s.push_str(&format!(
        "by language: {}\n",
        by_language
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(plan) = &plan {
        s.push_str(&format!("figures from period {}\n", plan.period));
    }
    if rejected > 0 {
        s.push_str(&format!(
            "{rejected} input row(s) with data errors (see `neighborly run --dry-run`); customer rows with errors are not considered\n"
        ));
    }
    s.push_str(&format!("written to {}\n", out.display()));
    Ok(s)
}
