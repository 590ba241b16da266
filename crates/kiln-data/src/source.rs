//! Where bytes come from: plain or gzip files, told apart by their first bytes (CSV and IDX
//! readers share this).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{DataError, Result};

/// Opens a file, transparently decompressing gzip.
pub(crate) fn open_file(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(decode(BufReader::with_capacity(1 << 16, file)))
}

/// Wraps a reader in a gzip decoder when it starts with the gzip magic bytes.
pub(crate) fn decode<'a, R: BufRead + Send + 'a>(mut reader: R) -> Box<dyn Read + Send + 'a> {
    let is_gzip = matches!(reader.fill_buf(), Ok(head) if head.starts_with(&[0x1f, 0x8b]));
    if is_gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}
