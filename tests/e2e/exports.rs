//! A billing system's export as it comes: renamed and reordered columns,
//! Windows-1252, CRLF, a byte-order mark, `M/D/YYYY` dates, status and
//! language codes, names as `LAST, FIRST` in capitals, ZIP+4, apartment
//! lines, billed quantities and register readings (a rollover, a meter
//! exchange) in one file, read through `[mapping]` in the config. Every
//! figure is computed again here, and every planted defect must end as its
//! reason with its line.

use std::collections::BTreeMap;

use crate::common::*;

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

#[test]
fn a_cis_export_reads_through_its_mapping_to_independently_computed_letters() {
    let ws = Workspace::new(MAPPING);
    std::fs::create_dir_all(ws.path("data")).unwrap();

    // Customers: 26 rows, columns in the export's own order and names.
    let mut customers = String::from(
        "Route,Acct No,Lang,Customer Name,Svc Addr 1,Svc Addr 2,City,St,Zip Code,Acct Status\r\n",
    );
    let mut line_of: BTreeMap<String, usize> = BTreeMap::new();
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
    std::fs::write(ws.path("data/customers.csv"), cp1252(&customers)).unwrap();

    // Usage: UTF-8 with a byte-order mark, CRLF; quantities and registers.
    let mut usage = String::from(
        "\u{feff}UOM,ACCT_NO,BEGIN_DT,READ_DT,USAGE,EST_FLAG,METER_NO,REGISTER_READ,DIALS\r\n",
    );
    let mut usage_line = 1usize;
    let mut row = |text: String| {
        usage.push_str(&text);
        usage.push_str("\r\n");
        usage_line += 1;
        usage_line
    };
    // Expected October use per day, computed here.
    let mut per_day: BTreeMap<String, f64> = BTreeMap::new();
    let mut october_kgal: BTreeMap<String, f64> = BTreeMap::new();
    let quantity_of = |k: usize, m: u32| 4.0 + k as f64 * 0.25 + m as f64 * 0.1;
    let quantity_rows = |id: &str, k: usize, row: &mut dyn FnMut(String) -> usize| {
        for m in 1..=10u32 {
            let q = quantity_of(k, m);
            let est = if m == 10 && k % 5 == 0 { "E" } else { "A" };
            row(format!(
                "TGAL,{id},{},{},{q},{est},,,",
                mdy(2026, m, 1),
                mdy(2026, m, last_day(2026, m))
            ));
        }
        (quantity_of(k, 10), 31.0)
    };
    for k in 1..=20 {
        let id = format!("Q{k:02}");
        let (q, days) = quantity_rows(&id, k, &mut row);
        per_day.insert(id.clone(), q * 1000.0 / days);
        october_kgal.insert(id, q);
    }
    let (q, days) = quantity_rows("L01", 7, &mut row);
    per_day.insert("L01".into(), q * 1000.0 / days);
    october_kgal.insert("L01".into(), q);
    // R01: a 4-dial register in kgal, read at each month's end, rolling
    // over between September and October (9998 -> 3: 5 kgal).
    let r01 = [
        9940.0, 9946.0, 9952.0, 9958.0, 9964.0, 9970.0, 9976.0, 9982.0, 9988.0, 9998.0, 3.0,
    ];
    for (k, reading) in r01.iter().enumerate() {
        let (y, m) = if k == 0 { (2025, 12) } else { (2026, k as u32) };
        row(format!(
            "TGAL,R01,,{},,A,M-1,{reading},4",
            mdy(y, m, last_day(y, m))
        ));
    }
    per_day.insert("R01".into(), 5.0 * 1000.0 / 31.0);
    october_kgal.insert("R01".into(), 5.0);
    // R02: meter M-2 exchanged for M-3 on October 15 (rows out of order).
    for m in 0..=9u32 {
        let (y, mm) = if m == 0 { (2025, 12) } else { (2026, m) };
        row(format!(
            "TGAL,R02,,{},,A,M-2,{},",
            mdy(y, mm, last_day(y, mm)),
            500.0 + 6.0 * m as f64
        ));
    }
    row(format!("TGAL,R02,,{},,A,M-3,7.5,", mdy(2026, 10, 31)));
    row(format!("TGAL,R02,,{},,A,M-3,0,", mdy(2026, 10, 15)));
    row(format!("TGAL,R02,,{},,A,M-2,557.5,", mdy(2026, 10, 15)));
    // October: 3.5 kgal on M-2 (Oct 1-15) and 7.5 on M-3 (Oct 16-31).
    per_day.insert("R02".into(), 11.0 * 1000.0 / 31.0);
    october_kgal.insert("R02".into(), 11.0);
    // R03: a register that runs backwards in June, with no dials.
    for m in 1..=10u32 {
        let reading = if m == 6 { 100.0 } else { 200.0 + m as f64 };
        let at = row(format!(
            "TGAL,R03,,{},,A,M-4,{reading},",
            mdy(2026, m, last_day(2026, m))
        ));
        if m == 6 {
            line_of.insert("R03-usage".into(), at);
        }
    }
    for m in 1..=10u32 {
        row(format!(
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
        let at = row(format!("TGAL,D01,{},{end},5,A,,,", mdy(2026, m, 1)));
        if m == 8 {
            line_of.insert("D01-usage".into(), at);
        }
    }
    // P01: cumulative register values put in the quantity column.
    for m in 1..=10u32 {
        row(format!(
            "TGAL,P01,{},{},{},A,,,",
            mdy(2026, m, 1),
            mdy(2026, m, last_day(2026, m)),
            1500.0 + 6.0 * m as f64
        ));
    }
    std::fs::write(ws.path("data/usage.csv"), &usage).unwrap();
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
    let exceptions: BTreeMap<String, (String, String)> = read_csv(&out.join("exceptions.csv"))
        .into_iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                (r["reason"].clone(), r["detail"].clone()),
            )
        })
        .collect();
    let expect = |id: &str, reason: &str, starts: String| {
        let (r, d) = &exceptions[id];
        assert_eq!(r, reason, "{id}: {d}");
        assert!(d.starts_with(&starts), "{id}: {d} should start {starts}");
    };
    expect(
        "C01",
        "closed",
        format!("customers.csv:{}:", line_of["C01"]),
    );
    expect(
        "X01",
        "bad-value",
        format!("customers.csv:{}:", line_of["X01"]),
    );
    expect(
        "L01",
        "address-too-long",
        format!("customers.csv:{}: address_line2", line_of["L01"]),
    );
    expect(
        "R03",
        "reading-backwards",
        format!("usage.csv:{}: meter M-4 reads 100", line_of["R03-usage"]),
    );
    expect(
        "D01",
        "bad-date",
        format!(
            "usage.csv:{}: period_end \"8/32/2026\"",
            line_of["D01-usage"]
        ),
    );
    expect("Q20", "suppressed", String::new());
    let (reason, detail) = &exceptions["P01"];
    assert_eq!(reason, "implausible-read", "{detail}");
    assert!(detail.contains("times the median of its"), "{detail}");
    assert_eq!(exceptions.len(), 7, "{exceptions:?}");

    // The cohort: everyone compared (the suppressed and the long address
    // too: they are held after comparing), on use rounded to 0.001.
    let mut cohort: Vec<f64> = per_day
        .values()
        .map(|u| (u * 1000.0).round() / 1000.0)
        .collect();
    cohort.sort_by(f64::total_cmp);
    let (median, efficient) = (quantile(&cohort, 0.5), quantile(&cohort, 0.2));
    let manifest = read_csv(&out.join("manifest.csv"));
    assert_eq!(manifest.len(), 21, "20 quantity homes less Q20, R01, R02");
    for r in &manifest {
        let id = &r["account_id"];
        let got = |k: &str| {
            r[k].parse::<f64>()
                .unwrap_or_else(|_| panic!("{id} {k}: {r:?}"))
        };
        assert!(
            (got("usage_per_day") - per_day[id]).abs() < 0.0005,
            "{id}: {r:?}"
        );
        assert!(
            (got("neighbors_median_per_day") - median).abs() < 0.0005,
            "{id}: {r:?}"
        );
        assert!(
            (got("efficient_per_day") - efficient).abs() < 0.0005,
            "{id}: {r:?}"
        );
        assert_eq!(r["cohort_size"], cohort.len().to_string(), "{id}");
        assert_eq!(r["cohort_id"], "ELM/all", "{id}");
        let cost = 10.0 + 5.0 * october_kgal[id];
        assert_eq!(r["cost"], format!("{cost:.2}"), "{id}");
    }

    // Names print as people write them, in the letter's window and greeting.
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
}
