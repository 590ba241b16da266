//! Fetching bundled dataset files from a mirror into a cache (the `download` feature).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::checksum::{hex, verify};
use crate::error::{DataError, Result};

/// Returns `cache/file`, downloading `base_url/file` first unless a verified copy is cached.
/// The download goes to a temporary file that is renamed into place only after its checksum
/// matches, so a broken transfer never leaves a file that looks complete.
pub(crate) fn fetch(base_url: &str, cache: &Path, file: &str, expected: &str) -> Result<PathBuf> {
    let target = cache.join(file);
    if target.is_file() {
        verify(&target, expected)?;
        return Ok(target);
    }
    let dir = target.parent().unwrap_or(cache);
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let url = format!("{}/{file}", base_url.trim_end_matches('/'));
    let partial = target.with_extension(format!("part{}", std::process::id()));
    let result = download_to(&url, &partial).and_then(|actual| {
        if actual == expected {
            fs::rename(&partial, &target).map_err(|e| DataError::io(&target, e))
        } else {
            Err(DataError::Checksum {
                path: url.clone().into(),
                expected: expected.into(),
                actual,
            })
        }
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result.map(|()| target)
}

/// Streams `url` into `path`, returning the SHA-256 of what was written.
fn download_to(url: &str, path: &Path) -> Result<String> {
    let mut response = ureq::get(url)
        .call()
        .map_err(|source| DataError::Download {
            url: url.into(),
            source: Box::new(source),
        })?;
    let mut out = File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut writer = HashWriter {
        inner: &mut out,
        hasher: Sha256::new(),
    };
    io::copy(&mut response.body_mut().as_reader(), &mut writer)
        .map_err(|e| DataError::io(path, e))?;
    let sum = hex(&writer.hasher.finalize());
    out.sync_all().map_err(|e| DataError::io(path, e))?;
    Ok(sum)
}

/// Writes through to a file while hashing what was written.
struct HashWriter<'a> {
    inner: &'a mut File,
    hasher: Sha256,
}

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
