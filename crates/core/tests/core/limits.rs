//! Inputs that protect the batch by being refused or cut cleanly: a 2 GB
//! line, a million columns, XML nested 100,000 deep or with a 2 GB text, a
//! TOML bomb, a 10,000-character name. Each gets a clear error with its
//! file and line, and the readers stop early (memory stays bounded: the
//! 2 GB inputs are generated as they are read, and the test counts how much
//! was read).

use std::io::Read;

use neighborly_core::exception::Reason;
use neighborly_core::ingest::{self, IntervalRules, Zone};
use neighborly_core::model::Service;

/// The repository root, where the shipped templates live.
fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `head`, then `size` bytes of `fill` with no newline, made as they are read.
struct Huge {
    head: Vec<u8>,
    fill: u8,
    size: u64,
    read: u64,
}

impl Huge {
    fn new(head: &str, fill: u8, size: u64) -> Huge {
        Huge {
            head: head.as_bytes().to_vec(),
            fill,
            size,
            read: 0,
        }
    }
}

impl Read for &mut Huge {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let total = self.head.len() as u64 + self.size;
        if self.read >= total {
            return Ok(0);
        }
        let mut n = 0;
        while n < buf.len() && self.read < total {
            buf[n] = if self.read < self.head.len() as u64 {
                self.head[self.read as usize]
            } else {
                self.fill
            };
            n += 1;
            self.read += 1;
        }
        Ok(n)
    }
}

const TWO_GB: u64 = 2 << 30;
const HEADER: &str = "account_id,name,address_line1,city,state,zip,locality\n";

#[test]
fn a_2_gb_line_is_refused_after_reading_a_few_megabytes() {
    let mut customers = Huge::new(&format!("{HEADER}A1,"), b'x', TWO_GB);
    let err = ingest::read_customers(
        &mut customers,
        "customers.csv",
        Service::Water,
        &Default::default(),
    )
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("customers.csv:2: a line longer than 1048576 bytes"),
        "{message}"
    );
    assert!(customers.read < 16 << 20, "read {} bytes", customers.read);

    let mut data = ingest::read_customers(
        format!("{HEADER}A1,Ann,1 Elm,Davis,CA,95616,n\n").as_bytes(),
        "customers.csv",
        Service::Water,
        &Default::default(),
    )
    .unwrap();
    let mut usage = Huge::new(
        "account_id,period_start,period_end,quantity,unit\nA1,2026-01-01,2026-01-31,1",
        b'0',
        TWO_GB,
    );
    let err =
        ingest::read_usage(&mut usage, "usage.csv", &mut data, &Default::default()).unwrap_err();
    assert!(
        format!("{err:#}").contains("usage.csv:2: a line longer than"),
        "{err:#}"
    );
    assert!(usage.read < 16 << 20);

    let rules = IntervalRules {
        min_coverage: 0.9,
        leak_hours: 24,
        keep_days: false,
        keep_spans: None,
    };
    let mut intervals = Huge::new(
        "account_id,start,duration_s,quantity,unit\nA1,",
        b'7',
        TWO_GB,
    );
    let err = ingest::interval::read_intervals(
        &mut intervals,
        "i.csv",
        1,
        Zone::named("UTC").unwrap(),
        &rules,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("i.csv:2: a line longer than"),
        "{err:#}"
    );
    assert!(intervals.read < 16 << 20);
}

#[test]
fn a_million_columns_is_refused_with_its_line() {
    let header = vec!["c"; 1_000_000].join(",");
    let err = ingest::read_customers(
        format!("{header}\n").as_bytes(),
        "customers.csv",
        Service::Water,
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("customers.csv:1: a line longer than"),
        "{err:#}"
    );
}

#[test]
fn xml_nested_deep_or_with_a_2_gb_text_is_malformed_xml() {
    let rules = IntervalRules {
        min_coverage: 0.9,
        leak_hours: 24,
        keep_days: false,
        keep_spans: None,
    };
    let zone = Zone::named("UTC").unwrap();
    let mapping = ingest::greenbutton::Mapping::default();
    let deep = format!("<feed>\n{}", "<a>".repeat(100_000));
    let out = ingest::greenbutton::read_file(
        deep.as_bytes(),
        "deep.xml",
        1,
        "A1",
        &mapping,
        zone,
        &rules,
    );
    assert_eq!(out.len(), 1);
    let (reason, detail) = out[0].1.defect.clone().unwrap();
    assert_eq!(reason, Reason::MalformedXml);
    assert!(
        detail.starts_with("deep.xml:2: elements nested deeper than 64"),
        "{detail}"
    );

    let mut text = Huge::new("<feed>\n<entry>\n<title>", b'x', TWO_GB);
    let out = ingest::greenbutton::read_file(&mut text, "big.xml", 1, "A1", &mapping, zone, &rules);
    let (reason, detail) = out[0].1.defect.clone().unwrap();
    assert_eq!(reason, Reason::MalformedXml);
    assert!(
        detail.contains("an element or text longer than 1048576 bytes"),
        "{detail}"
    );
    assert!(detail.starts_with("big.xml:3:"), "{detail}");
    assert!(text.read < 16 << 20, "read {} bytes", text.read);
}

#[test]
fn a_toml_bomb_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.toml");
    std::fs::write(
        &path,
        format!(
            "[utility]\nname = {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )
    .unwrap();
    let err = neighborly_core::config::Config::load(&path).unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("bomb.toml:2:"), "{message}");

    let es = std::fs::read_to_string(repo().join("report-templates/wording/es.toml")).unwrap();
    let tips = std::fs::read_to_string(repo().join("report-templates/tips.toml")).unwrap();
    let sources = neighborly_core::wording::Sources {
        texts: std::collections::BTreeMap::from([
            (
                neighborly_core::model::Language::En,
                format!("x = {}{}", "{a=".repeat(50_000), "}".repeat(50_000)),
            ),
            (neighborly_core::model::Language::Es, es),
        ]),
        tips,
        overlays: Default::default(),
    };
    let problems =
        neighborly_core::wording::Wording::parse(std::path::Path::new("t"), &sources).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.line == 1 && p.file.ends_with("en.toml"))
    );
}

#[test]
fn a_10000_character_name_is_an_exception_and_its_neighbors_are_kept() {
    let name = "N".repeat(10_000);
    let customers =
        format!("{HEADER}A1,{name},1 Elm,Davis,CA,95616,n\nA2,Bo,2 Elm,Davis,CA,95616,n\n");
    let d = ingest::read_customers(
        customers.as_bytes(),
        "customers.csv",
        Service::Water,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(d.households.len(), 1);
    assert_eq!(d.households[0].account_id, "A2");
    assert_eq!(d.exceptions.len(), 1);
    assert_eq!(d.exceptions[0].reason, Reason::BadValue);
    assert_eq!(
        d.exceptions[0].detail,
        "customers.csv:2: name is 10000 characters long (at most 500): not a value a letter can carry"
    );
}
