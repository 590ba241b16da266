//! [`ImageSet`]: labelled images of one shape in memory, whatever they were read from (IDX
//! files, CIFAR binaries, a folder of PNG/JPEG files), and [`Normalize`], how their pixels
//! become model inputs.

use crate::cifar::{CIFAR_IMAGE_BYTES, CifarDataset};
use crate::error::{DataError, Result};
use crate::idx::MnistDataset;
use crate::matrix::Matrix;
use crate::split;

/// Images of one `[channels, height, width]` shape, stored as bytes (0–255), channel-planar
/// (each image is its channel planes one after another, rows top to bottom), with one class
/// per image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    shape: [usize; 3],
    labels: Vec<u32>,
    classes: Vec<String>,
}

/// How pixel bytes become model inputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Normalize {
    /// `byte / 255`, in `[0, 1]` (what Kiln's pipeline and examples train on).
    #[default]
    Unit,
    /// `(byte / 255 − mean[c]) / std[c]` per channel `c` (torchvision's `Normalize`);
    /// [`ImageSet::channel_stats`] measures them on a training set.
    MeanStd {
        /// One mean per channel, on the `[0, 1]` scale.
        mean: Vec<f32>,
        /// One standard deviation per channel, positive.
        std: Vec<f32>,
    },
}

impl ImageSet {
    /// `labels.len()` images of `shape = [channels, height, width]` from channel-planar
    /// `pixels`, with labels below `classes.len()`.
    pub fn new(
        pixels: Vec<u8>,
        shape: [usize; 3],
        labels: Vec<u32>,
        classes: Vec<String>,
    ) -> Result<Self> {
        if shape.contains(&0) {
            return Err(DataError::config(
                "shape",
                format!("{shape:?} has a zero dimension; images need channels, height and width"),
            ));
        }
        let per_image = shape.iter().product::<usize>();
        if pixels.len() != labels.len() * per_image {
            return Err(DataError::config(
                "pixels",
                format!(
                    "{} bytes for {} images of {shape:?} ({per_image} bytes each)",
                    pixels.len(),
                    labels.len()
                ),
            ));
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= classes.len()) {
            return Err(DataError::config(
                "labels",
                format!(
                    "image {i} has label {} but there are {} classes",
                    labels[i],
                    classes.len()
                ),
            ));
        }
        Ok(Self {
            pixels,
            shape,
            labels,
            classes,
        })
    }

    /// Images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Channels (1 grey, 3 RGB).
    pub fn channels(&self) -> usize {
        self.shape[0]
    }

    /// Height and width.
    pub fn image_size(&self) -> (usize, usize) {
        (self.shape[1], self.shape[2])
    }

    /// Bytes per image: channels × height × width.
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Image `i`'s bytes, channel-planar.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Every image's class code.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Class names, indexed by code.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The images at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Self {
            pixels,
            shape: self.shape,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }

    /// A seeded split keeping each class's share: `(train, test)` with about
    /// `test_fraction` of every class in `test` (as [`split::stratified_holdout`]).
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let parts = split::stratified_holdout(&self.labels, test_fraction, seed)?;
        Ok((self.take(&parts.train), self.take(&parts.test)))
    }

    /// Each channel's mean and standard deviation on the `[0, 1]` scale, for
    /// [`Normalize::MeanStd`] (measure them on the training part only).
    pub fn channel_stats(&self) -> (Vec<f32>, Vec<f32>) {
        let [c, h, w] = self.shape;
        let plane = h * w;
        let mut sums = vec![(0u64, 0u64); c];
        for image in self.pixels.chunks_exact(c * plane) {
            for (ch, values) in image.chunks_exact(plane).enumerate() {
                for &p in values {
                    sums[ch].0 += u64::from(p);
                    sums[ch].1 += u64::from(p) * u64::from(p);
                }
            }
        }
        let n = (self.len() * plane).max(1) as f64;
        sums.iter()
            .map(|&(s, sq)| {
                let mean = s as f64 / n / 255.0;
                let var = (sq as f64 / n / (255.0 * 255.0) - mean * mean).max(0.0);
                (mean as f32, var.sqrt() as f32)
            })
            .unzip()
    }

    /// The images as a `[len, channels · height · width]` matrix, normalized. The layout is
    /// what Kiln's image models read (`forward_flat`).
    pub fn features(&self, normalize: &Normalize) -> Result<Matrix> {
        let plane = self.shape[1] * self.shape[2];
        let data: Vec<f32> = match normalize {
            Normalize::Unit => self.pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
            Normalize::MeanStd { mean, std } => {
                let c = self.channels();
                if mean.len() != c || std.len() != c {
                    return Err(DataError::config(
                        "normalize",
                        format!(
                            "{} means and {} standard deviations for {c}-channel images; give \
                             one of each per channel",
                            mean.len(),
                            std.len()
                        ),
                    ));
                }
                if let Some(ch) = std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
                    return Err(DataError::config(
                        "normalize",
                        format!("std[{ch}] is {}; it must be positive", std[ch]),
                    ));
                }
                self.pixels
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| {
                        let ch = (i / plane) % c;
                        (f32::from(p) / 255.0 - mean[ch]) / std[ch]
                    })
                    .collect()
            }
        };
        Matrix::new(self.len(), self.image_len(), data)
    }
}

impl From<&MnistDataset> for ImageSet {
    /// One grey channel; classes `"0"` … `"9"`.
    fn from(mnist: &MnistDataset) -> Self {
        let (h, w) = mnist.image_size();
        let mut pixels = Vec::with_capacity(mnist.len() * h * w);
        for i in 0..mnist.len() {
            pixels.extend_from_slice(mnist.image(i));
        }
        Self {
            pixels,
            shape: [1, h, w],
            labels: mnist.labels().iter().map(|&l| u32::from(l)).collect(),
            classes: (0..10).map(|c| c.to_string()).collect(),
        }
    }
}

impl From<&CifarDataset> for ImageSet {
    /// Three 32×32 channels; the dataset's class names.
    fn from(cifar: &CifarDataset) -> Self {
        let mut pixels = Vec::with_capacity(cifar.len() * CIFAR_IMAGE_BYTES);
        for i in 0..cifar.len() {
            pixels.extend_from_slice(cifar.image(i));
        }
        Self {
            pixels,
            shape: [3, 32, 32],
            labels: cifar.labels().iter().map(|&l| u32::from(l)).collect(),
            classes: cifar.classes().to_vec(),
        }
    }
}
