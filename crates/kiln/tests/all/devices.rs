//! The trainer on every compiled-in device (flex by default; CI adds wgpu on lavapipe, then
//! CubeCL's `cpu` with `cuda` compiled in and skipped where no GPU is present):
//! classification, regression, a CNN, checkpoints and bundles through one code path.

use kiln::backend::for_each_device;
use kiln::data::datasets::Split;
use kiln::prelude::*;
use kiln::train::RegressionSet;

use crate::common::turn;
use crate::iris::iris;

/// A dataset split 80/20 (stratified for classes, seed 0) and standardized on its training part.
fn tabular(name: &str) -> (Matrix, Matrix, Vec<usize>, Vec<usize>, Table) {
    let table = datasets::tabular(name).unwrap();
    let target = table.target().unwrap();
    let parts = match target.class_codes() {
        Ok((codes, names)) if names.len() <= 20 => {
            split::stratified_holdout(&codes, 0.2, 0).unwrap()
        }
        _ => split::holdout(table.rows(), 0.2, 0).unwrap(),
    };
    let (train, test) = (table.take(&parts.train), table.take(&parts.test));
    let prep = PreprocessorConfig::default().fit(&train).unwrap();
    (
        prep.transform(&train).unwrap(),
        prep.transform(&test).unwrap(),
        parts.train,
        parts.test,
        table,
    )
}

#[test]
fn an_mlp_learns_iris_and_round_trips_a_bundle_on_every_device() {
    let _turn = turn();
    let (train, test) = iris();
    for_each_device(|name, device| {
        let config = TrainConfig::new(15, 16, 0.02).with_seed(1);
        let mut trainer = Trainer::new(config.clone(), device.clone())
            .unwrap()
            .with_progress(false);
        let model_config = MlpConfig::new(4, 3).with_hidden(vec![16]);
        let fitted = trainer.fit(&model_config, &train, Some(&test)).unwrap();
        let first = fitted.history[0].train_loss;
        let last = fitted.history.last().unwrap().train_loss;
        assert!(last < first / 2.0, "{name}: loss {first} -> {last}");
        let accuracy = trainer.evaluate(&fitted.model, &test).unwrap().accuracy;
        assert!(accuracy >= 0.9, "{name}: accuracy {accuracy}");
        let bundle = Bundle::new(
            fitted.model,
            model_config,
            config,
            TargetEncoder::classes(vec!["a".into(), "b".into(), "c".into()]).unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        bundle.save(dir.path()).unwrap();
        let loaded = Bundle::<Mlp>::load(dir.path(), &device).unwrap();
        let a = bundle.predict_features(test.features(), &device).unwrap();
        let b = loaded.predict_features(test.features(), &device).unwrap();
        assert_eq!(a.as_slice(), b.as_slice(), "{name}");
    })
    .unwrap();
}

#[test]
fn linear_regression_learns_diabetes_on_every_device() {
    let _turn = turn();
    let (train, test, train_rows, test_rows, table) = tabular("diabetes");
    let y = table.target().unwrap().to_f32_values().unwrap();
    let scale = |rows: &[usize]| rows.iter().map(|&r| (y[r] - 152.0) / 77.0).collect();
    let train = RegressionSet::new(train, scale(&train_rows)).unwrap();
    let test = RegressionSet::new(test, scale(&test_rows)).unwrap();
    for_each_device(|name, device| {
        let mut trainer = Trainer::new(TrainConfig::new(40, 32, 0.05), device)
            .unwrap()
            .with_progress(false);
        let fitted = trainer
            .fit(&LinearModelConfig::new(10, 1), &train, Some(&test))
            .unwrap();
        let r2 = trainer.evaluate(&fitted.model, &test).unwrap().r2;
        assert!(r2 > 0.35, "{name}: R² {r2}");
    })
    .unwrap();
}

#[test]
fn a_cnn_trains_and_resumes_on_every_device() {
    let _turn = turn();
    let mnist = kiln::data::datasets::mnist(Split::Test).unwrap();
    let all = ClassificationSet::from_mnist(&mnist).unwrap();
    let subset = all.take(&(0..512).collect::<Vec<_>>());
    for_each_device(|name, device| {
        let dir = tempfile::tempdir().unwrap();
        // Batches of 16 on CubeCL's `cpu`: its autotuner times a barrier-bound matrix product on
        // each weight gradient's im2col shape, whose inner dimension grows with the batch (with
        // 64, two such shapes took 617 s of the test's 691 s; docs/gpu.md).
        let batch = if name == "cpu" { 16 } else { 64 };
        let config = TrainConfig::new(3, batch, 3e-3);
        let model_config = CnnConfig::new(10)
            .with_channels(vec![8, 16])
            .with_hidden(32);
        // One epoch, then resume from its checkpoint for the other two.
        let mut first = Trainer::new(TrainConfig::new(1, batch, 3e-3), device.clone())
            .unwrap()
            .with_progress(false)
            .with_checkpoints(dir.path(), 1);
        first.fit(&model_config, &subset, None).unwrap();
        let mut second = Trainer::new(config, device.clone())
            .unwrap()
            .with_progress(false)
            .with_checkpoints(dir.path(), 1);
        let fitted = second.resume(&model_config, &subset, None).unwrap();
        assert_eq!(fitted.history.len(), 3, "{name}");
        let losses: Vec<f64> = fitted.history.iter().map(|m| m.train_loss).collect();
        assert!(losses[2] < losses[0], "{name}: losses {losses:?}");
        // Chance is 0.1.
        let accuracy = second.evaluate(&fitted.model, &subset).unwrap().accuracy;
        assert!(accuracy > 0.35, "{name}: accuracy {accuracy}");
    })
    .unwrap();
}
