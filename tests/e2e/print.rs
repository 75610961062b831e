//! Print-mail production read back from the files a mail house receives: where
//! the address sits on every first page, what the print files hold, and
//! whether every PDF passes structure, font, PDF/UA-1 and PDF/A checks.

use std::collections::HashMap;

use crate::common::glyphs::{self, Rect};
use crate::common::pdf_tools::check_pdfs;
use crate::common::windows::*;
use crate::common::*;

#[test]
fn address_block_sits_inside_the_envelope_window_on_every_piece() {
    let ws = Workspace::new("[print]\npieces_per_file = 25\n");
    // Broken rows (households 10-12) include an overlong name and an
    // overlong second line.
    ws.synth(60, true);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let customers = read_csv(&ws.path("data/customers.csv"));
    let long = customers
        .iter()
        .find(|c| c["name"].starts_with("Dr. Maximiliana"))
        .unwrap();
    let manifest = read_csv(&out.join("print-manifest.csv"));
    assert!(
        manifest
            .iter()
            .any(|p| p["account_id"] == long["account_id"])
    );
    // The defaults documented in config.rs; the overlong name makes a
    // 5-line block.
    let most_lines = assert_addresses_in_windows(
        &out,
        &ws.path("data/customers.csv"),
        Rect::inches(0.8, 2.15, 3.6, 1.0),
        Rect::inches(0.5, 0.5, 3.2, 0.85),
        0.1,
    );
    assert_eq!(most_lines, 5);
}

#[test]
fn window_position_and_paper_follow_the_config() {
    let ws = Workspace::new(
        "[print]\npaper = \"a4\"\n\
         recipient_window = { x = 0.9, y = 1.9, width = 3.4, height = 1.1 }\n\
         return_window = { x = 0.6, y = 0.45, width = 3.0, height = 0.9 }\n\
         clearance = 0.15\n",
    );
    ws.synth(40, false);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    assert_addresses_in_windows(
        &out,
        &ws.path("data/customers.csv"),
        Rect::inches(0.9, 1.9, 3.4, 1.1),
        Rect::inches(0.6, 0.45, 3.0, 0.9),
        0.15,
    );
    // A4 is 210 x 297 mm.
    let doc = lopdf::Document::load(out.join("print/print-001.pdf")).unwrap();
    let (_, page) = doc.get_pages().into_iter().next().unwrap();
    let media = doc.get_dictionary(page).unwrap().get(b"MediaBox").unwrap();
    let numbers: Vec<f64> = media
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o.as_float()
                .map(f64::from)
                .or(o.as_i64().map(|i| i as f64))
                .unwrap()
        })
        .collect();
    assert!(
        (numbers[2] - 595.28).abs() < 0.5 && (numbers[3] - 841.89).abs() < 0.5,
        "{numbers:?}"
    );
}

#[test]
fn every_pdf_passes_structure_font_and_accessibility_checks() {
    // Print files carry barcodes: they must pass too.
    let ws = Workspace::new(
        "[print]\npieces_per_file = 25\n\
         [print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n",
    );
    ws.synth(60, true);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let proof = ws.proof();
    let mut files = pdfs_in(&out.join("reports"));
    let reports = files.len();
    assert_eq!(reports, read_csv(&out.join("manifest.csv")).len());
    files.extend(pdfs_in(&out.join("print")));
    assert!(files.len() > reports + 1);
    files.push(proof);
    check_pdfs(&files);
}

#[test]
fn the_pdf_checker_rejects_an_untagged_or_damaged_pdf() {
    // The checks above can fail: an untagged PDF and a damaged copy of a
    // good report are both refused.
    let ws = Workspace::new("");
    ws.synth(30, false);
    ws.run(&["--period", "2026-10"]);
    let good = pdfs_in(&ws.path("out/2026-10/reports")).remove(0);
    let bytes = std::fs::read(&good).unwrap();
    let stream = bytes.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
    let mut damaged = bytes.clone();
    damaged[stream + 40..stream + 48].copy_from_slice(b"XXXXXXXX");
    let damaged_path = ws.path("damaged.pdf");
    std::fs::write(&damaged_path, damaged).unwrap();
    let mut untagged = lopdf::Document::load(&good).unwrap();
    untagged.catalog_mut().unwrap().remove(b"StructTreeRoot");
    untagged.catalog_mut().unwrap().remove(b"MarkInfo");
    let untagged_path = ws.path("untagged.pdf");
    untagged.save(&untagged_path).unwrap();
    for bad in [damaged_path, untagged_path] {
        let result = std::panic::catch_unwind(|| check_pdfs(std::slice::from_ref(&bad)));
        assert!(result.is_err(), "{} passed the checks", bad.display());
    }
}

/// Read an Intelligent Mail barcode back from its bars: a bar reaching the
/// top of the tallest bar ascends, one reaching its bottom descends.
fn bars_to_letters(bars: &[&Rect]) -> String {
    let top = bars.iter().map(|b| b.top).fold(f64::INFINITY, f64::min);
    let bottom = bars
        .iter()
        .map(|b| b.bottom)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut bars = bars.to_vec();
    bars.sort_by(|a, b| a.left.total_cmp(&b.left));
    bars.iter()
        .map(
            |b| match ((b.top - top).abs() < 0.5, (b.bottom - bottom).abs() < 0.5) {
                (true, true) => 'F',
                (true, false) => 'A',
                (false, true) => 'D',
                (false, false) => 'T',
            },
        )
        .collect()
}

#[test]
fn intelligent_mail_barcode_sits_under_the_address_and_matches_the_manifest() {
    let ws = Workspace::new(
        "[print]\npieces_per_file = 25\n\
         [print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n",
    );
    ws.synth(60, true);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let customers = ws.path("data/customers.csv");
    let zips: HashMap<String, String> = read_csv(&customers)
        .into_iter()
        .map(|c| (c["account_id"].clone(), c["zip"].clone()))
        .collect();
    let pieces = read_csv(&out.join("print-manifest.csv"));
    let window = Rect::inches(0.8, 2.15, 3.6, 1.0);
    let mut serials = std::collections::HashSet::new();
    let drawn = first_pages(out.as_path(), &pieces);
    for p in &pieces {
        // Serial: October's digit (2026-10 is month 24321, so 1), then the
        // piece's sequence; unique in the run.
        let serial = &p["imb_serial"];
        assert_eq!(
            serial,
            &format!("1{:08}", p["sequence"].parse::<u32>().unwrap())
        );
        assert!(serials.insert(serial.clone()), "serial {serial} twice");
        // The manifest's bars are the encoding of this piece's fields (the
        // encoder itself is checked against USPS-B-3200's examples).
        let tracking = neighborly::imb::tracking_code("00", "300", "567094", serial).unwrap();
        let zip = neighborly::imb::routing_code(&zips[&p["account_id"]]);
        assert_eq!(p["imb"], neighborly::imb::encode(&tracking, &zip).unwrap());
        // ... and they are what page 1 draws inside the window, under the address.
        let page = &drawn[&p["file"]][&p["first_page"].parse::<u32>().unwrap()];
        let bars: Vec<&Rect> = page
            .shapes
            .iter()
            .filter(|s| s.right - s.left < 3.0 && s.bottom > window.top && s.top < window.bottom)
            .collect();
        assert_eq!(bars.len(), 65, "{}: bars drawn", p["account_id"]);
        for b in &bars {
            assert!(
                window.shrink(7.2 - 1.0).contains_rect(b),
                "{b:?} outside the window"
            );
        }
        let lowest_text = page
            .glyphs
            .iter()
            .filter(|g| window.overlaps(g))
            .map(|g| g.bottom)
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            bars.iter().all(|b| b.top > lowest_text),
            "barcode overlaps the address"
        );
        assert_eq!(bars_to_letters(&bars), p["imb"], "{}", p["account_id"]);
    }
    // The address block still fits the window with the barcode under it,
    // five lines included (they drop to 8 pt).
    let most_lines = assert_addresses_in_windows(
        &out,
        &customers,
        window,
        Rect::inches(0.5, 0.5, 3.2, 0.85),
        0.1,
    );
    assert_eq!(most_lines, 5);
}

#[test]
fn each_household_pdf_has_the_text_of_its_piece_in_the_print_file() {
    // Laid out once: the single PDF is a slice of the print file's layout.
    // Compared glyph by glyph (text, position, size), read back with pdfminer.
    let ws = Workspace::new(
        "[print]\npieces_per_file = 7\n\
         [print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n",
    );
    ws.synth(40, true);
    ws.run(&["--period", "2026-10"]);
    let out = ws.path("out/2026-10");
    let manifest: HashMap<String, HashMap<String, String>> = read_csv(&out.join("manifest.csv"))
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect();
    let pieces = read_csv(&out.join("print-manifest.csv"));
    assert_eq!(pieces.len(), manifest.len());
    let mut wanted: HashMap<String, Vec<u32>> = HashMap::new();
    for p in &pieces {
        let first: u32 = p["first_page"].parse().unwrap();
        let count: u32 = p["page_count"].parse().unwrap();
        wanted
            .entry(p["file"].clone())
            .or_default()
            .extend(first..first + count);
    }
    // Every print file, then every single PDF, read in one go.
    let (print_files, mut files): (Vec<String>, Vec<_>) = wanted
        .into_iter()
        .map(|(f, pages)| {
            let path = out.join(&f);
            (f, (path, pages))
        })
        .unzip();
    files.extend(pieces.iter().map(|p| {
        let count: u32 = p["page_count"].parse().unwrap();
        let pages: Vec<u32> = (1..=count).collect();
        (out.join(&manifest[&p["account_id"]]["pdf"]), pages)
    }));
    let mut read = glyphs::read_many(&files).into_iter();
    let print: HashMap<String, HashMap<u32, glyphs::Page>> =
        print_files.into_iter().zip(read.by_ref()).collect();
    let text = |page: &glyphs::Page| -> Vec<String> {
        page.glyphs
            .iter()
            .map(|g| format!("{} {:.1} {:.1} {:.1}", g.text, g.left, g.baseline, g.size))
            .collect()
    };
    for p in &pieces {
        let first: u32 = p["first_page"].parse().unwrap();
        let count: u32 = p["page_count"].parse().unwrap();
        let own = read.next().unwrap();
        assert_eq!(own.len() as u32, count);
        let front: String = own[&1].glyphs.iter().map(|g| g.text.as_str()).collect();
        assert!(front.contains(&p["account_id"]), "{front}");
        for j in 0..count {
            assert_eq!(
                text(&own[&(j + 1)]),
                text(&print[&p["file"]][&(first + j)]),
                "{}: page {} of its PDF differs from its print piece",
                p["account_id"],
                j + 1
            );
        }
    }
}
