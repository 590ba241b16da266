//! [`ImageFolder`]: a directory with one sub-directory of PNG/JPEG images per class, the layout
//! of torchvision's `ImageFolder` and Keras' `image_dataset_from_directory`:
//!
//! ```text
//! flowers/
//!   daisy/     0001.jpg 0002.png …
//!   tulip/     0001.jpg nested/0002.jpg …
//! ```
//!
//! Classes are the sub-directories in name order (their codes follow that order); each class's
//! images are found recursively, in path order. Files other than `.png`, `.jpg` and `.jpeg`
//! (any case) and hidden entries (`.DS_Store`, `.git/`) are ignored. Decoding runs on all
//! cores; the result does not depend on the thread count.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::image_set::ImageSet;

/// The colour channels images are converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// One grey channel (luma).
    Grey,
    /// Three channels: red, green, blue (alpha dropped).
    Rgb,
}

impl ColorMode {
    /// Channels per image.
    pub fn channels(self) -> usize {
        match self {
            Self::Grey => 1,
            Self::Rgb => 3,
        }
    }
}

/// A file the loader skipped because it could not be decoded (only with
/// [`ImageFolder::with_skip_corrupt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedImage {
    /// The file.
    pub path: PathBuf,
    /// The decoder's message.
    pub reason: String,
}

/// What [`ImageFolder::load`] read.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderImages {
    /// The decoded images, labelled by class directory.
    pub images: ImageSet,
    /// The files skipped as corrupt, in path order (empty unless skipping was asked for).
    pub skipped: Vec<SkippedImage>,
    /// Each image's file, in the images' order.
    pub files: Vec<PathBuf>,
}

/// An image folder's classes and files, before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderLayout {
    /// Class names: the sub-directories, in name order.
    pub classes: Vec<String>,
    /// Each image file with its class code, classes in order and files in path order.
    pub files: Vec<(PathBuf, u32)>,
}

/// Reads a folder of class sub-directories into an [`ImageSet`].
///
/// By default every image must have the first image's size and is converted to the first
/// image's colour mode (grey when it has no colour, else RGB); a corrupt file is an error
/// naming it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFolder {
    size: Option<[usize; 2]>,
    color: Option<ColorMode>,
    skip_corrupt: bool,
}

impl ImageFolder {
    /// The defaults: no resizing, colour from the first image, corrupt files are errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resizes every image to `height × width` (bilinear; the aspect ratio is not kept).
    #[must_use]
    pub fn with_size(mut self, height: usize, width: usize) -> Self {
        self.size = Some([height, width]);
        self
    }

    /// Converts every image to `color`.
    #[must_use]
    pub fn with_color(mut self, color: ColorMode) -> Self {
        self.color = Some(color);
        self
    }

    /// Skips files that cannot be decoded (listed in [`FolderImages::skipped`]) instead of
    /// failing on the first.
    #[must_use]
    pub fn with_skip_corrupt(mut self, skip: bool) -> Self {
        self.skip_corrupt = skip;
        self
    }

    /// The class names and each image file with its class code, without decoding anything.
    pub fn files(dir: impl AsRef<Path>) -> Result<FolderLayout> {
        let dir = dir.as_ref();
        let mut classes: Vec<(String, PathBuf)> = entries(dir)?
            .into_iter()
            .filter(|p| p.is_dir())
            .map(|p| (file_name(&p), p))
            .collect();
        classes.sort();
        if classes.is_empty() {
            return Err(DataError::ImageFolder {
                path: dir.to_owned(),
                reason: "no class sub-directories; an image folder holds one sub-directory of \
                         PNG or JPEG images per class"
                    .into(),
            });
        }
        let mut files = Vec::new();
        for (code, (_, class_dir)) in classes.iter().enumerate() {
            let mut found = Vec::new();
            walk(class_dir, &mut found)?;
            if found.is_empty() {
                return Err(DataError::ImageFolder {
                    path: class_dir.clone(),
                    reason: "this class directory has no .png, .jpg or .jpeg files; add images \
                             or remove the directory"
                        .into(),
                });
            }
            found.sort();
            let code = u32::try_from(code).unwrap_or(u32::MAX);
            files.extend(found.into_iter().map(|f| (f, code)));
        }
        Ok(FolderLayout {
            classes: classes.into_iter().map(|(name, _)| name).collect(),
            files,
        })
    }

    /// Decodes every image under `dir`.
    pub fn load(&self, dir: impl AsRef<Path>) -> Result<FolderImages> {
        let FolderLayout { classes, files } = Self::files(dir.as_ref())?;
        let mut skipped = Vec::new();
        // The first decodable image fixes the size and colour mode left open.
        let mut first = None;
        for (i, (path, _)) in files.iter().enumerate() {
            match decode(path) {
                Ok(image) => {
                    first = Some((i, image));
                    break;
                }
                Err(e) if self.skip_corrupt => skipped.push(skipped_image(path, &e)),
                Err(e) => return Err(e),
            }
        }
        let Some((start, image)) = first else {
            return Err(DataError::ImageFolder {
                path: dir.as_ref().to_owned(),
                reason: format!("none of its {} image files could be decoded", files.len()),
            });
        };
        let color = self.color.unwrap_or(if image.color().has_color() {
            ColorMode::Rgb
        } else {
            ColorMode::Grey
        });
        let size = self
            .size
            .unwrap_or([image.height() as usize, image.width() as usize]);
        let reference = &files[start].0;
        let resize = self.size.is_some();
        let convert =
            |path: &Path, image: DynamicImage| convert(path, image, color, size, resize, reference);
        let first = convert(&files[start].0, image)?;
        // Per file: its pixels, or (when skipping) why it was skipped.
        let rest: Vec<Result<std::result::Result<Vec<u8>, SkippedImage>>> = files[start + 1..]
            .par_iter()
            .map(|(path, _)| match decode(path) {
                Ok(image) => convert(path, image).map(Ok),
                Err(e) if self.skip_corrupt => Ok(Err(skipped_image(path, &e))),
                Err(e) => Err(e),
            })
            .collect();
        let per_image = color.channels() * size[0] * size[1];
        let mut pixels = Vec::with_capacity(files.len() * per_image);
        let mut labels = Vec::with_capacity(files.len());
        let mut kept = Vec::with_capacity(files.len());
        pixels.extend_from_slice(&first);
        labels.push(files[start].1);
        kept.push(files[start].0.clone());
        for ((path, label), image) in files[start + 1..].iter().zip(rest) {
            match image? {
                Ok(image) => {
                    pixels.extend_from_slice(&image);
                    labels.push(*label);
                    kept.push(path.clone());
                }
                Err(skip) => skipped.push(skip),
            }
        }
        Ok(FolderImages {
            images: ImageSet::new(
                pixels,
                [color.channels(), size[0], size[1]],
                labels,
                classes,
            )?,
            skipped,
            files: kept,
        })
    }
}

/// Whether `dir` looks like an image folder: a directory with a sub-directory holding at
/// least one PNG or JPEG file.
pub fn is_image_folder(dir: &Path) -> bool {
    let Ok(children) = entries(dir) else {
        return false;
    };
    children
        .iter()
        .filter(|p| p.is_dir())
        .any(|class| has_image(class))
}

/// Whether `dir` holds an image file at any depth; stops at the first one (detection should not
/// list a large folder that [`ImageFolder::files`] lists again).
fn has_image(dir: &Path) -> bool {
    entries(dir).is_ok_and(|paths| {
        paths.iter().any(|p| is_image_file(p) && p.is_file())
            || paths.iter().any(|p| p.is_dir() && has_image(p))
    })
}

/// The visible entries of `dir`.
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in read {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if !file_name(&path).starts_with('.') {
            out.push(path);
        }
    }
    Ok(out)
}

/// Image files under `dir`, recursively.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for path in entries(dir)? {
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_image_file(&path) {
            found.push(path);
        }
    }
    Ok(())
}

fn is_image_file(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| matches!(e.as_str(), "png" | "jpg" | "jpeg"))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn decode(path: &Path) -> Result<DynamicImage> {
    let reader = ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?;
    reader.decode().map_err(|source| DataError::Image {
        path: path.to_owned(),
        source,
    })
}

fn skipped_image(path: &Path, error: &DataError) -> SkippedImage {
    SkippedImage {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

/// The image as channel-planar bytes of `color` and `size`: resized when `resize`, else it
/// must already have `size` (the size of `reference`, the first image).
fn convert(
    path: &Path,
    image: DynamicImage,
    color: ColorMode,
    size: [usize; 2],
    resize: bool,
    reference: &Path,
) -> Result<Vec<u8>> {
    let [h, w] = size;
    let (ih, iw) = (image.height() as usize, image.width() as usize);
    if (ih, iw) != (h, w) && !resize {
        return Err(DataError::ImageFolder {
            path: path.to_owned(),
            reason: format!(
                "the image is {ih}×{iw} (height×width) but {} is {h}×{w}; resize them all \
                 (ImageFolder::with_size, or `image_size` in the pipeline's data section)",
                reference.display()
            ),
        });
    }
    let (h32, w32) = (
        u32::try_from(h).unwrap_or(u32::MAX),
        u32::try_from(w).unwrap_or(u32::MAX),
    );
    Ok(match color {
        ColorMode::Grey => {
            let mut grey = image.into_luma8();
            if (ih, iw) != (h, w) {
                grey = image::imageops::resize(&grey, w32, h32, FilterType::Triangle);
            }
            grey.into_raw()
        }
        ColorMode::Rgb => {
            let mut rgb = image.into_rgb8();
            if (ih, iw) != (h, w) {
                rgb = image::imageops::resize(&rgb, w32, h32, FilterType::Triangle);
            }
            // Interleaved RGB rows → red, green and blue planes.
            let interleaved = rgb.into_raw();
            let plane = h * w;
            let mut planar = vec![0u8; 3 * plane];
            for (i, px) in interleaved.chunks_exact(3).enumerate() {
                planar[i] = px[0];
                planar[plane + i] = px[1];
                planar[2 * plane + i] = px[2];
            }
            planar
        }
    })
}
