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
        let before = block.len();
        input
            .take((block_size - before.min(block_size)) as u64 + 1)
            .read_to_end(&mut block)
            .with_context(|| format!("cannot read {file}"))?;
        let eof = block.len() == before;
        let target = block.len().div_ceil(pieces.max(1)).max(1);
        let mut line = next_line;
        let mut parts: Vec<Piece> = Vec::with_capacity(pieces + 1);
        let (mut start, mut start_line) = (0usize, line);
        let (mut last_cut, mut last_cut_line) = (0usize, line);
        let mut quoted = false;
        // Only quotes and newlines matter: memchr finds them many bytes at
        // a time, where a loop over every byte was most of a read's time.
        for k in memchr::memchr2_iter(b'"', b'\n', &block) {
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
        let line = if eof { line } else { last_cut_line };
        next_line = line;
        each(&parts)?;
        block.drain(..end);
        if eof {
            return Ok(());
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
        line += memchr::memchr_iter(b'\n', &piece.bytes[seen..at]).count() as u64;
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
