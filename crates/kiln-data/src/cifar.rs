//! The CIFAR-10 and CIFAR-100 binary formats (the "binary version" archives of
//! <https://www.cs.toronto.edu/~kriz/cifar.html>, unpacked).
//!
//! A record is the label byte(s) then 3,072 pixel bytes: the 32×32 red plane, then green, then
//! blue, rows top to bottom. CIFAR-10 has one label byte (0–9) and the files
//! `data_batch_1.bin` … `data_batch_5.bin` (training) and `test_batch.bin`, with class names in
//! `batches.meta.txt`; CIFAR-100 has a coarse (0–19) and a fine (0–99) label byte and the files
//! `train.bin` and `test.bin`, with names in `coarse_label_names.txt` and
//! `fine_label_names.txt`.

use std::path::{Path, PathBuf};

use crate::datasets::Split;
use crate::error::{DataError, Result};

/// Pixels per image: 3 channels × 32 × 32.
pub const CIFAR_IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which CIFAR set, and for CIFAR-100 which labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarKind {
    /// Ten classes, one label byte per record.
    Cifar10,
    /// A hundred fine classes (`fine: true`) or twenty coarse superclasses; two label bytes.
    Cifar100 {
        /// The fine labels (else the coarse ones).
        fine: bool,
    },
}

impl CifarKind {
    fn label_bytes(self) -> usize {
        match self {
            Self::Cifar10 => 1,
            Self::Cifar100 { .. } => 2,
        }
    }

    fn classes(self) -> usize {
        match self {
            Self::Cifar10 => 10,
            Self::Cifar100 { fine: true } => 100,
            Self::Cifar100 { fine: false } => 20,
        }
    }

    fn names_file(self) -> &'static str {
        match self {
            Self::Cifar10 => "batches.meta.txt",
            Self::Cifar100 { fine: true } => "fine_label_names.txt",
            Self::Cifar100 { fine: false } => "coarse_label_names.txt",
        }
    }

    fn files(self, split: Split) -> Vec<String> {
        match (self, split) {
            (Self::Cifar10, Split::Train) => {
                (1..=5).map(|i| format!("data_batch_{i}.bin")).collect()
            }
            (Self::Cifar10, Split::Test) => vec!["test_batch.bin".into()],
            (Self::Cifar100 { .. }, Split::Train) => vec!["train.bin".into()],
            (Self::Cifar100 { .. }, Split::Test) => vec!["test.bin".into()],
        }
    }
}

/// CIFAR images (channel-planar RGB, 3×32×32 bytes each) with their labels and class names.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    classes: Vec<String>,
}

impl CifarDataset {
    /// Loads a split from an unpacked CIFAR directory (`cifar-10-batches-bin/` or
    /// `cifar-100-binary/`). Class names come from the directory's names file when present,
    /// else they are the label numbers.
    pub fn load(dir: impl AsRef<Path>, kind: CifarKind, split: Split) -> Result<Self> {
        let dir = dir.as_ref();
        let mut dataset = Self {
            pixels: Vec::new(),
            labels: Vec::new(),
            classes: class_names(dir, kind)?,
        };
        for name in kind.files(split) {
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            dataset.append(&path.display().to_string(), &bytes, kind)?;
        }
        Ok(dataset)
    }

    /// Parses one binary file's bytes (`name` is used in errors), with numbered class names.
    pub fn from_bytes(name: &str, bytes: &[u8], kind: CifarKind) -> Result<Self> {
        let mut dataset = Self {
            pixels: Vec::new(),
            labels: Vec::new(),
            classes: (0..kind.classes()).map(|c| c.to_string()).collect(),
        };
        dataset.append(name, bytes, kind)?;
        Ok(dataset)
    }

    fn append(&mut self, name: &str, bytes: &[u8], kind: CifarKind) -> Result<()> {
        let record = kind.label_bytes() + CIFAR_IMAGE_BYTES;
        if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
            return Err(DataError::Cifar {
                file: name.to_owned(),
                reason: format!(
                    "{} bytes is not a whole number of {record}-byte records (is it truncated, \
                     or the other CIFAR kind?)",
                    bytes.len()
                ),
            });
        }
        let count = bytes.len() / record;
        self.labels.reserve(count);
        self.pixels.reserve(count * CIFAR_IMAGE_BYTES);
        let classes = kind.classes();
        for (i, r) in bytes.chunks_exact(record).enumerate() {
            let label = match kind {
                CifarKind::Cifar10 | CifarKind::Cifar100 { fine: false } => r[0],
                CifarKind::Cifar100 { fine: true } => r[1],
            };
            if usize::from(label) >= classes {
                return Err(DataError::Cifar {
                    file: name.to_owned(),
                    reason: format!(
                        "record {i} (byte {}) has label {label}; {kind:?} has {classes} classes",
                        i * record
                    ),
                });
            }
            self.labels.push(label);
            self.pixels.extend_from_slice(&r[kind.label_bytes()..]);
        }
        Ok(())
    }

    /// Images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i`: 3,072 bytes, the red, green and blue 32×32 planes.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * CIFAR_IMAGE_BYTES..(i + 1) * CIFAR_IMAGE_BYTES]
    }

    /// Every image's label.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Class names, indexed by label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
}

fn class_names(dir: &Path, kind: CifarKind) -> Result<Vec<String>> {
    let path: PathBuf = dir.join(kind.names_file());
    let numbered = || (0..kind.classes()).map(|c| c.to_string()).collect();
    if !path.is_file() {
        return Ok(numbered());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if names.len() != kind.classes() {
        return Err(DataError::Cifar {
            file: path.display().to_string(),
            reason: format!(
                "{} class names; {kind:?} has {} classes",
                names.len(),
                kind.classes()
            ),
        });
    }
    Ok(names)
}
