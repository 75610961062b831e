//! Where the text sits on a page, read back from the PDF: each character with
//! its box in points from the page's top-left corner (the way a ruler on the
//! printed sheet measures). The reading is pdfminer's (`tests/tools/glyphs.py`),
//! an interpreter independent of the one that wrote the file.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::pdf_tools::python;
use super::repo;

/// One character as drawn on the page.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub text: String,
    /// Left, top, right, bottom in points from the top-left corner: the
    /// advance width by the font size, from the descender up.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    /// Baseline, points from the top.
    pub baseline: f64,
    /// Rendered font size in points.
    pub size: f64,
}

impl Glyph {
    pub fn rect(&self) -> Rect {
        Rect {
            left: self.left,
            top: self.top,
            right: self.right,
            bottom: self.bottom,
        }
    }
}

/// What one page draws: characters and filled shapes, in content order.
#[derive(Debug, Default)]
pub struct Page {
    pub glyphs: Vec<Glyph>,
    pub shapes: Vec<Rect>,
}

/// [text, left, top, right, bottom, baseline, size], as glyphs.py writes it.
type RawChar = (String, f64, f64, f64, f64, f64, f64);

#[derive(serde::Deserialize)]
struct RawPage {
    chars: Vec<RawChar>,
    shapes: Vec<(f64, f64, f64, f64)>,
}

/// What the given pages of each file draw, in the order given; one Python
/// process reads them all.
pub fn read_many(wanted: &[(PathBuf, Vec<u32>)]) -> Vec<HashMap<u32, Page>> {
    let mut child = Command::new(python())
        .arg(repo().join("tests/tools/glyphs.py"))
        .arg("--many")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let request = serde_json::to_vec(wanted).unwrap();
    child.stdin.take().unwrap().write_all(&request).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "glyphs.py {wanted:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw: Vec<HashMap<String, RawPage>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(raw.len(), wanted.len());
    raw.into_iter().map(pages).collect()
}

fn pages(raw: HashMap<String, RawPage>) -> HashMap<u32, Page> {
    raw.into_iter()
        .map(|(page, raw)| {
            let glyphs = raw
                .chars
                .into_iter()
                .map(|(text, left, top, right, bottom, baseline, size)| Glyph {
                    text,
                    left,
                    top,
                    right,
                    bottom,
                    baseline,
                    size,
                })
                .collect();
            let shapes = raw
                .shapes
                .into_iter()
                .map(|(left, top, right, bottom)| Rect {
                    left,
                    top,
                    right,
                    bottom,
                })
                .collect();
            (page.parse().unwrap(), Page { glyphs, shapes })
        })
        .collect()
}

/// A rectangle in points from the top-left corner.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    /// From a window given in inches, as in the `[print]` config.
    pub fn inches(x: f64, y: f64, width: f64, height: f64) -> Rect {
        Rect {
            left: x * 72.0,
            top: y * 72.0,
            right: (x + width) * 72.0,
            bottom: (y + height) * 72.0,
        }
    }
    /// The rectangle with `points` taken off every side.
    pub fn shrink(&self, points: f64) -> Rect {
        Rect {
            left: self.left + points,
            top: self.top + points,
            right: self.right - points,
            bottom: self.bottom - points,
        }
    }
    pub fn contains(&self, g: &Glyph) -> bool {
        self.contains_rect(&g.rect())
    }
    pub fn overlaps(&self, g: &Glyph) -> bool {
        g.left < self.right && g.right > self.left && g.top < self.bottom && g.bottom > self.top
    }
    pub fn contains_rect(&self, r: &Rect) -> bool {
        r.left >= self.left && r.right <= self.right && r.top >= self.top && r.bottom <= self.bottom
    }
}
