//! A billing system's export as it comes: renamed and reordered columns,
//! Windows-1252, CRLF, a byte-order mark, `M/D/YYYY` dates, status and
//! language codes, names as `LAST, FIRST` in capitals, ZIP+4, apartment
//! lines, billed quantities and register readings (a rollover, a meter
//! exchange) in one file, read through `[mapping]` in the config. Every
//! figure is computed again here, and every planted defect must end as its
//! reason with its line.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::common::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const MAPPING: &str = r#"
[cohort]
min_size = 20

[control]
share = 0.0

[tariff.water]
unit = "kgal"
fixed = 10.0
tiers = [{ rate = 5.0 }]

[mapping.customers]
encoding = "windows-1252"
names = "last-first"
name_case = "proper"

[mapping.customers.columns]
account_id = "Acct No"
name = "Customer Name"
address_line1 = "Svc Addr 1"
address_line2 = "Svc Addr 2"
city = "City"
state = "St"
zip = "Zip Code"
locality = "Route"
language = "Lang"
status = "Acct Status"

[mapping.customers.values]
status = { A = "active", I = "closed" }
language = { E = "en", S = "es" }

[mapping.usage]
date_format = "%m/%d/%Y"

[mapping.usage.columns]
account_id = "ACCT_NO"
meter_id = "METER_NO"
period_start = "BEGIN_DT"
period_end = "READ_DT"
quantity = "USAGE"
unit = "UOM"
estimated = "EST_FLAG"
reading = "REGISTER_READ"
dials = "DIALS"

[mapping.usage.values]
unit = { TGAL = "kgal" }
estimated = { E = true, A = false }
"#;

/// Windows-1252 bytes of text whose characters are all below U+0100
/// (where the code page agrees with Latin-1).
fn cp1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

fn mdy(y: i32, m: u32, d: u32) -> String {
    format!("{m}/{d}/{y}")
}

fn last_day(y: i32, m: u32) -> u32 {
    let next = if m == 12 {
        chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    chrono::Datelike::day(&next.unwrap().pred_opt().unwrap())
}

/// Type-7 quantile, as numpy computes it by default.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Every household's bills as this test means them: (first day, last day,
/// kgal), from which every expected figure is computed.
type Bills = BTreeMap<String, Vec<(NaiveDate, NaiveDate, f64)>>;

/// The line each planted defect is on: a customer's by its id, a usage
/// row's by `<id>-usage`.
type Lines = BTreeMap<String, usize>;

/// `exceptions.csv`: each account's reason and detail.
type Exceptions = BTreeMap<String, (String, String)>;

#[test]
fn a_cis_export_reads_through_its_mapping_to_independently_computed_letters() {
    let ws = Workspace::new(MAPPING);
    std::fs::create_dir_all(ws.path("data")).unwrap();
    let mut line_of = write_customers(&ws);
    let bills = write_usage(&ws, &mut line_of);
    // A hold list as a spreadsheet saves it: a BOM, a comment, lowercase.
    std::fs::write(
        ws.path("hold.txt"),
        "\u{feff}q20\r\n# returned mail\r\nNOSUCH1\r\n",
    )
    .unwrap();

    let hold = ws.path("hold.txt");
    let said = ws.run(&["--period", "2026-10", "--suppress", hold.to_str().unwrap()]);
    assert!(
        said.contains("notice: ") && said.contains("hold.txt:3: \"NOSUCH1\" is no household"),
        "{said}"
    );

    let out = ws.path("out/2026-10");
    let exceptions = read_exceptions(&out);
    check_exceptions(&exceptions, &line_of);
    let manifest = read_csv(&out.join("manifest.csv"));
    check_letters(&bills, &manifest);
    check_data_quality(&out, &exceptions, &line_of, &manifest);
    check_data_agrees(&ws, &out, &hold);
    let page = std::fs::read_to_string(out.join("data-quality.html")).unwrap();
    assert!(
        page.contains("Elm &amp; &lt;Oak&gt;") && !page.contains("<Oak>"),
        "escaped"
    );
    check_names_and_bill_periods(&out, &manifest);
}

/// Customers: 26 rows, columns in the export's own order and names.
/// Returns each customer's line.
fn write_customers(ws: &Workspace) -> Lines {
    let mut customers = String::from(
        "Route,Acct No,Lang,Customer Name,Svc Addr 1,Svc Addr 2,City,St,Zip Code,Acct Status\r\n",
    );
    let mut line_of: Lines = BTreeMap::new();
    let mut add = |id: &str, name: &str, addr2: &str, zip: &str, lang: &str, status: &str| {
        customers.push_str(&format!(
            "ELM,{id},{lang},\"{name}\",12 ELM ST,{addr2},DAVIS,CA,{zip},{status}\r\n"
        ));
        line_of.insert(id.to_string(), line_of.len() + 2);
    };
    for k in 1..=20 {
        add(
            &format!("Q{k:02}"),
            &format!("SMITH, ANN {k}"),
            "",
            "95616-1234",
            "E",
            "A",
        );
    }
    add("R01", "MUÑOZ, JOSÉ", "APT 4", "956161234", "S", "A"); // rollover
    add("R02", "DE LA CRUZ WASHINGTON, MARIA", "", "95616", "S", "A"); // meter exchange
    add("R03", "MCDONALD, RONALD", "", "95616", "E", "A"); // register backwards
    add("C01", "CLOSED, CARL", "", "95616", "E", "I");
    add("X01", "BAD, STATUS", "", "95616", "E", "Z"); // unknown status code
    add(
        "L01",
        "LONG, LINE",
        "CARE OF THE ESTATE OF THE LATE MR FEATHERSTONEHAUGH",
        "95616",
        "E",
        "A",
    );
    add("D01", "BADDATE, DORA", "", "95616", "E", "A");
    add("P01", "PUMP, PAT", "", "95616", "E", "A"); // register values given as use
    add("B01", "EVERY, OTHER", "", "95616", "E", "A");
    add("B02", "OTHER, CYCLE", "", "95616", "S", "A");
    add("T01", "QUARTER, ONE", "", "95616", "E", "A");
    add("T02", "QUARTER, TWO", "", "95616", "S", "A");
    // A route name that looks like markup, on a closed account.
    customers.push_str("Elm & <Oak>,Z01,E,\"ZED, ZOE\",1 OAK ST,,DAVIS,CA,95616,I\r\n");
    std::fs::write(ws.path("data/customers.csv"), cp1252(&customers)).unwrap();
    line_of
}

/// `usage.csv` as it is written, and the line of its last row.
struct UsageFile {
    text: String,
    line: usize,
}

impl UsageFile {
    /// Add a row; returns its line.
    fn row(&mut self, text: String) -> usize {
        self.text.push_str(&text);
        self.text.push_str("\r\n");
        self.line += 1;
        self.line
    }
}

/// Usage: UTF-8 with a byte-order mark, CRLF; quantities and registers.
/// Returns every household's bills; the lines of the planted usage
/// defects go into `line_of`.
fn write_usage(ws: &Workspace, line_of: &mut Lines) -> Bills {
    let mut usage = UsageFile {
        text: String::from(
            "\u{feff}UOM,ACCT_NO,BEGIN_DT,READ_DT,USAGE,EST_FLAG,METER_NO,REGISTER_READ,DIALS\r\n",
        ),
        line: 1,
    };
    let mut bills: Bills = BTreeMap::new();
    let monthly: Vec<u32> = (1..=10).collect();
    for k in 1..=20 {
        billed(&mut usage, &mut bills, &format!("Q{k:02}"), k, 1, &monthly);
    }
    billed(&mut usage, &mut bills, "L01", 7, 1, &monthly);
    billed(&mut usage, &mut bills, "B01", 9, 2, &[2, 4, 6, 8, 10]); // bi-monthly, reported
    billed(&mut usage, &mut bills, "B02", 9, 2, &[3, 5, 7, 9]); // bi-monthly, off cycle
    billed(&mut usage, &mut bills, "T01", 11, 3, &[3, 6, 9]); // quarterly; July-September...
    // ...and a quarterly bill ending in October, as its cycle turns.
    billed(&mut usage, &mut bills, "T02", 12, 3, &[4, 7, 10]);
    rollover_rows(&mut usage, &mut bills);
    meter_exchange_rows(&mut usage, &mut bills);
    defect_rows(&mut usage, line_of);
    std::fs::write(ws.path("data/usage.csv"), &usage.text).unwrap();
    bills
}

fn quantity_of(k: usize, m: u32) -> f64 {
    4.0 + k as f64 * 0.25 + m as f64 * 0.1
}

/// Bills of `months` months ending in the months `ends`.
fn billed(usage: &mut UsageFile, bills: &mut Bills, id: &str, k: usize, months: u32, ends: &[u32]) {
    for &m in ends {
        let (from, to) = (
            day(2026, m + 1 - months, 1),
            day(2026, m, last_day(2026, m)),
        );
        let q = quantity_of(k, m) * months as f64;
        let est = if m == 10 && k.is_multiple_of(5) {
            "E"
        } else {
            "A"
        };
        usage.row(format!(
            "TGAL,{id},{},{},{q},{est},,,",
            mdy(2026, m + 1 - months, 1),
            mdy(2026, m, last_day(2026, m))
        ));
        bills.entry(id.to_string()).or_default().push((from, to, q));
    }
}

/// R01: a 4-dial register in kgal, read at each month's end, rolling
/// over between September and October (9998 -> 3: 5 kgal).
fn rollover_rows(usage: &mut UsageFile, bills: &mut Bills) {
    let r01 = [
        9940.0, 9946.0, 9952.0, 9958.0, 9964.0, 9970.0, 9976.0, 9982.0, 9988.0, 9998.0, 3.0,
    ];
    for (k, reading) in r01.iter().enumerate() {
        let (y, m) = if k == 0 { (2025, 12) } else { (2026, k as u32) };
        usage.row(format!(
            "TGAL,R01,,{},,A,M-1,{reading},4",
            mdy(y, m, last_day(y, m))
        ));
        if k > 0 {
            let used = if k == 10 { 5.0 } else { reading - r01[k - 1] };
            bills.entry("R01".into()).or_default().push((
                day(2026, m, 1),
                day(2026, m, last_day(2026, m)),
                used,
            ));
        }
    }
}

/// R02: meter M-2 exchanged for M-3 on October 15 (rows out of order).
fn meter_exchange_rows(usage: &mut UsageFile, bills: &mut Bills) {
    for m in 0..=9u32 {
        let (y, mm) = if m == 0 { (2025, 12) } else { (2026, m) };
        usage.row(format!(
            "TGAL,R02,,{},,A,M-2,{},",
            mdy(y, mm, last_day(y, mm)),
            500.0 + 6.0 * m as f64
        ));
        if m > 0 {
            bills.entry("R02".into()).or_default().push((
                day(2026, m, 1),
                day(2026, m, last_day(2026, m)),
                6.0,
            ));
        }
    }
    usage.row(format!("TGAL,R02,,{},,A,M-3,7.5,", mdy(2026, 10, 31)));
    usage.row(format!("TGAL,R02,,{},,A,M-3,0,", mdy(2026, 10, 15)));
    usage.row(format!("TGAL,R02,,{},,A,M-2,557.5,", mdy(2026, 10, 15)));
    // October: 3.5 kgal on M-2 (Oct 1-15) and 7.5 on M-3 (Oct 16-31).
    let r02 = bills.get_mut("R02").unwrap();
    r02.push((day(2026, 10, 1), day(2026, 10, 15), 3.5));
    r02.push((day(2026, 10, 16), day(2026, 10, 31), 7.5));
}

/// Households whose usage must end as an exception, none of them billed
/// as this test means bills.
fn defect_rows(usage: &mut UsageFile, line_of: &mut Lines) {
    // R03: a register that runs backwards in June, with no dials.
    for m in 1..=10u32 {
        let reading = if m == 6 { 100.0 } else { 200.0 + m as f64 };
        let at = usage.row(format!(
            "TGAL,R03,,{},,A,M-4,{reading},",
            mdy(2026, m, last_day(2026, m))
        ));
        if m == 6 {
            line_of.insert("R03-usage".into(), at);
        }
    }
    for m in 1..=10u32 {
        usage.row(format!(
            "TGAL,C01,{},{},5,A,,,",
            mdy(2026, m, 1),
            mdy(2026, m, last_day(2026, m))
        ));
    }
    // D01: a day that does not exist in August.
    for m in 1..=10u32 {
        let end = if m == 8 {
            "8/32/2026".to_string()
        } else {
            mdy(2026, m, last_day(2026, m))
        };
        let at = usage.row(format!("TGAL,D01,{},{end},5,A,,,", mdy(2026, m, 1)));
        if m == 8 {
            line_of.insert("D01-usage".into(), at);
        }
    }
    // P01: cumulative register values put in the quantity column.
    for m in 1..=10u32 {
        usage.row(format!(
            "TGAL,P01,{},{},{},A,,,",
            mdy(2026, m, 1),
            mdy(2026, m, last_day(2026, m)),
            1500.0 + 6.0 * m as f64
        ));
    }
}

fn read_exceptions(out: &std::path::Path) -> Exceptions {
    read_csv(&out.join("exceptions.csv"))
        .into_iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                (r["reason"].clone(), r["detail"].clone()),
            )
        })
        .collect()
}

/// Every planted defect ends as its reason, with its line; nothing else does.
fn check_exceptions(exceptions: &Exceptions, line_of: &Lines) {
    let expect = |id: &str, reason: &str, starts: String| {
        let (r, d) = &exceptions[id];
        assert_eq!(r, reason, "{id}: {d}");
        assert!(d.starts_with(&starts), "{id}: {d} should start {starts}");
    };
    for (id, reason, starts) in [
        (
            "C01",
            "closed",
            format!("customers.csv:{}:", line_of["C01"]),
        ),
        (
            "X01",
            "bad-value",
            format!("customers.csv:{}:", line_of["X01"]),
        ),
        (
            "L01",
            "address-too-long",
            format!("customers.csv:{}: address_line2", line_of["L01"]),
        ),
        (
            "R03",
            "reading-backwards",
            format!("usage.csv:{}: meter M-4 reads 100", line_of["R03-usage"]),
        ),
        (
            "D01",
            "bad-date",
            format!(
                "usage.csv:{}: period_end \"8/32/2026\"",
                line_of["D01-usage"]
            ),
        ),
    ] {
        expect(id, reason, starts);
    }
    expect("Q20", "suppressed", String::new());
    let (reason, detail) = &exceptions["P01"];
    assert_eq!(reason, "implausible-read", "{detail}");
    assert!(detail.contains("times the median of its"), "{detail}");
    expect(
        "B02",
        "off-cycle",
        "billed every 2 months: the last bill ended 2026-09-30, the next is due in 2026-11".into(),
    );
    expect(
        "T01",
        "off-cycle",
        "billed every 3 months: the last bill ended 2026-09-30, the next is due in 2026-12".into(),
    );
    assert_eq!(exceptions.len(), 10, "{exceptions:?}");
}

/// Use per day over a stretch, from a household's bills, each counted
/// for its days inside; None below half the stretch covered.
fn over(bills: &Bills, id: &str, from: NaiveDate, to: NaiveDate) -> Option<f64> {
    let (mut used, mut covered) = (0.0, 0i64);
    for &(start, end, kgal) in &bills[id] {
        let (a, b) = (start.max(from), end.min(to));
        if b < a {
            continue;
        }
        let inside = (b - a).num_days() + 1;
        used += kgal * 1000.0 * inside as f64 / ((end - start).num_days() + 1) as f64;
        covered += inside;
    }
    let days = (to - from).num_days() + 1;
    (covered * 2 >= days).then(|| used / covered as f64)
}

fn thousandths(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The first day of the bill ending in October, however many months it spans.
fn bill_start(bills: &Bills, id: &str) -> NaiveDate {
    bills[id]
        .iter()
        .filter(|b| b.1 > day(2026, 9, 30))
        .map(|b| b.0)
        .min()
        .unwrap()
}

/// A household's own use per day over its October bill.
fn own(bills: &Bills, id: &str) -> f64 {
    over(bills, id, bill_start(bills, id), day(2026, 10, 31)).unwrap()
}

fn months_of(id: &str) -> u32 {
    match id {
        "B01" => 2,
        "T02" => 3,
        _ => 1,
    }
}

/// The distribution a bill of `months` months is compared with.
fn cohort(bills: &Bills, compared: &[&str], months: u32) -> Vec<f64> {
    let from = day(2026, 11 - months, 1);
    let mut v: Vec<f64> = compared
        .iter()
        .filter_map(|id| {
            if months == 1 || months_of(id) == months {
                Some(own(bills, id))
            } else {
                over(bills, id, from, day(2026, 10, 31))
            }
        })
        .map(thousandths)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Every letter's figures, cohort, bill period and cost, against those
/// computed here from the bills.
fn check_letters(bills: &Bills, manifest: &[HashMap<String, String>]) {
    let compared: Vec<&str> = bills
        .keys()
        .map(String::as_str)
        .filter(|id| !["B02", "T01", "R03"].contains(id))
        .collect();
    assert_eq!(compared.len(), 25);
    assert_eq!(
        manifest.len(),
        23,
        "25 compared less Q20 (suppressed) and L01 (address)"
    );
    for r in manifest {
        check_letter(bills, &compared, r);
    }
}

fn check_letter(bills: &Bills, compared: &[&str], r: &HashMap<String, String>) {
    let id = r["account_id"].as_str();
    let months = months_of(id);
    let sorted = cohort(bills, compared, months);
    let (median, efficient) = (quantile(&sorted, 0.5), quantile(&sorted, 0.2));
    let got = |k: &str| {
        r[k].parse::<f64>()
            .unwrap_or_else(|_| panic!("{id} {k}: {r:?}"))
    };
    // Whole gallons a day, as the page prints them.
    assert_eq!(got("usage_per_day"), own(bills, id).round(), "{id}: {r:?}");
    assert_eq!(
        got("neighbors_median_per_day"),
        median.round(),
        "{id}: {median} {r:?}"
    );
    assert_eq!(
        got("efficient_per_day"),
        efficient.round(),
        "{id}: {efficient} {r:?}"
    );
    assert_eq!(r["cohort_size"], sorted.len().to_string(), "{id}");
    assert_eq!(r["cohort_id"], "ELM/all", "{id}");
    let first = bill_start(bills, id);
    assert_eq!(r["bill_start"], first.to_string(), "{id}");
    assert_eq!(r["bill_end"], "2026-10-31", "{id}");
    // The service charge is a month's, once per month billed; the rate flat.
    let kgal: f64 = bills[id]
        .iter()
        .filter(|b| b.1 > day(2026, 9, 30))
        .map(|b| b.2)
        .sum();
    let cost = 10.0 * months as f64 + 5.0 * kgal;
    assert_eq!(r["cost"], format!("{cost:.2}"), "{id}");
}

/// The data-quality report counts what exceptions.csv holds.
fn check_data_quality(
    out: &std::path::Path,
    exceptions: &Exceptions,
    line_of: &Lines,
    manifest: &[HashMap<String, String>],
) {
    let quality = read_csv(&out.join("data-quality.csv"));
    let count = |section: &str, item: &str| {
        quality
            .iter()
            .find(|r| r["section"] == section && r["item"] == item)
            .map(|r| r["count"].parse::<usize>().unwrap())
    };
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (reason, _) in exceptions.values() {
        *by_reason.entry(reason.as_str()).or_default() += 1;
    }
    for (reason, n) in &by_reason {
        assert_eq!(
            count("exception", reason),
            Some(*n),
            "{reason}: {quality:?}"
        );
    }
    assert_eq!(
        count("summary", "households in"),
        Some(line_of.len() - 2 + 1)
    );
    assert_eq!(count("summary", "letters"), Some(manifest.len()));
    assert_eq!(
        count("summary", "estimated reads"),
        Some(4),
        "Q05, Q10, Q15, Q20"
    );
    // Every ELM household read: all but X01, D01 and R03, set aside while
    // reading.
    assert_eq!(count("locality", "ELM"), Some(29));
    assert!(
        quality
            .iter()
            .any(|r| r["section"] == "notice" && r["detail"].contains("hold.txt:3:")),
        "{quality:?}"
    );
}

/// `check-data`, without a run, writes the same data-quality report.
fn check_data_agrees(ws: &Workspace, out: &std::path::Path, hold: &std::path::Path) {
    let config = ws.config();
    let checked = ws.path("checked");
    ok(ws.neighborly(&[
        "check-data",
        "--config",
        config.to_str().unwrap(),
        "--period",
        "2026-10",
        "--suppress",
        hold.to_str().unwrap(),
        "--out",
        checked.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(checked.join("data-quality.csv")).unwrap(),
        std::fs::read_to_string(out.join("data-quality.csv")).unwrap()
    );
}

/// Names print as people write them, in the letter's window and greeting;
/// a bill of several months is named by its months.
fn check_names_and_bill_periods(out: &std::path::Path, manifest: &[HashMap<String, String>]) {
    let pdf = |id: &str| {
        let r = manifest.iter().find(|r| r["account_id"] == id).unwrap();
        pdf_text(&out.join(&r["pdf"]))
    };
    let munoz = pdf("R01");
    assert!(
        munoz.contains("José Muñoz") && munoz.contains("APT 4"),
        "{munoz}"
    );
    assert!(
        munoz.contains("95616-1234"),
        "ZIP+4 from nine digits: {munoz}"
    );
    assert!(!munoz.contains("MUÑOZ"), "{munoz}");
    let cruz = pdf("R02");
    assert!(cruz.contains("Maria de la Cruz Washington"), "{cruz}");
    // A bill of several months is named by its months; its goal is for the
    // next bill.
    let every_other = pdf("B01");
    assert!(
        every_other.contains("September–October 2026"),
        "{every_other}"
    );
    assert!(!every_other.contains("next month"), "{every_other}");
    let quarter = pdf("T02");
    assert!(quarter.contains("agosto–octubre 2026"), "{quarter}");
}
