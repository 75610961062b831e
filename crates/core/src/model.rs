//! The utility's vocabulary: households, bills, periods and units.
//!
//! Every later stage speaks in these types, so they carry no I/O and no
//! presentation. Quantities are stored in one canonical unit per service
//! (gallons for water, kWh for electricity) so that cohorts compare like with like.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// The metered commodity a household buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Water,
    Electric,
    Gas,
}

impl Service {
    /// The canonical unit all quantities of this service are converted to.
    pub fn canonical_unit(self) -> &'static str {
        match self {
            Service::Water => "gal",
            Service::Electric => "kWh",
            Service::Gas => "therm",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Water => "water",
            Service::Electric => "electric",
            Service::Gas => "gas",
        }
    }

    pub const ALL: [Service; 3] = [Service::Water, Service::Electric, Service::Gas];
}

/// Why a value read from a file or the command line is not one this program
/// knows. The message names the value and what was expected: it becomes an
/// exception's detail, a config error or a command-line error as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A word outside a closed list: a service, unit, language, channel,
    /// status, phase or group.
    #[error("unknown {what} {value:?} (expected {expected})")]
    Unknown {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A value not written in its format: a period, a range of months, an
    /// event's window.
    #[error("bad {what} {value:?} (expected {format})")]
    Format {
        what: &'static str,
        value: String,
        format: &'static str,
    },
    /// A range whose end does not come after its start.
    #[error("{what} {value:?}: the end does not come after the start")]
    Reversed { what: &'static str, value: String },
}

impl ParseError {
    /// `unknown {what} "value" (expected ...)`.
    pub fn unknown(what: &'static str, value: &str, expected: &'static str) -> ParseError {
        ParseError::Unknown {
            what,
            value: value.to_string(),
            expected,
        }
    }

    /// `bad {what} "value" (expected FORMAT)`.
    pub fn format(what: &'static str, value: &str, format: &'static str) -> ParseError {
        ParseError::Format {
            what,
            value: value.to_string(),
            format,
        }
    }
}

impl FromStr for Service {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "water" => Ok(Service::Water),
            "electric" | "electricity" => Ok(Service::Electric),
            "gas" | "natural gas" => Ok(Service::Gas),
            _ => Err(ParseError::unknown("service", s, "water, electric or gas")),
        }
    }
}

/// A unit a meter read may be expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Gallon,
    Kgal,
    Ccf,
    CubicMeter,
    Kwh,
    Therm,
}

impl Unit {
    /// The service this unit measures and the factor to its canonical unit.
    ///
    /// One ccf is 100 cubic feet = 748.052 US gallons; one m3 = 264.172 US
    /// gallons. Gas is billed in therms; a gas volume (ccf of gas) needs the
    /// utility's heat factor, so it is not a unit here.
    pub fn to_canonical(self) -> (Service, f64) {
        match self {
            Unit::Gallon => (Service::Water, 1.0),
            Unit::Kgal => (Service::Water, 1000.0),
            Unit::Ccf => (Service::Water, 748.052),
            Unit::CubicMeter => (Service::Water, 264.172),
            Unit::Kwh => (Service::Electric, 1.0),
            Unit::Therm => (Service::Gas, 1.0),
        }
    }
}

impl FromStr for Unit {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        // The exact spellings of the contract first: no allocation per read.
        match s {
            "gal" => return Ok(Unit::Gallon),
            "ccf" => return Ok(Unit::Ccf),
            "kgal" => return Ok(Unit::Kgal),
            "m3" => return Ok(Unit::CubicMeter),
            "kWh" => return Ok(Unit::Kwh),
            "therm" => return Ok(Unit::Therm),
            _ => {}
        }
        match s.trim().to_ascii_lowercase().as_str() {
            "gal" | "gallon" | "gallons" => Ok(Unit::Gallon),
            "kgal" => Ok(Unit::Kgal),
            "ccf" | "hcf" => Ok(Unit::Ccf),
            "m3" => Ok(Unit::CubicMeter),
            "kwh" => Ok(Unit::Kwh),
            "therm" | "therms" | "thm" => Ok(Unit::Therm),
            other => Err(ParseError::unknown(
                "unit",
                other,
                "gal, kgal, ccf, m3, kWh or therm",
            )),
        }
    }
}

/// Report language. English is the default; every wording file covers both.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Es,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Es];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
        }
    }
}

impl FromStr for Language {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "en" | "eng" | "english" => Ok(Language::En),
            "es" | "spa" | "spanish" | "español" | "espanol" => Ok(Language::Es),
            other => Err(ParseError::unknown("language", other, "en or es")),
        }
    }
}

/// How a report reaches a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Mail,
    Email,
    Sms,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

impl FromStr for Channel {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mail" | "paper" | "print" => Ok(Channel::Mail),
            "email" | "e-mail" => Ok(Channel::Email),
            "sms" | "text" => Ok(Channel::Sms),
            other => Err(ParseError::unknown("channel", other, "mail, email or sms")),
        }
    }
}

/// The channels closed to households (a bounce, a failed number, an
/// unsubscribe) and why, by account: looked up for every letter, so by
/// the account alone, with no key to build.
#[derive(Debug, Clone, Default)]
pub struct ChannelBlocks(std::collections::HashMap<String, Vec<(Channel, String)>>);

impl ChannelBlocks {
    /// Record that `channel` is closed to `account`; the first reason stays.
    pub fn insert(&mut self, account: String, channel: Channel, reason: String) {
        let closed = self.0.entry(account).or_default();
        if !closed.iter().any(|(c, _)| *c == channel) {
            closed.push((channel, reason));
        }
    }

    /// Why `channel` is closed to `account`, if it is.
    pub fn get(&self, account: &str, channel: Channel) -> Option<&str> {
        self.0
            .get(account)?
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, why)| why.as_str())
    }
}

/// Account status in the customer information system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Vacant,
    Closed,
}

impl FromStr for Status {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "active" => Ok(Status::Active),
            "vacant" => Ok(Status::Vacant),
            "closed" => Ok(Status::Closed),
            other => Err(ParseError::unknown(
                "status",
                other,
                "active, vacant or closed",
            )),
        }
    }
}

/// The report variant a household receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Tips,
    Notice,
    Comparison,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Tips, Phase::Notice, Phase::Comparison];

    pub fn code(self) -> &'static str {
        match self {
            Phase::Tips => "tips",
            Phase::Notice => "notice",
            Phase::Comparison => "comparison",
        }
    }

    /// The step after this one on the ladder.
    pub fn next(self) -> Phase {
        match self {
            Phase::Tips => Phase::Notice,
            Phase::Notice | Phase::Comparison => Phase::Comparison,
        }
    }
}

impl std::str::FromStr for Phase {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Phase::ALL
            .into_iter()
            .find(|p| p.code() == s)
            .ok_or_else(|| ParseError::unknown("phase", s, "tips, notice or comparison"))
    }
}

/// A billing month, `YYYY-MM`. The bill of a period is the read whose
/// `period_end` falls inside that month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn of(date: NaiveDate) -> Period {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Months since year 0, so periods can be subtracted and indexed.
    pub fn index(self) -> i32 {
        self.year * 12 + self.month as i32 - 1
    }

    pub fn from_index(index: i32) -> Period {
        Period {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    pub fn offset(self, months: i32) -> Period {
        Period::from_index(self.index() + months)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid period")
    }

    pub fn last_day(self) -> NaiveDate {
        self.offset(1).first_day().pred_opt().expect("valid period")
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::format("period", s, "YYYY-MM");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }
}

/// An inclusive range of billing months, written `YYYY-MM..YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Months {
    pub from: Period,
    pub to: Period,
}

impl Months {
    pub fn contains(&self, p: Period) -> bool {
        self.from <= p && p <= self.to
    }

    pub fn iter(&self) -> impl Iterator<Item = Period> + use<> {
        let from = self.from;
        (0..=self.to.index() - self.from.index()).map(move |k| from.offset(k))
    }
}

impl fmt::Display for Months {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

impl FromStr for Months {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| ParseError::format("months", s, "YYYY-MM..YYYY-MM"))?;
        let (from, to): (Period, Period) = (a.parse()?, b.parse()?);
        if to < from {
            return Err(ParseError::Reversed {
                what: "months",
                value: s.to_string(),
            });
        }
        Ok(Months { from, to })
    }
}

/// A customer row's columns the contract does not name (`email`,
/// `meter_route`, `salutation` ...), by name. The names are shared by every
/// household of a file, and a row has a handful: a sorted list costs one
/// allocation per household where a map cost a tree node of about half a
/// kilobyte.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extra(Box<[(std::sync::Arc<str>, Text)]>);

impl Extra {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .ok()
            .map(|k| self.0[k].1.as_str())
    }

    /// Set a column's value, replacing the one it had.
    pub fn insert(&mut self, name: impl Into<std::sync::Arc<str>>, value: impl Into<Text>) {
        let mut columns = std::mem::take(&mut self.0).into_vec();
        put(&mut columns, name.into(), value.into());
        self.0 = columns.into_boxed_slice();
    }

    /// The columns in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, v.as_str()))
    }
}

/// Later columns of the same name replace earlier ones. The list is kept
/// at its exact length: a million households keep one each.
impl<N: Into<std::sync::Arc<str>>, V: Into<Text>> FromIterator<(N, V)> for Extra {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(items: I) -> Extra {
        let mut columns = Vec::new();
        for (name, value) in items {
            put(&mut columns, name.into(), value.into());
        }
        Extra(columns.into_boxed_slice())
    }
}

/// Put a column into `columns`, kept in name order: its value replaces
/// the one a column of the same name had.
fn put(columns: &mut Vec<(std::sync::Arc<str>, Text)>, name: std::sync::Arc<str>, value: Text) {
    match columns.binary_search_by(|(n, _)| n.cmp(&name)) {
        Ok(k) => columns[k].1 = value,
        Err(k) => columns.insert(k, (name, value)),
    }
}

impl std::ops::Index<&str> for Extra {
    type Output = str;
    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("no column {name:?}"))
    }
}

/// A household's place in a run's list of households (the dataset's, the
/// plan's, and the lists kept beside it, one entry per household): a type
/// of its own, so it is never taken for a letter's place, a candidate's,
/// a cohort's or a count. Four bytes: a run holds fewer than 2^32 homes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HouseholdIx(u32);

impl HouseholdIx {
    /// The household at place `i`.
    pub fn new(i: usize) -> HouseholdIx {
        HouseholdIx(u32::try_from(i).expect("a run holds fewer than 2^32 households"))
    }

    /// Its place, to index the lists kept per household.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

/// Text of a customer record: kept in place when it fits in 24 bytes (an
/// account number, a name, a street, a city, a state, a ZIP, a locality
/// mostly do), on the heap otherwise. A million households then keep their
/// text in their own records, not in seven million small allocations.
pub type Text = compact_str::CompactString;

/// One household as the customer file describes it.
#[derive(Debug, Clone)]
pub struct Household {
    pub account_id: Text,
    pub name: Text,
    pub address_line1: Text,
    pub address_line2: Option<Text>,
    pub city: Text,
    pub state: Text,
    pub zip: Text,
    pub locality: Text,
    pub service: Service,
    pub occupants: Option<u32>,
    pub home_sqft: Option<u32>,
    pub year_built: Option<i32>,
    pub heating_fuel: Option<Text>,
    pub language: Language,
    pub programs: Vec<String>,
    pub status: Status,
    pub do_not_mail: bool,
    /// Columns the contract does not name, kept for templates.
    pub extra: Extra,
    /// The customer row's `file:line`, for error messages.
    pub source: Origin,
}

/// Where a record came from, printed `file:line` in messages. The file's
/// name is shared by all of its rows, so a million households carry a
/// pointer and a number each rather than a million strings. Line 0 stands
/// for a record made by the program (a sample or proof household) and
/// prints the name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: std::sync::Arc<str>,
    pub line: u64,
}

impl Origin {
    pub fn new(file: impl Into<std::sync::Arc<str>>, line: u64) -> Origin {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl From<&str> for Origin {
    /// A record the program made, named but without a line.
    fn from(name: &str) -> Origin {
        Origin::new(name, 0)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => f.write_str(&self.file),
            line => write!(f, "{}:{line}", self.file),
        }
    }
}

impl Household {
    /// Whom the letter greets: the `salutation` column when the export has
    /// one ("Ms. Garcia", "Maria"), else the name.
    pub fn greeting_name(&self) -> &str {
        self.extra
            .get("salutation")
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }
}

/// One meter read, already converted to the service's canonical unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub quantity: f64,
    pub estimated: bool,
    /// Where the read came from: an index into [`crate::ingest::Dataset::files`]
    /// and the line (the first line of a month built from intervals), so a
    /// bill found implausible later can still name its `file:line`.
    pub file: u32,
    pub line: u32,
}

impl Read {
    /// Both ends are inclusive, so a read from the 1st to the 30th covers 30 days.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// One meter interval as read: kept only where a command needs hours, not
/// months (a peak event's window and its baseline days).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// UTC epoch seconds.
    pub start: i64,
    pub seconds: i64,
    /// In the service's canonical unit.
    pub quantity: f64,
}

impl Interval {
    pub fn end(&self) -> i64 {
        self.start + self.seconds
    }
}

/// Water that never stopped flowing for at least the configured hours
/// (`[reads] continuous_flow_hours`): a possible leak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowRun {
    /// Local wall time of the first and past the last interval of the run.
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub hours: f64,
    /// The lowest flow of the run, per day (canonical units): what leaked
    /// even at the quietest hour.
    pub base_per_day: f64,
}

/// A household's usage in one billing period, normalized per day.
///
/// 32 bytes: a million households keep 14 each. Its period is not stored
/// but read off its end ([`Bill::period`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bill {
    pub quantity: f64,
    /// Days covered.
    pub days: i32,
    pub estimated: bool,
    /// The first day the bill covers (its reads' earliest start).
    pub start: NaiveDate,
    /// The last day the bill covers (its reads' latest end): tariffs split a
    /// bill that spans two seasons by its days. Its month is the bill's
    /// period.
    pub end: NaiveDate,
    /// The origin of its largest read (see [`Read::file`]).
    pub file: u32,
    pub line: u32,
}

/// How many months of service a bill of `days` days is: 1 for 28-45 days,
/// 2 for a bi-monthly bill (about 61), 3 for a quarterly one (about 91).
/// Tier widths and the service charge are a month's and count this many
/// times; a monthly bill of 28 or 31 days counts once.
pub fn bill_months(days: i64) -> f64 {
    (days as f64 / (365.25 / 12.0)).round().max(1.0)
}

impl Bill {
    /// The billing month: the one its last day falls in (see [`Period`]).
    pub fn period(&self) -> Period {
        Period::of(self.end)
    }

    pub fn per_day(&self) -> f64 {
        self.quantity / self.days as f64
    }

    /// How many calendar months the bill covers, counted back from its end
    /// month: 1 for a monthly bill whatever its dates, 2 bi-monthly, 3
    /// quarterly (by its days, as [`bill_months`]).
    pub fn months(&self) -> i32 {
        bill_months(self.days.into()) as i32
    }

    /// The periods the bill covers, oldest first (its end month last).
    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        (1 - self.months()..=0).map(|k| self.period().offset(k))
    }

    /// Use per day over `stretch` (both ends inclusive) from the bills that
    /// overlap it, each counted for its days inside, and the share of the
    /// stretch's days those bills cover.
    pub fn per_day_over(bills: &[Bill], stretch: (NaiveDate, NaiveDate)) -> (f64, f64) {
        let (from, to) = stretch;
        let mut used = 0.0;
        let mut covered = 0i64;
        for b in bills {
            let start = b.start.max(from);
            let end = b.end.min(to);
            if end < start || b.days <= 0 {
                continue;
            }
            let inside = (end - start).num_days() + 1;
            used += b.quantity * inside as f64 / b.days as f64;
            covered += inside;
        }
        let days = (to - from).num_days() + 1;
        if covered == 0 {
            return (0.0, 0.0);
        }
        (used / covered as f64, covered as f64 / days.max(1) as f64)
    }
}

/// Group a household's reads into bills, one per period. Two reads ending in the
/// same month (a split or corrected bill) are summed over their combined days.
pub fn bills_from_reads(reads: &[Read]) -> Vec<Bill> {
    // A stable sort by period keeps each period's reads in file order, the
    // order that chooses the read naming the bill's origin below; reads
    // mostly come in order, so the sort is one pass.
    let mut ordered: Vec<(Period, &Read)> = reads.iter().map(|r| (Period::of(r.end), r)).collect();
    ordered.sort_by_key(|&(p, _)| p);
    // Mostly one read per period: room for as many bills as reads, the
    // excess given back below, so a household's bills take what they need.
    let mut bills: Vec<Bill> = Vec::with_capacity(reads.len());
    for (p, r) in ordered {
        let b = match bills.last_mut() {
            Some(b) if b.period() == p => b,
            _ => {
                bills.push(Bill {
                    quantity: 0.0,
                    days: 0,
                    estimated: false,
                    start: r.start,
                    end: r.end,
                    file: r.file,
                    line: r.line,
                });
                bills.last_mut().expect("just pushed")
            }
        };
        if r.quantity > b.quantity {
            (b.file, b.line) = (r.file, r.line);
        }
        b.end = b.end.max(r.end);
        b.start = b.start.min(r.start);
        b.quantity += r.quantity;
        b.days += i32::try_from(r.days()).expect("a read spans fewer than 2^31 days");
        b.estimated |= r.estimated;
    }
    bills.shrink_to_fit();
    bills
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_is_32_bytes() {
        // 14 of them for each of a million households.
        assert_eq!(std::mem::size_of::<Bill>(), 32);
    }

    #[test]
    fn period_arithmetic_wraps_years() {
        let p: Period = "2026-01".parse().unwrap();
        assert_eq!(p.offset(-1).to_string(), "2025-12");
        assert_eq!(p.offset(13).to_string(), "2027-02");
        assert_eq!(p.last_day(), NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert!("2026-13".parse::<Period>().is_err());
        assert!("26-01".parse::<Period>().is_err());
    }

    #[test]
    fn reads_out_of_order_make_the_bills_of_reads_in_order() {
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let read = |start: NaiveDate, end: NaiveDate, quantity: f64, line: u32| Read {
            start,
            end,
            quantity,
            estimated: line == 5,
            file: 0,
            line,
        };
        let in_order = [
            read(d(1, 1), d(1, 31), 10.0, 2),
            read(d(2, 1), d(2, 14), 4.0, 3),
            read(d(2, 15), d(2, 28), 4.0, 4),
            read(d(3, 1), d(3, 31), 12.0, 5),
        ];
        let shuffled = [in_order[3], in_order[1], in_order[0], in_order[2]];
        let bills = bills_from_reads(&in_order);
        assert_eq!(bills_from_reads(&shuffled), bills);
        let periods: Vec<String> = bills.iter().map(|b| b.period().to_string()).collect();
        assert_eq!(periods, ["2026-01", "2026-02", "2026-03"]);
        // February: both halves; the origin is chosen from the reads in
        // file order (line 3), however they arrived.
        assert_eq!(
            (
                bills[1].quantity,
                bills[1].days,
                bills[1].line,
                bills[1].start,
                bills[1].end
            ),
            (8.0, 28, 3, d(2, 1), d(2, 28))
        );
        assert!(bills[2].estimated && !bills[1].estimated);
    }

    #[test]
    fn reads_are_inclusive_and_split_bills_merge() {
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let reads = [
            Read {
                start: d(3, 1),
                end: d(3, 15),
                quantity: 150.0,
                estimated: false,
                file: 0,
                line: 2,
            },
            Read {
                start: d(3, 16),
                end: d(3, 31),
                quantity: 160.0,
                estimated: true,
                file: 0,
                line: 3,
            },
        ];
        let bills = bills_from_reads(&reads);
        assert_eq!(bills.len(), 1);
        assert_eq!(bills[0].days, 31);
        assert!((bills[0].per_day() - 10.0).abs() < 1e-12);
        assert!(bills[0].estimated);
    }

    #[test]
    fn units_convert_to_gallons() {
        assert_eq!(
            "CCF".parse::<Unit>().unwrap().to_canonical(),
            (Service::Water, 748.052)
        );
        assert_eq!(
            "kWh".parse::<Unit>().unwrap().to_canonical().0,
            Service::Electric
        );
        assert!("liters".parse::<Unit>().is_err());
    }
}
