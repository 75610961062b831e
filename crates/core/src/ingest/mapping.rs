//! `[mapping.customers]` and `[mapping.usage]`: how a billing system's
//! export is written when it is not the data contract's own form (INPUTS.md,
//! "Mapping an export"): its encoding, delimiter, column names, date format,
//! codes for values, and how names are written.
//!
//! Every setting is checked while the config is read, so a wrong encoding
//! name, an unknown column, a date format that cannot read a date or a code
//! mapped to no known value stops the run with the config's `file:line:col`
//! before any file is opened.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::model::{Language, ParseError, Service, Status, Unit};

/// `[mapping]`: one table per input file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Mapping {
    pub customers: CustomersFormat,
    pub usage: UsageFormat,
    pub interval: IntervalFormat,
}

/// `[mapping.interval]`: a head-end export. Its times keep their own forms
/// (epoch seconds, RFC 3339, local wall time).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IntervalFormat {
    pub encoding: Encoding,
    pub delimiter: Delimiter,
    pub columns: IntervalColumns,
    pub values: UsageValues,
}

/// `[mapping.customers]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CustomersFormat {
    pub encoding: Encoding,
    pub delimiter: Delimiter,
    /// The export's header for each contract column that it names otherwise.
    pub columns: CustomerColumns,
    pub values: CustomerValues,
    pub names: NameOrder,
    pub name_case: NameCase,
}

/// `[mapping.usage]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UsageFormat {
    pub encoding: Encoding,
    pub delimiter: Delimiter,
    pub columns: UsageColumns,
    pub values: UsageValues,
    /// How `period_start`, `period_end` (and `read_date`) are written, in
    /// strftime form (`%m/%d/%Y` reads `10/31/2026` and `1/5/2026`); ISO
    /// dates when absent.
    pub date_format: Option<DateFormat>,
}

/// A struct of optional header names, one per contract column, and the list
/// of (contract name, export header) pairs it sets.
macro_rules! columns {
    ($(#[$doc:meta])* $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(pub $field: Option<String>,)*
        }

        impl $name {
            /// (contract column, the export's header) for each renamed column.
            pub fn renamed(&self) -> Vec<(&'static str, &str)> {
                let mut out = Vec::new();
                $(if let Some(theirs) = &self.$field {
                    out.push((stringify!($field), theirs.as_str()));
                })*
                out
            }
        }
    };
}

columns!(
    /// `[mapping.customers.columns]`.
    CustomerColumns {
        account_id, name, address_line1, address_line2, city, state, zip, locality,
        service, occupants, home_sqft, year_built, heating_fuel, language, programs,
        status, do_not_mail, salutation, channel, email, email_consent, mobile,
        sms_consent,
    }
);

columns!(
    /// `[mapping.interval.columns]`.
    IntervalColumns {
        account_id, start, duration_s, end, quantity, unit, estimated,
    }
);

columns!(
    /// `[mapping.usage.columns]`.
    UsageColumns {
        account_id, period_start, period_end, quantity, unit, estimated, reading, meter_id,
        read_date, dials,
    }
);

/// `[mapping.customers.values]`: the export's codes for the contract's values.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerValues {
    #[serde(deserialize_with = "codes")]
    pub status: BTreeMap<String, Status>,
    #[serde(deserialize_with = "codes")]
    pub language: BTreeMap<String, Language>,
    #[serde(deserialize_with = "codes")]
    pub service: BTreeMap<String, Service>,
    #[serde(deserialize_with = "yes_no")]
    pub do_not_mail: BTreeMap<String, bool>,
}

/// `[mapping.usage.values]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UsageValues {
    #[serde(deserialize_with = "codes")]
    pub unit: BTreeMap<String, Unit>,
    #[serde(deserialize_with = "yes_no")]
    pub estimated: BTreeMap<String, bool>,
}

/// A value through the export's codes (`[mapping.*.values]`), else as the
/// contract spells it: a code the mapping lists and the contract's own
/// spellings are both accepted.
pub fn coded<T: Copy + FromStr<Err = ParseError>>(
    v: &str,
    codes: &BTreeMap<String, T>,
) -> Result<T, ParseError> {
    match codes.get(v) {
        Some(t) => Ok(*t),
        None => v.parse(),
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    let v = v.trim();
    // The spellings a CIS export uses, without allocating for the common ones.
    let is = |word: &str| v.eq_ignore_ascii_case(word);
    if ["true", "t", "yes", "y", "1"].iter().any(|w| is(w)) {
        Some(true)
    } else if ["false", "f", "no", "n", "0", ""].iter().any(|w| is(w)) {
        Some(false)
    } else {
        None
    }
}

/// A yes/no value through the export's codes, else the contract's
/// spellings; None when it is neither.
pub fn yes_no_coded(v: &str, codes: &BTreeMap<String, bool>) -> Option<bool> {
    codes.get(v).copied().or_else(|| parse_bool(v))
}

/// Read `{ A = "active", I = "closed" }`: every target must be a value the
/// contract knows, or the config is refused at that line.
fn codes<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = BTreeMap::<String, String>::deserialize(d)?;
    raw.into_iter()
        .map(|(code, value)| {
            value
                .parse::<T>()
                .map(|v| (code.trim().to_string(), v))
                .map_err(|e| serde::de::Error::custom(format!("code {code:?}: {e}")))
        })
        .collect()
}

/// Read `{ Y = true, N = false }` (or `"yes"`/`"no"` strings).
fn yes_no<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum YesNo {
        Bool(bool),
        Text(String),
    }
    let raw = BTreeMap::<String, YesNo>::deserialize(d)?;
    raw.into_iter()
        .map(|(code, v)| {
            let b = match v {
                YesNo::Bool(b) => Some(b),
                YesNo::Text(t) => parse_bool(&t),
            };
            b.map(|b| (code.trim().to_string(), b)).ok_or_else(|| {
                serde::de::Error::custom(format!("code {code:?} must map to true or false"))
            })
        })
        .collect()
}

/// The character encodings billing systems export in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Utf8,
    /// Windows code page 1252, what Excel and most Windows CIS tools write.
    Windows1252,
    /// ISO 8859-1. Decoded as Windows-1252, its superset for every
    /// printable character, as the WHATWG encoding standard does.
    Latin1,
}

impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "windows-1252" | "cp1252" => Ok(Encoding::Windows1252),
            "latin-1" | "latin1" | "iso-8859-1" => Ok(Encoding::Latin1),
            _ => Err(serde::de::Error::custom(format!(
                "unknown encoding {s:?}: utf-8, windows-1252 or latin-1"
            ))),
        }
    }
}

impl Encoding {
    /// The decoder for a non-UTF-8 file; None for UTF-8, read as it is.
    pub fn decoder(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            Encoding::Utf8 => None,
            Encoding::Windows1252 | Encoding::Latin1 => Some(encoding_rs::WINDOWS_1252),
        }
    }
}

/// The field separator: one ASCII character (`","`, `";"`, `"|"`, `"\t"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl Default for Delimiter {
    fn default() -> Self {
        Delimiter(b',')
    }
}

impl<'de> Deserialize<'de> for Delimiter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_bytes() {
            [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Ok(Delimiter(*b)),
            _ => Err(serde::de::Error::custom(format!(
                "delimiter {s:?} must be one ASCII character other than a quote or a line break"
            ))),
        }
    }
}

/// A strftime date format that reads dates back (checked on a sample).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat(pub String);

impl<'de> Deserialize<'de> for DateFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let sample = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("a real date");
        let mut written = String::new();
        let readable =
            std::fmt::Write::write_fmt(&mut written, format_args!("{}", sample.format(&s))).is_ok()
                && chrono::NaiveDate::parse_from_str(&written, &s).ok() == Some(sample);
        if readable {
            Ok(DateFormat(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "date_format {s:?} cannot read a date back (2026-10-31 written with it is {written:?}); \
                 use strftime fields with the year, month and day, e.g. \"%m/%d/%Y\""
            )))
        }
    }
}

impl DateFormat {
    pub fn parse(&self, v: &str) -> Option<chrono::NaiveDate> {
        chrono::NaiveDate::parse_from_str(v, &self.0).ok()
    }
}

/// How the `name` column is written.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NameOrder {
    /// As the letter should print it.
    #[default]
    AsIs,
    /// `LAST, FIRST` (what most CIS exports write): printed `FIRST LAST`.
    LastFirst,
}

/// Whether names are re-cased.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NameCase {
    #[default]
    AsIs,
    /// Names written all in capitals (or all in lowercase) get the case a
    /// person writes them in (`DE LA CRUZ` is `de la Cruz`, `MCDONALD` is
    /// `McDonald`); a name already in mixed case is left as written.
    Proper,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        mapping: Mapping,
    }

    fn parse(text: &str) -> Result<Mapping, String> {
        toml::from_str::<Doc>(text)
            .map(|d| d.mapping)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_cis_export_is_described() {
        let m = parse(
            r#"
[mapping.customers]
encoding = "windows-1252"
delimiter = ";"
names = "last-first"
name_case = "proper"
columns = { account_id = "ACCT_NO", name = "CUST_NAME" }
values.status = { A = "active", I = "closed" }
values.do_not_mail = { Y = true, N = "no" }
[mapping.usage]
date_format = "%m/%d/%Y"
values.unit = { G = "gal" }
"#,
        )
        .unwrap();
        let c = &m.customers;
        assert_eq!(c.encoding, Encoding::Windows1252);
        assert_eq!(c.delimiter, Delimiter(b';'));
        assert_eq!(
            c.columns.renamed(),
            [("account_id", "ACCT_NO"), ("name", "CUST_NAME")]
        );
        assert_eq!(c.values.status["I"], Status::Closed);
        assert!(c.values.do_not_mail["Y"] && !c.values.do_not_mail["N"]);
        let f = m.usage.date_format.as_ref().unwrap();
        assert_eq!(
            f.parse("1/5/2026"),
            chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(f.parse("2026-01-05"), None);
    }

    #[test]
    fn mistakes_are_refused_at_their_line() {
        for (text, says) in [
            (
                "[mapping.customers]\nencoding = \"ebcdic\"\n",
                "unknown encoding",
            ),
            (
                "[mapping.customers]\ncolumns = { nmae = \"X\" }\n",
                "unknown field `nmae`",
            ),
            (
                "[mapping.customers]\nvalues.status = { A = \"alive\" }\n",
                "code \"A\"",
            ),
            (
                "[mapping.usage]\ndate_format = \"%m/%Y\"\n",
                "cannot read a date back",
            ),
            (
                "[mapping.usage]\ndelimiter = \"::\"\n",
                "one ASCII character",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.contains(says) && err.contains("line 2"),
                "{text}: {err}"
            );
        }
    }
}
