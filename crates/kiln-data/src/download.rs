//! Fetching bundled dataset files from a mirror into a cache (the `download` feature).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::checksum::{Expected, hex};
use crate::datasets::Source;
use crate::error::{DataError, Result};

/// Returns `cache/file`, downloading it first unless a verified copy is cached: from each
/// source that carries it, in order, until one gives a file with the `expected` checksum, or
/// whose decompressed bytes hash to `content` (gzip files that mirrors re-packed). A download
/// goes to a temporary file that is renamed into place only after it checks out, so a broken
/// transfer never leaves a file that looks complete. When every source fails, the error is the
/// last source's.
pub(crate) fn fetch(
    sources: &[Source],
    cache: &Path,
    file: &str,
    expected: Expected,
    content: Option<&str>,
) -> Result<PathBuf> {
    let target = cache.join(file);
    if target.is_file() {
        check(&target, &target, expected, content)?;
        return Ok(target);
    }
    let dir = target.parent().unwrap_or(cache);
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let partial = target.with_extension(format!("part{}", std::process::id()));
    let mut last = None;
    for url in sources.iter().filter_map(|s| s.url(file)) {
        let result = download_to(&url, &partial)
            .and_then(|()| check(&partial, Path::new(&url), expected, content))
            .and_then(|()| fs::rename(&partial, &target).map_err(|e| DataError::io(&target, e)));
        match result {
            Ok(()) => return Ok(target),
            Err(e) => {
                let _ = fs::remove_file(&partial);
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| DataError::DatasetNotFound {
        file: file.into(),
        searched: "no download source carries it".into(),
        hint: "Add a source with `Datasets::with_download` or `with_mirror`.".into(),
    }))
}

/// Checks `path` (reported as `name`) against the exact checksum, else the decompressed one.
fn check(path: &Path, name: &Path, expected: Expected, content: Option<&str>) -> Result<()> {
    let actual = expected.of(path)?;
    if actual == expected.digest() {
        return Ok(());
    }
    if let Some(content) = content {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut hasher = HashWriter {
            inner: io::sink(),
            hasher: Sha256::new(),
        };
        // A file that is not gzip fails here and falls through to the checksum error.
        if io::copy(
            &mut MultiGzDecoder::new(io::BufReader::new(file)),
            &mut hasher,
        )
        .is_ok()
            && hex(&hasher.hasher.finalize()) == content
        {
            return Ok(());
        }
    }
    Err(DataError::Checksum {
        path: name.into(),
        algorithm: expected.algorithm(),
        expected: expected.digest().into(),
        actual,
    })
}

/// Streams `url` into `path`, returning the SHA-256 of what was written.
fn download_to(url: &str, path: &Path) -> Result<()> {
    let mut response = ureq::get(url)
        .call()
        .map_err(|source| DataError::Download {
            url: url.into(),
            source: Box::new(source),
        })?;
    let mut out = File::create(path).map_err(|e| DataError::io(path, e))?;
    io::copy(&mut response.body_mut().as_reader(), &mut out).map_err(|e| DataError::io(path, e))?;
    out.sync_all().map_err(|e| DataError::io(path, e))
}

/// Writes through to `inner` while hashing what was written.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
