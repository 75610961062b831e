//! Print-mail production read back from the files a mail house receives: where
//! the address sits on every first page, what the print files hold, and
//! whether every PDF passes structure, font, PDF/UA-1 and PDF/A checks.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::glyphs::{self, Glyph, Rect};
use common::pdf_tools::check_pdfs;
use common::*;

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn text_of(glyphs: &[&Glyph]) -> String {
    squeeze(&glyphs.iter().map(|g| g.text.as_str()).collect::<String>())
}

/// Lines of a block: glyphs grouped by baseline (to a tenth of a point).
fn lines_of<'a>(glyphs: &[&'a Glyph]) -> Vec<Vec<&'a Glyph>> {
    let mut lines: Vec<(f64, Vec<&Glyph>)> = Vec::new();
    for g in glyphs {
        match lines.iter_mut().find(|(b, _)| (b - g.baseline).abs() < 0.1) {
            Some((_, line)) => line.push(g),
            None => lines.push((g.baseline, vec![g])),
        }
    }
    lines.into_iter().map(|(_, l)| l).collect()
}

fn pdfs_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    files
}

/// What page 1 of every piece in `print-manifest.csv` draws, by file and page.
fn first_pages(
    out: &Path,
    pieces: &[HashMap<String, String>],
) -> HashMap<String, HashMap<u32, glyphs::Page>> {
    let mut wanted: HashMap<String, Vec<u32>> = HashMap::new();
    for piece in pieces {
        let page = piece["first_page"].parse().unwrap();
        wanted.entry(piece["file"].clone()).or_default().push(page);
    }
    wanted
        .iter()
        .map(|(file, pages)| (file.clone(), glyphs::read_pages(&out.join(file), pages)))
        .collect()
}

/// For every piece of every print file: the recipient's name, street and
/// city/state/ZIP are drawn inside `window` on the piece's first page, no
/// glyph straddles the window's edge, nothing else shows through it, the
/// text is at least 8 pt in at most 5 lines of at most 40 characters, and
/// the return address sits inside `return_window`. Text also keeps the
/// configured `clearance` (inches) from the window edges, give or take a point
/// for the difference between a glyph's box and its ink. Returns the most
/// address lines any piece had.
fn assert_addresses_in_windows(
    out: &Path,
    customers: &Path,
    window: Rect,
    return_window: Rect,
    clearance: f64,
) -> usize {
    let mut most_lines = 0;
    let margin = clearance * 72.0 - 1.0;
    let customers: HashMap<String, HashMap<String, String>> = read_csv(customers)
        .into_iter()
        .map(|c| (c["account_id"].clone(), c))
        .collect();
    let pieces = read_csv(&out.join("print-manifest.csv"));
    assert!(!pieces.is_empty());
    let drawn = first_pages(out, &pieces);
    for piece in &pieces {
        let account = &piece["account_id"];
        let c = &customers[account];
        let first_page: u32 = piece["first_page"].parse().unwrap();
        let page = &drawn[&piece["file"]][&first_page].glyphs;
        let context = format!("{account} ({} page {first_page})", piece["file"]);

        let seen: Vec<&Glyph> = page.iter().filter(|g| window.overlaps(g)).collect();
        for g in &seen {
            assert!(
                window.contains(g),
                "{context}: {g:?} crosses the window edge {window:?}"
            );
            assert!(
                window.shrink(margin).contains(g),
                "{context}: {g:?} is closer than {clearance} in to the window's edge"
            );
            assert!(g.size >= 8.0, "{context}: {g:?} is smaller than 8 pt");
        }
        let lines = lines_of(&seen);
        most_lines = most_lines.max(lines.len());
        assert!(
            (3..=5).contains(&lines.len()),
            "{context}: {} address lines",
            lines.len()
        );
        for line in &lines {
            assert!(
                line.len() <= 40,
                "{context}: line of {} characters",
                line.len()
            );
        }
        // What the window shows is the address block and nothing else, in
        // reading order: name (up to 40 characters of it), street, second
        // line (its start, if it was cut), city/state/ZIP.
        let shown = text_of(&seen);
        let name: String = c["name"].chars().take(40).collect();
        let mut expected = vec![squeeze(&name), squeeze(&c["address_line1"])];
        let line2 = c["address_line2"].split_whitespace().next().unwrap_or("");
        expected.push(squeeze(line2));
        expected.push(squeeze(&format!("{}{}{}", c["city"], c["state"], c["zip"])));
        let mut at = 0;
        for part in &expected {
            let found = shown[at..].find(part.as_str());
            assert!(
                found.is_some(),
                "{context}: {part:?} not in window text {shown:?}"
            );
            at += found.unwrap() + part.len();
        }
        assert!(
            shown.starts_with(&squeeze(&name)) && shown.ends_with(&expected[3]),
            "{context}: window shows more than the address: {shown:?}"
        );
        // ... and the street address is printed nowhere else on the page.
        let elsewhere: Vec<&Glyph> = page.iter().filter(|g| !window.overlaps(g)).collect();
        assert!(
            !text_of(&elsewhere).contains(&squeeze(&c["address_line1"])),
            "{context}: street address printed outside the window"
        );

        let upper: Vec<&Glyph> = page.iter().filter(|g| return_window.overlaps(g)).collect();
        for g in &upper {
            assert!(
                return_window.contains(g),
                "{context}: {g:?} crosses the return window"
            );
            assert!(
                return_window.shrink(margin).contains(g),
                "{context}: {g:?} is closer than {clearance} in to the return window's edge"
            );
        }
        assert_eq!(
            text_of(&upper),
            squeeze("Maple Valley Water PO Box 1200 Maple Valley, CA 95616"),
            "{context}: return window"
        );
    }
    most_lines
}

#[test]
fn address_block_sits_inside_the_envelope_window_on_every_piece() {
    let ws = Workspace::new("[print]\npieces_per_file = 50\n");
    // Broken rows include an overlong name and an overlong second line.
    ws.synth(150, true);
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
        "[print]\npieces_per_file = 60\n\
         [print.imb]\nservice_type = \"300\"\nmailer_id = \"567094\"\n",
    );
    ws.synth(150, true);
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
