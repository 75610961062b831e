//! Charts: the neighbor comparison and the household's own history, as SVG.
//!
//! Drawn with plotters' SVG backend from primitives (rectangles, text with
//! anchors) rather than its chart builder: the builder measures text with a
//! font rasterizer, which the SVG backend does not need since Typst lays the
//! text out with the report's own font. Every value is also written as text
//! next to its bar, so no meaning rests on color alone; the alt text for the
//! PDF tags is produced alongside.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Font family used inside the SVGs; it must be one the renderer embeds.
pub const FONT: &str = "Noto Sans";

const INK: RGBColor = RGBColor(0x1d, 0x2b, 0x36);
const MUTED: RGBColor = RGBColor(0x8a, 0x99, 0xa6);
const YOU: RGBColor = RGBColor(0x0b, 0x5c, 0x8e);
const ALL: RGBColor = RGBColor(0x9b, 0xb7, 0xcc);
const EFFICIENT: RGBColor = RGBColor(0x2e, 0x7d, 0x4f);
const LAST_YEAR: RGBColor = RGBColor(0xc9, 0xd3, 0xdb);

/// One labelled bar of the comparison chart.
pub struct Bar<'a> {
    pub label: &'a str,
    pub value: f64,
    /// Text printed at the end of the bar, e.g. `182 gal/day`.
    pub value_text: String,
}

/// A chart plotters could not draw. The SVG backend writes to a string,
/// so this is a drawing error (a bad coordinate, a font plotters lacks),
/// never I/O.
#[derive(Debug, thiserror::Error)]
#[error("chart drawing failed: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Three horizontal bars: You, All neighbors, Efficient neighbors (in that order).
pub fn comparison_svg(bars: &[Bar; 3]) -> Result<String, ChartError> {
    let (w, h) = (640u32, 210u32);
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let label_w = 190i32;
        let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9);
        let span = (w as i32 - label_w - 150) as f64;
        let colors = [YOU, ALL, EFFICIENT];
        for (i, (bar, color)) in bars.iter().zip(colors).enumerate() {
            let y = 20 + i as i32 * 64;
            let len = ((bar.value / max) * span).round().max(2.0) as i32;
            let weight = if i == 0 {
                FontStyle::Bold
            } else {
                FontStyle::Normal
            };
            let label_style = TextStyle::from((FONT, 22).into_font().style(weight))
                .color(&INK)
                .pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(
                bar.label.to_string(),
                (label_w - 14, y + 22),
                label_style,
            ))
            .map_err(err)?;
            area.draw(&Rectangle::new(
                [(label_w, y), (label_w + len, y + 44)],
                color.filled(),
            ))
            .map_err(err)?;
            let value_style = TextStyle::from((FONT, 22).into_font().style(weight))
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(
                bar.value_text.clone(),
                (label_w + len + 10, y + 22),
                value_style,
            ))
            .map_err(err)?;
        }
        area.present().map_err(err)?;
    }
    Ok(svg)
}

/// One month of the history chart.
pub struct Month<'a> {
    pub label: &'a str,
    pub this_year: Option<f64>,
    pub last_year: Option<f64>,
}

/// Paired columns per month: this year (dark, solid) beside the same month last
/// year (light, outlined), with a legend that names both.
pub fn history_svg(
    months: &[Month],
    legend: (&str, &str),
    unit: &str,
) -> Result<String, ChartError> {
    let (w, h) = (720u32, 260u32);
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let (left, right, top, bottom) = (56i32, w as i32 - 8, 44i32, h as i32 - 34);
        let max = months
            .iter()
            .flat_map(|m| [m.this_year, m.last_year])
            .flatten()
            .fold(0.0, f64::max)
            .max(1e-9);
        let nice = nice_ceiling(max);
        let y_of = |v: f64| bottom - ((v / nice) * (bottom - top) as f64).round() as i32;
        value_axis(&area, (left, right, top, bottom), nice, unit)?;
        let slot = (right - left) as f64 / months.len().max(1) as f64;
        let bar = ((slot - 8.0) / 2.0).max(2.0) as i32;
        for (i, m) in months.iter().enumerate() {
            let x = left + (i as f64 * slot + 4.0) as i32;
            if let Some(v) = m.last_year {
                area.draw(&Rectangle::new(
                    [(x, y_of(v)), (x + bar, bottom)],
                    LAST_YEAR.filled(),
                ))
                .map_err(err)?;
                area.draw(&Rectangle::new(
                    [(x, y_of(v)), (x + bar, bottom)],
                    MUTED.stroke_width(1),
                ))
                .map_err(err)?;
            }
            if let Some(v) = m.this_year {
                area.draw(&Rectangle::new(
                    [(x + bar, y_of(v)), (x + 2 * bar, bottom)],
                    YOU.filled(),
                ))
                .map_err(err)?;
            }
            let label_style = TextStyle::from((FONT, 15).into_font())
                .color(&INK)
                .pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(
                m.label.to_string(),
                (x + bar, bottom + 8),
                label_style,
            ))
            .map_err(err)?;
        }
        area.draw(&PathElement::new(
            vec![(left, bottom), (right, bottom)],
            INK,
        ))
        .map_err(err)?;
        // Legend: swatch plus words, so the two series differ by more than color.
        let lx = right - 330;
        area.draw(&Rectangle::new([(lx, 8), (lx + 18, 26)], YOU.filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            legend.0.to_string(),
            (lx + 24, 17),
            small(HPos::Left),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(lx + 170, 8), (lx + 188, 26)],
            LAST_YEAR.filled(),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(lx + 170, 8), (lx + 188, 26)],
            MUTED.stroke_width(1),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            legend.1.to_string(),
            (lx + 194, 17),
            small(HPos::Left),
        ))
        .map_err(err)?;
        area.present().map_err(err)?;
    }
    Ok(svg)
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v`.
/// Two groups' monthly use as lines, with a vertical rule where letters
/// started: the evaluation's picture. Treated households are drawn with
/// filled circles, control households with open squares, and a legend names
/// both, so the chart reads in grey print too.
pub fn trend_svg(
    labels: &[String],
    treated: &[Option<f64>],
    control: &[Option<f64>],
    start: usize,
    legend: (&str, &str, &str),
    unit: &str,
) -> Result<String, ChartError> {
    let (w, h) = (720u32, 300u32);
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        let (left, right, top, bottom) = (56i32, w as i32 - 12, 44i32, h as i32 - 34);
        let max = treated
            .iter()
            .chain(control)
            .flatten()
            .fold(0.0, |a: f64, b| a.max(*b))
            .max(1e-9);
        let nice = nice_ceiling(max);
        let y_of = |v: f64| bottom - ((v / nice) * (bottom - top) as f64).round() as i32;
        let n = labels.len().max(1);
        let slot = (right - left) as f64 / n as f64;
        let x_of = |i: usize| left + ((i as f64 + 0.5) * slot).round() as i32;
        value_axis(&area, (left, right, top, bottom), nice, unit)?;
        let every = n.div_ceil(12);
        for (i, l) in labels.iter().enumerate() {
            if i % every == 0 {
                area.draw(&Text::new(
                    l.clone(),
                    (x_of(i), bottom + 16),
                    small(HPos::Center),
                ))
                .map_err(err)?;
            }
        }
        // The start of the letters, between the last pre and first post month.
        let x_start = left + (start as f64 * slot).round() as i32;
        area.draw(&PathElement::new(
            vec![(x_start, top - 8), (x_start, bottom)],
            INK.stroke_width(2),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            legend.2.to_string(),
            (x_start + 6, top - 8),
            small(HPos::Left),
        ))
        .map_err(err)?;
        let series = [(treated, YOU), (control, MUTED)];
        for (k, (values, color)) in series.into_iter().enumerate() {
            let points: Vec<(i32, i32)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (x_of(i), y_of(v))))
                .collect();
            area.draw(&PathElement::new(points.clone(), color.stroke_width(3)))
                .map_err(err)?;
            for p in points {
                if k == 0 {
                    area.draw(&Circle::new(p, 5, color.filled())).map_err(err)?;
                } else {
                    area.draw(&Rectangle::new(
                        [(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)],
                        ShapeStyle::from(&WHITE).filled(),
                    ))
                    .map_err(err)?;
                    area.draw(&Rectangle::new(
                        [(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)],
                        color.stroke_width(2),
                    ))
                    .map_err(err)?;
                }
            }
        }
        // Legend, top right.
        let lx = right - 300;
        area.draw(&Circle::new((lx, 12), 5, YOU.filled()))
            .map_err(err)?;
        area.draw(&Text::new(
            legend.0.to_string(),
            (lx + 12, 12),
            small(HPos::Left),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(lx + 146, 8), (lx + 154, 16)],
            MUTED.stroke_width(2),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            legend.1.to_string(),
            (lx + 162, 12),
            small(HPos::Left),
        ))
        .map_err(err)?;
        area.present().map_err(err)?;
    }
    Ok(svg)
}

/// Small chart text, anchored on `anchor` and centered vertically.
fn small(anchor: HPos) -> TextStyle<'static> {
    TextStyle::from((FONT, 15).into_font())
        .color(&INK)
        .pos(Pos::new(anchor, VPos::Center))
}

/// Five horizontal grid lines from 0 to `nice`, each with its value, and the
/// unit above them. `plot` is (left, right, top, bottom) in pixels.
fn value_axis(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    (left, right, top, bottom): (i32, i32, i32, i32),
    nice: f64,
    unit: &str,
) -> Result<(), ChartError> {
    for k in 0..=4 {
        let v = nice * k as f64 / 4.0;
        let y = bottom - ((v / nice) * (bottom - top) as f64).round() as i32;
        area.draw(&PathElement::new(
            vec![(left, y), (right, y)],
            MUTED.mix(0.35),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            format_tick(v),
            (left - 6, y),
            small(HPos::Right),
        ))
        .map_err(err)?;
    }
    area.draw(&Text::new(
        unit.to_string(),
        (left - 48, top - 24),
        small(HPos::Left),
    ))
    .map_err(err)?;
    Ok(())
}

fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * mag)
}

fn format_tick(v: f64) -> String {
    if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_chart_has_every_label_and_value() {
        let bars = [
            Bar {
                label: "You",
                value: 180.0,
                value_text: "180 gal/day".into(),
            },
            Bar {
                label: "All neighbors",
                value: 150.0,
                value_text: "150 gal/day".into(),
            },
            Bar {
                label: "Efficient neighbors",
                value: 90.0,
                value_text: "90 gal/day".into(),
            },
        ];
        let svg = comparison_svg(&bars).unwrap();
        for text in [
            "You",
            "All neighbors",
            "Efficient neighbors",
            "180 gal/day",
            "90 gal/day",
        ] {
            assert!(svg.contains(text), "{text} missing from SVG");
        }
        assert_eq!(svg.matches("<rect").count(), 3);
    }

    #[test]
    fn history_chart_skips_missing_months() {
        let months = [
            Month {
                label: "Jan",
                this_year: Some(120.0),
                last_year: None,
            },
            Month {
                label: "Feb",
                this_year: Some(100.0),
                last_year: Some(130.0),
            },
        ];
        let svg = history_svg(&months, ("This year", "Last year"), "gal/day").unwrap();
        assert!(svg.contains("Jan") && svg.contains("Last year"));
        assert_eq!(nice_ceiling(173.0), 200.0);
        assert_eq!(nice_ceiling(0.8), 1.0);
    }
}
