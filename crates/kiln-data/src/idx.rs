//! IDX files (the MNIST family), raw or gzip.

use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::source::{decode, open_file};

/// The element values of an IDX array, by the type its header declares.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// Type code 0x08.
    U8(Vec<u8>),
    /// Type code 0x09.
    I8(Vec<i8>),
    /// Type code 0x0B (big-endian in the file).
    I16(Vec<i16>),
    /// Type code 0x0C.
    I32(Vec<i32>),
    /// Type code 0x0D.
    F32(Vec<f32>),
    /// Type code 0x0E.
    F64(Vec<f64>),
}

/// A dense n-dimensional array read from an IDX file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values in row-major order.
    pub data: IdxData,
}

impl IdxArray {
    /// Reads an IDX file, decompressing it if it is gzip.
    ///
    /// The magic number, type code, rank, dimensions and exact length are all checked: a
    /// truncated or padded file is an error, never a short array.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_reader(&path.display().to_string(), open_file(path)?)
    }

    /// Reads IDX bytes (raw or gzip) held in memory; `name` stands for the file in errors.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        Self::from_reader(name, decode(bytes))
    }

    fn from_reader(file: &str, mut input: Box<dyn Read + Send + '_>) -> Result<Self> {
        let bad = |reason: String| DataError::Idx {
            file: file.to_owned(),
            reason,
        };
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(|e| {
            bad(format!(
                "reading failed ({e}); the file may be truncated or not gzip"
            ))
        })?;
        if bytes.len() < 4 {
            return Err(bad(format!(
                "{} bytes is shorter than the 4-byte magic number",
                bytes.len()
            )));
        }
        if bytes[0] != 0 || bytes[1] != 0 {
            return Err(bad(format!(
                "magic number starts with {:#04x} {:#04x}, expected 0x00 0x00",
                bytes[0], bytes[1]
            )));
        }
        let (type_code, rank) = (bytes[2], usize::from(bytes[3]));
        let size = match type_code {
            0x08 | 0x09 => 1,
            0x0B => 2,
            0x0C | 0x0D => 4,
            0x0E => 8,
            other => return Err(bad(format!("unknown element type code {other:#04x}"))),
        };
        if rank == 0 {
            return Err(bad(
                "rank is 0; an IDX array needs at least one dimension".into()
            ));
        }
        let header = 4 + 4 * rank;
        if bytes.len() < header {
            return Err(bad(format!(
                "truncated header: rank {rank} needs {header} bytes, the file has {}",
                bytes.len()
            )));
        }
        let dims: Vec<usize> = bytes[4..header]
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let count = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(size))
            .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
        let body = bytes.len() - header;
        if body != count {
            let what = if body < count {
                "truncated"
            } else {
                "has trailing bytes"
            };
            return Err(bad(format!(
                "{what}: dimensions {dims:?} need {count} data bytes, the file has {body}"
            )));
        }
        let payload = &bytes[header..];
        let data = match type_code {
            0x08 => {
                bytes.drain(..header);
                IdxData::U8(bytes)
            }
            0x09 => IdxData::I8(payload.iter().map(|&b| b as i8).collect()),
            0x0B => IdxData::I16(
                payload
                    .chunks_exact(2)
                    .map(|b| i16::from_be_bytes([b[0], b[1]]))
                    .collect(),
            ),
            0x0C => IdxData::I32(
                payload
                    .chunks_exact(4)
                    .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            0x0D => IdxData::F32(
                payload
                    .chunks_exact(4)
                    .map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            _ => IdxData::F64(
                payload
                    .chunks_exact(8)
                    .map(|b| f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect(),
            ),
        };
        Ok(Self { dims, data })
    }
}

/// One MNIST image and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistItem {
    /// `rows * cols` grey levels, row-major, 0 (background) to 255.
    pub pixels: Vec<u8>,
    /// The class, `0..10`.
    pub label: u8,
}

/// Images and labels from a pair of MNIST-family IDX files.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistDataset {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl MnistDataset {
    /// Loads an images file (u8, rank 3) and a labels file (u8, rank 1) of equal count.
    pub fn load(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        Self::from_arrays(
            &images.display().to_string(),
            IdxArray::read(images)?,
            &labels.display().to_string(),
            IdxArray::read(labels)?,
        )
    }

    /// Checks and pairs an images array and a labels array.
    pub fn from_arrays(
        images_file: &str,
        images: IdxArray,
        labels_file: &str,
        labels: IdxArray,
    ) -> Result<Self> {
        let bad = |file: &str, reason: String| DataError::Idx {
            file: file.to_owned(),
            reason,
        };
        let IdxData::U8(pixels) = images.data else {
            return Err(bad(
                images_file,
                "images must be unsigned bytes (type 0x08)".into(),
            ));
        };
        let IdxData::U8(label_values) = labels.data else {
            return Err(bad(
                labels_file,
                "labels must be unsigned bytes (type 0x08)".into(),
            ));
        };
        let [n, rows, cols] = images.dims[..] else {
            return Err(bad(
                images_file,
                format!(
                    "images must have rank 3, found dimensions {:?}",
                    images.dims
                ),
            ));
        };
        if labels.dims.len() != 1 || labels.dims[0] != n {
            return Err(bad(
                labels_file,
                format!(
                    "labels have dimensions {:?} but there are {n} images",
                    labels.dims
                ),
            ));
        }
        if let Some(i) = label_values.iter().position(|&l| l > 9) {
            return Err(bad(
                labels_file,
                format!("label {} at index {i} is outside 0..=9", label_values[i]),
            ));
        }
        Ok(Self {
            images: pixels,
            labels: label_values,
            rows,
            cols,
        })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height and width.
    pub fn image_size(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The pixels of image `i`.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.images[i * size..(i + 1) * size]
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The images at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        let mut images = Vec::with_capacity(indices.len() * self.rows * self.cols);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Self {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            rows: self.rows,
            cols: self.cols,
        }
    }
}

impl burn_dataset::Dataset<MnistItem> for MnistDataset {
    fn get(&self, index: usize) -> Result<MnistItem, burn_dataset::DatasetError> {
        if index >= self.len() {
            return Err(crate::error::out_of_range(index, self.len()));
        }
        Ok(MnistItem {
            pixels: self.image(index).to_vec(),
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}
