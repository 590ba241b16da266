//! Image folders (one sub-directory of PNG/JPEG files per class) and the `ImageSet` every image
//! source loads into: layout, colour, sizes, corrupt files, splits and normalization.

use std::path::Path;

use image::{GrayImage, Luma, Rgb, RgbImage};
use kiln_data::{
    CIFAR_IMAGE_BYTES, CifarDataset, CifarKind, ColorMode, DataError, ImageFolder, ImageSet,
    Normalize, is_image_folder,
};

/// A `h × w` grey PNG whose pixel `(y, x)` is `value + y * w + x`.
fn grey_png(path: &Path, h: u32, w: u32, value: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([value.wrapping_add((y * w + x) as u8)]))
        .save(path)
        .unwrap();
}

/// A `h × w` RGB PNG with red = `r`, green = x, blue = y.
fn rgb_png(path: &Path, h: u32, w: u32, r: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(w, h, |x, y| Rgb([r, x as u8, y as u8]))
        .save(path)
        .unwrap();
}

#[test]
fn classes_are_sub_directories_in_name_order_with_files_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    grey_png(&root.join("zebra/b.png"), 2, 3, 100);
    grey_png(&root.join("zebra/a.png"), 2, 3, 50);
    grey_png(&root.join("ant/nested/deep.PNG"), 2, 3, 7);
    // Ignored: hidden files and directories, other extensions, files at the top level.
    grey_png(&root.join("ant/.hidden.png"), 2, 3, 0);
    grey_png(&root.join(".git/x.png"), 2, 3, 0);
    std::fs::write(root.join("ant/notes.txt"), "not an image").unwrap();
    grey_png(&root.join("top.png"), 2, 3, 0);
    assert!(is_image_folder(root));

    let loaded = ImageFolder::new().load(root).unwrap();
    let images = &loaded.images;
    assert_eq!(images.classes(), ["ant", "zebra"]);
    assert_eq!(images.shape(), [1, 2, 3], "grey PNGs load as one channel");
    assert_eq!(images.labels(), [0, 1, 1]);
    assert_eq!(images.image(0), [7, 8, 9, 10, 11, 12]);
    assert_eq!(
        images.image(1),
        [50, 51, 52, 53, 54, 55],
        "a.png before b.png"
    );
    assert_eq!(images.image(2)[0], 100);
    assert!(loaded.skipped.is_empty());
    assert_eq!(loaded.files.len(), 3);
    assert!(loaded.files[0].ends_with("ant/nested/deep.PNG"));
}

#[test]
fn colour_images_are_channel_planar_rgb_and_can_be_converted_to_grey() {
    let dir = tempfile::tempdir().unwrap();
    rgb_png(&dir.path().join("a/1.png"), 2, 2, 200);
    rgb_png(&dir.path().join("b/1.png"), 2, 2, 10);
    let images = ImageFolder::new().load(dir.path()).unwrap().images;
    assert_eq!(images.shape(), [3, 2, 2]);
    // Red plane, then green (= x), then blue (= y).
    assert_eq!(
        images.image(0),
        [200, 200, 200, 200, 0, 1, 0, 1, 0, 0, 1, 1]
    );
    assert_eq!(images.image(1)[..4], [10, 10, 10, 10]);

    let grey = ImageFolder::new()
        .with_color(ColorMode::Grey)
        .load(dir.path())
        .unwrap()
        .images;
    assert_eq!(grey.shape(), [1, 2, 2]);
    // Luma of (200, 0, 0) is about 0.2126 · 200.
    assert!((40..=45).contains(&grey.image(0)[0]), "{:?}", grey.image(0));
}

#[test]
fn jpeg_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for (class, value) in [("dark", 20u8), ("light", 230)] {
        let path = dir.path().join(class).join("x.jpg");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_pixel(8, 8, Rgb([value, value, value]))
            .save(&path)
            .unwrap();
    }
    let images = ImageFolder::new().load(dir.path()).unwrap().images;
    assert_eq!(images.shape(), [3, 8, 8]);
    // JPEG is lossy; a flat image stays within a few levels.
    assert!(images.image(0).iter().all(|&p| p.abs_diff(20) <= 3));
    assert!(images.image(1).iter().all(|&p| p.abs_diff(230) <= 3));
}

#[test]
fn sizes_must_agree_unless_a_size_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    grey_png(&dir.path().join("a/1.png"), 4, 4, 0);
    grey_png(&dir.path().join("b/odd.png"), 6, 5, 0);
    let err = ImageFolder::new().load(dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DataError::ImageFolder { .. }), "{err:?}");
    assert!(
        message.contains("odd.png") && message.contains("6×5"),
        "{message}"
    );
    assert!(message.contains("with_size"), "{message}");

    let images = ImageFolder::new()
        .with_size(3, 2)
        .load(dir.path())
        .unwrap()
        .images;
    assert_eq!(images.shape(), [1, 3, 2]);
    assert_eq!(images.len(), 2);
}

#[test]
fn a_corrupt_file_is_an_error_naming_it_or_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    grey_png(&dir.path().join("a/good.png"), 2, 2, 1);
    grey_png(&dir.path().join("b/good.png"), 2, 2, 2);
    // A truncated PNG and a text file named like a JPEG.
    let png = std::fs::read(dir.path().join("a/good.png")).unwrap();
    std::fs::write(dir.path().join("a/truncated.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(dir.path().join("b/fake.jpg"), "hello").unwrap();

    let err = ImageFolder::new().load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Image { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated.png"), "{err}");

    let loaded = ImageFolder::new()
        .with_skip_corrupt(true)
        .load(dir.path())
        .unwrap();
    assert_eq!(loaded.images.len(), 2);
    assert_eq!(loaded.images.labels(), [0, 1]);
    let skipped: Vec<_> = loaded.skipped.iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        skipped,
        [
            dir.path().join("a/truncated.png"),
            dir.path().join("b/fake.jpg")
        ]
    );
    assert!(loaded.skipped.iter().all(|s| !s.reason.is_empty()));
}

#[test]
fn layouts_without_images_are_errors_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let err = ImageFolder::new().load(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("no class sub-directories"),
        "{err}"
    );
    assert!(!is_image_folder(dir.path()));

    grey_png(&dir.path().join("a/1.png"), 2, 2, 0);
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let err = ImageFolder::new().load(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("empty") && err.to_string().contains("no .png"),
        "{err}"
    );
    let missing = ImageFolder::new()
        .load(dir.path().join("nope"))
        .unwrap_err();
    assert!(matches!(missing, DataError::Io { .. }), "{missing:?}");
}

#[test]
fn image_sets_split_by_class_with_a_seed_and_normalize_per_channel() {
    let pixels: Vec<u8> = (0..20u8).flat_map(|i| [i, 255 - i]).collect();
    let labels: Vec<u32> = (0..20).map(|i| i % 2).collect();
    let set = ImageSet::new(pixels, [2, 1, 1], labels, vec!["a".into(), "b".into()]).unwrap();
    let (train, test) = set.split(0.2, 7).unwrap();
    assert_eq!((train.len(), test.len()), (16, 4));
    assert_eq!(test.labels().iter().filter(|&&l| l == 0).count(), 2);
    assert_eq!(set.split(0.2, 7).unwrap(), (train.clone(), test.clone()));

    let (mean, std) = set.channel_stats();
    assert!((mean[0] - 9.5 / 255.0).abs() < 1e-6, "{mean:?}");
    assert!((mean[1] - (255.0 - 9.5) / 255.0).abs() < 1e-6);
    let features = set.features(&Normalize::MeanStd { mean, std }).unwrap();
    assert_eq!((features.rows(), features.cols()), (20, 2));
    let column_mean: f32 = (0..20).map(|r| features.row(r)[1]).sum::<f32>() / 20.0;
    assert!(column_mean.abs() < 1e-5);
    let unit = set.features(&Normalize::Unit).unwrap();
    assert_eq!(unit.row(1), [1.0 / 255.0, 254.0 / 255.0]);

    let bad = Normalize::MeanStd {
        mean: vec![0.5],
        std: vec![0.5],
    };
    assert!(
        set.features(&bad)
            .unwrap_err()
            .to_string()
            .contains("per channel")
    );
    assert!(ImageSet::new(vec![0; 3], [1, 1, 1], vec![0, 0], vec!["a".into()]).is_err());
    assert!(ImageSet::new(vec![0; 1], [1, 1, 1], vec![1], vec!["a".into()]).is_err());
}

#[test]
fn cifar_records_become_three_channel_image_sets() {
    let mut bytes = vec![3u8];
    bytes.extend((0..CIFAR_IMAGE_BYTES).map(|i| (i / 1024) as u8));
    let cifar = CifarDataset::from_bytes("batch", &bytes, CifarKind::Cifar10).unwrap();
    let set = ImageSet::from(&cifar);
    assert_eq!(set.shape(), [3, 32, 32]);
    assert_eq!(set.labels(), [3]);
    assert_eq!(set.classes().len(), 10);
    assert_eq!(set.image(0)[1024], 1, "green plane second");
}
