//! Writing every default out: a resolved [`PipelineConfig`] names the format, task, split,
//! model settings and training settings it runs with, so it reruns the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiln_data::Task;
use kiln_train::{LrSchedule, OptimizerKind};
use serde_json::json;

use crate::pipeline::config::{
    DataFormat, EarlyStoppingSection, ModelKind, Parameter, PipelineConfig, SplitKind, TextModel,
};
use crate::pipeline::data::{DataKind, Dataset};
use crate::pipeline::error::{Result, invalid};

impl PipelineConfig {
    /// This config with every default written out for `data` (whose task is `task`). Checks
    /// that each setting fits the data and the model; the error names the key.
    pub fn resolve(&self, data: &Dataset, task: Task) -> Result<Self> {
        let mut c = self.clone();
        c.data.format = data.format;
        c.data.task = task;
        let classify = task == Task::Classification;
        c.data.split = match c.data.split {
            SplitKind::Auto if classify => SplitKind::Stratified,
            SplitKind::Auto => SplitKind::Holdout,
            other => other,
        };
        if c.data.split == SplitKind::Stratified && !classify {
            return Err(invalid(
                "data.split",
                "`stratified` needs a classification target; use `holdout`",
            ));
        }
        if data.test.is_some() {
            if c.data.split == SplitKind::Kfold {
                return Err(invalid(
                    "data.split",
                    "`kfold` makes its own test parts; drop the test file or the k-fold split",
                ));
            }
            c.data.test_fraction = None;
        } else {
            let f = *c.data.test_fraction.get_or_insert(0.2);
            if !(f > 0.0 && f < 1.0) {
                return Err(invalid(
                    "data.test_fraction",
                    format!("{f} is not in (0, 1)"),
                ));
            }
        }
        if c.data.split == SplitKind::Kfold {
            let k = *c.data.folds.get_or_insert(5);
            if k < 2 {
                return Err(invalid("data.folds", format!("{k} must be at least 2")));
            }
            c.data.test_fraction = None;
        } else if c.data.folds.is_some() {
            return Err(invalid("data.folds", "applies to `split = \"kfold\"` only"));
        }

        c.model.kind = match (c.model.kind, data.kind) {
            (ModelKind::Auto, DataKind::Table) => ModelKind::Mlp,
            (ModelKind::Auto, DataKind::Text) => ModelKind::Text,
            (ModelKind::Auto, DataKind::Images) => ModelKind::Cnn,
            (kind, _) => kind,
        };
        let kind = c.model.kind;
        match (kind, data.kind) {
            (ModelKind::Cnn | ModelKind::Resnet, DataKind::Table | DataKind::Text) => {
                return Err(invalid(
                    "model.kind",
                    format!("`{}` needs image data; use linear or mlp", name(kind)),
                ));
            }
            (ModelKind::Text, DataKind::Table | DataKind::Images)
            | (ModelKind::Linear | ModelKind::Mlp, DataKind::Text) => {
                return Err(invalid(
                    "model.kind",
                    "text data takes `text` (encoder tfidf, embedding_bag or transformer); \
                     tables and images do not",
                ));
            }
            _ => {}
        }
        self.resolve_model(&mut c, data.kind)?;
        self.resolve_train(&mut c, data.kind)?;
        if let Some(tune) = &mut c.tune {
            let trials = *tune.trials.get_or_insert(20);
            if trials == 0 {
                return Err(invalid("tune.trials", "must be at least 1"));
            }
            let threads = *tune.threads.get_or_insert(1);
            if threads == 0 {
                return Err(invalid("tune.threads", "must be at least 1"));
            }
            if tune.parameters.is_empty() {
                tune.parameters = default_space(kind, c.model.encoder);
            }
        }
        if let Some(tune) = &c.tune {
            for (path, parameter) in &tune.parameters {
                c.with_value(path, example(parameter))
                    .map_err(|e| invalid(&format!("tune.parameters.\"{path}\""), e.to_string()))?;
            }
        }
        if let Some(track) = &mut c.track
            && track.experiment.is_none()
        {
            track.experiment = Some(stem(&c.data.path));
        }
        if c.output.bundle.is_none() {
            c.output.bundle = Some(PathBuf::from("bundles").join(stem(&c.data.path)));
        }
        if c.output.report.is_some() && c.track.is_none() {
            return Err(invalid(
                "output.report",
                "a report is drawn from tracked runs; add `[track]` (or `--track DIR`)",
            ));
        }
        Ok(c)
    }

    fn resolve_model(&self, c: &mut PipelineConfig, data: DataKind) -> Result<()> {
        let m = &mut c.model;
        let kind = m.kind;
        let only = |key: &str, set: bool, kinds: &[ModelKind]| -> Result<()> {
            if set && !kinds.contains(&kind) {
                let names: Vec<&str> = kinds.iter().map(|k| name(*k)).collect();
                return Err(invalid(
                    &format!("model.{key}"),
                    format!(
                        "applies to {} models, not `{}`; remove it",
                        names.join(", "),
                        name(kind)
                    ),
                ));
            }
            Ok(())
        };
        use ModelKind::{Cnn, Linear, Mlp, Resnet, Text};
        only("hidden", m.hidden.is_some(), &[Mlp, Text])?;
        only("dropout", m.dropout.is_some(), &[Mlp, Cnn, Resnet, Text])?;
        only("activation", m.activation.is_some(), &[Mlp])?;
        only("norm", m.norm.is_some(), &[Mlp])?;
        only("channels", m.channels.is_some(), &[Cnn, Resnet])?;
        for key in ["encoder", "max_features", "max_len", "embedding_dim"] {
            let set = match key {
                "encoder" => m.encoder.is_some(),
                "max_features" => m.max_features.is_some(),
                "max_len" => m.max_len.is_some(),
                _ => m.embedding_dim.is_some(),
            };
            only(key, set, &[Text])?;
        }
        match kind {
            Linear | ModelKind::Auto => {}
            Mlp => {
                let images = data == DataKind::Images;
                m.hidden.get_or_insert_with(|| {
                    if images {
                        vec![512, 256]
                    } else {
                        vec![128, 64]
                    }
                });
                m.dropout.get_or_insert(if images { 0.0 } else { 0.1 });
                m.activation.get_or_insert_with(|| "relu".into());
                m.norm.get_or_insert_with(|| "none".into());
            }
            Cnn => {
                m.channels.get_or_insert_with(|| vec![32, 64]);
                m.dropout.get_or_insert(0.25);
            }
            Resnet => {
                m.channels.get_or_insert_with(|| vec![16, 32, 64]);
                m.dropout.get_or_insert(0.0);
            }
            Text => {
                let encoder = *m.encoder.get_or_insert(TextModel::Tfidf);
                m.hidden.get_or_insert_with(|| vec![64]);
                m.dropout.get_or_insert(0.0);
                m.max_features.get_or_insert(5000);
                if encoder == TextModel::Tfidf {
                    if m.max_len.is_some() || m.embedding_dim.is_some() {
                        return Err(invalid(
                            "model.max_len",
                            "`max_len` and `embedding_dim` apply to the token-id encoders \
                             (embedding_bag, transformer), not tfidf",
                        ));
                    }
                } else {
                    m.max_len.get_or_insert(128);
                    m.embedding_dim.get_or_insert(64);
                }
            }
        }
        if let Some(a) = &m.activation
            && !["relu", "gelu", "tanh", "sigmoid"].contains(&a.as_str())
        {
            return Err(invalid(
                "model.activation",
                format!("`{a}` is not one of relu, gelu, tanh, sigmoid"),
            ));
        }
        if let Some(n) = &m.norm
            && !["none", "batch", "layer"].contains(&n.as_str())
        {
            return Err(invalid(
                "model.norm",
                format!("`{n}` is not one of none, batch, layer"),
            ));
        }
        if let Some(d) = m.dropout
            && !(0.0..1.0).contains(&d)
        {
            return Err(invalid("model.dropout", format!("{d} is not in [0, 1)")));
        }
        Ok(())
    }

    fn resolve_train(&self, c: &mut PipelineConfig, data: DataKind) -> Result<()> {
        // (epochs, batch size, learning rate, weight decay, validation share, patience)
        let (epochs, batch, lr, decay, valid, patience) = match (c.model.kind, data) {
            // The convex model trains on the whole training part, as scikit-learn's does.
            (ModelKind::Linear, DataKind::Table) => (300, 16, 0.01, 3e-3, 0.0, None),
            (ModelKind::Mlp, DataKind::Table) => (300, 32, 1e-3, 1e-4, 0.15, Some(20)),
            (ModelKind::Linear | ModelKind::Mlp, _) => (5, 128, 1e-3, 0.0, 0.0, None),
            (ModelKind::Cnn, _) => (8, 128, 1e-3, 0.0, 0.0, None),
            (ModelKind::Resnet, _) => (3, 128, 1e-3, 0.0, 0.0, None),
            (ModelKind::Text, _) => match c.model.encoder {
                Some(TextModel::Tfidf) | None => (5, 64, 1e-3, 0.0, 0.0, None),
                Some(TextModel::EmbeddingBag) => (10, 64, 1e-3, 0.0, 0.0, None),
                Some(TextModel::Transformer) => (6, 64, 1e-3, 0.0, 0.0, None),
            },
            (ModelKind::Auto, _) => unreachable!("resolved above"),
        };
        let t = &mut c.train;
        t.epochs.get_or_insert(epochs);
        t.batch_size.get_or_insert(batch);
        t.learning_rate.get_or_insert(lr);
        t.weight_decay.get_or_insert(decay);
        t.optimizer.get_or_insert(OptimizerKind::Adam);
        t.lr_schedule.get_or_insert(LrSchedule::Constant);
        t.device.get_or_insert_with(|| "flex".into());
        let tuning = c.tune.is_some();
        let explicit_valid = t.valid_fraction.is_some();
        let valid =
            *t.valid_fraction
                .get_or_insert(if tuning && valid == 0.0 { 0.2 } else { valid });
        if !(0.0..1.0).contains(&valid) {
            return Err(invalid(
                "train.valid_fraction",
                format!("{valid} is not in [0, 1)"),
            ));
        }
        if valid == 0.0 {
            if tuning {
                return Err(invalid(
                    "train.valid_fraction",
                    "tuning scores trials on a validation part; set it above 0 (e.g. 0.2)",
                ));
            }
            if t.early_stopping.is_some() {
                return Err(invalid(
                    "train.early_stopping",
                    "watches the validation part; set `train.valid_fraction` above 0",
                ));
            }
        } else if t.early_stopping.is_none() && (!explicit_valid || patience.is_some()) {
            t.early_stopping = Some(EarlyStoppingSection {
                patience: patience.unwrap_or(10),
                min_delta: 0.0,
            });
        }
        if let Some(rule) = &t.early_stopping
            && rule.patience == 0
        {
            return Err(invalid(
                "train.early_stopping.patience",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The search space used when `[tune.parameters]` is empty.
fn default_space(kind: ModelKind, encoder: Option<TextModel>) -> BTreeMap<String, Parameter> {
    let mut space = BTreeMap::new();
    let float = |low, high, log| Parameter::Float { low, high, log };
    space.insert("train.learning_rate".to_owned(), float(1e-4, 3e-2, true));
    space.insert("train.weight_decay".to_owned(), float(1e-6, 1e-2, true));
    match kind {
        ModelKind::Mlp => {
            space.insert(
                "model.hidden".to_owned(),
                Parameter::Categorical {
                    choices: vec![
                        json!([64]),
                        json!([128]),
                        json!([256]),
                        json!([128, 64]),
                        json!([256, 128]),
                        json!([256, 128, 64]),
                    ],
                },
            );
            space.insert("model.dropout".to_owned(), float(0.0, 0.5, false));
            space.insert(
                "features.scaling".to_owned(),
                Parameter::Categorical {
                    choices: vec![json!("standardize"), json!("quantile")],
                },
            );
            space.insert(
                "train.batch_size".to_owned(),
                Parameter::Categorical {
                    choices: vec![json!(16), json!(32), json!(64), json!(128)],
                },
            );
        }
        ModelKind::Cnn | ModelKind::Resnet => {
            space.insert("model.dropout".to_owned(), float(0.0, 0.5, false));
        }
        ModelKind::Text => {
            space.insert("model.dropout".to_owned(), float(0.0, 0.5, false));
            if encoder == Some(TextModel::Tfidf) {
                space.insert(
                    "model.hidden".to_owned(),
                    Parameter::Categorical {
                        choices: vec![json!([32]), json!([64]), json!([128])],
                    },
                );
            }
        }
        ModelKind::Linear | ModelKind::Auto => {}
    }
    space
}

/// A value inside a parameter's range, to check that its path accepts it.
pub(crate) fn example(parameter: &Parameter) -> serde_json::Value {
    match parameter {
        Parameter::Float { low, .. } => json!(low),
        Parameter::Int { low, .. } => json!(low),
        Parameter::Categorical { choices } => choices.first().cloned().unwrap_or(json!(null)),
    }
}

/// The config name of a model kind.
pub(crate) fn name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Auto => "auto",
        ModelKind::Linear => "linear",
        ModelKind::Mlp => "mlp",
        ModelKind::Cnn => "cnn",
        ModelKind::Resnet => "resnet",
        ModelKind::Text => "text",
    }
}

/// A data path's file stem (`penguins` for `datasets/tabular/penguins.csv.gz`).
pub(crate) fn stem(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    name.split('.').next().unwrap_or("data").to_owned()
}

/// Whether the format was decided by a file's content (for messages).
pub(crate) fn format_name(format: DataFormat) -> &'static str {
    match format {
        DataFormat::Auto => "auto",
        DataFormat::Csv => "csv",
        DataFormat::Text => "text",
        DataFormat::Idx => "idx",
        DataFormat::Parquet => "parquet",
        DataFormat::Cifar => "cifar",
        DataFormat::Images => "images",
    }
}
