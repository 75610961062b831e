//! Green Button (NAESB ESPI) Atom XML: "Download My Data" files, one per
//! account named `<account_id>.xml`, and bulk feeds whose usage points are
//! mapped to accounts by `greenbutton-accounts.csv` (`usage_point`,
//! `account_id`; the usage point as its href, `owner/UsagePoint/id`, or a
//! bare id).
//!
//! The file is streamed with quick-xml. Entries refer to each other by
//! their Atom links: an `IntervalBlock` belongs to the `MeterReading` whose
//! href it extends, a `MeterReading` names its `ReadingType` in a `related`
//! link, and a `UsagePoint` is found from a meter's href by its
//! `…/<owner>/UsagePoint/<id>` segments (exports spell the owner's path
//! differently in different entries). Units come from the ReadingType's
//! codes, never its title. Readings are kept raw (32 bytes each) until the
//! file ends, because a ReadingType may come after its readings.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read as IoRead};
use std::path::Path;

use anyhow::{Context, Result};
use quick_xml::events::Event;

use super::series::{Accumulator, IntervalRules, Series};
use super::zone::{EspiTime, Zone};
use crate::exception::Reason;
use crate::model::Service;

/// `greenbutton-accounts.csv` in the folder, if there is one.
pub const ACCOUNTS_FILE: &str = "greenbutton-accounts.csv";

/// Read every `*.xml` file of a folder into one [`Series`] per (account,
/// meter). `files` receives each file's name; a read's `file` indexes it.
pub fn read_folder(
    dir: &Path,
    fallback: Zone,
    rules: &IntervalRules,
    files: &mut Vec<String>,
) -> Result<Vec<(String, Series)>> {
    let mapping = read_mapping(&dir.join(ACCOUNTS_FILE))?;
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read Green Button folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
        .collect();
    paths.sort();
    let first = files.len();
    let named: Vec<(String, String)> = paths
        .iter()
        .map(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let stem = path.file_stem().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), stem.unwrap_or_default())
        })
        .collect();
    files.extend(named.iter().map(|(name, _)| name.clone()));
    // Files are independent: parsed on all cores, results kept in file order.
    use rayon::prelude::*;
    let per_file: Vec<Result<Vec<(String, Series)>>> = paths
        .par_iter()
        .zip(named.par_iter())
        .enumerate()
        .map(|(i, (path, (name, stem)))| {
            let index = u32::try_from(first + i).unwrap_or(u32::MAX);
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            Ok(read_file(
                file, name, index, stem, &mapping, fallback, rules,
            ))
        })
        .collect();
    let mut out = Vec::new();
    for series in per_file {
        out.extend(series?);
    }
    Ok(out)
}

/// `greenbutton-accounts.csv`: usage points (an href, `owner/UsagePoint/id`,
/// or a bare id) to accounts, looked up by key so a bulk feed of many
/// thousand usage points costs one hash lookup each.
#[derive(Debug, Default)]
pub struct Mapping {
    by_key: HashMap<String, String>,
    by_id: HashMap<String, String>,
}

impl Mapping {
    fn account(&self, usage_point_href: &str) -> Option<&String> {
        let key = usage_point_key(usage_point_href)?;
        self.by_key.get(&key).or_else(|| {
            let id = key.rsplit('/').next()?;
            self.by_id.get(id)
        })
    }
}

fn read_mapping(path: &Path) -> Result<Mapping> {
    let mut mapping = Mapping::default();
    if !path.exists() {
        return Ok(mapping);
    }
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
    let mut reader = csv::Reader::from_reader(super::LineLimit::new(file, ACCOUNTS_FILE));
    let headers = reader.headers()?.clone();
    let cols = super::Columns::new(&headers, ACCOUNTS_FILE, &["usage_point", "account_id"])?;
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{ACCOUNTS_FILE}:{}", i + 2))?;
        if let (Some(up), Some(acct)) =
            (cols.get(&row, "usage_point"), cols.get(&row, "account_id"))
        {
            match usage_point_key(up) {
                Some(key) => mapping.by_key.insert(key, acct.to_string()),
                None => mapping.by_id.insert(up.to_string(), acct.to_string()),
            };
        }
    }
    Ok(mapping)
}

#[derive(Default, Clone, Copy)]
struct ReadingType {
    uom: Option<u32>,
    multiplier: i32,
    accumulation: Option<u32>,
    flow: Option<u32>,
}

struct Raw {
    start: i64,
    seconds: i64,
    value: f64,
    line: u64,
}

#[derive(Default)]
struct UsagePoint {
    href: String,
    kind: Option<u32>,
    time: Option<String>,
}

/// Everything a file said, by href.
#[derive(Default)]
struct Feed {
    usage_points: Vec<UsagePoint>,
    times: HashMap<String, EspiTime>,
    /// meter href -> its ReadingType's href.
    meters: HashMap<String, String>,
    types: HashMap<String, ReadingType>,
    /// meter href -> raw readings.
    readings: BTreeMap<String, Vec<Raw>>,
}

/// Counts the newlines the XML reader has consumed, for `file:line`, and
/// refuses a tag or text longer than [`super::MAX_LINE`] (bytes without a
/// `<` or `>`): a reader would otherwise hold all of it in memory.
struct Lines<R> {
    inner: R,
    newlines: u64,
    /// Bytes since the last `<` or `>`.
    run: usize,
}

/// Newlines in `bytes`, and how many bytes follow its last `<` or `>`.
fn scan(bytes: &[u8]) -> (u64, Option<usize>, usize) {
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    let after = memchr::memrchr2(b'<', b'>', bytes).map(|last| bytes.len() - last - 1);
    (newlines, after, bytes.len())
}

impl<R: BufRead> Lines<R> {
    fn count(&mut self, (newlines, after, len): (u64, Option<usize>, usize)) {
        self.newlines += newlines;
        match after {
            Some(a) => self.run = a,
            None => self.run += len,
        }
    }

    fn too_long(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("an element or text longer than {} bytes", super::MAX_LINE),
        )
    }
}

impl<R: BufRead> IoRead for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.run > super::MAX_LINE {
            return Err(self.too_long());
        }
        let n = self.inner.read(buf)?;
        self.count(scan(&buf[..n]));
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.run > super::MAX_LINE {
            return Err(self.too_long());
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        let seen = match self.inner.fill_buf() {
            Ok(buf) => scan(&buf[..amt.min(buf.len())]),
            Err(_) => (0, None, 0),
        };
        self.count(seen);
        self.inner.consume(amt);
    }
}

/// One file: its series, or (for a file that is not well-formed) a
/// defect for every account it names.
pub fn read_file(
    input: impl IoRead,
    name: &str,
    index: u32,
    stem: &str,
    mapping: &Mapping,
    fallback: Zone,
    rules: &IntervalRules,
) -> Vec<(String, Series)> {
    let account_of = |up_href: &str| -> String {
        mapping
            .account(up_href)
            .cloned()
            .unwrap_or_else(|| stem.to_string())
    };
    let feed = match parse(input) {
        Ok(feed) => feed,
        Err(error) => return unreadable(error, name, stem, account_of),
    };
    let only_time = (feed.times.len() == 1).then(|| *feed.times.values().next().expect("one"));
    let points: HashMap<String, &UsagePoint> = feed
        .usage_points
        .iter()
        .filter_map(|u| Some((usage_point_key(&u.href)?, u)))
        .collect();
    let mut out = Vec::new();
    for (meter, raws) in feed.readings {
        let point = usage_point_key(&meter).and_then(|k| points.get(&k).copied());
        let account = account_of(point.map(|u| u.href.as_str()).unwrap_or(&meter));
        let time = point
            .and_then(|u| u.time.as_ref())
            .and_then(|t| feed.times.get(t).copied())
            .or(only_time);
        let zone = time.map(Zone::Espi).unwrap_or(fallback);
        let acc = Accumulator::new(zone, name, index, rules);
        let rt = feed
            .meters
            .get(&meter)
            .and_then(|t| feed.types.get(t))
            .copied();
        let kind = point.and_then(|u| u.kind);
        if let Some(series) = meter_series(acc, &meter, raws, rt, kind, rules) {
            out.push((account, series));
        }
    }
    out
}

/// A file that is not well-formed may be cut anywhere, so none of its data
/// is used: every account it named (or the file's own, by its name) gets
/// the same defect, pointing at the line where reading failed.
fn unreadable(
    (line, message, seen): ParseError,
    name: &str,
    stem: &str,
    account_of: impl Fn(&str) -> String,
) -> Vec<(String, Series)> {
    let mut accounts: Vec<String> = seen.iter().map(|h| account_of(h)).collect();
    if accounts.is_empty() {
        accounts.push(stem.to_string());
    }
    accounts.sort();
    accounts.dedup();
    accounts
        .into_iter()
        .map(|a| {
            let series = Series {
                defect: Some((Reason::MalformedXml, format!("{name}:{line}: {message}"))),
                ..Series::default()
            };
            (a, series)
        })
        .collect()
}

/// One meter's series, or `None` for readings that are not use (energy
/// sent back to the grid, demand, voltage). Units come from the meter's
/// ReadingType, so readings without one, or in a unit that cannot be
/// converted, are a defect rather than a guess.
fn meter_series(
    mut acc: Accumulator,
    meter: &str,
    mut raws: Vec<Raw>,
    rt: Option<ReadingType>,
    kind: Option<u32>,
    rules: &IntervalRules,
) -> Option<Series> {
    let first_line = raws.first().map(|r| r.line).unwrap_or(1);
    let Some(rt) = rt else {
        acc.defect(
            Reason::MalformedXml,
            first_line,
            format!("readings of {meter} have no ReadingType"),
        );
        return Some(acc.finish(rules));
    };
    if rt.flow.is_some_and(|f| f != 1) {
        // Energy sent back to the grid (net metering) is not use.
        return None;
    }
    let (service, per_unit) = match unit_of(rt.uom, kind) {
        Ok(Some(u)) => u,
        // Demand, voltage and the like: not usage.
        Ok(None) => return None,
        Err(message) => {
            acc.defect(Reason::UnknownUnit, first_line, message);
            return Some(acc.finish(rules));
        }
    };
    let factor = per_unit * 10f64.powi(rt.multiplier);
    raws.sort_by_key(|r| r.start);
    let cumulative = matches!(rt.accumulation, Some(1 | 3));
    push_readings(&mut acc, service, &raws, factor, cumulative);
    Some(acc.finish(rules))
}

/// Readings in time order into the accumulator. A cumulative register
/// (accumulationBehaviour 1 or 3) reads a running total, so use is the
/// difference from the reading before; its first reading only starts it.
fn push_readings(
    acc: &mut Accumulator,
    service: Service,
    raws: &[Raw],
    factor: f64,
    cumulative: bool,
) {
    let mut previous: Option<f64> = None;
    for r in raws {
        let value = if cumulative {
            let Some(p) = previous.replace(r.value) else {
                continue;
            };
            r.value - p
        } else {
            r.value
        };
        acc.push(service, r.start, r.seconds, value * factor, false, r.line);
    }
}

/// The service and canonical units per ESPI unit of measure.
fn unit_of(uom: Option<u32>, kind: Option<u32>) -> Result<Option<(Service, f64)>, String> {
    Ok(Some(match uom {
        Some(72) => (Service::Electric, 0.001),
        Some(169) => (Service::Gas, 1.0),
        Some(128) => (Service::Water, 1.0),
        Some(42 | 119) if kind == Some(1) => {
            return Err(
                "gas measured by volume (uom 42 m3 or 119 ft3) needs the utility's heat factor; \
                 export therms (uom 169)"
                    .into(),
            );
        }
        Some(42) => (Service::Water, 264.172),
        Some(119) => (Service::Water, 7.480_52),
        Some(_) => return Ok(None),
        None => return Err("ReadingType has no uom".into()),
    }))
}

/// `owner/UsagePoint/id` from any href under a usage point.
fn usage_point_key(href: &str) -> Option<String> {
    let parts: Vec<&str> = href.trim_end_matches('/').split('/').collect();
    let at = parts.iter().position(|p| *p == "UsagePoint")?;
    let id = parts.get(at + 1)?;
    let owner = if at > 0 { parts[at - 1] } else { "" };
    Some(format!("{owner}/UsagePoint/{id}"))
}

/// The meter href an IntervalBlock belongs to: its href up to `MeterReading/<id>`.
fn meter_of(href: &str) -> Option<String> {
    let at = href.find("/MeterReading/")?;
    let rest = &href[at + "/MeterReading/".len()..];
    let id = rest.split('/').next().filter(|s| !s.is_empty())?;
    Some(format!("{}/MeterReading/{id}", &href[..at]))
}

type ParseError = (u64, String, Vec<String>);

fn parse(input: impl IoRead) -> Result<Feed, ParseError> {
    let mut reader = quick_xml::Reader::from_reader(Lines {
        inner: BufReader::with_capacity(1 << 16, input),
        newlines: 0,
        run: 0,
    });
    reader.config_mut().trim_text(true);
    let mut parser = Parser::default();
    let mut buf = Vec::new();
    loop {
        let line = reader.get_ref().newlines + 1;
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| parser.not_well_formed(&e, reader.get_ref().newlines + 1))?;
        match event {
            Event::Start(e) => parser.start(&e, line)?,
            Event::Empty(e) if e.local_name().as_ref() == b"link" => {
                parser.entry.links.push(link(&e))
            }
            // Text outside any element is no field of an entry.
            Event::Text(_) if parser.path.is_empty() => continue,
            Event::Text(t) => parser.text(&t.decode().unwrap_or_default(), line)?,
            Event::End(e) => parser.end(&e)?,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    parser.finish(reader.get_ref().newlines + 1)
}

/// The entry being read: its links and whichever of a ReadingType,
/// LocalTimeParameters, ServiceCategory or IntervalBlock it holds. What it
/// was is only known at its end ([`finish_entry`]).
#[derive(Default)]
struct Entry {
    links: Vec<(String, String)>,
    rt: ReadingType,
    /// tzOffset, dstOffset, dstStartRule, dstEndRule.
    time: [Option<i64>; 4],
    kind: Option<u32>,
    /// The IntervalReading being read: start, duration, value, and the
    /// line it opened on.
    reading: (Option<i64>, Option<i64>, Option<f64>, u64),
    block: Vec<Raw>,
}

impl Entry {
    /// A new entry starts empty: nothing of the last one may leak into it.
    fn begin(&mut self) {
        self.links.clear();
        self.rt = ReadingType::default();
        self.time = [None; 4];
        self.kind = None;
        self.block.clear();
    }

    /// Take the text of element `tag` (inside `parent`) into the entry.
    /// `Err` names the field whose text is not a number.
    fn take_text(
        &mut self,
        parent: &str,
        tag: &str,
        in_reading: bool,
        text: &str,
    ) -> Result<(), &'static str> {
        let int = |what| text.parse::<i64>().map_err(|_| what);
        let hex = |what| i64::from_str_radix(text, 16).map_err(|_| what);
        let code = || text.parse::<i64>().ok().map(|v| v as u32);
        match (parent, tag) {
            ("ServiceCategory", "kind") => self.kind = code(),
            ("ReadingType", "uom") => self.rt.uom = Some(int("uom")? as u32),
            ("ReadingType", "powerOfTenMultiplier") => {
                self.rt.multiplier = int("powerOfTenMultiplier")?.clamp(-30, 30) as i32
            }
            ("ReadingType", "accumulationBehaviour") => self.rt.accumulation = code(),
            ("ReadingType", "flowDirection") => self.rt.flow = code(),
            ("LocalTimeParameters", "tzOffset") => self.time[0] = Some(int("tzOffset")?),
            ("LocalTimeParameters", "dstOffset") => self.time[1] = Some(int("dstOffset")?),
            ("LocalTimeParameters", "dstStartRule") => self.time[2] = Some(hex("dstStartRule")?),
            ("LocalTimeParameters", "dstEndRule") => self.time[3] = Some(hex("dstEndRule")?),
            ("timePeriod", "start") if in_reading => self.reading.0 = Some(int("start")?),
            ("timePeriod", "duration") if in_reading => self.reading.1 = Some(int("duration")?),
            ("IntervalReading", "value") => {
                self.reading.2 = Some(text.parse::<f64>().map_err(|_| "value")?)
            }
            _ => {}
        }
        Ok(())
    }

    /// A reading needs all three of start, duration and value; `Err` is the
    /// line it opened on.
    fn close_reading(&mut self) -> Result<(), u64> {
        match self.reading {
            (Some(start), Some(seconds), Some(value), at) => {
                self.block.push(Raw {
                    start,
                    seconds,
                    value,
                    line: at,
                });
                Ok(())
            }
            (_, _, _, at) => Err(at),
        }
    }
}

/// The state of one file's parse: what the feed holds so far, the open
/// elements (and the lines they opened on, to point at an unclosed one),
/// and the entry being read.
#[derive(Default)]
struct Parser {
    feed: Feed,
    path: Vec<String>,
    opened: Vec<u64>,
    entry: Entry,
}

impl Parser {
    /// A parse error names the usage points seen so far, so each of their
    /// accounts gets the defect.
    fn fail(&self, line: u64, message: String) -> ParseError {
        (
            line,
            message,
            self.feed
                .usage_points
                .iter()
                .map(|u| u.href.clone())
                .collect(),
        )
    }

    /// quick-xml's error alone rarely says where the mistake is; the
    /// innermost open element usually does.
    fn not_well_formed(&self, e: &quick_xml::Error, line: u64) -> ParseError {
        let open = match (self.path.last(), self.opened.last()) {
            (Some(tag), Some(at)) => {
                format!(" (the innermost open element is <{tag}>, from line {at})")
            }
            _ => String::new(),
        };
        self.fail(line, format!("not well-formed XML: {e}{open}"))
    }

    /// An element opens. The nesting is bounded so that a hostile file
    /// cannot make the path grow without end.
    fn start(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        line: u64,
    ) -> Result<(), ParseError> {
        let tag = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        match tag.as_str() {
            "entry" => self.entry.begin(),
            "IntervalReading" => self.entry.reading = (None, None, None, line),
            "link" => self.entry.links.push(link(e)),
            _ => {}
        }
        if self.path.len() > 64 {
            return Err(self.fail(line, "elements nested deeper than 64 levels".into()));
        }
        self.path.push(tag);
        self.opened.push(line);
        Ok(())
    }

    /// Fields are known by their element and its parent: ESPI reuses names
    /// such as `start` and `value` in different places.
    fn text(&mut self, text: &str, line: u64) -> Result<(), ParseError> {
        let text = text.trim();
        let n = self.path.len();
        let (parent, tag) = match n {
            0 => return Ok(()),
            1 => ("", self.path[0].as_str()),
            _ => (self.path[n - 2].as_str(), self.path[n - 1].as_str()),
        };
        let in_reading = n >= 3 && self.path[n - 3] == "IntervalReading";
        self.entry
            .take_text(parent, tag, in_reading, text)
            .map_err(|what| self.fail(line, format!("{what} {text:?} is not a number")))
    }

    fn end(&mut self, e: &quick_xml::events::BytesEnd<'_>) -> Result<(), ParseError> {
        match e.local_name().as_ref() {
            b"IntervalReading" => self.entry.close_reading().map_err(|at| {
                self.fail(
                    at,
                    "IntervalReading lacks timePeriod start, duration or value".into(),
                )
            })?,
            b"entry" => {
                let entry = &mut self.entry;
                let (rt, time, kind) = (entry.rt, entry.time, entry.kind);
                finish_entry(
                    &mut self.feed,
                    &entry.links,
                    rt,
                    time,
                    kind,
                    &mut entry.block,
                )
            }
            _ => {}
        }
        self.path.pop();
        self.opened.pop();
        Ok(())
    }

    /// quick-xml stops quietly at the end of the bytes; a document cut short
    /// (a download or a copy that stopped) still has elements open, and
    /// whatever it held after the cut is missing, not absent.
    fn finish(self, line: u64) -> Result<Feed, ParseError> {
        if let (Some(tag), Some(at)) = (self.path.first(), self.opened.first()) {
            return Err(self.fail(
                line,
                format!(
                    "the document ends before <{tag}> (opened on line {at}) is closed: the file is cut short"
                ),
            ));
        }
        if self.feed.usage_points.is_empty() && self.feed.readings.is_empty() {
            return Err((
                1,
                "no Green Button entries (UsagePoint, IntervalBlock) in this file".into(),
                vec![],
            ));
        }
        Ok(self.feed)
    }
}

fn link(e: &quick_xml::events::BytesStart<'_>) -> (String, String) {
    let mut rel = String::new();
    let mut href = String::new();
    for a in e.attributes().flatten() {
        let value = a
            .unescape_value()
            .map(|v| v.into_owned())
            .unwrap_or_default();
        match a.key.local_name().as_ref() {
            b"rel" => rel = value,
            b"href" => href = value,
            _ => {}
        }
    }
    (rel, href)
}

/// File an entry under its href by what its content was.
fn finish_entry(
    feed: &mut Feed,
    links: &[(String, String)],
    rt: ReadingType,
    time: [Option<i64>; 4],
    kind: Option<u32>,
    block: &mut Vec<Raw>,
) {
    let Some(this) = links
        .iter()
        .find(|(rel, _)| rel == "self")
        .map(|(_, h)| h.clone())
    else {
        return;
    };
    let related = |part: &str| {
        links
            .iter()
            .find(|(rel, h)| rel == "related" && h.contains(part))
            .map(|(_, h)| h.clone())
    };
    if !block.is_empty() {
        let meter = meter_of(&this).unwrap_or(this.clone());
        feed.readings.entry(meter).or_default().append(block);
    } else if rt.uom.is_some() {
        feed.types.insert(this, rt);
    } else if let (Some(tz), dst) = (time[0], time[1]) {
        feed.times.insert(
            this,
            EspiTime {
                tz_offset: tz,
                dst_offset: dst.unwrap_or(0),
                dst_start: time[2].unwrap_or(0xFFFF_FFFF) as u32,
                dst_end: time[3].unwrap_or(0xFFFF_FFFF) as u32,
            },
        );
    } else if this.contains("/MeterReading/") && meter_of(&this).as_deref() == Some(this.as_str()) {
        if let Some(t) = related("/ReadingType/") {
            feed.meters.insert(this, t);
        }
    } else if kind.is_some()
        || (this.contains("/UsagePoint/")
            && usage_point_key(&this).is_some_and(|k| this.ends_with(&k)))
    {
        feed.usage_points.push(UsagePoint {
            href: this,
            kind,
            time: related("LocalTimeParameters"),
        });
    }
}
