//! What a run is asked to read: the command line's options over the
//! config's files, and `[reads]` as the readers take it. The plan, the
//! weather fit and every command that reads households start here.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::config::Config;
use crate::model::Period;
use crate::shard::Shard;

/// What a `run` or `preview` was asked for, beyond the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub customers: Option<PathBuf>,
    pub usage: Option<PathBuf>,
    pub interval: Option<PathBuf>,
    pub greenbutton: Option<PathBuf>,
    pub period: Option<Period>,
    pub out: Option<PathBuf>,
    /// `--state`: the store instead of the config's.
    pub state: Option<crate::store::StoreLocation>,
    pub suppress: Option<PathBuf>,
    pub dry_run: bool,
    pub progress: bool,
    /// Write e-mails as `.eml` files here instead of sending them.
    pub emails_to: Option<PathBuf>,
    /// The part of the period this process runs; `None` is the whole period.
    pub shard: Option<Shard>,
    /// The period's folder may hold a finished run: move it aside.
    pub replace: bool,
}

impl RunOptions {
    /// The channels this run can reach households on: e-mail needs a relay
    /// or `--emails-to`, texts a link to send.
    pub fn reachable(&self, config: &Config) -> crate::channel::Reachable {
        crate::channel::Reachable {
            email: !config.email.smtp_url.is_empty() || self.emails_to.is_some(),
            sms: !config.sms.link.is_empty(),
        }
    }
}

/// The files a run reads: the command line's where given, else the config's.
pub fn sources(config: &Config, opts: &RunOptions) -> crate::ingest::Sources {
    let (customers, _) = config.input_files(opts.customers.as_ref(), None);
    let (usage, interval, greenbutton) = config.usage_sources(
        opts.usage.as_ref(),
        opts.interval.as_ref(),
        opts.greenbutton.as_ref(),
    );
    crate::ingest::Sources {
        customers,
        usage,
        interval,
        greenbutton,
    }
}

/// `[reads]` as the ingest stage takes it (the config is checked on load).
pub fn read_rules(
    config: &Config,
    sources: &crate::ingest::Sources,
) -> Result<crate::ingest::ReadRules> {
    let zone = match &config.reads.timezone {
        Some(name) => crate::ingest::Zone::named(name).map_err(anyhow::Error::from)?,
        None if sources.interval.is_some() || sources.greenbutton.is_some() => bail!(
            "{}: [reads] timezone is not set, and interval data is billed by the utility's \
             local calendar month: add it, e.g. [reads] timezone = \"America/Los_Angeles\" \
             (an IANA name; \"UTC\" if the meters' months really are UTC)",
            config.file.display()
        ),
        None => crate::ingest::Zone::Named(chrono_tz::UTC),
    };
    Ok(crate::ingest::ReadRules {
        zone,
        intervals: crate::ingest::IntervalRules {
            min_coverage: config.reads.min_coverage,
            leak_hours: config.reads.continuous_flow_hours,
            keep_days: false,
            keep_spans: None,
        },
        mapping: config.mapping.clone(),
    })
}
