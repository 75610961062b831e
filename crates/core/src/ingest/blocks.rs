//! Reading a CSV file in blocks cut at record boundaries, so each block can
//! be parsed in pieces on all cores while memory stays bounded.
//!
//! A newline ends a record unless it is inside quotes; RFC 4180 quotes pair
//! up (an escaped quote is two), so counting them from the start of a block,
//! which always begins at a record boundary, tells which newlines are
//! boundaries. Line numbers are counted too, so every row keeps its
//! `file:line`.

use std::io::{BufRead, Read};

use anyhow::{Context, Result};

/// Bytes read at a time.
pub const BLOCK: usize = 8 << 20;

/// Whole records, and the file line of the first.
pub struct Piece<'a> {
    pub bytes: &'a [u8],
    pub first_line: u64,
}

/// The header row (line 1).
pub fn read_header(
    input: &mut impl BufRead,
    file: &str,
    delimiter: u8,
) -> Result<csv::StringRecord> {
    let mut header = Vec::new();
    input
        .read_until(b'\n', &mut header)
        .with_context(|| format!("cannot read {file}"))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(header.as_slice())
        .headers()
        .with_context(|| format!("{file}: cannot read header row"))?
        .clone())
}

/// Read the rest of `input` block by block and hand each block's pieces
/// (about `pieces` of them) to `each`, in file order.
pub fn for_each_block(
    input: &mut impl BufRead,
    file: &str,
    block_size: usize,
    pieces: usize,
    mut each: impl FnMut(&[Piece<'_>]) -> Result<()>,
) -> Result<()> {
    let mut block: Vec<u8> = Vec::with_capacity(block_size + (1 << 16));
    let mut next_line: u64 = 2;
    loop {
        let eof = fill(input, &mut block, block_size, file)?;
        let cut = Cut::of(&block, next_line, pieces, eof);
        next_line = cut.next_line;
        each(&cut.parts)?;
        let end = cut.end;
        block.drain(..end);
        if eof {
            return Ok(());
        }
    }
}

/// Read the rest of `input` block by block, parse each block's pieces
/// (about `pieces` of them) on all cores with `parse`, and hand each
/// block's results to `add`, in file order.
///
/// Reading the next block and adding the last one's results run on this
/// thread while the pool parses this one: one after the other, they left a
/// core idle for a third of a million households' reading. `add` runs on
/// the calling thread, so what it keeps is allocated there, as the rest of
/// the plan's data is (added on the pool's threads, a million households'
/// reads took 400 MB more).
pub fn parse_blocks<R: Send>(
    input: &mut impl BufRead,
    file: &str,
    block_size: usize,
    pieces: usize,
    parse: impl Fn(&Piece<'_>) -> R + Sync,
    mut add: impl FnMut(Vec<R>) -> Result<()>,
) -> Result<()> {
    use rayon::prelude::*;
    let mut block: Vec<u8> = Vec::with_capacity(block_size + (1 << 16));
    let mut spare: Vec<u8> = Vec::with_capacity(block_size + (1 << 16));
    let mut eof = fill(input, &mut block, block_size, file)?;
    let mut next_line: u64 = 2;
    let mut parsed: Option<Vec<R>> = None;
    loop {
        let cut = Cut::of(&block, next_line, pieces, eof);
        spare.clear();
        spare.extend_from_slice(&block[cut.end..]);
        let (results, read) = std::thread::scope(|s| {
            let parsing = s.spawn(|| cut.parts.par_iter().map(&parse).collect::<Vec<R>>());
            let read = (|| -> Result<bool> {
                if let Some(last) = parsed.take() {
                    add(last)?;
                }
                if eof {
                    return Ok(true);
                }
                fill(input, &mut spare, block_size, file)
            })();
            let results = parsing
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (results, read)
        });
        let next_eof = read?;
        parsed = Some(results);
        next_line = cut.next_line;
        if eof {
            break;
        }
        std::mem::swap(&mut block, &mut spare);
        eof = next_eof;
    }
    match parsed {
        Some(last) => add(last),
        None => Ok(()),
    }
}

/// Read into `block` until it holds `block_size` bytes and one more (or
/// the file ends); true at the end of the file.
fn fill(
    input: &mut impl BufRead,
    block: &mut Vec<u8>,
    block_size: usize,
    file: &str,
) -> Result<bool> {
    let want = (block_size - block.len().min(block_size)) as u64 + 1;
    let got = input
        .take(want)
        .read_to_end(block)
        .with_context(|| format!("cannot read {file}"))?;
    Ok((got as u64) < want)
}

/// A block cut into pieces of whole records.
struct Cut<'a> {
    parts: Vec<Piece<'a>>,
    /// Where the last whole record ends (the whole block at the end of
    /// the file): the rest starts the next block.
    end: usize,
    /// The file line the next block starts on.
    next_line: u64,
}

impl<'a> Cut<'a> {
    /// Cut `block`, which starts at file line `line`, into about `pieces`
    /// pieces at record boundaries.
    fn of(block: &'a [u8], mut line: u64, pieces: usize, eof: bool) -> Cut<'a> {
        let target = block.len().div_ceil(pieces.max(1)).max(1);
        let mut parts: Vec<Piece> = Vec::with_capacity(pieces + 1);
        let (mut start, mut start_line) = (0usize, line);
        let (mut last_cut, mut last_cut_line) = (0usize, line);
        let mut quoted = false;
        // Only quotes and newlines matter: memchr finds them many bytes at
        // a time, where a loop over every byte was most of a read's time.
        for k in memchr::memchr2_iter(b'"', b'\n', block) {
            if block[k] == b'"' {
                quoted = !quoted;
                continue;
            }
            line += 1;
            if quoted {
                continue;
            }
            (last_cut, last_cut_line) = (k + 1, line);
            if k + 1 - start >= target {
                parts.push(Piece {
                    bytes: &block[start..k + 1],
                    first_line: start_line,
                });
                (start, start_line) = (k + 1, line);
            }
        }
        let end = if eof { block.len() } else { last_cut };
        if end > start {
            parts.push(Piece {
                bytes: &block[start..end],
                first_line: start_line,
            });
        }
        Cut {
            parts,
            end,
            next_line: if eof { line } else { last_cut_line },
        }
    }
}

/// Each record of a piece, with its file line and, when it cannot be used,
/// why: a CSV error, or a field count other than the header's (checked here
/// rather than by the reader, so one bad row cannot spoil the rows after it).
pub fn for_each_row(
    piece: &Piece<'_>,
    fields: usize,
    delimiter: u8,
    mut row: impl FnMut(u64, &csv::StringRecord, Option<String>),
) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(piece.bytes);
    let mut record = csv::StringRecord::new();
    // Lines are counted here, not taken from the reader: with CRLF line
    // endings its count and its record offsets trail by one line (the `\r`
    // ends a record, the `\n` is taken as the start of the next).
    let (mut seen, mut line) = (0usize, piece.first_line);
    loop {
        let result = reader.read_record(&mut record);
        let at = match &result {
            Ok(_) => record.position().map(|p| p.byte()),
            Err(e) => e.position().map(|p| p.byte()),
        };
        let mut at = (at.unwrap_or(0) as usize).clamp(seen, piece.bytes.len());
        while matches!(piece.bytes.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        // A record is a few dozen bytes: a plain count, which the compiler
        // vectorizes, costs less than setting up memchr's for each.
        line += piece.bytes[seen..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        seen = at;
        let problem = match result {
            Ok(false) => return,
            Ok(true) if record.len() != fields => Some(format!(
                "found record with {} fields, but the header has {fields}",
                record.len()
            )),
            Ok(true) => None,
            Err(e) => Some(e.to_string()),
        };
        row(line, &record, problem);
    }
}
