//! Checksums of files: SHA-256 for the bundled datasets and model bundles, and the MD5 that
//! some publishers give as their only checksum (Fashion-MNIST).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    digest_file::<Sha256>(path)
}

/// A file's digest under `D`, lowercase hex, read in 64 KiB blocks.
fn digest_file<D: Digest>(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// A checksum a file must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// SHA-256, lowercase hex (Kiln's own `SHA256SUMS`).
    Sha256(&'static str),
    /// MD5 of the file as its publisher distributes it, lowercase hex.
    Md5(&'static str),
}

impl Expected {
    /// The algorithm's name, for messages.
    pub(crate) fn algorithm(self) -> &'static str {
        match self {
            Self::Sha256(_) => "SHA-256",
            Self::Md5(_) => "MD5",
        }
    }

    /// The expected digest.
    pub(crate) fn digest(self) -> &'static str {
        match self {
            Self::Sha256(d) | Self::Md5(d) => d,
        }
    }

    /// The digest of bytes in memory under this checksum's algorithm.
    pub(crate) fn of_bytes(self, bytes: &[u8]) -> String {
        match self {
            Self::Sha256(_) => hex(&Sha256::digest(bytes)),
            Self::Md5(_) => hex(&md5::Md5::digest(bytes)),
        }
    }

    /// The file's digest under this checksum's algorithm.
    pub(crate) fn of(self, path: &Path) -> Result<String> {
        match self {
            Self::Sha256(_) => sha256_file(path),
            Self::Md5(_) => md5_file(path),
        }
    }
}

/// The MD5 of a file, lowercase hex.
fn md5_file(path: &Path) -> Result<String> {
    digest_file::<md5::Md5>(path)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `path` against `expected`; the error names `path`.
pub(crate) fn verify(path: &Path, expected: Expected) -> Result<()> {
    check(path, expected, expected.of(path)?)
}

/// Checks bytes in memory against `expected`; the error names `origin`, where they came from.
pub(crate) fn verify_bytes(origin: &Path, bytes: &[u8], expected: Expected) -> Result<()> {
    check(origin, expected, expected.of_bytes(bytes))
}

fn check(path: &Path, expected: Expected, actual: String) -> Result<()> {
    if actual == expected.digest() {
        Ok(())
    } else {
        Err(DataError::Checksum {
            path: path.into(),
            algorithm: expected.algorithm(),
            expected: expected.digest().into(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_checksums_match_the_rfc_1321_test_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, "abc").unwrap();
        verify(&path, Expected::Md5("900150983cd24fb0d6963f7d28e17f72")).unwrap();
        let err = verify(&path, Expected::Md5("d41d8cd98f00b204e9800998ecf8427e")).unwrap_err();
        assert!(err.to_string().contains("MD5 is 9001"), "{err}");
        std::fs::write(&path, "").unwrap();
        verify(&path, Expected::Md5("d41d8cd98f00b204e9800998ecf8427e")).unwrap();
    }
}
