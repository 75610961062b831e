//! `customers.csv`: one row per household (INPUTS.md, "customers.csv").

use std::collections::BTreeMap;
use std::io::Read as IoRead;
use std::sync::Arc;

use anyhow::Result;

use super::mapping::{CustomersFormat, coded, yes_no_coded};
use super::{Columns, Dataset, blocks};
use crate::exception::{Exception, Reason};
use crate::model::{Extra, Household, Language, Origin, Service, Status, Text};

const REQUIRED: [&str; 7] = [
    "account_id",
    "name",
    "address_line1",
    "city",
    "state",
    "zip",
    "locality",
];
/// The contract's columns, in the order of [`Col`].
const KNOWN: [&str; 17] = [
    "account_id",
    "name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "locality",
    "service",
    "occupants",
    "home_sqft",
    "year_built",
    "heating_fuel",
    "language",
    "programs",
    "status",
    "do_not_mail",
];

/// A contract column: a row's fields are found by the position each
/// column has in this file, looked up once, rather than by hashing the
/// column's name for every field of every row (a tenth of the reading).
#[derive(Clone, Copy)]
enum Col {
    AccountId,
    Name,
    AddressLine1,
    AddressLine2,
    City,
    State,
    Zip,
    Locality,
    Service,
    Occupants,
    HomeSqft,
    YearBuilt,
    HeatingFuel,
    Language,
    Programs,
    Status,
    DoNotMail,
}

impl Col {
    fn name(self) -> &'static str {
        KNOWN[self as usize]
    }
}

/// Stream the customer file. Rows that fail validation become exceptions;
/// two rows with the same `account_id` both do, since neither can be trusted.
pub fn read_customers(
    input: impl IoRead,
    file: &str,
    default_service: Service,
    format: &CustomersFormat,
) -> Result<Dataset> {
    read_customers_sized(input, file, default_service, format, None)
}

/// [`read_customers`] of a file of `size` bytes, when known: the list of
/// households is given its room after the first block, from the rows per
/// byte there, rather than doubled (and copied) up to a million.
pub fn read_customers_sized(
    input: impl IoRead,
    file: &str,
    default_service: Service,
    format: &CustomersFormat,
    mut size: Option<u64>,
) -> Result<Dataset> {
    let input = super::decoded(input, format.encoding);
    let mut input = std::io::BufReader::with_capacity(1 << 20, super::LineLimit::new(input, file));
    let headers = blocks::read_header(&mut input, file, format.delimiter.0)?;
    let cols = Columns::renamed(&headers, file, &REQUIRED, &format.columns.renamed())?;
    let extra_cols = extra_columns(&cols);
    let context = Context {
        file: Arc::from(file),
        at: KNOWN.map(|name| cols.at(name)),
        cols: &cols,
        fields: headers.len(),
        extra_cols: &extra_cols,
        default_service,
        format,
    };

    let mut data = Dataset::default();
    let mut accounts = Accounts::default();
    let pieces = 4 * rayon::current_num_threads();
    // Rows are parsed on all cores, then taken in file order: the first row
    // of an account wins, and a duplicate is judged against it.
    let parse = |piece: &blocks::Piece<'_>| parse_piece(piece, &context);
    blocks::parse_blocks(&mut input, file, blocks::BLOCK, pieces, parse, |parsed| {
        let rows: usize = parsed.iter().map(Vec::len).sum();
        if let Some(size) = size.take() {
            let expected = (rows as u64 * size / blocks::BLOCK as u64) as usize * 21 / 20;
            data.households.reserve(expected);
            accounts.first_line.reserve(expected);
        }
        accounts.first_line.reserve(rows);
        for (line, row) in parsed.into_iter().flatten() {
            match row {
                Ok(h) => accounts.accept(&mut data, h, line),
                Err(ex) => data.exceptions.push(ex),
            }
        }
        Ok(())
    })?;
    accounts.count_rejected_rows(&mut data, file);
    accounts.reject_duplicates(&mut data, file);
    // The list grew by doubling: give back the room no row took (up to
    // half of it; for a large list the allocator shrinks it in place).
    data.households.shrink_to_fit();
    data.reads = vec![Vec::new(); data.households.len()];
    Ok(data)
}

/// Columns the report does not know, kept with each household so a
/// template can print them.
fn extra_columns(cols: &Columns) -> Vec<(Arc<str>, usize)> {
    cols.names()
        .filter(|(n, _)| !KNOWN.contains(n))
        .map(|(n, i)| (Arc::from(n), i))
        .collect()
}

/// The accounts seen so far, in file order: which line each was first
/// accepted on, and every line of the accounts seen more than once.
#[derive(Default)]
struct Accounts {
    /// Keyed by the account as a `Text`: nearly every account fits inside
    /// it, so a million accounts cost no allocation (a `String` each took
    /// a quarter of a second to allocate and as long to free).
    first_line: rustc_hash::FxHashMap<crate::model::Text, (usize, u64)>,
    duplicates: BTreeMap<String, Vec<u64>>,
}

impl Accounts {
    /// Keep a household unless its account was accepted before: then it
    /// is only a line of a duplicate, judged after the whole file is read.
    fn accept(&mut self, data: &mut Dataset, h: Household, line: u64) {
        if let Some(&(_, first)) = self.first_line.get(h.account_id.as_str()) {
            self.duplicates
                .entry(h.account_id.to_string())
                .or_insert_with(|| vec![first])
                .push(line);
        } else {
            self.first_line
                .insert(h.account_id.clone(), (data.households.len(), line));
            data.households.push(h);
        }
    }

    /// A rejected row whose account another row was accepted under (before
    /// or after it) makes that account a duplicate: it ends in one place.
    fn count_rejected_rows(&mut self, data: &mut Dataset, file: &str) {
        let (clashes, rest): (Vec<Exception>, Vec<Exception>) =
            std::mem::take(&mut data.exceptions)
                .into_iter()
                .partition(|e| {
                    !e.account_id.is_empty() && self.first_line.contains_key(e.account_id.as_str())
                });
        data.exceptions = rest;
        for e in clashes {
            let line = e
                .detail
                .strip_prefix(&format!("{file}:"))
                .and_then(|d| d.split(':').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            self.duplicates
                .entry(e.account_id.clone())
                .or_insert_with(|| vec![self.first_line[e.account_id.as_str()].1])
                .push(line);
        }
    }

    /// Neither row of a duplicate account can be trusted: its household is
    /// dropped and one exception lists every line it appears on.
    fn reject_duplicates(self, data: &mut Dataset, file: &str) {
        let duplicates = self.duplicates;
        if duplicates.is_empty() {
            return;
        }
        data.households
            .retain(|h| !duplicates.contains_key(h.account_id.as_str()));
        for (account, mut lines) in duplicates {
            lines.sort_unstable();
            let lines: Vec<String> = lines.iter().map(u64::to_string).collect();
            data.exceptions.push(Exception::new(
                account,
                Reason::DuplicateAccount,
                format!(
                    "{file}:{}: account_id appears on lines {}",
                    lines[0],
                    lines.join(", ")
                ),
            ));
        }
    }
}

/// What every row of the file is read with.
struct Context<'a> {
    /// The file's name, shared by every household's [`Origin`].
    file: Arc<str>,
    /// Each [`Col`]'s position in this file.
    at: [Option<usize>; KNOWN.len()],
    cols: &'a Columns,
    fields: usize,
    extra_cols: &'a [(Arc<str>, usize)],
    default_service: Service,
    format: &'a CustomersFormat,
}

/// Parse one piece of a block: each row's line and household or exception.
fn parse_piece(
    piece: &blocks::Piece<'_>,
    cx: &Context<'_>,
) -> Vec<(u64, Result<Household, Exception>)> {
    // About one household per 100 bytes: room made once, not doubled up to it.
    let mut out = Vec::with_capacity(piece.bytes.len() / 100);
    let file = &*cx.file;
    blocks::for_each_row(
        piece,
        cx.fields,
        cx.format.delimiter.0,
        |line, record, problem| {
            let row = match problem {
                Some(detail) => Err(Exception::new(
                    record.get(0).unwrap_or("").trim(),
                    Reason::MalformedRow,
                    format!("{file}:{line}: {detail}"),
                )),
                None => parse_household(record, cx, line),
            };
            out.push((line, row));
        },
    );
    out
}

/// One row being read: its fields by column name, and the account and
/// `file:line` every exception it raises must carry.
struct Row<'r> {
    record: &'r csv::StringRecord,
    at: &'r [Option<usize>; KNOWN.len()],
    cols: &'r Columns,
    file: &'r str,
    line: u64,
    account_id: &'r str,
}

impl<'r> Row<'r> {
    fn get(&self, col: Col) -> Option<&'r str> {
        super::field(self.record, self.at[col as usize])
    }

    fn fail(&self, reason: Reason, msg: String) -> Exception {
        Exception::new(
            self.account_id,
            reason,
            format!("{}:{}: {msg}", self.file, self.line),
        )
    }

    fn required(&self, col: Col) -> Result<&'r str, Exception> {
        self.get(col)
            .ok_or_else(|| self.fail(Reason::MissingField, format!("missing {}", col.name())))
    }

    /// An optional count, such as occupants or a year.
    fn whole_number(&self, col: Col) -> Result<Option<u32>, Exception> {
        self.get(col)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    self.fail(
                        Reason::BadValue,
                        format!("{} {v:?} is not a whole number", col.name()),
                    )
                })
            })
            .transpose()
    }

    /// A field longer than [`super::MAX_FIELD`] would make a letter nobody
    /// can mail, so the row is an exception instead (naming the column).
    fn check_field_lengths(&self) -> Result<(), Exception> {
        let Some((i, v)) = self
            .record
            .iter()
            .enumerate()
            .find(|(_, v)| v.len() > super::MAX_FIELD)
        else {
            return Ok(());
        };
        let name = self
            .cols
            .names()
            .find(|(_, k)| *k == i)
            .map_or("?", |(n, _)| n)
            .to_string();
        Err(self.fail(
            Reason::BadValue,
            format!(
                "{name} is {} characters long (at most {}): not a value a letter can carry",
                v.chars().count(),
                super::MAX_FIELD
            ),
        ))
    }

    /// The ZIP, kept as text in its canonical form.
    fn zip(&self) -> Result<String, Exception> {
        normalize_zip(self.required(Col::Zip)?).ok_or_else(|| {
            self.fail(
                Reason::BadZip,
                format!(
                    "zip {:?} is not 5 or 9 digits",
                    self.get(Col::Zip).unwrap_or("")
                ),
            )
        })
    }
}

/// The coded fields of a row, decoded through the mapping's value tables.
struct Codes {
    service: Service,
    language: Language,
    status: Status,
    do_not_mail: bool,
}

/// Decode the coded fields in the order their problems are reported;
/// an absent field takes its default.
fn codes(row: &Row<'_>, cx: &Context<'_>) -> Result<Codes, Exception> {
    let values = &cx.format.values;
    let service = match row.get(Col::Service) {
        Some(s) => {
            coded(s, &values.service).map_err(|e| row.fail(Reason::BadValue, e.to_string()))?
        }
        None => cx.default_service,
    };
    let language: Language = coded(row.get(Col::Language).unwrap_or("en"), &values.language)
        .map_err(|e| row.fail(Reason::BadValue, e.to_string()))?;
    let status: Status = coded(row.get(Col::Status).unwrap_or("active"), &values.status)
        .map_err(|e| row.fail(Reason::BadValue, e.to_string()))?;
    let do_not_mail = match row.get(Col::DoNotMail) {
        None => false,
        Some(v) => yes_no_coded(v, &values.do_not_mail).ok_or_else(|| {
            row.fail(
                Reason::BadValue,
                format!("do_not_mail {v:?} is not true/false"),
            )
        })?,
    };
    Ok(Codes {
        service,
        language,
        status,
        do_not_mail,
    })
}

/// A row's household, or the row's first problem. The order of the checks
/// (and of the fields below) decides which problem a bad row reports.
fn parse_household(
    r: &csv::StringRecord,
    cx: &Context<'_>,
    line: u64,
) -> Result<Household, Exception> {
    let format = cx.format;
    let row = Row {
        record: r,
        at: &cx.at,
        cols: cx.cols,
        file: &cx.file,
        line,
        account_id: super::field(r, cx.at[Col::AccountId as usize]).unwrap_or(""),
    };
    row.required(Col::AccountId)?;
    row.check_field_lengths()?;
    let zip = row.zip()?;
    let Codes {
        service,
        language,
        status,
        do_not_mail,
    } = codes(&row, cx)?;
    let year_built = row.whole_number(Col::YearBuilt)?.map(|y| y as i32);
    let household = Household {
        name: Text::from(
            super::names::printed(row.required(Col::Name)?, format.names, format.name_case)
                .as_str(),
        ),
        address_line1: row.required(Col::AddressLine1)?.into(),
        address_line2: row.get(Col::AddressLine2).map(Text::from),
        city: row.required(Col::City)?.into(),
        state: row.required(Col::State)?.into(),
        zip: zip.as_str().into(),
        locality: row.required(Col::Locality)?.into(),
        service,
        occupants: row.whole_number(Col::Occupants)?,
        home_sqft: row.whole_number(Col::HomeSqft)?,
        year_built,
        heating_fuel: row
            .get(Col::HeatingFuel)
            .map(|s| Text::from(s.to_ascii_lowercase().as_str())),
        language,
        programs: row.get(Col::Programs).map(programs).unwrap_or_default(),
        status,
        do_not_mail,
        extra: extras(r, cx.extra_cols, format),
        source: Origin::new(cx.file.clone(), line),
        account_id: row.account_id.into(),
    };
    Ok(household)
}

/// `programs` is a `;`-separated list; case and spacing vary by export.
fn programs(field: &str) -> Vec<String> {
    field
        .split(';')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The row's unknown columns, trimmed; a salutation is printed on the
/// letter, so it is re-cased like the name.
fn extras(
    r: &csv::StringRecord,
    extra_cols: &[(Arc<str>, usize)],
    format: &CustomersFormat,
) -> Extra {
    extra_cols
        .iter()
        .filter_map(|(n, i)| r.get(*i).map(|v| (n.clone(), v.trim())))
        .map(|(n, v)| match &*n {
            // Re-cased like the name, never reordered.
            "salutation" => {
                let v = super::names::printed(v, Default::default(), format.name_case);
                (n, Text::from(v))
            }
            _ => (n, Text::from(v)),
        })
        .collect()
}

/// ZIP codes are text: `12345`, `123456789` or `12345-6789`; leading zeros matter.
/// Returns the canonical `12345` or `12345-6789`.
pub fn normalize_zip(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| *c != '-').collect();
    let dashes = raw.chars().filter(|c| *c == '-').count();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match (digits.len(), dashes) {
        (5, 0) => Some(digits),
        (9, 0) => Some(format!("{}-{}", &digits[..5], &digits[5..])),
        (9, 1) if raw.find('-') == Some(5) => Some(format!("{}-{}", &digits[..5], &digits[5..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "account_id,name,address_line1,city,state,zip,locality,language,occupants,meter_route\n";

    /// A whole customer file, as `c.csv`.
    fn read_text(text: &str) -> Dataset {
        read_customers(
            text.as_bytes(),
            "c.csv",
            Service::Water,
            &CustomersFormat::default(),
        )
        .unwrap()
    }

    fn read(body: &str) -> Dataset {
        read_customers(
            format!("{HEADER}{body}").as_bytes(),
            "customers.csv",
            Service::Water,
            &CustomersFormat::default(),
        )
        .unwrap()
    }

    #[test]
    fn keeps_zip_as_text_and_extra_columns() {
        let d = read("A1,Ana Díaz,1 Elm St,Davis,CA,01234,north,es,3,R7\n");
        assert_eq!(d.households[0].zip, "01234");
        assert_eq!(d.households[0].language, Language::Es);
        assert_eq!(&d.households[0].extra["meter_route"], "R7");
        assert_eq!(d.households[0].source.to_string(), "customers.csv:2");
    }

    #[test]
    fn each_bad_row_is_an_exception_with_its_line() {
        let d = read(
            "A1,Ann,1 Elm,Davis,CA,9561,north,en,2,R1\n\
             A2,,2 Elm,Davis,CA,95616,north,en,2,R1\n\
             A3,Bo,3 Elm,Davis,CA,95616,north,xx,2,R1\n\
             A4,Cy,4 Elm,Davis,CA,95616-1234,north,en,two,R1\n\
             A5,Di,5 Elm,Davis,CA,95616,north,en,2,R1\n\
             A5,Di again,5 Elm,Davis,CA,95616,north,en,2,R1\n\
             A6,Ed,6 Elm,Davis,CA,95616,north,en\n",
        );
        let got: Vec<(&str, Reason, &str)> = d
            .exceptions
            .iter()
            .map(|e| (e.account_id.as_str(), e.reason, e.detail.as_str()))
            .collect();
        assert_eq!(got[0].0, "A1");
        assert_eq!(got[0].1, Reason::BadZip);
        assert!(got[0].2.starts_with("customers.csv:2:"), "{}", got[0].2);
        assert_eq!((got[1].0, got[1].1), ("A2", Reason::MissingField));
        assert!(got[1].2.starts_with("customers.csv:3:"));
        assert_eq!((got[2].0, got[2].1), ("A3", Reason::BadValue));
        assert_eq!((got[3].0, got[3].1), ("A4", Reason::BadValue));
        assert_eq!((got[4].0, got[4].1), ("A6", Reason::MalformedRow));
        assert!(got[4].2.starts_with("customers.csv:8:"), "{}", got[4].2);
        assert_eq!((got[5].0, got[5].1), ("A5", Reason::DuplicateAccount));
        assert!(got[5].2.contains("6, 7"), "{}", got[5].2);
        assert!(d.households.is_empty());
    }

    #[test]
    fn missing_required_column_is_fatal() {
        let err = read_customers(
            "account_id,name\nA,B\n".as_bytes(),
            "c.csv",
            Service::Water,
            &CustomersFormat::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("address_line1"), "{err}");
    }

    #[test]
    fn zip_forms() {
        assert_eq!(normalize_zip("95616").as_deref(), Some("95616"));
        assert_eq!(normalize_zip("956161234").as_deref(), Some("95616-1234"));
        assert_eq!(normalize_zip("95616-1234").as_deref(), Some("95616-1234"));
        assert_eq!(normalize_zip("9561-61234"), None);
        assert_eq!(normalize_zip("9561a"), None);
    }

    /// Found by fuzzing (fuzz/artifacts/customers/crash-0acc7f3d...): an
    /// account on a good row and on a malformed one was both accepted and
    /// an exception.
    #[test]
    fn an_account_on_a_good_and_a_broken_row_ends_in_one_place() {
        for body in [
            "A1,Ann,1 Elm,Davis,CA,95616,n\nA1,broken\nA2,Bo,2 Elm,Davis,CA,95616,n\n",
            "A1,broken\nA1,Ann,1 Elm,Davis,CA,95616,n\nA2,Bo,2 Elm,Davis,CA,95616,n\n",
        ] {
            let text = format!("account_id,name,address_line1,city,state,zip,locality\n{body}");
            let d = read_text(&text);
            let accepted: Vec<&str> = d.households.iter().map(|h| h.account_id.as_str()).collect();
            assert_eq!(accepted, ["A2"], "{body}");
            assert_eq!(d.exceptions.len(), 1, "{:?}", d.exceptions);
            assert_eq!(d.exceptions[0].reason, Reason::DuplicateAccount);
            assert_eq!(
                d.exceptions[0].detail,
                "c.csv:2: account_id appears on lines 2, 3"
            );
        }
    }

    /// Windows line endings, a quoted line break and a short row: every
    /// `file:line` is the line the record starts on.
    #[test]
    fn lines_are_right_with_crlf() {
        let text = "account_id,name,address_line1,city,state,zip,locality\r\n\
                    A1,Ann,1 Elm,Davis,CA,95616,n\r\n\
                    A2,Bo,\"2\r\nElm\",Davis,CA,95616,n\r\n\
                    A3,Cy,3 Elm,Davis,CA,9561,n\r\n\
                    A4,Di\r\n\
                    A5,Ed,5 Elm,Davis,CA,95616,n\r\n";
        let d = read_text(text);
        let sources: Vec<String> = d.households.iter().map(|h| h.source.to_string()).collect();
        assert_eq!(sources, ["c.csv:2", "c.csv:3", "c.csv:7"]);
        let details: Vec<&str> = d.exceptions.iter().map(|e| &e.detail[..7]).collect();
        assert_eq!(details, ["c.csv:5", "c.csv:6"]);
    }
}
