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
use crate::model::Period;
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

/// One piece of a print file: where it goes and what it looks like.
#[derive(Debug, Clone)]
pub struct Piece<'a> {
    pub sequence: usize,
    pub account_id: &'a str,
    pub zip: &'a str,
    pub language: &'a str,
    pub pages: usize,
}

/// What the print files are made of: the batch template that lays out many
/// pieces, a title for each file, and each piece's JSON data (built when its
/// file is laid out, so only one file's data is held at a time).
pub struct PrintJob<'a, F> {
    pub batch_template: &'a str,
    pub title: String,
    pub author: &'a str,
    pub period: Period,
    pub data: F,
}

/// Write `print/print-NNN.pdf` and `print-manifest.csv` for the monthly
/// reports of the rendered rows (already in presort order).
pub fn write(
    dir: &Path,
    plan: &Plan,
    rows: &[ManifestRow],
    config: &Config,
    wording: &Wording,
    renderer: &Renderer,
) -> Result<Vec<PrintRow>> {
    let letters = plan.letters_by_account();
    let pieces: Vec<Piece> = rows
        .iter()
        .map(|r| Piece {
            sequence: r.sequence,
            account_id: &r.account_id,
            zip: &r.zip,
            language: &r.language,
            pages: r.pages,
        })
        .collect();
    let job = PrintJob {
        batch_template: crate::render::BATCH_PATH,
        title: format!("{} reports {}", config.utility.name, plan.period),
        author: &config.utility.name,
        period: plan.period,
        data: |piece: &Piece| -> Result<serde_json::Value> {
            let letter = letters[piece.account_id];
            let data =
                report::build(&plan.input(letter), config, wording).map_err(anyhow::Error::msg)?;
            Ok(serde_json::to_value(data)?)
        },
    };
    write_pieces(dir, &pieces, config, renderer, job)
}

/// Write print files of `pieces` (in presort order, each an even number of
/// pages) and `print-manifest.csv`; each piece's data gets its barcode
/// (`imb`) when `[print.imb]` is set.
pub fn write_pieces<F>(
    dir: &Path,
    pieces: &[Piece],
    config: &Config,
    renderer: &Renderer,
    job: PrintJob<'_, F>,
) -> Result<Vec<PrintRow>>
where
    F: Fn(&Piece) -> Result<serde_json::Value>,
{
    std::fs::create_dir_all(dir.join("print"))?;
    let mut out = Vec::with_capacity(pieces.len());
    for (n, chunk) in pieces.chunks(config.print.pieces_per_file).enumerate() {
        let file = format!("print/print-{:03}.pdf", n + 1);
        let mut reports = Vec::with_capacity(chunk.len());
        let mut barcodes = Vec::with_capacity(chunk.len());
        for piece in chunk {
            let mut data = (job.data)(piece)?;
            let barcode = config
                .print
                .imb
                .as_ref()
                .map(|imb| imb::for_piece(imb, job.period, piece.sequence, piece.zip))
                .transpose()
                .with_context(|| format!("account {}", piece.account_id))?;
            data["imb"] = barcode
                .as_ref()
                .map_or(serde_json::Value::Null, |(_, bars)| bars.clone().into());
            barcodes.push(barcode.unwrap_or_default());
            reports.push(data);
        }
        let title = format!("{}, print file {}", job.title, n + 1);
        let rendered = renderer
            .render_batch_template(
                job.batch_template,
                &title,
                job.author,
                &reports,
                &format!("{}/{file}", job.period),
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
        for (piece, (imb_serial, imb)) in chunk.iter().zip(barcodes) {
            out.push(PrintRow {
                sequence: piece.sequence,
                account_id: piece.account_id.to_string(),
                file: file.clone(),
                first_page: page,
                page_count: piece.pages,
                zip: piece.zip.to_string(),
                language: piece.language.to_string(),
                imb_serial,
                imb,
            });
            page += piece.pages;
        }
    }
    let mut w = csv::Writer::from_path(dir.join("print-manifest.csv"))?;
    for r in &out {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(out)
}
