//! The transform, model and training stages: features from examples, the model a resolved
//! config describes, one training run, and its evaluation through the bundle's predict path.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Device;
use kiln_data::bundle::{Lineage, TextInput};
use kiln_data::{
    ColumnData, Matrix, Normalize, Preprocessor, PreprocessorConfig, TableProfile, TargetEncoder,
    Targets, Vectorizer, VectorizerConfig,
};
use kiln_models::{
    CnnConfig, LinearModelConfig, MlpConfig, Norm, ResidualCnnConfig, TextClassifierConfig,
    TextEncoder,
};
use kiln_train::{
    Bundle, BundledModel, ClassificationSet, EarlyStopping, EarlyStoppingMetric, EpochMetrics,
    EpochObserver, ModelConfig, RegressionSet, TrainConfig, Trainer,
};

use crate::pipeline::config::{ModelKind, PipelineConfig, TextModel};
use crate::pipeline::data::{Dataset, Examples};
use crate::pipeline::error::{PipelineError, Result, data_error, invalid};
use crate::pipeline::metrics::TestMetrics;

/// How examples become feature rows: the part of the bundle before the model.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    /// Tabular preprocessing.
    Table(Preprocessor),
    /// A text vectorizer and how its output feeds the model.
    Text {
        vectorizer: Vectorizer,
        input: TextInput,
        column: String,
    },
    /// Pixels scaled to `[0, 1]`, images of `[channels, height, width]`.
    Images { shape: [usize; 3] },
}

impl Transform {
    /// Fits the transform on the training examples.
    pub(crate) fn fit(config: &PipelineConfig, data: &Dataset, train: &Examples) -> Result<Self> {
        let path = data.path();
        match train {
            Examples::Table(table) => match &data.text_column {
                Some(column) => {
                    let texts = texts(table, column, path)?;
                    let vectorizer = VectorizerConfig::default()
                        .with_min_df(2.min(texts.len()))
                        .with_max_features(config.model.max_features.unwrap_or(5000))
                        .fit(&texts)
                        .map_err(data_error(path))?;
                    let input = match config.model.encoder {
                        Some(TextModel::EmbeddingBag | TextModel::Transformer) => {
                            TextInput::TokenIds {
                                max_len: config.model.max_len.unwrap_or(128),
                            }
                        }
                        _ => TextInput::Dense,
                    };
                    Ok(Self::Text {
                        vectorizer,
                        input,
                        column: column.clone(),
                    })
                }
                None => {
                    let mut prep = PreprocessorConfig::default()
                        .with_impute(config.features.impute)
                        .with_scaling(config.features.scaling)
                        .with_unknown(config.features.unknown);
                    for column in &config.data.ignore {
                        prep = prep.with_exclude(column.clone());
                    }
                    Ok(Self::Table(prep.fit(table).map_err(data_error(path))?))
                }
            },
            Examples::Images(images) => Ok(Self::Images {
                shape: images.shape(),
            }),
        }
    }

    /// Feature rows of `examples`, and the unseen categories ignored per column.
    pub(crate) fn features(
        &self,
        examples: &Examples,
        path: &Path,
    ) -> Result<(Matrix, BTreeMap<String, u64>)> {
        match (self, examples) {
            (Self::Table(prep), Examples::Table(table)) => {
                prep.transform_counted(table).map_err(data_error(path))
            }
            (
                Self::Text {
                    vectorizer,
                    input,
                    column,
                },
                Examples::Table(table),
            ) => {
                let texts = texts(table, column, path)?;
                let features = match input {
                    TextInput::Dense => vectorizer.transform_dense(&texts),
                    TextInput::TokenIds { max_len } => vectorizer.token_ids(&texts, *max_len),
                };
                Ok((features, BTreeMap::new()))
            }
            (Self::Images { shape }, Examples::Images(images)) => {
                if images.shape() != *shape {
                    return Err(invalid(
                        "data",
                        format!(
                            "{}: images are {:?} (channels, height, width), the model takes \
                             {shape:?}",
                            path.display(),
                            images.shape()
                        ),
                    ));
                }
                let features = images
                    .features(&Normalize::Unit)
                    .map_err(data_error(path))?;
                Ok((features, BTreeMap::new()))
            }
            _ => Err(invalid(
                "data",
                format!("{}: this model reads another kind of data", path.display()),
            )),
        }
    }
}

fn texts(table: &kiln_data::Table, column: &str, path: &Path) -> Result<Vec<String>> {
    let col = table.column(column).map_err(data_error(path))?;
    Ok(match col.data() {
        ColumnData::Text(v) => v.clone(),
        _ => (0..col.len())
            .map(|i| col.text_at(i).map(|t| t.into_owned()).unwrap_or_default())
            .collect(),
    })
}

/// Training examples in the trainer's shape.
pub(crate) enum Set {
    Classes(ClassificationSet),
    Values(RegressionSet),
}

impl Set {
    pub(crate) fn new(features: Matrix, targets: Targets) -> Result<Self> {
        Ok(match targets {
            Targets::Classes { codes, names } => {
                Self::Classes(ClassificationSet::new(features, codes, names.len())?)
            }
            Targets::Values(values) => Self::Values(RegressionSet::new(features, values)?),
        })
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Classes(s) => s.len(),
            Self::Values(s) => s.len(),
        }
    }

    pub(crate) fn n_features(&self) -> usize {
        match self {
            Self::Classes(s) => s.n_features(),
            Self::Values(s) => s.n_features(),
        }
    }
}

/// The model a resolved config describes, for `n_features` inputs and `n_outputs` outputs.
#[derive(Debug, Clone)]
pub(crate) enum ModelChoice {
    Linear(LinearModelConfig),
    Mlp(MlpConfig),
    Cnn(CnnConfig),
    Resnet(ResidualCnnConfig),
    Text(TextClassifierConfig),
}

impl ModelChoice {
    pub(crate) fn new(
        config: &PipelineConfig,
        transform: &Transform,
        n_features: usize,
        n_outputs: usize,
    ) -> Result<Self> {
        let m = &config.model;
        let mlp = |n_features| -> Result<MlpConfig> {
            let activation = match m.activation.as_deref().unwrap_or("relu") {
                "gelu" => burn::nn::activation::ActivationConfig::Gelu,
                "tanh" => burn::nn::activation::ActivationConfig::Tanh,
                "sigmoid" => burn::nn::activation::ActivationConfig::Sigmoid,
                _ => burn::nn::activation::ActivationConfig::Relu,
            };
            let norm = match m.norm.as_deref().unwrap_or("none") {
                "batch" => Norm::Batch,
                "layer" => Norm::Layer,
                _ => Norm::None,
            };
            Ok(MlpConfig::new(n_features, n_outputs)
                .with_hidden(m.hidden.clone().unwrap_or_default())
                .with_dropout(m.dropout.unwrap_or(0.0))
                .with_activation(activation)
                .with_norm(norm))
        };
        Ok(match (m.kind, transform) {
            (ModelKind::Linear, _) => Self::Linear(LinearModelConfig::new(n_features, n_outputs)),
            (ModelKind::Mlp, _) => Self::Mlp(mlp(n_features)?),
            (ModelKind::Cnn, Transform::Images { shape: [c, h, w] }) => {
                let mut c = CnnConfig::new(n_outputs)
                    .with_in_channels(*c)
                    .with_image_size([*h, *w])
                    .with_dropout(m.dropout.unwrap_or(0.0));
                if let Some(channels) = &m.channels {
                    c = c.with_channels(channels.clone());
                }
                Self::Cnn(c)
            }
            (ModelKind::Resnet, Transform::Images { shape: [c, h, w] }) => {
                let mut c = ResidualCnnConfig::new(n_outputs)
                    .with_in_channels(*c)
                    .with_image_size([*h, *w])
                    .with_dropout(m.dropout.unwrap_or(0.0));
                if let Some(widths) = &m.channels {
                    c = c.with_widths(widths.clone());
                }
                Self::Resnet(c)
            }
            (ModelKind::Text, Transform::Text { vectorizer, .. }) => match m.encoder {
                Some(TextModel::Tfidf) | None => Self::Mlp(mlp(n_features)?),
                Some(encoder) => Self::Text(
                    TextClassifierConfig::new(vectorizer.vocabulary_size(), n_outputs)
                        .with_encoder(match encoder {
                            TextModel::Transformer => TextEncoder::Transformer,
                            _ => TextEncoder::EmbeddingBag,
                        })
                        .with_max_len(m.max_len.unwrap_or(128))
                        .with_embedding_dim(m.embedding_dim.unwrap_or(64))
                        .with_hidden(m.hidden.clone().unwrap_or_default())
                        .with_dropout(m.dropout.unwrap_or(0.0)),
                ),
            },
            (kind, _) => {
                return Err(invalid(
                    "model.kind",
                    format!(
                        "`{}` does not fit this data",
                        crate::pipeline::resolve::name(kind)
                    ),
                ));
            }
        })
    }
}

/// The training settings of a resolved config.
pub(crate) fn train_config(config: &PipelineConfig) -> TrainConfig {
    let t = &config.train;
    let mut c = TrainConfig::new(
        t.epochs.unwrap_or(1),
        t.batch_size.unwrap_or(32),
        t.learning_rate.unwrap_or(1e-3),
    )
    .with_weight_decay(t.weight_decay.unwrap_or(0.0))
    .with_seed(config.seed);
    if let Some(o) = t.optimizer {
        c = c.with_optimizer(o);
    }
    if let Some(s) = t.lr_schedule {
        c = c.with_lr_schedule(s);
    }
    if let Some(n) = t.grad_clip_norm {
        c = c.with_grad_clip_norm(n);
    }
    c
}

/// Everything one training run needs.
pub(crate) struct FitInput<'a> {
    pub config: &'a PipelineConfig,
    pub device: &'a Device,
    pub transform: &'a Transform,
    pub encoder: &'a TargetEncoder,
    pub train: &'a Set,
    pub valid: Option<&'a Set>,
    pub progress: bool,
    pub observers: Vec<Box<dyn EpochObserver>>,
}

/// What one training run produced.
pub(crate) struct FitOutput {
    pub history: Vec<EpochMetrics>,
    pub best_epoch: usize,
    /// The bundle, when one was asked for.
    pub bundle: Option<AnyBundle>,
}

/// A bundle of whichever model it holds: what the pipeline trains, and what
/// [`AnyBundle::load`] reads back. (The variants differ in size; there is one per run, so
/// they are not boxed.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AnyBundle {
    /// A linear model.
    Linear(Bundle<kiln_models::LinearModel>),
    /// An MLP (tables, images, TF-IDF texts).
    Mlp(Bundle<kiln_models::Mlp>),
    /// The LeNet-style CNN.
    Cnn(Bundle<kiln_models::Cnn>),
    /// The small residual CNN.
    Resnet(Bundle<kiln_models::ResidualCnn>),
    /// A token-id text classifier.
    Text(Bundle<kiln_models::TextClassifier>),
}

/// Runs `$body` with `$b` bound to the concrete bundle.
macro_rules! any_bundle {
    ($any:expr, $b:ident => $body:expr) => {
        match $any {
            AnyBundle::Linear($b) => $body,
            AnyBundle::Mlp($b) => $body,
            AnyBundle::Cnn($b) => $body,
            AnyBundle::Resnet($b) => $body,
            AnyBundle::Text($b) => $body,
        }
    };
}
pub(crate) use any_bundle;

/// Trains the model `choice` describes; with `bundle`, also assembles its bundle.
pub(crate) fn fit(choice: &ModelChoice, input: FitInput<'_>, bundle: bool) -> Result<FitOutput> {
    match choice {
        ModelChoice::Linear(c) => fit_typed(c, input, bundle, AnyBundle::Linear),
        ModelChoice::Mlp(c) => fit_typed(c, input, bundle, AnyBundle::Mlp),
        ModelChoice::Cnn(c) => fit_typed(c, input, bundle, AnyBundle::Cnn),
        ModelChoice::Resnet(c) => fit_typed(c, input, bundle, AnyBundle::Resnet),
        ModelChoice::Text(c) => fit_typed(c, input, bundle, AnyBundle::Text),
    }
}

fn fit_typed<C: ModelConfig>(
    model_config: &C,
    input: FitInput<'_>,
    bundle: bool,
    wrap: fn(Bundle<C::Model>) -> AnyBundle,
) -> Result<FitOutput>
where
    C::Model: BundledModel<Config = C>,
{
    let train_config = train_config(input.config);
    let mut trainer =
        Trainer::new(train_config.clone(), input.device.clone())?.with_progress(input.progress);
    for observer in input.observers {
        trainer = trainer.with_observer(observer);
    }
    if let Some(rule) = &input.config.train.early_stopping
        && input.valid.is_some()
    {
        trainer = trainer.with_early_stopping(
            EarlyStopping::new(EarlyStoppingMetric::ValidLoss, rule.patience)
                .with_min_delta(rule.min_delta),
        );
    }
    let fitted = match (input.train, input.valid) {
        (Set::Classes(train), valid) => {
            let valid = match valid {
                Some(Set::Classes(v)) => Some(v),
                _ => None,
            };
            trainer.fit(model_config, train, valid)?
        }
        (Set::Values(train), valid) => {
            let valid = match valid {
                Some(Set::Values(v)) => Some(v),
                _ => None,
            };
            trainer.fit(model_config, train, valid)?
        }
    };
    let bundle = bundle.then(|| {
        let mut b = Bundle::new(
            fitted.model,
            model_config.clone(),
            train_config,
            input.encoder.clone(),
        );
        match input.transform {
            Transform::Table(prep) => b = b.with_preprocessor(prep.clone()),
            Transform::Text {
                vectorizer,
                input,
                column,
            } => {
                b = b
                    .with_vectorizer(vectorizer.clone(), *input)
                    .with_text_column(column.clone())
            }
            Transform::Images { .. } => {}
        }
        wrap(b)
    });
    Ok(FitOutput {
        history: fitted.history,
        best_epoch: fitted.best_epoch,
        bundle,
    })
}

impl AnyBundle {
    /// Adds metrics, the training profile and lineage.
    pub(crate) fn finish(
        self,
        metrics: &TestMetrics,
        profile: Option<TableProfile>,
        lineage: Lineage,
    ) -> Self {
        let values = metrics.values();
        any_bundle!(self, b => {
            let mut b = b.with_metrics(values.iter().map(|(k, v)| (*k, *v))).with_lineage(lineage);
            if let Some(p) = profile {
                b = b.with_profile(p);
            }
            b.into()
        })
    }

    /// Raw model outputs for examples, through the bundle's own transform, with the values of
    /// categories unseen in training per column.
    pub(crate) fn outputs(
        &self,
        examples: &Examples,
        device: &Device,
        path: &Path,
    ) -> Result<(Matrix, BTreeMap<String, u64>)> {
        any_bundle!(self, b => outputs(b, examples, device, path))
    }

    /// The fitted target.
    pub(crate) fn target(&self) -> &TargetEncoder {
        any_bundle!(self, b => &b.target)
    }

    /// Writes the bundle (atomically: into a staging directory, then renamed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        any_bundle!(self, b => b.save(dir).map_err(PipelineError::from))
    }
}

macro_rules! into_any {
    ($($variant:ident => $model:ty),*) => {
        $(impl From<Bundle<$model>> for AnyBundle {
            fn from(b: Bundle<$model>) -> Self {
                Self::$variant(b)
            }
        })*
    };
}

into_any!(
    Linear => kiln_models::LinearModel,
    Mlp => kiln_models::Mlp,
    Cnn => kiln_models::Cnn,
    Resnet => kiln_models::ResidualCnn,
    Text => kiln_models::TextClassifier
);

/// The one predict path of bundles, trained here or loaded: table rows through the
/// preprocessor (counting unseen categories on the way), texts through the vectorizer, images
/// as pixels.
pub(crate) fn outputs<M: BundledModel>(
    bundle: &Bundle<M>,
    examples: &Examples,
    device: &Device,
    path: &Path,
) -> Result<(Matrix, BTreeMap<String, u64>)> {
    match examples {
        Examples::Table(table) => {
            if bundle.vectorizer.is_some() {
                let column = match &bundle.text_column {
                    Some(name) => name.clone(),
                    // Bundles from before the column was recorded.
                    None => table
                        .features()
                        .find(|c| c.column_type() == kiln_data::ColumnType::Text)
                        .or_else(|| table.features().next())
                        .map(|c| c.name().to_owned())
                        .ok_or_else(|| {
                            invalid(
                                "data",
                                format!("{}: no text column to predict from", path.display()),
                            )
                        })?,
                };
                if table.column(&column).is_err() {
                    return Err(invalid(
                        "data",
                        format!(
                            "{}: no column `{column}`, which this bundle reads its texts from",
                            path.display()
                        ),
                    ));
                }
                let texts = texts(table, &column, path)?;
                Ok((bundle.predict_texts(&texts, device)?, BTreeMap::new()))
            } else {
                let Some(preprocessor) = &bundle.preprocessor else {
                    return Ok((bundle.predict_table(table, device)?, BTreeMap::new()));
                };
                let (features, unknown) = preprocessor
                    .transform_counted(table)
                    .map_err(data_error(path))?;
                Ok((bundle.predict_features(&features, device)?, unknown))
            }
        }
        Examples::Images(images) => {
            let features = images
                .features(&Normalize::Unit)
                .map_err(data_error(path))?;
            Ok((bundle.predict_features(&features, device)?, BTreeMap::new()))
        }
    }
}
