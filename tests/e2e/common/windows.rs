//! Reading print pieces back: what page 1 of each piece draws inside the
//! envelope windows (shared by the monthly print tests and the campaigns').

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::glyphs::{self, Glyph, Rect};
use super::read_csv;

pub fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

pub fn text_of(glyphs: &[&Glyph]) -> String {
    squeeze(&glyphs.iter().map(|g| g.text.as_str()).collect::<String>())
}

/// Lines of a block: glyphs grouped by baseline (to a tenth of a point).
pub fn lines_of<'a>(glyphs: &[&'a Glyph]) -> Vec<Vec<&'a Glyph>> {
    let mut lines: Vec<(f64, Vec<&Glyph>)> = Vec::new();
    for g in glyphs {
        match lines.iter_mut().find(|(b, _)| (b - g.baseline).abs() < 0.1) {
            Some((_, line)) => line.push(g),
            None => lines.push((g.baseline, vec![g])),
        }
    }
    lines.into_iter().map(|(_, l)| l).collect()
}

pub fn pdfs_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    files
}

/// What page 1 of every piece in `print-manifest.csv` draws, by file and page.
pub fn first_pages(
    out: &Path,
    pieces: &[HashMap<String, String>],
) -> HashMap<String, HashMap<u32, glyphs::Page>> {
    let mut wanted: HashMap<String, Vec<u32>> = HashMap::new();
    for piece in pieces {
        let page = piece["first_page"].parse().unwrap();
        wanted.entry(piece["file"].clone()).or_default().push(page);
    }
    let (files, paths): (Vec<String>, Vec<_>) = wanted
        .into_iter()
        .map(|(file, pages)| {
            let path = out.join(&file);
            (file, (path, pages))
        })
        .unzip();
    files.into_iter().zip(glyphs::read_many(&paths)).collect()
}

/// For every piece of every print file: the recipient's name, street and
/// city/state/ZIP are drawn inside `window` on the piece's first page, no
/// glyph straddles the window's edge, nothing else shows through it, the
/// text is at least 8 pt in at most 5 lines of at most 40 characters, and
/// the return address sits inside `return_window`. Text also keeps the
/// configured `clearance` (inches) from the window edges, give or take a point
/// for the difference between a glyph's box and its ink. Returns the most
/// address lines any piece had.
pub fn assert_addresses_in_windows(
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
