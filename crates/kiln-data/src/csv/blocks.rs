//! Block-parallel CSV parsing: input is cut into blocks of whole records, each block is parsed
//! into typed column pieces on a worker thread, and the pieces are appended in file order.

use std::io::Read;
use std::ops::Range;

use csv_core::{ReadRecordResult, ReaderBuilder};
use memchr::{memchr, memchr_iter, memchr2_iter, memrchr};

use crate::column_type::ColumnType;
use crate::csv::parse::{Builder, PushError};
use crate::error::{DataError, Result, excerpt};

/// Target size of one block.
pub(crate) const BLOCK_BYTES: usize = 4 << 20;

/// A run of whole records.
pub(crate) struct Block {
    pub(crate) bytes: Vec<u8>,
    /// Physical line (1-based) where the first record starts. The reader does not count lines
    /// (that would serialize work): it sets 1, and whoever knows the line of the block's start
    /// sets it, or shifts the lines in errors afterwards.
    pub(crate) first_line: u64,
    /// Whether the block contains a quote character (needs the full CSV state machine).
    quoted: bool,
}

impl Block {
    /// The number of line feeds in the block.
    pub(crate) fn newlines(&self) -> u64 {
        memchr_iter(b'\n', &self.bytes).count() as u64
    }

    /// The part of this block after its first record (and where it starts).
    pub(crate) fn split_first_record(mut self) -> (Self, Self) {
        let end = first_record_end(&self.bytes).unwrap_or(self.bytes.len());
        let rest = self.bytes.split_off(end);
        let lines = memchr_iter(b'\n', &self.bytes).count() as u64;
        let rest = Self {
            quoted: memchr(b'"', &rest).is_some(),
            bytes: rest,
            first_line: self.first_line + lines,
        };
        self.quoted = memchr(b'"', &self.bytes).is_some();
        (self, rest)
    }
}

/// Cuts a byte stream into blocks that end on record boundaries (quote-aware).
pub(crate) struct BlockReader<'a> {
    input: Box<dyn Read + Send + 'a>,
    file: String,
    carry: Vec<u8>,
    eof: bool,
}

impl<'a> BlockReader<'a> {
    pub(crate) fn new(file: &str, input: Box<dyn Read + Send + 'a>) -> Self {
        Self {
            input,
            file: file.to_owned(),
            carry: Vec::new(),
            eof: false,
        }
    }

    /// The next block of about `target` bytes (its `first_line` is 1; see [`Block`]) (more if one record is longer), or `None`.
    pub(crate) fn next_block(&mut self, target: usize) -> Result<Option<Block>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut want = target;
        loop {
            if buf.len() < want && !self.eof {
                // `take` + `read_to_end` fills the spare capacity without zeroing it first.
                let missing = (want - buf.len()) as u64;
                buf.reserve(want - buf.len());
                let n = (&mut self.input)
                    .take(missing)
                    .read_to_end(&mut buf)
                    .map_err(|e| DataError::Io {
                        path: self.file.clone().into(),
                        source: e,
                    })?;
                self.eof = (n as u64) < missing;
            }
            if buf.is_empty() {
                return Ok(None);
            }
            let quoted = memchr(b'"', &buf).is_some();
            let end = if self.eof {
                Some(buf.len())
            } else if quoted {
                last_record_end(&buf)
            } else {
                memrchr(b'\n', &buf).map(|i| i + 1)
            };
            if let Some(end) = end {
                self.carry = buf[end..].to_vec();
                buf.truncate(end);
                return Ok(Some(Block {
                    quoted: quoted && memchr(b'"', &buf).is_some(),
                    bytes: buf,
                    first_line: 1,
                }));
            }
            // One record is longer than the block: read more.
            want = buf.len() * 2;
        }
    }
}

/// End (exclusive) of the last record terminated outside quotes.
fn last_record_end(buf: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    let mut end = None;
    for i in memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            end = Some(i + 1);
        }
    }
    end
}

/// End (exclusive) of the first record terminated outside quotes.
fn first_record_end(buf: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    for i in memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            return Some(i + 1);
        }
    }
    None
}

/// Calls `f(line, bytes, fields)` for every record of a block; `fields` index into `bytes`.
/// Blank lines are skipped. Quoted blocks go through `csv-core`; others are split directly.
pub(crate) fn for_each_record<E>(
    block: &Block,
    delimiter: u8,
    mut f: impl FnMut(u64, &[u8], &[Range<usize>]) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut fields: Vec<Range<usize>> = Vec::with_capacity(64);
    if !block.quoted {
        let bytes = &block.bytes[..];
        let mut start = 0;
        let ends = memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
        for (line, end) in (block.first_line..).zip(ends) {
            if start > bytes.len() {
                break;
            }
            let mut record = &bytes[start..end];
            if let [rest @ .., b'\r'] = record {
                record = rest;
            }
            if !record.is_empty() {
                fields.clear();
                let mut field_start = 0;
                for i in memchr_iter(delimiter, record) {
                    fields.push(field_start..i);
                    field_start = i + 1;
                }
                fields.push(field_start..record.len());
                f(line, record, &fields)?;
            }
            start = end + 1;
        }
        return Ok(());
    }
    let mut reader = ReaderBuilder::new().delimiter(delimiter).build();
    reader.set_line(block.first_line);
    let mut input = &block.bytes[..];
    let mut out = vec![0u8; 4096];
    let mut ends = vec![0usize; 64];
    let (mut nout, mut nend) = (0, 0);
    let mut line = block.first_line;
    loop {
        let (result, read, wrote, ended) =
            reader.read_record(input, &mut out[nout..], &mut ends[nend..]);
        input = &input[read..];
        // csv-core reports field ends relative to the record's start, across calls.
        nout += wrote;
        nend += ended;
        match result {
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            ReadRecordResult::Record => {
                fields.clear();
                let mut start = 0;
                for &end in &ends[..nend] {
                    fields.push(start..end);
                    start = end;
                }
                f(line, &out[..nout], &fields)?;
                line = reader.line();
                nout = 0;
                nend = 0;
            }
            ReadRecordResult::End => return Ok(()),
        }
    }
}

/// How a block failed to parse.
pub(crate) enum BlockFailure {
    /// Bad data: a ragged row or invalid UTF-8.
    Data(DataError),
    /// A value does not fit its column's current type.
    Mismatch {
        column: usize,
        line: u64,
        text: Vec<u8>,
    },
}

/// What a worker needs to parse a block.
pub(crate) struct BlockSpec<'a> {
    pub(crate) file: &'a str,
    pub(crate) names: &'a [String],
    pub(crate) types: &'a [ColumnType],
    pub(crate) missing: &'a [Vec<u8>],
    pub(crate) delimiter: u8,
    /// Whether no missing token looks like a plain number, so numbers may skip the check.
    pub(crate) fast_numbers: bool,
}

impl BlockSpec<'_> {
    /// Whether numbers can be parsed without checking the missing tokens first.
    pub(crate) fn fast_numbers(missing: &[Vec<u8>]) -> bool {
        !missing
            .iter()
            .any(|m| crate::csv::parse::parse_f64_prefix(m).is_some_and(|(_, k)| k == m.len()))
    }
}

/// Parses one block into one builder per column.
/// `newlines` is [`Block::newlines`], counted once by the caller.
pub(crate) fn parse_block(
    spec: &BlockSpec<'_>,
    block: &Block,
    newlines: u64,
) -> std::result::Result<Vec<Builder>, BlockFailure> {
    // Records never outnumber lines, so this sizes the columns without regrowth.
    let capacity = newlines as usize + 1;
    let mut columns: Vec<Builder> = spec
        .types
        .iter()
        .map(|&t| Builder::new(t, capacity))
        .collect();
    if block.quoted {
        for_each_record(block, spec.delimiter, |line, bytes, fields| {
            push_record(spec, &mut columns, line, bytes, fields)
        })?;
    } else {
        parse_unquoted(spec, block, &mut columns)?;
    }
    Ok(columns)
}

/// The fast path for blocks without quotes: one scan per record that finds field ends while
/// parsing numbers.
fn parse_unquoted(
    spec: &BlockSpec<'_>,
    block: &Block,
    columns: &mut [Builder],
) -> std::result::Result<(), BlockFailure> {
    let bytes = &block.bytes[..];
    let width = columns.len();
    let mut line = block.first_line;
    let mut pos = 0;
    while pos < bytes.len() {
        let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let mut record = &bytes[pos..end];
        if let [rest @ .., b'\r'] = record {
            record = rest;
        }
        if !record.is_empty() {
            let mut start = 0;
            let mut column = 0;
            loop {
                if column == width {
                    return Err(ragged(spec, line, width, record));
                }
                let rest = &record[start..];
                let len = columns[column]
                    .push_field(rest, spec.delimiter, spec.missing, spec.fast_numbers)
                    .map_err(|e| match e {
                        PushError::Mismatch => {
                            let len = memchr(spec.delimiter, rest).unwrap_or(rest.len());
                            BlockFailure::Mismatch {
                                column,
                                line,
                                text: rest[..len].to_vec(),
                            }
                        }
                        PushError::Utf8(e) => BlockFailure::Data(DataError::InvalidUtf8 {
                            file: spec.file.into(),
                            line,
                            column: spec.names[column].clone(),
                            detail: e.to_string(),
                        }),
                    })?;
                start += len;
                column += 1;
                if start >= record.len() {
                    break;
                }
                start += 1; // the delimiter
                if start == record.len() {
                    // A trailing delimiter: one more, empty field.
                    if column == width {
                        return Err(ragged(spec, line, width, record));
                    }
                    columns[column]
                        .push_field(b"", spec.delimiter, spec.missing, false)
                        .map_err(|_| BlockFailure::Mismatch {
                            column,
                            line,
                            text: Vec::new(),
                        })?;
                    column += 1;
                    break;
                }
            }
            if column != width {
                return Err(ragged(spec, line, width, record));
            }
        }
        line += 1;
        pos = end + 1;
    }
    Ok(())
}

fn ragged(spec: &BlockSpec<'_>, line: u64, expected: usize, record: &[u8]) -> BlockFailure {
    BlockFailure::Data(DataError::RaggedRow {
        file: spec.file.into(),
        line,
        expected,
        found: memchr_iter(spec.delimiter, record).count() + 1,
    })
}

/// Appends one record's values to the column builders.
pub(crate) fn push_record(
    spec: &BlockSpec<'_>,
    columns: &mut [Builder],
    line: u64,
    bytes: &[u8],
    fields: &[Range<usize>],
) -> std::result::Result<(), BlockFailure> {
    if fields.len() != columns.len() {
        return Err(BlockFailure::Data(DataError::RaggedRow {
            file: spec.file.into(),
            line,
            expected: columns.len(),
            found: fields.len(),
        }));
    }
    for (i, (range, column)) in fields.iter().zip(columns.iter_mut()).enumerate() {
        let raw = &bytes[range.clone()];
        if spec.missing.iter().any(|m| m.as_slice() == raw) {
            column.push_missing();
            continue;
        }
        match column.push(raw) {
            Ok(()) => {}
            Err(PushError::Mismatch) => {
                return Err(BlockFailure::Mismatch {
                    column: i,
                    line,
                    text: raw.to_vec(),
                });
            }
            Err(PushError::Utf8(e)) => {
                return Err(BlockFailure::Data(DataError::InvalidUtf8 {
                    file: spec.file.into(),
                    line,
                    column: spec.names[i].clone(),
                    detail: e.to_string(),
                }));
            }
        }
    }
    Ok(())
}

impl BlockFailure {
    /// The same failure with its line moved down by `by` lines.
    pub(crate) fn shifted(self, by: u64) -> Self {
        match self {
            Self::Mismatch { column, line, text } => Self::Mismatch {
                column,
                line: line + by,
                text,
            },
            Self::Data(DataError::RaggedRow {
                file,
                line,
                expected,
                found,
            }) => Self::Data(DataError::RaggedRow {
                file,
                line: line + by,
                expected,
                found,
            }),
            Self::Data(DataError::InvalidUtf8 {
                file,
                line,
                column,
                detail,
            }) => Self::Data(DataError::InvalidUtf8 {
                file,
                line: line + by,
                column,
                detail,
            }),
            other => other,
        }
    }
}

/// The error for a value that does not parse under a declared type.
pub(crate) fn parse_error(
    spec: &BlockSpec<'_>,
    column: usize,
    line: u64,
    text: &[u8],
) -> DataError {
    DataError::Parse {
        file: spec.file.into(),
        line,
        column: spec.names[column].clone(),
        text: excerpt(&String::from_utf8_lossy(text)),
        expected: spec.types[column],
    }
}
