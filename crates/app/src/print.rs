//! Print production: every household laid out once, in print files for the
//! mail house (`print/print-NNN.pdf`, presorted) and, from the same layout,
//! its own PDF (`reports/<account>.pdf`), plus `print-manifest.csv`.
//!
//! Each print file is *one* Typst document (a batch template) rather than
//! joined single PDFs: fonts and shared objects are written once and the tag
//! tree stays one valid structure. Each household's PDF is a slice of that
//! document's pages (see [`crate::render::Laid`]), so what is filed is
//! exactly what was mailed, barcode included (an artifact to screen readers).
//! Print files are laid out on plain threads, one file per thread at a time:
//! Typst keeps a whole document in memory until it is exported, so
//! `print.pieces_per_file` bounds memory as well as file size.
//!
//! A household whose data the template cannot lay out never takes its print
//! file down: the file is laid out again without it, and it is reported.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::model::Period;
use crate::output;
use crate::render::{Laid, Renderer, SliceInfo};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

/// One piece to produce, in presort order.
#[derive(Debug, Clone)]
pub struct Piece<'a> {
    /// Presort position, from 1; also the IMb serial's sequence.
    pub sequence: usize,
    pub account_id: &'a str,
    pub zip: &'a str,
    pub language: &'a str,
    /// The PDF identifier of the household's own file (account and period).
    pub ident: String,
}

impl<'a> Piece<'a> {
    /// The pieces of `households`, already in presort order, numbered from
    /// 1 (a mail house's sequence counts the pieces it prints), each with
    /// its own PDF's identifier.
    pub fn numbered(
        households: impl IntoIterator<Item = &'a crate::model::Household>,
        ident: impl Fn(&crate::model::Household) -> String,
    ) -> Vec<Piece<'a>> {
        households
            .into_iter()
            .enumerate()
            .map(|(k, h)| Piece {
                sequence: k + 1,
                account_id: &h.account_id,
                zip: &h.zip,
                language: h.language.code(),
                ident: ident(h),
            })
            .collect()
    }
}

/// A piece produced: its own PDF and its place in a print file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Produced {
    /// `reports/<account>.pdf`, relative to the run folder.
    pub pdf: String,
    pub pages: usize,
    pub print: PrintRow,
}

/// What the pieces are made of: the batch template that lays out many, a
/// title for each print file, and each piece's JSON data (built when its
/// file is laid out, so only the files in progress are held in memory). The
/// data must carry `title`, `lang` and `return_address` (the first line is
/// the author) for the household's own PDF.
pub struct PrintJob<'a, F> {
    pub batch_template: &'a str,
    pub title: String,
    pub author: &'a str,
    pub period: Period,
    pub data: F,
    /// `true`: pieces for the mail house (print files, barcodes,
    /// `print-manifest.csv`). `false`: households reached by e-mail or text,
    /// laid out the same way for their own PDFs only.
    pub mail: bool,
    /// The part of the period this run makes: IMb serials come from the
    /// shard's own range, so no two shards print the same one.
    pub shard: crate::shard::Shard,
}

/// Outcome of one piece: produced, or why not.
pub type Outcome = Result<Produced, PieceError>;

/// Why one piece was not made. It becomes its household's `render-failed`
/// exception, never the run's failure: a file that cannot be written is.
#[derive(Debug, thiserror::Error)]
pub enum PieceError {
    /// A chart of its data could not be drawn.
    #[error(transparent)]
    Chart(#[from] crate::render::chart::ChartError),
    /// Its data could not be made the template's JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// `[print.imb]` cannot make its barcode (a ZIP the barcode cannot carry).
    #[error("barcode: {0}")]
    Barcode(#[from] crate::imb::ImbError),
    /// The template could not lay it out, or its file could not be exported.
    #[error(transparent)]
    Template(#[from] crate::render::TemplateError),
    /// It laid out on an odd number of pages.
    #[error("{0} page(s): a piece must fill whole sheets printed on both sides")]
    OddPages(usize),
    /// Another piece of its file stopped the file's layout.
    #[error("not laid out")]
    NotLaidOut,
    /// What an interrupted run recorded in a finished file's marker, read
    /// back by the run that keeps the file.
    #[error("{0}")]
    Recorded(String),
}

/// A finished file's marker keeps each failed piece's reason as its text.
impl Serialize for PieceError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PieceError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(PieceError::Recorded)
    }
}

/// What [`produce`] made, and how many of its files an interrupted run had
/// finished and this one kept.
pub struct Production {
    pub rows: Vec<PrintRow>,
    pub kept: usize,
}

/// Produce every piece into `dir` (a run folder being written): print
/// files, single PDFs and `print-manifest.csv`. `done` is called with the
/// pieces of each print file in presort order, file after file; an error
/// from it stops the production.
pub fn produce<F, D>(
    dir: &Path,
    pieces: &[Piece<'_>],
    config: &Config,
    renderer: &Renderer,
    job: &PrintJob<'_, F>,
    mut done: D,
) -> Result<Production>
where
    F: Fn(&Piece<'_>) -> Result<serde_json::Value, PieceError> + Sync,
    D: FnMut(&[Piece<'_>], Vec<Outcome>) -> Result<()>,
{
    preflight(pieces, config, renderer, job)?;
    for sub in ["print", "reports"].map(|d| dir.join(d)) {
        std::fs::create_dir_all(&sub)
            .with_context(|| format!("cannot create {}", sub.display()))?;
    }
    let chunks: Vec<&[Piece]> = pieces.chunks(config.print.pieces_per_file).collect();
    let threads = match config.render.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .min(chunks.len().max(1));
    let next = AtomicUsize::new(0);
    let resumed = AtomicUsize::new(0);
    let resumed_ref = &resumed;
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<Vec<Outcome>>)>();
    let mut rows = Vec::with_capacity(pieces.len());
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, chunks, resumed) = (&next, &stop, &chunks, resumed_ref);
            std::thread::Builder::new()
                .stack_size(32 << 20)
                .spawn_scoped(scope, move || {
                    while !stop.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(k) else { break };
                        let outcomes = make_file(dir, k, chunk, config, renderer, job, resumed);
                        if tx.send((k, outcomes)).is_err() {
                            break;
                        }
                    }
                })?;
        }
        drop(tx);
        // Files finish out of order; hand them on in order.
        let mut pending: BTreeMap<usize, Vec<Outcome>> = BTreeMap::new();
        let mut want = 0;
        for (k, outcomes) in rx {
            // A file that could not be written stops the run: its letters
            // must not be counted as mailed, nor as a household's failure.
            let outcomes = match outcomes {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            };
            pending.insert(k, outcomes);
            while let Some(outcomes) = pending.remove(&want) {
                rows.extend(
                    outcomes
                        .iter()
                        .filter_map(|o| o.as_ref().ok())
                        .map(|p| p.print.clone()),
                );
                if let Err(e) = done(chunks[want], outcomes) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                want += 1;
            }
        }
        Ok(())
    })?;
    if job.mail {
        output::write_rows(&dir.join("print-manifest.csv"), &rows)?;
    }
    let kept = resumed.load(Ordering::Relaxed);
    tracing::debug!(
        kept,
        files = chunks.len(),
        "print files kept from an interrupted run"
    );
    Ok(Production { rows, kept })
}

/// `print-NNN` (mail) or `digital-NNN` (e-mail and text households).
fn file_stem(mail: bool, k: usize) -> String {
    format!("{}-{:03}", if mail { "print" } else { "digital" }, k + 1)
}

/// `print/<stem>.done.json`: written after file `stem` and all its
/// pieces' PDFs are on disk, holding the file's outcomes. A resumed run
/// keeps a file with a marker and lays out every other one again.
fn marker(dir: &Path, stem: &str) -> std::path::PathBuf {
    output::finished_marker(dir, stem)
}

/// The outcomes of print file `k` from an interrupted run, if it finished
/// and its files are all still there.
fn finished(dir: &Path, stem: &str, chunk: &[Piece<'_>]) -> Option<Vec<Outcome>> {
    let text = std::fs::read(marker(dir, stem)).ok()?;
    let outcomes: Vec<Outcome> = serde_json::from_slice(&text).ok()?;
    let same = outcomes.len() == chunk.len()
        && outcomes.iter().zip(chunk).all(|(o, p)| match o {
            Ok(made) => {
                made.print.account_id == p.account_id
                    && made.print.sequence == p.sequence
                    && dir.join(&made.pdf).is_file()
                    && (made.print.file.is_empty() || dir.join(&made.print.file).is_file())
            }
            Err(_) => true,
        });
    same.then_some(outcomes)
}

/// Record that print file `k` is whole: its files reach the disk first,
/// then the marker.
fn mark_finished(dir: &Path, stem: &str, outcomes: &[Outcome]) -> Result<()> {
    let json = serde_json::to_vec(outcomes)?;
    output::sync_filesystem(dir).with_context(|| format!("cannot sync {}", dir.display()))?;
    let path = marker(dir, stem);
    output::write_durable(&path, &json).with_context(|| format!("cannot write {}", path.display()))
}

/// Pieces that must all fail alone before production stops as a template error.
const PREFLIGHT: usize = 3;

/// Before any file is written: the batch template must lay out at least one
/// of the first pieces, each alone, or production stops with the template's
/// file and line. Without this a broken `batch.typ` would fail every piece
/// one by one and turn the whole run into exceptions.
fn preflight<F>(
    pieces: &[Piece<'_>],
    config: &Config,
    renderer: &Renderer,
    job: &PrintJob<'_, F>,
) -> Result<()>
where
    F: Fn(&Piece<'_>) -> Result<serde_json::Value, PieceError>,
{
    let mut last = None;
    let mut tried = 0;
    for piece in pieces {
        // A household whose data cannot be built says nothing about the template.
        let Ok((data, _)) = data_with_barcode(piece, config, job) else {
            continue;
        };
        let result = renderer.layout_batch(job.batch_template, &job.title, job.author, &[data]);
        Renderer::evict_cache();
        match result {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tried += 1;
        if tried == PREFLIGHT {
            break;
        }
    }
    match last {
        Some(e) => anyhow::bail!(
            "the print template {} failed for the first {tried} piece(s); nothing was printed:\n{e}",
            job.batch_template.trim_start_matches('/')
        ),
        None => Ok(()),
    }
}

/// Print file `k`: kept as an interrupted run left it when its marker says
/// it is whole, else laid out, exported and marked.
fn make_file<F>(
    dir: &Path,
    k: usize,
    chunk: &[Piece<'_>],
    config: &Config,
    renderer: &Renderer,
    job: &PrintJob<'_, F>,
    resumed: &AtomicUsize,
) -> Result<Vec<Outcome>>
where
    F: Fn(&Piece<'_>) -> Result<serde_json::Value, PieceError>,
{
    let stem = file_stem(job.mail, k);
    if let Some(kept) = finished(dir, &stem, chunk) {
        resumed.fetch_add(1, Ordering::Relaxed);
        return Ok(kept);
    }
    let made = print_file(dir, k, chunk, config, renderer, job)?;
    // Recorded last: a file with a marker is whole.
    mark_finished(dir, &stem, &made)?;
    crate::drill::reach(crate::drill::Step::Marked);
    Ok(made)
}

/// Lay out print file `k`, export it and its pieces' own PDFs. A piece the
/// template cannot lay out, or that does not fill whole sheets, is left out
/// of the file (its outcome says why); a file or PDF that cannot be written
/// is an error for the whole run, naming its path.
fn print_file<F>(
    dir: &Path,
    k: usize,
    chunk: &[Piece<'_>],
    config: &Config,
    renderer: &Renderer,
    job: &PrintJob<'_, F>,
) -> Result<Vec<Outcome>>
where
    F: Fn(&Piece<'_>) -> Result<serde_json::Value, PieceError>,
{
    // E-mail and text households get their own PDFs; no print file.
    let file = if job.mail {
        format!("print/{}.pdf", file_stem(true, k))
    } else {
        String::new()
    };
    let started = std::time::Instant::now();
    let mut outcomes: Vec<Option<Outcome>> = chunk.iter().map(|_| None).collect();
    let mut good: Vec<Good> = Vec::new();
    for (i, piece) in chunk.iter().enumerate() {
        match data_with_barcode(piece, config, job) {
            Ok((data, barcode)) => good.push((i, data, barcode)),
            Err(e) => outcomes[i] = Some(Err(e)),
        }
    }
    let title = format!("{}, print file {}", job.title, k + 1);
    let built = started.elapsed();
    let layout = |good: &[Good]| {
        let reports: Vec<serde_json::Value> = good.iter().map(|g| g.1.clone()).collect();
        renderer.layout_batch(job.batch_template, &title, job.author, &reports)
    };
    // The file laid out again with the pieces left in `good`; if that fails
    // too, every one of them gets the error.
    let relayout = |good: &mut Vec<Good>, outcomes: &mut Vec<Option<Outcome>>| {
        if good.is_empty() {
            return None;
        }
        match layout(good) {
            Ok(laid) => Some(laid),
            Err(e) => {
                for (i, ..) in good.iter() {
                    outcomes[*i] = Some(Err(e.clone().into()));
                }
                good.clear();
                None
            }
        }
    };
    let mut laid = match layout(&good) {
        Ok(laid) => Some(laid),
        Err(_) => {
            // Find the households the template cannot lay out, alone, and
            // lay the file out again without them.
            good.retain(|(i, data, _)| {
                match renderer.layout_batch(
                    job.batch_template,
                    &title,
                    job.author,
                    std::slice::from_ref(data),
                ) {
                    Ok(_) => true,
                    Err(e) => {
                        outcomes[*i] = Some(Err(e.into()));
                        false
                    }
                }
            });
            relayout(&mut good, &mut outcomes)
        }
    };
    // A piece must fill whole sheets printed on both sides; one that does
    // not is left out before anything is written, so the print file holds
    // exactly the pieces that are mailed.
    if let Some(l) = &laid
        && l.pieces.iter().any(|pages| pages.len() % 2 != 0)
    {
        good = whole_sheets(good, l, &mut outcomes);
        laid = relayout(&mut good, &mut outcomes);
    }
    let laid_out = started.elapsed();
    if let Some(laid) = laid {
        let exported = export(dir, &file, &laid, &good, chunk, renderer, job)?;
        log_file(&file, good.len(), [built, laid_out, started.elapsed()]);
        for ((i, ..), outcome) in good.iter().zip(exported) {
            outcomes[*i] = Some(outcome);
        }
    }
    Renderer::evict_cache();
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Err(PieceError::NotLaidOut)))
        .collect())
}

/// A print file's times (`NEIGHBORLY_LOG=neighborly=debug`): its data built,
/// laid out and exported, each as time since the file was begun.
fn log_file(file: &str, pieces: usize, [built, laid_out, exported]: [std::time::Duration; 3]) {
    tracing::debug!(
        file,
        pieces,
        data_ms = built.as_millis() as u64,
        layout_ms = (laid_out - built).as_millis() as u64,
        export_ms = (exported - laid_out).as_millis() as u64,
        "print file laid out"
    );
}

/// A piece laid out: its place in the file's chunk, its data (barcode
/// included), and its barcode's serial and bars.
type Good = (usize, serde_json::Value, (String, String));

/// The pieces that fill whole sheets; the others get their outcome.
fn whole_sheets(good: Vec<Good>, laid: &Laid, outcomes: &mut [Option<Outcome>]) -> Vec<Good> {
    let mut kept = Vec::with_capacity(good.len());
    for (g, pages) in good.into_iter().zip(&laid.pieces) {
        if pages.len() % 2 != 0 {
            outcomes[g.0] = Some(Err(PieceError::OddPages(pages.len())));
        } else {
            kept.push(g);
        }
    }
    kept
}

/// The piece's data with its barcode (`imb`) when `[print.imb]` is set, and
/// the barcode's serial and bars for the manifest.
fn data_with_barcode<F>(
    piece: &Piece<'_>,
    config: &Config,
    job: &PrintJob<'_, F>,
) -> Result<(serde_json::Value, (String, String)), PieceError>
where
    F: Fn(&Piece<'_>) -> Result<serde_json::Value, PieceError>,
{
    let mut data = (job.data)(piece)?;
    let barcode = config
        .print
        .imb
        .as_ref()
        .filter(|_| job.mail)
        .map(|imb| imb.for_piece(job.period, job.shard, piece.sequence, piece.zip))
        .transpose()?;
    data["imb"] = barcode
        .as_ref()
        .map_or(serde_json::Value::Null, |(_, bars)| bars.clone().into());
    Ok((data, barcode.unwrap_or_default()))
}

fn export<F>(
    dir: &Path,
    file: &str,
    laid: &Laid,
    good: &[Good],
    chunk: &[Piece<'_>],
    renderer: &Renderer,
    job: &PrintJob<'_, F>,
) -> Result<Vec<Outcome>> {
    let started = std::time::Instant::now();
    if job.mail {
        let path = dir.join(file);
        match renderer.export(&laid.document, &format!("{}/{file}", job.period)) {
            Ok(pdf) => output::write_atomic(&path, &pdf)
                .with_context(|| format!("cannot write {}", path.display()))?,
            // Nothing was written: the file's households are exceptions.
            Err(e) => return Ok(good.iter().map(|_| Err(e.clone().into())).collect()),
        }
    }
    let whole_ms = started.elapsed().as_millis() as u64;
    let outcomes = good
        .iter()
        .zip(&laid.pieces)
        .map(|((i, data, (imb_serial, imb)), pages)| -> Result<Outcome> {
            let piece = &chunk[*i];
            let text = |key: &str| data[key].as_str().unwrap_or_default();
            let info = SliceInfo {
                title: text("title"),
                author: data["return_address"][0].as_str().unwrap_or(job.author),
                lang: text("lang"),
            };
            // The piece is already in the print file: a single PDF that
            // cannot be made or written stops the run rather than leave a
            // mailed letter unfiled.
            let name = format!("reports/{}", output::pdf_name(piece.account_id));
            let path = dir.join(&name);
            let pdf = renderer
                .export_slice(laid, pages.clone(), &info, &piece.ident)
                .with_context(|| format!("cannot export {}", path.display()))?;
            output::write_atomic(&path, &pdf)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(Ok(Produced {
                pdf: name,
                pages: pages.len(),
                print: PrintRow {
                    sequence: piece.sequence,
                    account_id: piece.account_id.to_string(),
                    file: file.to_string(),
                    first_page: pages.start + 1,
                    page_count: pages.len(),
                    zip: piece.zip.to_string(),
                    language: piece.language.to_string(),
                    imb_serial: imb_serial.clone(),
                    imb: imb.clone(),
                },
            }))
        })
        .collect::<Result<Vec<Outcome>>>()?;
    tracing::debug!(
        file,
        whole_ms,
        slices_ms = started.elapsed().as_millis() as u64 - whole_ms,
        "print file exported"
    );
    Ok(outcomes)
}
