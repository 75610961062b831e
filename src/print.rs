//! Print files for the mail house: merged PDFs in presort order plus
//! `print-manifest.csv`.
//!
//! Each print file is laid out as *one* Typst document (`batch.typ`) rather
//! than by joining the per-household PDFs: fonts and shared objects are
//! written once, tagging stays one valid structure tree, and it measured
//! faster (see README). Files hold at most `print.pieces_per_file` pieces,
//! which also bounds memory: Typst keeps a whole document until export.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::config::Config;
use crate::imb;
use crate::output::ManifestRow;
use crate::pipeline::Plan;
use crate::render::Renderer;
use crate::report;
use crate::wording::Wording;

#[derive(Debug, Serialize)]
pub struct PrintRow {
    pub sequence: usize,
    pub account_id: String,
    pub file: String,
    pub first_page: usize,
    pub page_count: usize,
    pub zip: String,
    pub language: String,
    /// Intelligent Mail barcode serial number and bars; empty without `[print.imb]`.
    pub imb_serial: String,
    pub imb: String,
}

/// Write `print/print-NNN.pdf` and `print-manifest.csv` for the rendered rows
/// (already in presort order). Every piece must be exactly one sheet.
pub fn write(
    dir: &Path,
    plan: &Plan,
    rows: &[ManifestRow],
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
) -> Result<Vec<PrintRow>> {
    std::fs::create_dir_all(dir.join("print"))?;
    let letters = plan.letters_by_account();
    let mut out = Vec::with_capacity(rows.len());
    for (n, chunk) in rows.chunks(config.print.pieces_per_file).enumerate() {
        let file = format!("print/print-{:03}.pdf", n + 1);
        let mut reports = Vec::with_capacity(chunk.len());
        let mut barcodes = Vec::with_capacity(chunk.len());
        for row in chunk {
            let letter = letters[row.account_id.as_str()];
            let mut data =
                report::build(&plan.input(letter), config, wording).map_err(anyhow::Error::msg)?;
            let barcode = config
                .print
                .imb
                .as_ref()
                .map(|imb| imb::for_piece(imb, plan.period, row.sequence, &row.zip))
                .transpose()
                .with_context(|| format!("account {}", row.account_id))?;
            data.imb = barcode.as_ref().map(|(_, bars)| bars.clone());
            barcodes.push(barcode.unwrap_or_default());
            reports.push(serde_json::to_value(data)?);
        }
        let title = format!(
            "{} reports {}, print file {}",
            config.utility.name,
            plan.period,
            n + 1
        );
        let rendered = renderer
            .render_batch(
                &title,
                &config.utility.name,
                &reports,
                &format!("{}/{file}", plan.period),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Renderer::evict_cache();
        let expected: usize = chunk.iter().map(|r| r.pages).sum();
        if rendered.pages != expected {
            bail!(
                "{file} has {} pages but its pieces have {expected}: a piece overflowed its sheet",
                rendered.pages
            );
        }
        std::fs::write(dir.join(&file), &rendered.pdf)
            .with_context(|| format!("cannot write {file}"))?;
        let mut page = 1;
        for (row, (imb_serial, imb)) in chunk.iter().zip(barcodes) {
            out.push(PrintRow {
                sequence: row.sequence,
                account_id: row.account_id.clone(),
                file: file.clone(),
                first_page: page,
                page_count: row.pages,
                zip: row.zip.clone(),
                language: row.language.clone(),
                imb_serial,
                imb,
            });
            page += row.pages;
        }
    }
    let mut w = csv::Writer::from_path(dir.join("print-manifest.csv"))?;
    for r in &out {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(out)
}
