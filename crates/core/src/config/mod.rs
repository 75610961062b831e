//! Run configuration, read from `config/*.toml`.
//!
//! Every field has a default so a config file names only what a utility
//! changes. Relative paths are resolved against the config file's folder, so a
//! run does not depend on the directory it is started from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::located::{Located, LocatedError};
use crate::model::Service;

mod messages;
mod targeting;
pub use messages::{Alerts, Peak};
pub mod tariff;
pub use targeting::{Between, Campaign, Campaigns, Control, RATING_NAMES, Segment, Segments};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub utility: Utility,
    pub input: Input,
    pub output: Output,
    pub cohort: CohortRules,
    pub phase: PhaseRules,
    pub assistance: Assistance,
    pub render: RenderSettings,
    pub store: Store,
    pub print: Print,
    pub control: Control,
    pub segments: Segments,
    pub campaigns: Campaigns,
    pub tariff: tariff::Tariffs,
    pub reads: Reads,
    /// How the customer and usage files are written, when a billing
    /// system's export is not in the contract's own form.
    pub mapping: crate::ingest::mapping::Mapping,
    pub channels: Channels,
    pub email: Email,
    pub sms: Sms,
    pub weather: WeatherSettings,
    pub alerts: Alerts,
    pub peak: Peak,
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file the settings were read from, for messages about them.
    #[serde(skip)]
    pub file: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            utility: Utility::default(),
            input: Input::default(),
            output: Output::default(),
            cohort: CohortRules::default(),
            phase: PhaseRules::default(),
            assistance: Assistance::default(),
            render: RenderSettings::default(),
            store: Store::default(),
            print: Print::default(),
            control: Control::default(),
            segments: Segments::new(),
            campaigns: Campaigns::new(),
            tariff: tariff::Tariffs::default(),
            reads: Reads::default(),
            mapping: Default::default(),
            channels: Channels::default(),
            email: Email::default(),
            sms: Sms::default(),
            weather: WeatherSettings::default(),
            alerts: Alerts::default(),
            peak: Peak::default(),
            base_dir: PathBuf::from("."),
            file: PathBuf::from("neighborly.toml"),
        }
    }
}

/// Who sends the report: printed in the letterhead, return address and footer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Utility {
    pub name: String,
    pub service: Service,
    pub return_address: Vec<String>,
    pub phone: String,
    pub website: String,
    pub email: String,
}

impl Default for Utility {
    fn default() -> Self {
        Utility {
            name: "Your Water Utility".into(),
            service: Service::Water,
            return_address: vec![],
            phone: String::new(),
            website: String::new(),
            email: String::new(),
        }
    }
}

/// The input files. Monthly reads (`usage`), an interval CSV (`interval`)
/// and a Green Button folder (`greenbutton`) may be given alone or together.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Input {
    pub customers: PathBuf,
    pub usage: PathBuf,
    pub interval: Option<PathBuf>,
    pub greenbutton: Option<PathBuf>,
}

/// `[channels]`: how a report reaches a household besides paper.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Channels {
    /// For a household whose `channel` column is empty: `mail`, `email` or `sms`.
    pub default: crate::model::Channel,
    /// Folded into each household's link token, so tokens cannot be guessed.
    pub link_salt: String,
}

impl Default for Channels {
    fn default() -> Self {
        Channels {
            default: crate::model::Channel::Mail,
            link_salt: String::new(),
        }
    }
}

/// `[email]`: the sender, the relay and the unsubscribe address.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Email {
    /// `Name <address>` the reports come from.
    pub from: String,
    pub reply_to: String,
    /// `smtp://host:port` (STARTTLS when offered), `smtp://host?tls=required`
    /// or `smtps://host` (TLS from the start); the user may be in the URL.
    /// Empty: messages are only written with `--emails-to DIR`.
    pub smtp_url: String,
    /// The environment variable holding the relay's password (never the config).
    pub password_env: String,
    /// Messages a second at most.
    pub per_second: f64,
    /// Attempts after the first for a message the relay refused for now.
    pub retries: u32,
    /// The unsubscribe page; `{token}` becomes the household's token.
    pub unsubscribe_url: String,
    /// A mailbox for one-click unsubscribe by mail (`List-Unsubscribe`).
    pub unsubscribe_mailto: String,
}

impl Default for Email {
    fn default() -> Self {
        Email {
            from: String::new(),
            reply_to: String::new(),
            smtp_url: String::new(),
            password_env: "NEIGHBORLY_SMTP_PASSWORD".into(),
            per_second: 10.0,
            retries: 3,
            unsubscribe_url: String::new(),
            unsubscribe_mailto: String::new(),
        }
    }
}

/// `[sms]`: the short link each text carries (`{token}` becomes the household's).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Sms {
    pub link: String,
}

/// How reads are turned into bills and which reads are not believed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Reads {
    /// The utility's IANA time zone: interval data is billed by local
    /// month. No default: a UTC month is off by hours at every month's end
    /// in any other zone, so interval data is refused without it.
    pub timezone: Option<String>,
    /// Share of a month's hours interval data must cover to make a bill.
    pub min_coverage: f64,
    /// Hours of water flowing without a stop that make a possible leak.
    pub continuous_flow_hours: u32,
    /// A bill above this many times the household's own 12-month median
    /// (per day) is held as implausible.
    pub implausible_factor: f64,
    /// A household using more than this many times its cohort's median
    /// per day is held as implausible (a register read as use, a unit slip).
    pub neighborhood_factor: f64,
}

impl Default for Reads {
    fn default() -> Self {
        Reads {
            timezone: None,
            min_coverage: 0.9,
            continuous_flow_hours: 24,
            implausible_factor: 10.0,
            neighborhood_factor: 10.0,
        }
    }
}

/// `[weather]`: temperatures and the household models fitted on them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeatherSettings {
    /// The temperature file (`--weather` overrides it).
    pub file: Option<PathBuf>,
    /// The zone whose local days the daily mean temperatures are of
    /// (default `[reads] timezone`): a bill's days are local days.
    pub timezone: Option<String>,
    /// The station of a household whose locality and ZIP `stations` does not name.
    pub station: Option<String>,
    /// Station by locality or ZIP code (a locality is looked up first).
    pub stations: std::collections::BTreeMap<String, String>,
    /// The letter's weather block needs a model with at least this
    /// adjusted R² ...
    pub min_r2: f64,
    /// ... fitted on at least this many of the last 12 months' bills.
    pub min_bills: usize,
}

impl Default for WeatherSettings {
    fn default() -> Self {
        WeatherSettings {
            file: None,
            timezone: None,
            station: None,
            stations: Default::default(),
            min_r2: 0.5,
            min_bills: 9,
        }
    }
}

impl WeatherSettings {
    /// The floor a model must clear before a letter quotes it.
    pub fn floor(&self) -> crate::weather::insight::Floor {
        crate::weather::insight::Floor {
            min_r2: self.min_r2,
            min_bills: self.min_bills,
        }
    }

    /// The station whose temperatures a household lives with.
    pub fn station_of(&self, locality: &str, zip: &str) -> Option<&str> {
        self.stations
            .get(locality)
            .or_else(|| self.stations.get(zip.get(..5).unwrap_or(zip)))
            .or(self.station.as_ref())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Output {
    /// Run folder; `{period}` is replaced by the period, e.g. `out/2026-10`.
    pub dir: String,
    /// The file-creation mask for run folders, in octal: `077` (the
    /// default) keeps everything to the owner; `027` lets the owner's group
    /// read (a mail-room group collecting print files). Others never can.
    pub umask: Umask,
}

/// A file-creation mask that keeps others out, read from its octal text
/// (`"077"`): checked once, here, so no later reader can fall back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Umask(u32);

impl Umask {
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Umask {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Umask, D::Error> {
        let text = String::deserialize(d)?;
        match u32::from_str_radix(text.trim(), 8) {
            Ok(m) if m <= 0o777 && m & 0o007 == 0o007 => Ok(Umask(m)),
            _ => Err(serde::de::Error::custom(format!(
                "output.umask {text:?}: an octal mask that keeps others out (ends in 7), e.g. \"077\" or \"027\""
            ))),
        }
    }
}

impl Default for Output {
    fn default() -> Self {
        Output {
            dir: "out/{period}".into(),
            umask: Umask(0o077),
        }
    }
}

/// How neighbors are chosen (INPUTS.md, "Neighbors").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CohortRules {
    /// Fewest households a comparison may be computed over.
    pub min_size: usize,
    /// Fewest bills (months with a read) a household needs to be compared.
    pub min_history_bills: usize,
    /// Occupant bands for water cohorts: a household with n occupants falls in the
    /// first band whose upper bound is >= n. The last band is open-ended.
    pub occupant_bands: Vec<u32>,
    /// Floor-area bands (sq ft) for electric cohorts, read the same way.
    pub sqft_bands: Vec<u32>,
    /// Assistance programs whose households are left out of neighbors' figures
    /// (assistance-rate customers are often on a different tariff).
    pub exclude_programs: Vec<String>,
    /// When a home's similar neighbors are too few, compare it with every
    /// home of its locality (the letter says so). `false`: no comparison
    /// instead, a tips letter with its own history.
    pub relax_similarity: bool,
}

impl Default for CohortRules {
    fn default() -> Self {
        CohortRules {
            min_size: 20,
            min_history_bills: 6,
            occupant_bands: vec![1, 2, 4],
            sqft_bands: vec![1000, 1800, 2800],
            exclude_programs: vec![],
            relax_similarity: true,
        }
    }
}

/// Pacing of bad news (INPUTS.md, "Phase ladder").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhaseRules {
    /// Periods a household stays in `tips` before it may get the `notice`.
    pub min_periods_tips: u32,
    /// Periods a household stays in `notice` before it may get the comparison.
    pub min_periods_notice: u32,
    /// Highest phase an assistance-eligible household is ever moved to.
    pub assistance_max_phase: crate::model::Phase,
    /// Expected calls to the call center per letter, by the phase it carries.
    pub call_rate_tips: f64,
    pub call_rate_notice: f64,
    pub call_rate_comparison: f64,
    /// A call counts for the letter mailed before it within this many days.
    pub call_window_days: u32,
    /// Entering letters (whose call window has closed) a phase's learned
    /// rate needs before the forecast uses it instead of the configured one.
    pub min_letters_for_rate: usize,
}

impl Default for PhaseRules {
    fn default() -> Self {
        PhaseRules {
            min_periods_tips: 1,
            min_periods_notice: 1,
            assistance_max_phase: crate::model::Phase::Notice,
            call_rate_tips: 0.002,
            call_rate_notice: 0.01,
            call_rate_comparison: 0.03,
            call_window_days: 30,
            min_letters_for_rate: 200,
        }
    }
}

/// Customer assistance program invitation (INPUTS.md, "Assistance invitation").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assistance {
    /// Show the invitation at all.
    pub invite: bool,
    /// Households enrolled in any of these programs are eligible (e.g. SNAP, LIHEAP).
    pub eligible_programs: Vec<String>,
    /// Households already enrolled in the utility's own CAP are not invited again.
    pub cap_program: String,
    pub phone: String,
    pub website: String,
}

impl Default for Assistance {
    fn default() -> Self {
        Assistance {
            invite: true,
            eligible_programs: vec![
                "snap".into(),
                "liheap".into(),
                "wic".into(),
                "medicaid".into(),
            ],
            cap_program: "cap".into(),
            phone: String::new(),
            website: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderSettings {
    /// Folder holding `report.typ`, the wording files and the fonts.
    pub templates: PathBuf,
    /// Render threads; 0 means one per core.
    pub threads: usize,
    /// Date printed as the document date (`YYYY-MM-DD`); empty (`None`)
    /// means today. Fixing it makes re-runs byte-for-byte reproducible.
    #[serde(deserialize_with = "optional_date")]
    pub date: Option<chrono::NaiveDate>,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            templates: PathBuf::from("report-templates"),
            threads: 0,
            date: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Store {
    /// SQLite database that remembers phases and opt-outs between runs.
    pub path: PathBuf,
    /// A PostgreSQL database instead (`postgres://user@host/db`), shared by
    /// the shards of a run on several machines. The password may be left out
    /// of the URL and given in `PGPASSWORD`.
    pub url: String,
    /// How long to wait for a store another process holds (a run, a
    /// command, an analyst's open transaction) before giving up with a
    /// message naming it. Long enough for another command's writes to end,
    /// short enough that an operator is not left looking at a silent prompt.
    pub wait_seconds: u64,
}

impl Store {
    /// [`Store::wait_seconds`] as a duration.
    pub fn wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.wait_seconds)
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            path: PathBuf::from("state/neighborly.sqlite"),
            url: String::new(),
            wait_seconds: 30,
        }
    }
}

/// The paper a letter is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paper {
    UsLetter,
    A4,
}

/// What the layout needs of `[print]`: the paper and the envelope windows.
/// The templates get this and nothing else of the settings (not the
/// mailer ID, not how many pieces make a file).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sheet {
    pub paper: Paper,
    pub recipient_window: Window,
    pub return_window: Window,
    pub clearance: f64,
}

/// Where the envelope windows are, measured from the sheet's top-left corner in
/// inches. Defaults fit a standard #10 double-window envelope with a letter
/// tri-folded so page 1's top third faces the windows (INPUTS.md, "Print-mail window").
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Print {
    pub paper: Paper,
    pub recipient_window: Window,
    pub return_window: Window,
    /// Inches kept clear between each window's edge and its text, so the text
    /// stays in view when the sheet shifts inside the envelope.
    pub clearance: f64,
    /// Pieces per merged print file. Typst holds a whole print file in
    /// memory while it lays it out, one per core: 50 pieces keep a 2-core
    /// run near 0.5 GB where 100 took 0.95 GB, at the same speed
    /// (BENCHMARKS.md).
    pub pieces_per_file: usize,
    /// USPS Intelligent Mail barcode under the address; absent means none.
    pub imb: Option<Imb>,
}

/// The fixed parts of each piece's IMb tracking code (USPS-B-3200); the
/// serial number is made per piece (see [`crate::imb::serial`]).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Imb {
    /// Two digits, the second 0-4; `00` unless the mail house says otherwise.
    #[serde(default = "default_barcode_id")]
    pub barcode_id: String,
    /// Service type identifier (STID), three digits, e.g. `300` for
    /// First-Class Mail with Full-Service.
    pub service_type: String,
    /// The USPS-assigned mailer ID: six or nine digits.
    pub mailer_id: String,
}

impl Imb {
    /// A piece's serial number and bars (see [`crate::imb::for_piece`]).
    pub fn for_piece(
        &self,
        period: crate::model::Period,
        shard: crate::shard::Shard,
        sequence: usize,
        zip: &str,
    ) -> std::result::Result<(String, String), crate::imb::ImbError> {
        let fields = crate::imb::Fields {
            barcode_id: &self.barcode_id,
            service_type: &self.service_type,
            mailer_id: &self.mailer_id,
        };
        crate::imb::for_piece(&fields, period, shard, sequence, zip)
    }
}

fn default_barcode_id() -> String {
    "00".into()
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Print {
    /// The part of `[print]` a letter's layout reads.
    pub fn sheet(&self) -> Sheet {
        Sheet {
            paper: self.paper,
            recipient_window: self.recipient_window,
            return_window: self.return_window,
            clearance: self.clearance,
        }
    }
}

impl Default for Print {
    fn default() -> Self {
        Print {
            paper: Paper::UsLetter,
            recipient_window: Window {
                x: 0.8,
                y: 2.15,
                width: 3.6,
                height: 1.0,
            },
            return_window: Window {
                x: 0.5,
                y: 0.5,
                width: 3.2,
                height: 0.85,
            },
            clearance: 0.1,
            pieces_per_file: 50,
            imb: None,
        }
    }
}

/// `render.date`: empty for today, else a date, read once.
fn optional_date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<chrono::NaiveDate>, D::Error> {
    let text = String::deserialize(d)?;
    match text.trim() {
        "" => Ok(None),
        t => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("render.date {t:?} must be YYYY-MM-DD"))),
    }
}

/// Where the state is kept: a SQLite file (the default), or a PostgreSQL
/// database shared by the shards of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    File(PathBuf),
    /// `postgres://user@host/db`; the password may come from `PGPASSWORD`.
    Url(String),
}

impl StoreLocation {
    /// Whether there is anything to read: a database server always, a file
    /// once it has been made. Read-only commands open nothing otherwise.
    pub fn exists(&self) -> bool {
        match self {
            StoreLocation::File(path) => path.exists(),
            StoreLocation::Url(_) => true,
        }
    }
}

/// `--state`: a `postgres://` or `postgresql://` URL, else a file's path.
impl std::str::FromStr for StoreLocation {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(
            if s.starts_with("postgres://") || s.starts_with("postgresql://") {
                StoreLocation::Url(s.to_string())
            } else {
                StoreLocation::File(PathBuf::from(s))
            },
        )
    }
}

/// A time zone setting, when given, must name an IANA zone: local dates
/// and hours depend on it.
fn check_time_zone(setting: &str, zone: Option<&str>) -> Checked {
    if let Some(zone) = zone {
        check(
            zone.parse::<chrono_tz::Tz>().is_ok(),
            setting,
            format!("{setting} {zone:?} is not an IANA time zone (such as America/Chicago or UTC)"),
        )?;
    }
    Ok(())
}

/// A setting that parsed but cannot be used: the path of its key
/// (`["cohort", "min_size"]`, where [`Located::of_key`] finds it in the
/// file) and why. A path, not a dotted string: a campaign's name may hold
/// a dot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub key: Vec<String>,
    pub message: String,
}

type Checked = std::result::Result<(), Invalid>;

/// `Err` naming the dotted `key` (a setting's, which holds no dot of its
/// own) unless `ok`.
fn check(ok: bool, key: &str, message: impl Into<String>) -> Checked {
    if ok {
        Ok(())
    } else {
        Err(Invalid {
            key: key.split('.').map(str::to_string).collect(),
            message: message.into(),
        })
    }
}

/// Drop `.` and fold `dir/..` so paths print the way a person would write them.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| LocatedError {
            at: Located::of_toml(path, &text, &e),
            message: e.message().to_string(),
        })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.file = path.to_path_buf();
        config
            .validate()
            .and_then(|()| config.validate_targeting())
            .map_err(|e| LocatedError {
                at: Located::of_key(path, &text, &e.key),
                message: e.message,
            })?;
        Ok(config)
    }

    /// Cross-references between segments and campaigns.
    fn validate_targeting(&self) -> Checked {
        check(
            self.control.share <= 0.0 || !self.control.salt.trim().is_empty(),
            "control.salt",
            "control.salt must not be empty",
        )?;
        for name in self.segments.keys() {
            targeting::check_name(name).map_err(|m| Invalid {
                key: vec!["segments".into(), name.clone()],
                message: format!("segments: {m}"),
            })?;
        }
        for (name, c) in &self.campaigns {
            let key = vec!["campaigns".to_string(), name.clone()];
            targeting::check_name(name).map_err(|m| Invalid {
                key: key.clone(),
                message: format!("campaigns: {m}"),
            })?;
            if !self.segments.contains_key(&c.segment) {
                return Err(Invalid {
                    key: [key, vec!["segment".into()]].concat(),
                    message: format!(
                        "campaigns.{name}.segment names {:?}, which is not a [segments.*] table (known: {})",
                        c.segment,
                        self.segments.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The template folder of a campaign.
    pub fn campaign_templates(&self, name: &str) -> Option<PathBuf> {
        let c = self.campaigns.get(name)?;
        let rel = c
            .templates
            .clone()
            .unwrap_or_else(|| format!("campaigns/{name}"));
        Some(self.templates_dir().join(rel))
    }

    /// Every setting's range. The sections are checked in a fixed order
    /// (the first problem found is the one reported), which is why the two
    /// time zones are checked apart from the rest of their sections.
    fn validate(&self) -> Checked {
        self.validate_cohort()?;
        self.validate_phase()?;
        self.validate_print()?;
        self.validate_email()?;
        check_time_zone("reads.timezone", self.reads.timezone.as_deref())?;
        self.validate_weather()?;
        self.validate_alerts()?;
        self.validate_peak()?;
        check_time_zone("weather.timezone", self.weather.timezone.as_deref())?;
        self.validate_reads()
    }

    /// A cohort of one compares a household with itself, and a cohort needs
    /// bands to be formed at all.
    fn validate_cohort(&self) -> Checked {
        check(
            self.cohort.min_size >= 2,
            "cohort.min_size",
            "cohort.min_size must be at least 2",
        )?;
        check(
            !self.cohort.occupant_bands.is_empty(),
            "cohort.occupant_bands",
            "cohort.occupant_bands must not be empty",
        )?;
        check(
            !self.cohort.sqft_bands.is_empty(),
            "cohort.sqft_bands",
            "cohort.sqft_bands must not be empty",
        )?;
        Ok(())
    }

    /// A call rate is expected calls per letter, so a share between 0 and 1.
    fn validate_phase(&self) -> Checked {
        for (key, rate) in [
            ("phase.call_rate_tips", self.phase.call_rate_tips),
            ("phase.call_rate_notice", self.phase.call_rate_notice),
            (
                "phase.call_rate_comparison",
                self.phase.call_rate_comparison,
            ),
        ] {
            check(
                (0.0..=1.0).contains(&rate),
                key,
                "call rates are per letter, between 0 and 1",
            )?;
        }
        Ok(())
    }

    /// The print geometry must leave room for the address in each envelope
    /// window, and a barcode must be one the postal service can read: both
    /// are found here rather than on the printed page.
    fn validate_print(&self) -> Checked {
        for (name, w) in [
            ("recipient_window", self.print.recipient_window),
            ("return_window", self.print.return_window),
        ] {
            check(
                self.print.clearance >= 0.0 && 2.0 * self.print.clearance < w.width.min(w.height),
                "print.clearance",
                format!(
                    "print.clearance ({} in) leaves no room in print.{name}",
                    self.print.clearance
                ),
            )?;
        }
        if let Some(imb) = &self.print.imb {
            let serial = "0".repeat(15usize.saturating_sub(imb.mailer_id.len()));
            crate::imb::tracking_code(&imb.barcode_id, &imb.service_type, &imb.mailer_id, &serial)
                .map_err(|e| Invalid {
                    key: vec!["print".into(), "imb".into()],
                    message: format!("print.imb: {}", e.0),
                })?;
        }
        check(
            self.print.pieces_per_file >= 1,
            "print.pieces_per_file",
            "print.pieces_per_file must be at least 1",
        )?;
        Ok(())
    }

    /// A rate of zero would never send.
    fn validate_email(&self) -> Checked {
        check(
            self.email.per_second > 0.0,
            "email.per_second",
            "email.per_second must be above 0",
        )?;
        Ok(())
    }

    /// The weather model's thresholds (its time zone is checked apart, see
    /// [`Config::validate`]).
    fn validate_weather(&self) -> Checked {
        check(
            (0.0..=1.0).contains(&self.weather.min_r2),
            "weather.min_r2",
            "weather.min_r2 is an adjusted R-squared, between 0 and 1",
        )?;
        check(
            (3..=12).contains(&self.weather.min_bills),
            "weather.min_bills",
            "weather.min_bills is a count of the last 12 months' bills, 3 to 12",
        )?;
        Ok(())
    }

    fn validate_alerts(&self) -> Checked {
        check(
            self.alerts.min_dollars >= 0.0 && self.alerts.min_dollars.is_finite(),
            "alerts.min_dollars",
            "alerts.min_dollars must be 0 or more",
        )?;
        check(
            (1..=60).contains(&self.alerts.recent_days),
            "alerts.recent_days",
            "alerts.recent_days is a count of days, 1 to 60",
        )?;
        check(
            (1..=60).contains(&self.alerts.min_days),
            "alerts.min_days",
            "alerts.min_days is a count of days, 1 to 60",
        )?;
        Ok(())
    }

    /// A peak baseline averages the highest of its days, so it cannot ask
    /// for more days than it looks at.
    fn validate_peak(&self) -> Checked {
        check(
            self.peak.baseline_highest >= 1
                && self.peak.baseline_highest <= self.peak.baseline_days,
            "peak.baseline_highest",
            "peak.baseline_highest must be at least 1 and at most peak.baseline_days",
        )?;
        check(
            self.peak.baseline_days <= 45,
            "peak.baseline_days",
            "peak.baseline_days is at most 45",
        )?;
        Ok(())
    }

    /// How interval reads become bills (the time zone is checked apart, see
    /// [`Config::validate`]).
    fn validate_reads(&self) -> Checked {
        check(
            self.reads.min_coverage > 0.0 && self.reads.min_coverage <= 1.0,
            "reads.min_coverage",
            "reads.min_coverage is a share of the month, above 0 and at most 1",
        )?;
        check(
            self.reads.implausible_factor > 1.0,
            "reads.implausible_factor",
            "reads.implausible_factor must be above 1",
        )?;
        check(
            self.reads.neighborhood_factor > 1.0,
            "reads.neighborhood_factor",
            "reads.neighborhood_factor must be above 1",
        )?;
        Ok(())
    }

    /// Resolve a path from the config against the config file's folder.
    /// The state store: `[store] url` when set, else `[store] path`
    /// (resolved against the config's folder).
    pub fn state_location(&self) -> StoreLocation {
        if self.store.url.is_empty() {
            StoreLocation::File(self.resolve(&self.store.path))
        } else {
            StoreLocation::Url(self.store.url.clone())
        }
    }

    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            normalize(&self.base_dir.join(path))
        }
    }

    /// The customer and usage files: the command line's if given, else the config's.
    pub fn input_files(
        &self,
        customers: Option<&PathBuf>,
        usage: Option<&PathBuf>,
    ) -> (PathBuf, PathBuf) {
        (
            customers
                .cloned()
                .unwrap_or_else(|| self.resolve(&self.input.customers)),
            usage
                .cloned()
                .unwrap_or_else(|| self.resolve(&self.input.usage)),
        )
    }

    /// The usage sources: the command line's where given, else the config's.
    /// An empty `usage` in the config means none.
    pub fn usage_sources(
        &self,
        usage: Option<&PathBuf>,
        interval: Option<&PathBuf>,
        greenbutton: Option<&PathBuf>,
    ) -> (Option<PathBuf>, Option<PathBuf>, Option<PathBuf>) {
        let usage = usage.cloned().or_else(|| {
            (!self.input.usage.as_os_str().is_empty()).then(|| self.resolve(&self.input.usage))
        });
        let interval = interval
            .cloned()
            .or_else(|| self.input.interval.as_ref().map(|p| self.resolve(p)));
        let greenbutton = greenbutton
            .cloned()
            .or_else(|| self.input.greenbutton.as_ref().map(|p| self.resolve(p)));
        (usage, interval, greenbutton)
    }

    pub fn templates_dir(&self) -> PathBuf {
        self.resolve(&self.render.templates)
    }

    /// A stable fingerprint of every setting: what a resumed run must share
    /// with the run it resumes.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        // Every validated setting, not a hand-kept list of the ones thought
        // to matter: a tariff, the print geometry, the barcode or the render
        // date change letters as surely as the cohort rules do. (The config
        // holds no hash maps, so the text is the same in every process.)
        let text = format!("{self:?}");
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    /// A value that parses but cannot be used is named where it is written,
    /// whichever section it is in; one left at its default, by its table.
    #[test]
    fn unusable_settings_are_named_at_their_line_and_column() {
        let campaign = "[segments.high]\nrating = [\"above-typical\"]\n\n[campaigns.spring]\nsegment = \"hi\"\n";
        for (text, expected) in [
            (
                "[reads]\nmin_coverage = 0.5\n\n[cohort]\n# smallest cohort\n  min_size = 1\n",
                "c.toml:6:3: cohort.min_size must be at least 2",
            ),
            (
                "[weather]\ntimezone = \"Mars/Olympus\"\n",
                "c.toml:2:1: weather.timezone \"Mars/Olympus\"",
            ),
            (
                "[control]\nshare = 0.1\nsalt = \" \"\n",
                "c.toml:3:1: control.salt must not be empty",
            ),
            (
                "[print]\nclearance = 0.6\n",
                "c.toml:2:1: print.clearance (0.6 in)",
            ),
            (
                campaign,
                "c.toml:5:1: campaigns.spring.segment names \"hi\"",
            ),
            // A name with a dot is one key, not two: its own table.
            (
                "[segments.x]\nrating = [\"good\"]\n[campaigns.autumn]\nsegment = \"x\"\n[campaigns.\"spring.2026\"]\nsegment = \"x\"\n",
                "c.toml:5:12: campaigns: ",
            ),
            // Left at its default inside a written table: the table's header.
            (
                "# peak events\n[peak]\nbaseline_days = 2\n",
                "c.toml:2:2: peak.baseline_highest must be",
            ),
        ] {
            let m = format!("{:#}", load(text).unwrap_err());
            assert!(m.contains(expected), "{m}");
        }
    }

    #[test]
    fn print_settings_are_checked() {
        let ok = load("[print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n").unwrap();
        assert_eq!(ok.print.imb.unwrap().barcode_id, "00");
        let bad_mid = load("[print.imb]\nservice_type = \"300\"\nmailer_id = \"5670\"\n");
        let message = format!("{:#}", bad_mid.unwrap_err());
        assert!(
            message.contains("print.imb: mailer ID \"5670\" must be 6 or 9 digits"),
            "{message}"
        );
        let wide = load("[print]\nclearance = 0.6\n");
        assert!(format!("{:#}", wide.unwrap_err()).contains("print.clearance"));
        let typo = load("[print.imb]\nservice_type = \"300\"\nmailer = \"567094\"\n");
        assert!(format!("{:#}", typo.unwrap_err()).contains("c.toml:3:1"));
    }
}
