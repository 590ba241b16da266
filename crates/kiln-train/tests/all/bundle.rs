//! Model bundles: round trips and typed errors for a wrong model, corrupt files and configs
//! that do not fit the weights.

use burn::tensor::Device;
use kiln_data::bundle::{BundleError, Manifest, TextInput};
use kiln_data::{TableProfile, TargetEncoder, VectorizerConfig, datasets};
use kiln_models::{Cnn, Mlp, MlpConfig, TextClassifier, TextClassifierConfig};
use kiln_train::{Bundle, TrainConfig, TrainError, Trainer};

use crate::iris::Iris;

/// An MLP fitted on iris, bundled with its preprocessing, profile and metrics.
fn iris_bundle() -> (Bundle<Mlp>, kiln_data::Table) {
    let iris = Iris::split(0.2);
    let (set, _) = iris.sets();
    let config = TrainConfig::new(5, 16, 0.01);
    let mut trainer = Trainer::new(config.clone(), Device::flex())
        .unwrap()
        .with_progress(false);
    let model_config = MlpConfig::new(4, 3).with_hidden(vec![8]);
    let fitted = trainer.fit(&model_config, &set, None).unwrap();
    let bundle = Bundle::new(
        fitted.model,
        model_config,
        config,
        TargetEncoder::classes(iris.names).unwrap(),
    )
    .with_metrics(fitted.history.last().unwrap().values())
    .with_preprocessor(iris.prep)
    .with_profile(TableProfile::from_table(&iris.train_table));
    (bundle, iris.test_table)
}

fn values(m: &kiln_data::Matrix) -> Vec<f32> {
    m.as_slice().to_vec()
}

#[test]
fn a_bundle_round_trips_and_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iris-mlp");
    let (bundle, test) = iris_bundle();
    let device = Device::flex();
    let before = bundle.predict_table(&test, &device).unwrap();
    bundle.save(&path).unwrap();
    // Saving again replaces the bundle.
    bundle.save(&path).unwrap();
    let loaded = Bundle::<Mlp>::load(&path, &device).unwrap();
    let after = loaded.predict_table(&test, &device).unwrap();
    assert_eq!(values(&before), values(&after));
    assert_eq!(loaded.metrics, bundle.metrics);
    assert!(loaded.metrics.contains_key("train_loss"));
    assert_eq!(loaded.kiln_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(loaded.train_config, bundle.train_config);
    assert_eq!(loaded.model_config.hidden, vec![8]);
    assert_eq!(loaded.profile, bundle.profile);
    let names = loaded.class_names(&after).unwrap();
    assert_eq!(names.len(), test.rows());
    let TargetEncoder::Classes { classes } = &loaded.target else {
        panic!("iris is classification")
    };
    assert_eq!(classes.len(), 3);
    assert!(names.iter().all(|n| classes.contains(n)));
    let manifest = Manifest::read(&path).unwrap();
    assert_eq!(manifest.model, "mlp");
    assert_eq!(manifest.files.len(), 3);
}

fn bundle_error(result: kiln_train::Result<impl std::fmt::Debug>) -> BundleError {
    match result.unwrap_err() {
        TrainError::Bundle { source, .. } => *source,
        other => panic!("expected a bundle error, got {other}"),
    }
}

#[test]
fn a_bundle_of_another_model_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = iris_bundle();
    bundle.save(dir.path()).unwrap();
    let err = bundle_error(Bundle::<Cnn>::load(dir.path(), &Device::flex()));
    assert!(
        matches!(&err, BundleError::WrongModel { expected, found } if expected == "cnn" && found == "mlp"),
        "{err}"
    );
}

#[test]
fn corrupt_files_are_typed_errors() {
    let device = Device::flex();
    let (bundle, _) = iris_bundle();
    // A flipped byte in the weights.
    let dir = tempfile::tempdir().unwrap();
    bundle.save(dir.path()).unwrap();
    let weights = dir.path().join("model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&weights, bytes).unwrap();
    let err = bundle_error(Bundle::<Mlp>::load(dir.path(), &device));
    assert!(
        matches!(&err, BundleError::Checksum { file } if file == "model.bpk"),
        "{err}"
    );
    // A truncated manifest.
    let dir = tempfile::tempdir().unwrap();
    bundle.save(dir.path()).unwrap();
    let manifest = dir.path().join("bundle.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    let err = Bundle::<Mlp>::load(dir.path(), &device).unwrap_err();
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    // A newer format.
    let format = format!("\"format\": {}", kiln_data::bundle::FORMAT);
    assert!(text.contains(&format));
    std::fs::write(&manifest, text.replace(&format, "\"format\": 99")).unwrap();
    let err = bundle_error(Bundle::<Mlp>::load(dir.path(), &device));
    assert!(
        matches!(err, BundleError::Format { found: 99, .. }),
        "{err}"
    );
    // No bundle at all.
    let err = Bundle::<Mlp>::load(dir.path().join("missing"), &device).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_config_that_does_not_fit_the_weights_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, _) = iris_bundle();
    bundle.save(dir.path()).unwrap();
    let manifest = dir.path().join("bundle.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    json["model_config"]["hidden"] = serde_json::json!([16]);
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    let err = Bundle::<Mlp>::load(dir.path(), &Device::flex()).unwrap_err();
    let TrainError::Bundle { source, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(**source, BundleError::Shape(_) | BundleError::Weights(_)),
        "{err}"
    );
    // An invalid config is reported as such, not as a panic.
    json["model_config"]["hidden"] = serde_json::json!([0]);
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    let err = Bundle::<Mlp>::load(dir.path(), &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("hidden[0]"), "{err}");
}

#[test]
fn a_text_bundle_predicts_from_raw_texts() {
    let device = Device::flex();
    let texts = [
        "cheap pills now",
        "meeting at noon",
        "cheap cheap offer",
        "lunch at noon",
    ];
    let vectorizer = VectorizerConfig::default().fit(&texts).unwrap();
    let config = TextClassifierConfig::new(vectorizer.vocabulary_size(), 2).with_max_len(8);
    let model = config.init(&device).unwrap();
    let bundle = Bundle::new(
        model,
        config,
        TrainConfig::new(1, 2, 0.01),
        TargetEncoder::classes(vec!["ham".into(), "spam".into()]).unwrap(),
    )
    .with_vectorizer(vectorizer, TextInput::TokenIds { max_len: 8 });
    let before = bundle.predict_texts(&texts, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle.save(dir.path()).unwrap();
    let loaded = Bundle::<TextClassifier>::load(dir.path(), &device).unwrap();
    assert_eq!(
        values(&before),
        values(&loaded.predict_texts(&texts, &device).unwrap())
    );
    let err = loaded
        .predict_table(&datasets::tabular("iris").unwrap(), &device)
        .unwrap_err();
    assert!(err.to_string().contains("no preprocessor"), "{err}");
}
