//! Smart-meter data: Green Button import checked against sums computed here
//! from the XML, interval CSV across a DST change, gaps and overlaps,
//! continuous-flow leaks on the page, and implausible reads kept out of
//! the cohorts.

use crate::common::{Workspace, ok, pdf_text, read_csv, repo};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::collections::BTreeMap;

/// The text of the first `<tag>` after `from` in `s`.
fn field<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let at = s.find(&open)? + open.len();
    let end = s[at..].find('<')? + at;
    Some(s[at..end].trim())
}

/// (start, duration, value) of every IntervalReading, by plain text search.
fn readings(xml: &str) -> Vec<(i64, i64, f64)> {
    xml.split("<IntervalReading>")
        .skip(1)
        .map(|r| {
            let r = &r[..r.find("</IntervalReading>").unwrap()];
            (
                field(r, "start").unwrap().parse().unwrap(),
                field(r, "duration").unwrap().parse().unwrap(),
                field(r, "value").unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// US daylight time since 2007: second Sunday of March 2:00 standard time
/// to first Sunday of November 2:00 daylight time.
fn local(utc: i64, tz_offset: i64) -> NaiveDateTime {
    let standard = chrono::DateTime::from_timestamp(utc + tz_offset, 0)
        .unwrap()
        .naive_utc();
    let y = standard.year();
    let sunday = |month: u32, nth: u32| {
        let first = NaiveDate::from_ymd_opt(y, month, 1).unwrap();
        let offset = (7 - first.weekday().num_days_from_sunday()) % 7;
        first + chrono::Days::new(u64::from(offset + 7 * (nth - 1)))
    };
    let starts = sunday(3, 2).and_hms_opt(2, 0, 0).unwrap();
    let ends = sunday(11, 1).and_hms_opt(1, 0, 0).unwrap();
    if standard >= starts && standard < ends {
        standard + chrono::TimeDelta::hours(1)
    } else {
        standard
    }
}

fn import(ws: &Workspace, args: &[&str]) -> Vec<BTreeMap<String, String>> {
    let config = ws.config();
    let out = ws.path("imported.csv");
    let mut all = vec![
        "import",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    ok(ws.neighborly(&all));
    read_csv(&out)
        .into_iter()
        .map(|r| r.into_iter().collect())
        .collect()
}

fn month_totals(rows: &[BTreeMap<String, String>], account: &str) -> BTreeMap<String, f64> {
    rows.iter()
        .filter(|r| r["account_id"] == account)
        .map(|r| {
            (
                r["period_end"][..7].to_string(),
                r["quantity"].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_green_button_sample_imports_to_independently_summed_months() {
    // The files state their own zone; the config's (UTC here, as the gas
    // periods below are dated) is the fallback.
    let ws = Workspace::new("[reads]\nmin_coverage = 0.005\ntimezone = \"UTC\"\n");
    let dir = repo().join("tests/data/greenbutton");
    let rows = import(&ws, &["--greenbutton", dir.to_str().unwrap()]);
    let mut checked = 0;
    for (file, tz) in [
        (
            "Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5",
            -28800,
        ),
        (
            "Desert_Single_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_7",
            -28800,
        ),
        ("TestGBDataOneYearDailyBinnedMonthly", -18000),
        ("electric_containerized", -28800),
    ] {
        let xml = std::fs::read_to_string(dir.join(format!("{file}.xml"))).unwrap();
        let rt = &xml[xml.find("<ReadingType").unwrap()..];
        assert_eq!(field(rt, "uom"), Some("72"), "{file}: watt-hours");
        let power: i32 = field(rt, "powerOfTenMultiplier").unwrap().parse().unwrap();
        // Wh x 10^multiplier, in kWh, summed per local month; and the hours covered.
        let mut expected: BTreeMap<String, (f64, i64)> = BTreeMap::new();
        for (start, seconds, value) in readings(&xml) {
            let month = local(start, tz).format("%Y-%m").to_string();
            let e = expected.entry(month).or_default();
            e.0 += value * 10f64.powi(power) / 1000.0;
            e.1 += seconds;
        }
        let got = month_totals(&rows, file);
        assert!(!got.is_empty(), "{file} imported nothing");
        for (month, (kwh, seconds)) in &expected {
            let (y, m) = (month[..4].parse().unwrap(), month[5..].parse().unwrap());
            let first = NaiveDate::from_ymd_opt(y, m, 1).unwrap();
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap()
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1).unwrap()
            };
            // The month's length in local hours (23 or 25 on DST days).
            let hours = (next - first).num_hours()
                + if m == 3 { -1 } else { 0 }
                + if m == 11 { 1 } else { 0 };
            let coverage = *seconds as f64 / (hours * 3600) as f64;
            // A partly covered month is scaled to the whole month.
            let want = kwh / coverage.min(1.0);
            let have = got[month];
            assert!(
                (have - want).abs() < 0.001 + want * 1e-9,
                "{file} {month}: imported {have}, summed {want}"
            );
            checked += 1;
        }
    }
    // 12 + 12 hourly months, 15 daily ones (2013-01 to 2014-03), 1 containerized.
    assert_eq!(checked, 40, "months checked");

    // The gas billing export: one read per billing period, therms x 10^-3,
    // each in the month its period ends (no LocalTimeParameters: the
    // config's zone, UTC here).
    let file = "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25";
    let xml = std::fs::read_to_string(dir.join(format!("{file}.xml"))).unwrap();
    assert_eq!(
        field(&xml[xml.find("<ReadingType").unwrap()..], "uom"),
        Some("169")
    );
    let gas: Vec<&BTreeMap<String, String>> =
        rows.iter().filter(|r| r["account_id"] == file).collect();
    let periods = readings(&xml);
    assert_eq!(gas.len(), periods.len());
    for (row, (start, seconds, value)) in gas.iter().zip(&periods) {
        let first = chrono::DateTime::from_timestamp(*start, 0)
            .unwrap()
            .date_naive();
        let last = chrono::DateTime::from_timestamp(start + seconds - 1, 0)
            .unwrap()
            .date_naive();
        assert_eq!(row["unit"], "therm");
        assert_eq!(row["period_start"], first.to_string());
        assert_eq!(row["period_end"], last.to_string());
        let q: f64 = row["quantity"].parse().unwrap();
        assert!((q - value / 1000.0).abs() < 1e-9, "{q} vs {value}");
    }
}

/// Hourly water use for `account` from `from` (local) for `hours`, with
/// naive local times in the config's zone. `flow(h)` gives each hour's gallons.
fn hourly(
    account: &str,
    from: NaiveDateTime,
    hours: usize,
    flow: impl Fn(NaiveDateTime) -> f64,
) -> String {
    let mut out = String::new();
    let mut t = from;
    for _ in 0..hours {
        out.push_str(&format!(
            "{account},{},3600,{},gal\n",
            t.format("%Y-%m-%d %H:%M"),
            flow(t)
        ));
        t += chrono::TimeDelta::hours(1);
    }
    out
}

#[test]
fn an_interval_csv_month_with_a_dst_change_sums_in_local_time() {
    let ws = Workspace::new("[reads]\ntimezone = \"America/Chicago\"\n");
    // UTC hours from 2026-10-01 05:00 (local midnight, CDT) to 2026-12-01
    // 06:00 (local midnight, CST): November has 721 local hours.
    let mut csv = String::from("account_id,start,duration_s,quantity,unit\n");
    let start = chrono::DateTime::parse_from_rfc3339("2026-10-01T05:00:00Z")
        .unwrap()
        .timestamp();
    let end = chrono::DateTime::parse_from_rfc3339("2026-12-01T06:00:00Z")
        .unwrap()
        .timestamp();
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    let mut t = start;
    let mut n = 0u64;
    while t < end {
        // Every hour different, so a misplaced hour changes a total.
        let q = 1.0 + (n % 7) as f64 / 4.0;
        let local = local(t, -21600);
        csv.push_str(&format!("A,{t},3600,{q},gal\n"));
        *expected
            .entry(local.format("%Y-%m").to_string())
            .or_default() += q;
        t += 3600;
        n += 1;
    }
    // B writes naive local times: 01:00 on 2026-11-01 appears twice.
    let b = hourly(
        "B",
        NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        24,
        |_| 1.0,
    );
    let b = b.replacen(
        "B,2026-11-01 02:00,3600,1,gal\n",
        "B,2026-11-01 01:00,3600,1,gal\nB,2026-11-01 02:00,3600,1,gal\n",
        1,
    );
    csv.push_str(&b);
    std::fs::write(ws.path("data/intervals.csv"), &csv).unwrap();
    let rows = import(
        &ws,
        &[
            "--interval",
            ws.path("data/intervals.csv").to_str().unwrap(),
        ],
    );
    let got = month_totals(&rows, "A");
    assert_eq!(got.len(), 2);
    for (month, want) in &expected {
        assert!(
            (got[month] - want).abs() < 1e-6,
            "{month}: {} vs {want}",
            got[month]
        );
    }
    // B's one day (25 hours, the repeated one included) is too little for a bill.
    assert!(month_totals(&rows, "B").is_empty());
    let config = ws.config();
    let out = ws.neighborly(&[
        "import",
        "--config",
        config.to_str().unwrap(),
        "--interval",
        ws.path("data/intervals.csv").to_str().unwrap(),
        "--out",
        ws.path("again.csv").to_str().unwrap(),
    ]);
    let text = ok(out);
    assert!(
        text.contains("month left out: B: intervals.csv:")
            && text.contains("intervals cover 3.5% of 2026-11"),
        "{text}"
    );
}

#[test]
fn gaps_overlaps_and_duplicates_name_their_line() {
    let ws = Workspace::new("[reads]\ntimezone = \"America/Chicago\"\n");
    let day = |d: u32| {
        NaiveDate::from_ymd_opt(2026, 10, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let mut csv = String::from("account_id,start,duration_s,quantity,unit\n");
    // G: a 5-day gap in October (84% covered). O: an hour repeated at 30
    // minutes past. D: the same start twice.
    csv.push_str(&hourly("G", day(1), 24 * 10, |_| 2.0));
    csv.push_str(&hourly("G", day(16), 24 * 16, |_| 2.0));
    csv.push_str(&hourly("O", day(1), 5, |_| 2.0));
    csv.push_str("O,2026-10-01 04:30,3600,2,gal\n");
    csv.push_str(&hourly("D", day(1), 3, |_| 2.0));
    csv.push_str("D,2026-10-01 02:00,3600,2,gal\n");
    let lines: Vec<&str> = csv.lines().collect();
    let line_of = |needle: &str| lines.iter().position(|l| *l == needle).unwrap() + 1;
    let gap_line = line_of("G,2026-10-16 00:00,3600,2,gal");
    let overlap_line = line_of("O,2026-10-01 04:30,3600,2,gal");
    let dup_line = lines
        .iter()
        .rposition(|l| *l == "D,2026-10-01 02:00,3600,2,gal")
        .unwrap()
        + 1;
    std::fs::write(ws.path("data/intervals.csv"), &csv).unwrap();
    let config = ws.config();
    let text = ok(ws.neighborly(&[
        "import",
        "--config",
        config.to_str().unwrap(),
        "--interval",
        ws.path("data/intervals.csv").to_str().unwrap(),
        "--out",
        ws.path("i.csv").to_str().unwrap(),
    ]));
    assert!(
        text.contains(&format!(
            "month left out: G: intervals.csv:{gap_line}: first gap from 2026-10-11 00:00:00; intervals cover 83.9% of 2026-10"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "not imported: O: overlapping-interval: intervals.csv:{overlap_line}:"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "not imported: D: duplicate-interval: intervals.csv:{dup_line}:"
        )),
        "{text}"
    );
}

/// A water locality of `n` households with monthly history in usage.csv and
/// hourly interval data for the period (2026-10) in intervals.csv.
fn leak_workspace(n: usize, leaking: &[usize]) -> Workspace {
    let ws =
        Workspace::new("[reads]\ntimezone = \"America/Los_Angeles\"\n[control]\nshare = 0.0\n");
    let mut customers =
        String::from("account_id,name,address_line1,city,state,zip,locality,service,occupants\n");
    let mut usage = String::from("account_id,period_start,period_end,quantity,unit\n");
    let mut intervals = String::from("account_id,start,duration_s,quantity,unit\n");
    let oct1 = NaiveDate::from_ymd_opt(2026, 10, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for i in 0..n {
        let id = format!("H{i:03}");
        customers.push_str(&format!(
            "{id},Household {i},{} Elm St,Davis,CA,95616,elm,water,3\n",
            100 + i
        ));
        for m in 1..=9 {
            let gallons = 5000.0 + 100.0 * i as f64;
            usage.push_str(&format!(
                "{id},2026-{m:02}-01,2026-{m:02}-28,{gallons},gal\n"
            ));
        }
        let leak = leaking.contains(&i);
        // Ordinary homes use nothing from 1 to 5 a.m.; a leaking one never
        // stops from Oct 10 00:00 to Oct 12 12:00, at least 1.5 gal an hour,
        // so its flow runs unbroken from 5 a.m. on the 9th to 1 a.m. on the 13th.
        intervals.push_str(&hourly(&id, oct1, 31 * 24, |t| {
            let night = (1..5).contains(&t.hour());
            let in_leak = leak
                && t >= NaiveDate::from_ymd_opt(2026, 10, 10)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                && t < NaiveDate::from_ymd_opt(2026, 10, 12)
                    .unwrap()
                    .and_hms_opt(12, 0, 0)
                    .unwrap();
            match (night, in_leak) {
                (_, true) if night => 1.5,
                (_, true) => 9.0,
                (true, false) => 0.0,
                (false, false) => 8.0 + (i % 5) as f64,
            }
        }));
    }
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    std::fs::write(ws.path("data/usage.csv"), usage).unwrap();
    std::fs::write(ws.path("data/intervals.csv"), intervals).unwrap();
    let config = std::fs::read_to_string(ws.config()).unwrap();
    std::fs::write(
        ws.config(),
        config.replace(
            "usage = \"data/usage.csv\"",
            "usage = \"data/usage.csv\"\ninterval = \"data/intervals.csv\"",
        ),
    )
    .unwrap();
    ws
}

#[test]
fn continuous_flow_is_flagged_on_the_page_and_in_leaks_csv() {
    let ws = leak_workspace(24, &[3, 17]);
    let summary = ws.run(&["--period", "2026-10"]);
    assert!(
        summary.contains("possible leaks: 2 household(s)"),
        "{summary}"
    );
    let leaks = read_csv(&ws.path("out/2026-10/leaks.csv"));
    let ids: Vec<&str> = leaks.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(ids, ["H003", "H017"]);
    for r in &leaks {
        assert_eq!(r["flow_from"], "2026-10-09 05:00");
        assert_eq!(r["flow_to"], "2026-10-13 01:00");
        assert_eq!(r["hours"], "92");
        // The lowest hour was 1.5 gallons: 36 a day.
        assert_eq!(r["lowest_flow_per_day"], "36.0");
        assert_eq!(r["report_mailed"], "true");
    }
    let text = pdf_text(&ws.path("out/2026-10/reports/H003.pdf"));
    assert!(
        text.contains("Possible leak: water never stopped flowing"),
        "{text}"
    );
    assert!(
        text.contains("From October 9 to October 13") && text.contains("92 hours in a row"),
        "{text}"
    );
    assert!(text.contains("36 gal/day"), "{text}");
    // The tip on finding leaks gives way to the leak block.
    assert!(!text.contains("Check for hidden leaks"), "{text}");
    let ordinary = pdf_text(&ws.path("out/2026-10/reports/H004.pdf"));
    assert!(!ordinary.contains("Possible leak"), "{ordinary}");
    // The period's bill comes from the intervals: 31 days of hourly flow.
    let manifest = read_csv(&ws.path("out/2026-10/manifest.csv"));
    let h4 = manifest.iter().find(|r| r["account_id"] == "H004").unwrap();
    let per_day: f64 = h4["usage_per_day"].parse().unwrap();
    let want = 20.0 * (8.0 + 4.0);
    assert!((per_day - want).abs() < 0.01, "{per_day} vs {want}");
}

#[test]
fn an_implausible_read_is_an_exception_and_moves_no_median() {
    // Three runs over the same households: as is, with H005's October read
    // 40 times its history, and without H005's October read at all.
    let cohort = |ws: &Workspace| {
        let rows = read_csv(&ws.path("out/2026-10/cohorts.csv"));
        rows.iter()
            .map(|r| {
                (
                    r["cohort_id"].clone(),
                    r["median_per_day"].clone(),
                    r["size"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let spiked = leak_workspace(24, &[]);
    let intervals = std::fs::read_to_string(spiked.path("data/intervals.csv")).unwrap();
    let mut out = String::new();
    for line in intervals.lines() {
        if let Some(rest) = line.strip_prefix("H005,") {
            let parts: Vec<&str> = rest.split(',').collect();
            let q: f64 = parts[2].parse().unwrap();
            out.push_str(&format!(
                "H005,{},{},{},gal\n",
                parts[0],
                parts[1],
                q * 40.0
            ));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(spiked.path("data/intervals.csv"), &out).unwrap();
    spiked.run(&["--period", "2026-10"]);
    let exceptions = read_csv(&spiked.path("out/2026-10/exceptions.csv"));
    let e = exceptions
        .iter()
        .find(|r| r["account_id"] == "H005")
        .unwrap();
    assert_eq!(e["reason"], "implausible-read");
    assert!(e["detail"].starts_with("intervals.csv:"), "{}", e["detail"]);
    assert!(
        e["detail"].contains("times this home's 12-month median"),
        "{}",
        e["detail"]
    );

    let without = leak_workspace(24, &[]);
    let intervals = std::fs::read_to_string(without.path("data/intervals.csv")).unwrap();
    let kept: String = intervals
        .lines()
        .filter(|l| !l.starts_with("H005,"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(without.path("data/intervals.csv"), kept).unwrap();
    without.run(&["--period", "2026-10"]);
    assert_eq!(cohort(&spiked), cohort(&without));

    let as_is = leak_workspace(24, &[]);
    as_is.run(&["--period", "2026-10"]);
    assert_ne!(
        cohort(&as_is),
        cohort(&spiked),
        "H005 counts when its read is plausible"
    );
}

#[test]
fn a_malformed_green_button_file_loses_no_other_account() {
    let ws = Workspace::new("[reads]\nmin_coverage = 0.5\ntimezone = \"UTC\"\n");
    let dir = ws.path("data/gb");
    std::fs::create_dir_all(&dir).unwrap();
    let good = repo().join(
        "tests/data/greenbutton/Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5.xml",
    );
    std::fs::copy(&good, dir.join("GOOD1.xml")).unwrap();
    // BAD1: the same file with a tag left open on line 200.
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[199] = format!("{}<value", lines[199]);
    std::fs::write(dir.join("BAD1.xml"), lines.join("\n")).unwrap();
    // CUT1: the file as a download that stopped at 300,000 bytes.
    std::fs::write(dir.join("CUT1.xml"), &text.as_bytes()[..300_000]).unwrap();
    let cut_line = text.as_bytes()[..300_000]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let customers = "account_id,name,address_line1,city,state,zip,locality,service\n\
                     GOOD1,Ann,1 Elm,Davis,CA,95616,elm,electric\n\
                     BAD1,Bo,2 Elm,Davis,CA,95616,elm,electric\n\
                     CUT1,Cy,3 Elm,Davis,CA,95616,elm,electric\n";
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    let data = neighborly::ingest::load(
        &neighborly::ingest::Sources {
            customers: ws.path("data/customers.csv"),
            usage: None,
            interval: None,
            greenbutton: Some(dir.clone()),
        },
        neighborly::model::Service::Electric,
        &neighborly::ingest::ReadRules {
            zone: neighborly::ingest::Zone::named("UTC").unwrap(),
            intervals: neighborly::ingest::IntervalRules {
                min_coverage: 0.9,
                leak_hours: 24,
                keep_days: false,
                keep_spans: None,
            },
            mapping: Default::default(),
        },
    )
    .unwrap();
    assert_eq!(data.households.len(), 1);
    assert_eq!(data.households[0].account_id, "GOOD1");
    assert_eq!(data.reads[0].len(), 12);
    assert_eq!(data.exceptions.len(), 2, "{:?}", data.exceptions);
    let cut = data
        .exceptions
        .iter()
        .find(|e| e.account_id == "CUT1")
        .unwrap();
    assert_eq!(cut.reason.code(), "malformed-xml");
    assert!(
        cut.detail.starts_with(&format!(
            "CUT1.xml:{cut_line}: the document ends before <feed>"
        )) && cut.detail.contains("cut short"),
        "{}",
        cut.detail
    );
    // `import` says the same of the cut file, and imports the good one.
    std::fs::write(ws.path("data/customers.csv"), customers).unwrap();
    let config = ws.config();
    let out = ws.path("imported.csv");
    let said = ok(ws.neighborly(&[
        "import",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--greenbutton",
        dir.to_str().unwrap(),
    ]));
    assert!(
        said.contains(&format!(
            "not imported: CUT1: malformed-xml: CUT1.xml:{cut_line}: the document ends"
        )),
        "{said}"
    );
    let e = data
        .exceptions
        .iter()
        .find(|e| e.account_id == "BAD1")
        .unwrap();
    assert_eq!(e.account_id, "BAD1");
    assert_eq!(e.reason.code(), "malformed-xml");
    // The parser notices at the enclosing block's end; the message points
    // back at the element left open.
    assert!(e.detail.starts_with("BAD1.xml:"), "{}", e.detail);
    assert!(
        e.detail.contains("not well-formed XML")
            && e.detail
                .contains("the innermost open element is <value>, from line 200"),
        "{}",
        e.detail
    );
}

#[test]
fn a_bulk_feed_maps_its_usage_points_to_accounts() {
    let ws = Workspace::new("[reads]\ntimezone = \"America/Los_Angeles\"\n");
    let dir = ws.path("data/bulk");
    std::fs::create_dir_all(&dir).unwrap();
    let samples = repo().join("tests/data/greenbutton");
    // Two feeds whose names are no account: the mapping says whose they are.
    std::fs::copy(
        samples.join("Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5.xml"),
        dir.join("feed-a.xml"),
    )
    .unwrap();
    std::fs::copy(
        samples.join("Desert_Single_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_7.xml"),
        dir.join("feed-b.xml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("greenbutton-accounts.csv"),
        "usage_point,account_id\n\
         https://services.greenbuttondata.org/DataCustodian/espi/1_1/resource/RetailCustomer/5/UsagePoint/1,E-5\n\
         RetailCustomer/7/UsagePoint/1,E-7\n",
    )
    .unwrap();
    let rows = import(&ws, &["--greenbutton", dir.to_str().unwrap()]);
    let accounts: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(accounts.into_iter().collect::<Vec<_>>(), ["E-5", "E-7"]);
    assert_eq!(month_totals(&rows, "E-5").len(), 12);
    assert_eq!(month_totals(&rows, "E-7").len(), 12);
}

/// Interval data is billed by local month: without the utility's zone it
/// is refused, by `import` and by `run`, naming the setting to add.
#[test]
fn interval_data_without_a_time_zone_is_refused() {
    let ws = Workspace::new("");
    let dir = repo().join("tests/data/greenbutton");
    let config = ws.config();
    for args in [vec!["import", "--out", "x.csv"], vec!["run", "--dry-run"]] {
        let mut all = args.clone();
        all.extend(["--config", config.to_str().unwrap()]);
        all.extend(["--greenbutton", dir.to_str().unwrap()]);
        let o = ws.neighborly(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("config.toml: [reads] timezone is not set")
                && err.contains("timezone = \"America/Los_Angeles\""),
            "{args:?}: {err}"
        );
    }
}
