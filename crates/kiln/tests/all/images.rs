//! Image data through the pipeline: folders of PNG files per class (with `train/` and `test/`
//! parts, colour, resizing, corrupt files) and CIFAR binaries, to a bundle that predicts class
//! names from new images.

use std::path::Path;

use image::{Rgb, RgbImage};
use kiln::data::CIFAR_IMAGE_BYTES;
use kiln::pipeline::{
    DataFormat, ImageColor, ModelKind, Pipeline, PipelineConfig, TestMetrics, evaluate, predict,
};
use kiln::prelude::Device;
use kiln::train::Predictions;

use crate::common::turn;

const COLOURS: [(&str, [u8; 3]); 3] = [
    ("blue", [20, 40, 220]),
    ("green", [30, 200, 40]),
    ("red", [210, 30, 30]),
];

/// `per_class` noisy `size × size` PNGs per class under `dir/<class>/`, each a class colour
/// with noise, and one in five of them larger (`size + 4`) when `mixed_sizes`.
fn write_folder(dir: &Path, per_class: usize, size: u32, seed: u64, mixed_sizes: bool) {
    let mut noise = Noise(seed * 7919 + 1);
    for (class, colour) in COLOURS {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..per_class {
            let side = if mixed_sizes && i % 5 == 0 {
                size + 4
            } else {
                size
            };
            let image = RgbImage::from_fn(side, side, |_, _| {
                Rgb(colour.map(|c| c.saturating_add_signed(noise.next(81) as i8 - 40)))
            });
            image
                .save(dir.join(class).join(format!("{i:03}.png")))
                .unwrap();
        }
    }
}

/// A seeded stream of small noise values (xorshift), so the images are the same every run.
struct Noise(u64);

impl Noise {
    /// A value in `0..span`.
    fn next(&mut self, span: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % span
    }
}

fn accuracy(metrics: &TestMetrics) -> f64 {
    match metrics {
        TestMetrics::Classification(c) => c.accuracy,
        TestMetrics::Regression(_) => panic!("expected classification"),
    }
}

#[test]
fn an_image_folder_trains_a_colour_cnn_that_predicts_class_names() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("colours");
    write_folder(&data.join("train"), 30, 12, 1, true);
    write_folder(&data.join("test"), 10, 12, 2, false);

    // Mixed sizes without `image_size` are an error naming a file and the fix.
    let err = Pipeline::new(PipelineConfig::new(&data)).run().unwrap_err();
    assert!(err.to_string().contains("image_size"), "{err}");

    let mut config = PipelineConfig::new(&data).with_seed(5);
    config.data.image_size = Some([12, 12]);
    config.model.channels = Some(vec![8]);
    config.train.epochs = Some(8);
    config.output.bundle = Some(dir.path().join("bundle"));
    let result = Pipeline::new(config).run().unwrap();
    assert_eq!(result.config.data.format, DataFormat::Images);
    assert_eq!(
        result.config.model.kind,
        ModelKind::Cnn,
        "images default to a CNN"
    );
    assert_eq!((result.split.train, result.split.test), (90, 30));
    assert!(accuracy(&result.metrics) > 0.9, "{}", result.metrics);

    // The bundle reads the folder's test part again, with the same scores, and names classes.
    let device = Device::flex();
    let evaluation = evaluate(&result.bundle, &data, &device).unwrap();
    assert_eq!(evaluation.rows, 30);
    assert_eq!(evaluation.metrics, result.metrics);
    let (_, predictions) = predict(&result.bundle, &data.join("test"), &device).unwrap();
    let Predictions::Classes { classes, codes, .. } = &predictions else {
        panic!("an image folder is classified");
    };
    let mut names = classes.clone();
    names.sort();
    assert_eq!(names, ["blue", "green", "red"]);
    let red = codes[20..]
        .iter()
        .filter(|&&c| classes[c as usize] == "red");
    assert!(red.count() >= 8, "the last ten test images are red");
}

#[test]
fn grey_conversion_and_corrupt_files_follow_the_data_section() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("colours");
    write_folder(&data, 20, 10, 3, false);
    std::fs::write(data.join("red").join("broken.png"), b"\x89PNG not really").unwrap();

    let mut config = PipelineConfig::new(&data).with_model(ModelKind::Mlp);
    config.train.epochs = Some(3);
    config.output.bundle = Some(dir.path().join("bundle"));
    let err = Pipeline::new(config.clone()).run().unwrap_err();
    assert!(err.to_string().contains("broken.png"), "{err}");

    config.data.skip_corrupt = true;
    config.data.color = Some(ImageColor::Grey);
    let result = Pipeline::new(config).run().unwrap();
    assert_eq!(
        result.split.train + result.split.valid + result.split.test,
        60
    );
    assert_eq!(result.config.data.color, Some(ImageColor::Grey));
    let bundle = kiln::pipeline::AnyBundle::load(&result.bundle, &Device::flex()).unwrap();
    assert_eq!(bundle.input_width(), Some(100), "one grey 10×10 channel");
}

#[test]
fn a_cifar_directory_trains_on_three_channels_and_names_its_classes() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&data).unwrap();
    let mut noise = Noise(9);
    let mut records = |n: usize| {
        let mut out = Vec::new();
        for i in 0..n {
            // Two classes (0 and 1) told apart by which plane is bright.
            let label = (i % 2) as u8;
            out.push(label);
            for p in 0..CIFAR_IMAGE_BYTES {
                let bright = (p / 1024) as u8 == label;
                out.push(if bright { 200 } else { 40 } + noise.next(40) as u8);
            }
        }
        out
    };
    for b in 1..=5 {
        std::fs::write(data.join(format!("data_batch_{b}.bin")), records(12)).unwrap();
    }
    std::fs::write(data.join("test_batch.bin"), records(20)).unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    std::fs::write(data.join("batches.meta.txt"), names).unwrap();

    let mut config = PipelineConfig::new(&data).with_model(ModelKind::Mlp);
    config.model.hidden = Some(vec![16]);
    config.train.epochs = Some(10);
    config.train.batch_size = Some(8);
    config.output.bundle = Some(dir.path().join("bundle"));
    let result = Pipeline::new(config).run().unwrap();
    assert_eq!(result.config.data.format, DataFormat::Cifar);
    assert_eq!((result.split.train, result.split.test), (60, 20));
    assert!(accuracy(&result.metrics) > 0.9, "{}", result.metrics);
    let device = Device::flex();
    let (_, predictions) = predict(&result.bundle, &data, &device).unwrap();
    let Predictions::Classes { classes, codes, .. } = &predictions else {
        panic!("CIFAR is classified");
    };
    assert_eq!(
        classes.len(),
        10,
        "every CIFAR-10 class keeps its name: {classes:?}"
    );
    let predicted: Vec<&str> = codes
        .iter()
        .map(|&c| classes[c as usize].as_str())
        .collect();
    assert_eq!(
        predicted[..4],
        ["airplane", "automobile", "airplane", "automobile"]
    );
    let bundle = kiln::pipeline::AnyBundle::load(&result.bundle, &device).unwrap();
    assert_eq!(bundle.input_width(), Some(CIFAR_IMAGE_BYTES));
}

/// `kiln train --data FOLDER --image-size HxW`, then `kiln predict` writing class names.
#[cfg(feature = "cli")]
#[test]
fn the_cli_trains_on_an_image_folder_and_predicts_class_names() {
    let kiln = crate::cli::kiln_status;
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("colours");
    write_folder(&data, 20, 12, 4, true);
    let (d, b) = (
        data.to_str().unwrap(),
        dir.path().join("bundle").to_str().unwrap().to_owned(),
    );
    let (code, _, err) = kiln(&["train", "--data", d, "--image-size", "8by8", "-q"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("HEIGHTxWIDTH"), "{err}");

    let (code, out, err) = kiln(&[
        "train",
        "--data",
        d,
        "--image-size",
        "8x8",
        "--model",
        "mlp",
        "--epochs",
        "20",
        "-o",
        &b,
        "-q",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("test accuracy"), "{out}");
    let csv = dir.path().join("predictions.csv");
    let (code, _, err) = kiln(&["predict", &b, d, "-o", csv.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let written = std::fs::read_to_string(&csv).unwrap();
    let mut lines = written.lines();
    assert!(
        lines.next().unwrap().starts_with("prediction,"),
        "{written}"
    );
    let predicted: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(predicted.len(), 60);
    let right = predicted
        .iter()
        .enumerate()
        .filter(|(i, p)| **p == COLOURS[i / 20].0)
        .count();
    assert!(right >= 54, "{right} of 60 right: {predicted:?}");
}
