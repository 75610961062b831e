//! `usage.csv`: one row per meter read (INPUTS.md, "usage.csv"), as billed
//! quantities or as cumulative register readings.

use std::collections::BTreeMap;
use std::io::Read as IoRead;

use anyhow::Result;
use chrono::NaiveDate;

use super::mapping::{UsageFormat, coded, yes_no_coded};
use super::{Columns, Dataset, blocks};
use crate::exception::{Exception, Reason};
use crate::model::{Read, Unit};

/// Every row names its account and unit; a billed quantity needs its
/// period, a register reading its date.
const REQUIRED: [&str; 2] = ["account_id", "unit"];
const FOR_QUANTITY: [&str; 2] = ["period_start", "period_end"];

/// One reading of a meter's cumulative register.
#[derive(Debug, Clone)]
struct Register {
    meter: String,
    date: NaiveDate,
    /// In the canonical unit of the service.
    reading: f64,
    /// The register's capacity in the canonical unit (`10^dials` in the
    /// read's unit), when the export gives its digits.
    capacity: Option<f64>,
    estimated: bool,
    line: u32,
}

/// What one piece of a block held.
#[derive(Default)]
struct PieceResult {
    reads: Vec<(usize, Read)>,
    registers: Vec<(usize, Register)>,
    /// (household, exception), first problem first.
    defects: Vec<(usize, Exception)>,
    /// (account, line) of every row for an account the customer file lacks.
    unknown: Vec<(String, u64)>,
}

/// Stream the usage file into `data`. A bad read moves its household to the
/// exceptions (first problem wins); reads for accounts the customer file does
/// not have are reported once per account. Blocks of the file are parsed on
/// all cores (`ingest/blocks.rs`).
pub fn read_usage(
    input: impl IoRead,
    file: &str,
    data: &mut Dataset,
    format: &UsageFormat,
) -> Result<()> {
    read_usage_in_blocks(input, file, data, format, blocks::BLOCK)
}

fn read_usage_in_blocks(
    input: impl IoRead,
    file: &str,
    data: &mut Dataset,
    format: &UsageFormat,
    block_size: usize,
) -> Result<()> {
    let input = super::decoded(input, format.encoding);
    let mut input = std::io::BufReader::with_capacity(1 << 20, super::LineLimit::new(input, file));
    let headers = blocks::read_header(&mut input, file, format.delimiter.0)?;
    let cols = Columns::renamed(&headers, file, &REQUIRED, &format.columns.renamed())?;
    let readings = check_value_columns(&cols, file)?;
    let index: rustc_hash::FxHashMap<&str, usize> = data
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| (h.account_id.as_str(), i))
        .collect();
    // Accounts already rejected by the customer file: their reads are moot.
    let rejected: std::collections::HashSet<&str> = data
        .exceptions
        .iter()
        .map(|e| e.account_id.as_str())
        .collect();
    let households = &data.households;
    let mut found = Found::new(households.len(), readings);
    let pieces = 4 * rayon::current_num_threads();
    let cx = Context {
        file,
        at: At::new(&cols),
        fields: headers.len(),
        index: &index,
        households,
        format,
    };
    let parse = |piece: &blocks::Piece<'_>| parse_piece(piece, &cx);
    blocks::parse_blocks(&mut input, file, block_size, pieces, parse, |results| {
        for r in results {
            found.add(r, &rejected);
        }
        Ok(())
    })?;
    found.add_register_reads(households, file);
    let Found {
        reads: new_reads,
        defects,
        unknown,
        ..
    } = found;
    for (reads, new) in data.reads.iter_mut().zip(new_reads) {
        reads.extend(new);
    }
    report_unknown(data, unknown, file);
    data.reject(defects);
    Ok(())
}

/// Rows hold billed quantities, register readings, or either (a row with
/// an empty quantity and a reading is a register read); the header must
/// have the columns of at least one. Returns whether register readings can
/// occur.
fn check_value_columns(cols: &Columns, file: &str) -> Result<bool> {
    let quantities = cols.at("quantity").is_some();
    let readings = cols.at("reading").is_some();
    anyhow::ensure!(
        quantities || readings,
        "{file}:1: header lacks required column(s): quantity (or reading, for register reads)"
    );
    if quantities {
        let missing: Vec<&str> = FOR_QUANTITY
            .into_iter()
            .filter(|c| cols.at(c).is_none())
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{file}:1: header lacks required column(s): {}",
            missing.join(", ")
        );
    }
    anyhow::ensure!(
        !readings || cols.at("read_date").is_some() || cols.at("period_end").is_some(),
        "{file}:1: register readings need read_date (or period_end)"
    );
    Ok(readings)
}

/// What the pieces found, gathered in file order: per household its reads,
/// register readings and first defect, and the accounts the customer file
/// lacks.
struct Found {
    reads: Vec<Vec<Read>>,
    /// Empty when the file has no register readings.
    registers: Vec<Vec<Register>>,
    defects: BTreeMap<usize, Exception>,
    /// account -> (first line, rows).
    unknown: BTreeMap<String, (u64, usize)>,
}

impl Found {
    fn new(households: usize, readings: bool) -> Found {
        let mut registers: Vec<Vec<Register>> = Vec::new();
        if readings {
            registers = vec![Vec::new(); households];
        }
        Found {
            reads: vec![Vec::new(); households],
            registers,
            defects: BTreeMap::new(),
            unknown: BTreeMap::new(),
        }
    }

    /// Pieces are added in file order, so a household's first defect in
    /// the file is the one kept.
    fn add(&mut self, r: PieceResult, rejected: &std::collections::HashSet<&str>) {
        // A household's reads come on consecutive rows: each run is given
        // its room at once, so a household's list is allocated once, at the
        // length it needs, rather than doubled (and copied) three times.
        for run in r.reads.chunk_by(|a, b| a.0 == b.0) {
            let reads = &mut self.reads[run[0].0];
            reads.reserve_exact(run.len());
            reads.extend(run.iter().map(|&(_, read)| read));
        }
        for (i, reg) in r.registers {
            self.registers[i].push(reg);
        }
        for (i, e) in r.defects {
            self.defects.entry(i).or_insert(e);
        }
        for (account, line) in r.unknown {
            if !rejected.contains(account.as_str()) {
                self.unknown.entry(account).or_insert((line, 0)).1 += 1;
            }
        }
    }

    /// Register readings become reads only once the whole file is in: a
    /// meter's readings may be spread over it, and use is the difference
    /// between consecutive ones. A row's own defect, found earlier, wins.
    fn add_register_reads(&mut self, households: &[crate::model::Household], file: &str) {
        for (i, regs) in std::mem::take(&mut self.registers).into_iter().enumerate() {
            match reads_from_registers(regs) {
                Ok(reads) => self.reads[i].extend(reads),
                Err((line, why)) => {
                    self.defects.entry(i).or_insert_with(|| {
                        Exception::new(
                            households[i].account_id.clone(),
                            Reason::ReadingBackwards,
                            format!("{file}:{line}: {why}"),
                        )
                    });
                }
            }
        }
    }
}

/// One exception per account the customer file lacks, not one per row:
/// a stale account can have years of reads.
fn report_unknown(data: &mut Dataset, unknown: BTreeMap<String, (u64, usize)>, file: &str) {
    for (account, (line, rows)) in unknown {
        let detail =
            format!("{file}:{line}: {rows} usage row(s) for an account not in the customer file");
        data.exceptions
            .push(Exception::new(account, Reason::UnknownAccount, detail));
    }
}

/// Use from register readings: the difference between consecutive reads of
/// each meter, over the days from the day after the earlier read to the
/// later one. A new meter id starts a new sequence (a meter exchange: the old
/// meter's last read and the new meter's first close and open it); a
/// register that wraps through zero counts its capacity when the export
/// gives the dials and the earlier read was in the top half; any other read
/// below the one before is an error, with its line.
fn reads_from_registers(mut regs: Vec<Register>) -> Result<Vec<Read>, (u32, String)> {
    regs.sort_by(|a, b| (&a.meter, a.date, a.line).cmp(&(&b.meter, b.date, b.line)));
    let mut out = Vec::new();
    for pair in regs.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if before.meter != after.meter {
            continue;
        }
        if after.date == before.date {
            return Err((
                after.line,
                format!(
                    "two readings of meter {} on {} (the other on line {})",
                    before.meter, after.date, before.line
                ),
            ));
        }
        let used = if after.reading >= before.reading {
            after.reading - before.reading
        } else {
            match after.capacity {
                Some(cap) if before.reading >= cap / 2.0 && after.reading < cap / 2.0 => {
                    after.reading + cap - before.reading
                }
                _ => {
                    return Err((
                        after.line,
                        format!(
                            "meter {} reads {} on {}, below {} on {} (line {}): a register does not run backwards; \
                             give dials for a rollover, or a new meter_id for an exchanged meter",
                            after.meter,
                            after.reading,
                            after.date,
                            before.reading,
                            before.date,
                            before.line
                        ),
                    ));
                }
            }
        };
        out.push(Read {
            start: before.date + chrono::Days::new(1),
            end: after.date,
            quantity: used,
            estimated: after.estimated || before.estimated,
            file: 0,
            line: after.line,
        });
    }
    Ok(out)
}

/// The usage file's columns, found once per piece: 14 reads a household
/// make name lookups per field a measurable share of the plan stage.
struct At {
    account: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    quantity: Option<usize>,
    unit: Option<usize>,
    estimated: Option<usize>,
    reading: Option<usize>,
    read_date: Option<usize>,
    meter: Option<usize>,
    dials: Option<usize>,
}

impl At {
    fn new(cols: &Columns) -> At {
        At {
            account: cols.at("account_id"),
            start: cols.at("period_start"),
            end: cols.at("period_end"),
            quantity: cols.at("quantity"),
            unit: cols.at("unit"),
            estimated: cols.at("estimated"),
            reading: cols.at("reading"),
            read_date: cols.at("read_date").or(cols.at("period_end")),
            meter: cols.at("meter_id"),
            dials: cols.at("dials"),
        }
    }
}

/// What every row of the file is read with.
struct Context<'a> {
    file: &'a str,
    at: At,
    fields: usize,
    index: &'a rustc_hash::FxHashMap<&'a str, usize>,
    households: &'a [crate::model::Household],
    format: &'a UsageFormat,
}

type Problem = (Reason, String);

fn date(
    r: &csv::StringRecord,
    name: &str,
    col: Option<usize>,
    format: &UsageFormat,
) -> Result<NaiveDate, Problem> {
    let v =
        super::field(r, col).ok_or_else(|| (Reason::MissingField, format!("missing {name}")))?;
    match &format.date_format {
        None => super::parse_iso_date(v).ok_or_else(|| {
            (
                Reason::BadDate,
                format!("{name} {v:?} is not an ISO date (YYYY-MM-DD)"),
            )
        }),
        Some(f) => f.parse(v).ok_or_else(|| {
            (
                Reason::BadDate,
                format!("{name} {v:?} is not a date in the mapping's form {:?}", f.0),
            )
        }),
    }
}

/// A number >= 0 from a column.
fn amount(r: &csv::StringRecord, name: &str, col: Option<usize>) -> Result<f64, Problem> {
    let raw =
        super::field(r, col).ok_or_else(|| (Reason::MissingField, format!("missing {name}")))?;
    raw.parse()
        .ok()
        .filter(|q: &f64| q.is_finite() && *q >= 0.0)
        .ok_or_else(|| {
            (
                Reason::BadQuantity,
                format!("{name} {raw:?} is not a non-negative number"),
            )
        })
}

/// The read's unit, as a factor to the service's canonical unit.
fn unit_factor(
    r: &csv::StringRecord,
    cx: &Context<'_>,
    service: crate::model::Service,
) -> Result<f64, Problem> {
    let unit_raw = super::field(r, cx.at.unit)
        .ok_or_else(|| (Reason::MissingField, "missing unit".to_string()))?;
    let unit: Unit = coded(unit_raw, &cx.format.values.unit)
        .map_err(|e| (Reason::UnknownUnit, e.to_string()))?;
    let (unit_service, factor) = unit.to_canonical();
    if unit_service != service {
        return Err((
            Reason::UnitMismatch,
            format!(
                "unit {unit_raw:?} measures {} but the account is {}",
                unit_service.as_str(),
                service.as_str()
            ),
        ));
    }
    Ok(factor)
}

fn estimated(r: &csv::StringRecord, cx: &Context<'_>) -> Result<bool, Problem> {
    match super::field(r, cx.at.estimated) {
        None => Ok(false),
        Some(v) => yes_no_coded(v, &cx.format.values.estimated).ok_or_else(|| {
            (
                Reason::BadValue,
                format!("estimated {v:?} is not true/false"),
            )
        }),
    }
}

fn parse_read(
    r: &csv::StringRecord,
    cx: &Context<'_>,
    service: crate::model::Service,
) -> Result<Read, Problem> {
    let start = date(r, "period_start", cx.at.start, cx.format)?;
    let end = date(r, "period_end", cx.at.end, cx.format)?;
    if end < start {
        return Err((
            Reason::EndBeforeStart,
            format!("period_end {end} is before period_start {start}"),
        ));
    }
    let quantity = amount(r, "quantity", cx.at.quantity)?;
    let factor = unit_factor(r, cx, service)?;
    Ok(Read {
        start,
        end,
        quantity: quantity * factor,
        estimated: estimated(r, cx)?,
        file: 0,
        line: 0,
    })
}

fn parse_register(
    r: &csv::StringRecord,
    cx: &Context<'_>,
    service: crate::model::Service,
) -> Result<Register, Problem> {
    let date = date(r, "read_date", cx.at.read_date, cx.format)?;
    let reading = amount(r, "reading", cx.at.reading)?;
    let factor = unit_factor(r, cx, service)?;
    let capacity = match super::field(r, cx.at.dials) {
        None => None,
        Some(v) => Some(
            v.parse::<i32>()
                .ok()
                .filter(|d| (1..=15).contains(d))
                .map(|d| 10f64.powi(d) * factor)
                .ok_or_else(|| (Reason::BadValue, format!("dials {v:?} is not 1 to 15")))?,
        ),
    };
    Ok(Register {
        meter: super::field(r, cx.at.meter).unwrap_or("").to_string(),
        date,
        reading: reading * factor,
        capacity,
        estimated: estimated(r, cx)?,
        line: 0,
    })
}

/// Parse one piece of a block (whole records).
fn parse_piece(piece: &blocks::Piece<'_>, cx: &Context<'_>) -> PieceResult {
    let mut out = PieceResult::default();
    // About one read per 40 bytes: room made once, not doubled up to it.
    out.reads.reserve(piece.bytes.len() / 40);
    let file = cx.file;
    let mut defective: rustc_hash::FxHashSet<usize> = Default::default();
    let (mut last, mut last_account) = (None, String::new());
    blocks::for_each_row(
        piece,
        cx.fields,
        cx.format.delimiter.0,
        |line, record, problem| {
            if let Some(detail) = problem {
                let account = record.get(0).unwrap_or("").trim();
                if let Some(&i) = cx.index.get(account)
                    && defective.insert(i)
                {
                    let detail = format!("{file}:{line}: {detail}");
                    out.defects
                        .push((i, Exception::new(account, Reason::MalformedRow, detail)));
                }
                return;
            }
            let account = super::field(record, cx.at.account).unwrap_or("");
            // A household's reads are usually on consecutive rows: the
            // last row's account is asked before the index is.
            let i = match last {
                Some(i) if account == last_account => i,
                _ => {
                    let Some(&i) = cx.index.get(account) else {
                        out.unknown.push((account.to_string(), line));
                        return;
                    };
                    last_account.clear();
                    last_account.push_str(account);
                    last = Some(i);
                    i
                }
            };
            if defective.contains(&i) {
                return;
            }
            let service = cx.households[i].service;
            let line32 = u32::try_from(line).unwrap_or(u32::MAX);
            let register = cx.at.reading.is_some()
                && super::field(record, cx.at.quantity).is_none()
                && super::field(record, cx.at.reading).is_some();
            let parsed = if register {
                parse_register(record, cx, service).map(|mut reg| {
                    reg.line = line32;
                    out.registers.push((i, reg));
                })
            } else {
                parse_read(record, cx, service).map(|mut read| {
                    read.line = line32;
                    out.reads.push((i, read));
                })
            };
            if let Err((reason, msg)) = parsed {
                defective.insert(i);
                out.defects.push((
                    i,
                    Exception::new(account, reason, format!("{file}:{line}: {msg}")),
                ));
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::read_customers;
    use crate::model::Service;

    /// Households A and B, and a usage file of `header` and `body`.
    fn read(header: &str, body: &str) -> Dataset {
        let customers = "account_id,name,address_line1,city,state,zip,locality\n\
                         A,Ann,1 Elm,Davis,CA,95616,n\nB,Bo,2 Elm,Davis,CA,95616,n\n";
        let mut d = read_customers(
            customers.as_bytes(),
            "customers.csv",
            Service::Water,
            &Default::default(),
        )
        .unwrap();
        let text = format!("{header}\n{body}");
        read_usage(text.as_bytes(), "usage.csv", &mut d, &Default::default()).unwrap();
        d
    }

    fn dataset(usage: &str) -> Dataset {
        read("account_id,period_start,period_end,quantity,unit", usage)
    }

    #[test]
    fn converts_units_and_keeps_good_households() {
        let d = dataset("A,2026-01-01,2026-01-31,2,ccf\nA,2026-02-01,2026-02-28,3.1,kgal\n");
        assert_eq!(d.households.len(), 2);
        assert!((d.reads[0][0].quantity - 1496.104).abs() < 1e-9);
        assert!((d.reads[0][1].quantity - 3100.0).abs() < 1e-9);
    }

    #[test]
    fn each_kind_of_bad_read_is_reported_with_its_line() {
        let cases = [
            ("A,2026-01-01,2026-13-01,1,gal\n", Reason::BadDate),
            ("A,2026-01-31,2026-01-01,1,gal\n", Reason::EndBeforeStart),
            ("A,2026-01-01,2026-01-31,-4,gal\n", Reason::BadQuantity),
            ("A,2026-01-01,2026-01-31,lots,gal\n", Reason::BadQuantity),
            ("A,2026-01-01,2026-01-31,4,liters\n", Reason::UnknownUnit),
            ("A,2026-01-01,2026-01-31,4,kWh\n", Reason::UnitMismatch),
            ("A,2026-01-01,2026-01-31,4\n", Reason::MalformedRow),
        ];
        for (row, reason) in cases {
            let d = dataset(&format!("B,2026-01-01,2026-01-31,1,gal\n{row}"));
            assert_eq!(d.households.len(), 1, "{row}");
            assert_eq!(d.households[0].account_id, "B");
            assert_eq!(d.exceptions.len(), 1, "{row}");
            assert_eq!(d.exceptions[0].reason, reason, "{row}");
            assert!(
                d.exceptions[0].detail.starts_with("usage.csv:3:"),
                "{}",
                d.exceptions[0].detail
            );
        }
    }

    #[test]
    fn small_blocks_read_the_same_as_one_block() {
        // Many reads, a malformed row, a quoted newline and an unknown
        // account: cut into 64-byte blocks, the result is identical. The
        // quoted row spans lines 26-27, so the unknown account is on 28.
        let mut body = String::new();
        for m in 1..=12 {
            for a in ["A", "B"] {
                body.push_str(&format!("{a},2026-{m:02}-01,2026-{m:02}-28,{m}.5,gal\n"));
            }
        }
        body.push_str("B,2026-12-01,2026-12-28,\"7\",\"g\nal\"\nZ,2026-01-01,2026-01-31,1,gal\n");
        let read = |block: usize| {
            let customers = "account_id,name,address_line1,city,state,zip,locality\n\
                             A,Ann,1 Elm,Davis,CA,95616,n\nB,Bo,2 Elm,Davis,CA,95616,n\n";
            let mut d = read_customers(
                customers.as_bytes(),
                "customers.csv",
                Service::Water,
                &Default::default(),
            )
            .unwrap();
            let text = format!("account_id,period_start,period_end,quantity,unit\n{body}");
            read_usage_in_blocks(
                text.as_bytes(),
                "usage.csv",
                &mut d,
                &Default::default(),
                block,
            )
            .unwrap();
            d
        };
        let (whole, small) = (read(1 << 20), read(64));
        assert_eq!(whole.reads, small.reads);
        assert_eq!(whole.exceptions, small.exceptions);
        assert_eq!(whole.households.len(), 1);
        assert_eq!(whole.reads[0].len(), 12);
        let problems: Vec<&str> = whole.exceptions.iter().map(|e| e.detail.as_str()).collect();
        assert!(
            problems.contains(
                &"usage.csv:26: unknown unit \"g\\nal\" (expected gal, kgal, ccf, m3, kWh or therm)"
            ),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("usage.csv:28: 1 usage row(s)")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_accounts_are_reported_once() {
        let d = dataset("Z,2026-01-01,2026-01-31,1,gal\nZ,2026-02-01,2026-02-28,1,gal\n");
        assert_eq!(d.exceptions.len(), 1);
        assert_eq!(d.exceptions[0].reason, Reason::UnknownAccount);
        assert!(d.exceptions[0].detail.contains("2 usage row(s)"));
    }

    fn registers(body: &str) -> Dataset {
        read(
            "account_id,meter_id,read_date,reading,unit,dials,estimated",
            body,
        )
    }

    /// Register reads become use by differences: across a rollover of a
    /// 4-dial register and a meter exchange (the old meter's last read and
    /// the new one's first on the same day), in any row order.
    #[test]
    fn register_readings_become_use() {
        let d = registers(
            "A,M1,2026-03-31,9950,kgal,4,\n\
             A,M1,2026-01-31,9900,kgal,4,\n\
             A,M1,2026-02-28,9930,kgal,4,y\n\
             A,M1,2026-04-30,12,kgal,4,\n\
             A,M1,2026-05-15,20,kgal,4,\n\
             A,M2,2026-05-15,0,kgal,4,\n\
             A,M2,2026-05-31,4,kgal,4,\n\
             B,M9,2026-01-31,100,gal,,\n",
        );
        assert!(d.exceptions.is_empty(), "{:?}", d.exceptions);
        let got: Vec<(String, String, f64, bool, u32)> = d.reads[0]
            .iter()
            .map(|r| {
                (
                    r.start.to_string(),
                    r.end.to_string(),
                    r.quantity,
                    r.estimated,
                    r.line,
                )
            })
            .collect();
        let want = [
            ("2026-02-01", "2026-02-28", 30_000.0, true, 4),
            ("2026-03-01", "2026-03-31", 20_000.0, true, 2),
            ("2026-04-01", "2026-04-30", 62_000.0, false, 5),
            ("2026-05-01", "2026-05-15", 8_000.0, false, 6),
            ("2026-05-16", "2026-05-31", 4_000.0, false, 8),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(
                (g.0.as_str(), g.1.as_str(), g.3, g.4),
                (w.0, w.1, w.3, w.4),
                "{g:?}"
            );
            assert!((g.2 - w.2).abs() < 1e-6, "{g:?}");
        }
        // B's single read gives no use yet.
        assert!(d.reads[1].is_empty());
    }

    #[test]
    fn a_register_going_backwards_is_its_households_exception() {
        let d = registers(
            "B,M9,2026-01-31,100,gal,,\n\
             A,M1,2026-01-31,500,gal,,\n\
             A,M1,2026-02-28,450,gal,,\n\
             A,M1,2026-03-31,300,gal,4,\n",
        );
        assert_eq!(d.households.len(), 1);
        assert_eq!(d.exceptions.len(), 1);
        let e = &d.exceptions[0];
        assert_eq!(
            (e.account_id.as_str(), e.reason),
            ("A", Reason::ReadingBackwards)
        );
        assert!(
            e.detail.starts_with("usage.csv:4: meter M1 reads 450"),
            "{}",
            e.detail
        );
    }
}
