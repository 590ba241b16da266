//! Applying a bundle to new data: evaluate, predict and monitor, through the same predict
//! path the pipeline scored its test part with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use kiln_data::bundle::{BundleError, Manifest, TextInput};
use kiln_data::{
    ColumnType, CsvLoader, Matrix, Preprocessor, TableProfile, TargetEncoder, Vectorizer,
};
use kiln_monitor::{Monitor, MonitorConfig, Outputs, Window, WindowReport};
use kiln_train::{Bundle, BundledModel, ModelConfig, Predictions};

use crate::pipeline::config::{DataFormat, DataSection, PipelineConfig};
use crate::pipeline::data::{self, Examples};
use crate::pipeline::error::{PipelineError, Result, data_error, invalid};
pub use crate::pipeline::fit::AnyBundle;
use crate::pipeline::fit::any_bundle;
use crate::pipeline::metrics::TestMetrics;

impl AnyBundle {
    /// Loads the bundle in `dir`, whichever model it holds.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let bad = |source: BundleError| PipelineError::Bundle {
            path: dir.to_owned(),
            source: Box::new(source),
        };
        let manifest = Manifest::read(dir).map_err(bad)?;
        Ok(match manifest.model.as_str() {
            "linear" => Self::Linear(Bundle::load(dir, device)?),
            "mlp" => Self::Mlp(Bundle::load(dir, device)?),
            "cnn" => Self::Cnn(Bundle::load(dir, device)?),
            "residual_cnn" => Self::Resnet(Bundle::load(dir, device)?),
            "text_classifier" => Self::Text(Bundle::load(dir, device)?),
            other => {
                return Err(bad(BundleError::Input(format!(
                    "holds a `{other}` model, which this Kiln cannot load"
                ))));
            }
        })
    }

    /// The pipeline config the bundle was trained with, when a pipeline trained it.
    pub fn pipeline_config(&self) -> Option<PipelineConfig> {
        let lineage = any_bundle!(self, b => b.lineage.as_ref())?;
        serde_json::from_value(lineage.config.clone()).ok()
    }

    /// The fitted target.
    pub fn target_encoder(&self) -> &TargetEncoder {
        self.target()
    }

    /// The fitted preprocessing from table rows to features (table bundles).
    pub fn preprocessor(&self) -> Option<&Preprocessor> {
        any_bundle!(self, b => b.preprocessor.as_ref())
    }

    /// The fitted text vectorizer and how it feeds the model (text bundles).
    pub fn vectorizer(&self) -> Option<&(Vectorizer, TextInput)> {
        any_bundle!(self, b => b.vectorizer.as_ref())
    }

    /// The column a text bundle reads its texts from, when the bundle records it.
    pub fn text_column(&self) -> Option<&str> {
        any_bundle!(self, b => b.text_column.as_deref())
    }

    /// The training data's column profile.
    pub fn profile(&self) -> Option<&TableProfile> {
        any_bundle!(self, b => b.profile.as_ref())
    }

    /// The features per row the model reads (`None` for token ids, which any length fits).
    pub fn input_width(&self) -> Option<usize> {
        any_bundle!(self, b => b.model_config.input_width())
    }

    /// The model's kind as its manifest names it (`mlp`, `cnn`, …).
    pub fn kind(&self) -> &'static str {
        any_bundle!(self, b => model_kind(b))
    }

    /// Model outputs (class logits or values) for feature rows, as
    /// [`Bundle::predict_features`].
    pub fn predict_features(&self, features: &Matrix, device: &Device) -> Result<Matrix> {
        Ok(any_bundle!(self, b => b.predict_features(features, device))?)
    }

    /// Decoded predictions for examples.
    pub fn predict(
        &self,
        examples: &Examples,
        device: &Device,
        path: &Path,
    ) -> Result<Predictions> {
        let (outputs, _) = self.outputs(examples, device, path)?;
        Ok(Predictions::decode(self.target(), &outputs))
    }

    /// Reads `path` as the bundle's training data was read: a directory of images (IDX, CIFAR,
    /// an image folder: its test part when it has one), or a CSV with the training columns'
    /// types (a text CSV keeps empty texts as texts). The target column is set when the file
    /// has it; `need_target` makes its absence an error.
    pub fn read_data(&self, path: &Path, need_target: bool) -> Result<Examples> {
        let config = self.pipeline_config();
        let target = config.as_ref().and_then(|c| c.data.target.clone());
        let format = config.as_ref().map_or(DataFormat::Auto, |c| c.data.format);
        let images = any_bundle!(self, b => b.preprocessor.is_none() && b.vectorizer.is_none());
        let parquet = data::is_parquet(path);
        if (path.is_dir() && !parquet)
            || (images && !matches!(format, DataFormat::Csv | DataFormat::Parquet))
        {
            if !images {
                return Err(invalid(
                    "data",
                    format!(
                        "{}: this bundle reads {} data, not a directory of images",
                        path.display(),
                        if format == DataFormat::Text {
                            "text"
                        } else {
                            "table"
                        }
                    ),
                ));
            }
            // The training data's image options (size, colour) hold for new images too; the
            // format follows the new path (an IDX-trained bundle may score an image folder).
            let trained = config.map(|c| c.data).unwrap_or_default();
            let section = DataSection {
                path: path.to_owned(),
                format: DataFormat::Auto,
                image_size: trained.image_size,
                color: trained.color,
                skip_corrupt: trained.skip_corrupt,
                ..DataSection::default()
            };
            let dataset = data::load(&section)?;
            return Ok(dataset.test.unwrap_or(dataset.train));
        }
        let mut loader = CsvLoader::new();
        if format == DataFormat::Text {
            loader = loader.with_missing_values::<&str>(&[]);
        }
        if parquet {
            // Parquet carries its own types; the preprocessor checks them against training's.
        } else if let Some(profile) = any_bundle!(self, b => b.profile.as_ref()) {
            let header = loader
                .infer_schema(path)
                .map_err(data_error(path))?
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();
            for (name, column_type, _) in profile.columns() {
                if header.contains(name) {
                    loader = loader.with_column_type(name.clone(), *column_type);
                }
            }
        } else if format == DataFormat::Text {
            let header = loader.infer_schema(path).map_err(data_error(path))?;
            for name in header.names() {
                if Some(name) != target.as_deref() {
                    loader = loader.with_column_type(name, ColumnType::Text);
                }
            }
        }
        let table = if parquet {
            kiln_data::ParquetLoader::new().load(path)
        } else {
            loader.load(path)
        }
        .map_err(data_error(path))?;
        let table = match &target {
            Some(t) if table.column(t).is_ok() => table.with_target(t).map_err(data_error(path))?,
            Some(t) if need_target => {
                return Err(invalid(
                    "data",
                    format!(
                        "{} has no target column `{t}` to evaluate against",
                        path.display()
                    ),
                ));
            }
            None if need_target => {
                return Err(invalid(
                    "data",
                    "this bundle does not record its target column (it was not trained by a \
                     pipeline); evaluate it from code",
                ));
            }
            _ => table,
        };
        Ok(Examples::Table(table))
    }
}

fn model_kind<M: BundledModel>(_: &Bundle<M>) -> &'static str {
    <M::Config as ModelConfig>::KIND
}

/// A bundle's scores on new labelled data.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The metrics.
    pub metrics: TestMetrics,
    /// Rows scored.
    pub rows: usize,
    /// Values of categories unseen in training, per column (encoded as all zeros).
    pub unknown_categories: BTreeMap<String, u64>,
}

/// Scores the bundle in `bundle_dir` on the labelled data at `data`.
pub fn evaluate(bundle_dir: &Path, data: &Path, device: &Device) -> Result<Evaluation> {
    let bundle = AnyBundle::load(bundle_dir, device)?;
    let examples = bundle.read_data(data, true)?;
    let (outputs, unknown) = bundle.outputs(&examples, device, data)?;
    let truth = examples
        .target()
        .ok_or_else(|| invalid("data", format!("{} has no target", data.display())))?;
    let metrics = TestMetrics::score(bundle.target(), &truth, &outputs)?;
    Ok(Evaluation {
        metrics,
        rows: examples.rows(),
        unknown_categories: unknown,
    })
}

/// The bundle's predictions for every row of `data`, with the examples read.
pub fn predict(bundle_dir: &Path, data: &Path, device: &Device) -> Result<(Examples, Predictions)> {
    let bundle = AnyBundle::load(bundle_dir, device)?;
    let examples = bundle.read_data(data, false)?;
    let predictions = bundle.predict(&examples, device, data)?;
    Ok((examples, predictions))
}

/// Writes predictions: `prediction`, then one `probability_<class>` column per class; as
/// Parquet when `path` ends in `.parquet`, `.parq` or `.pq` (the prediction a categorical
/// column, the probabilities 64-bit floats), else as CSV.
pub fn write_predictions(path: &Path, predictions: &Predictions) -> Result<()> {
    if data::is_parquet(path) {
        return write_predictions_parquet(path, predictions);
    }
    let mut out = String::new();
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    match predictions {
        Predictions::Classes {
            classes,
            codes,
            probabilities,
        } => {
            out.push_str("prediction");
            for c in classes {
                let _ = write!(out, ",{}", quote(&format!("probability_{c}")));
            }
            out.push('\n');
            for (r, &code) in codes.iter().enumerate() {
                out.push_str(&quote(&classes[code as usize]));
                for p in probabilities.row(r) {
                    let _ = write!(out, ",{p}");
                }
                out.push('\n');
            }
        }
        Predictions::Values(values) => {
            out.push_str("prediction\n");
            for v in values {
                let _ = writeln!(out, "{v}");
            }
        }
    }
    // Written beside the target and renamed, so a reader never sees half a file.
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    std::fs::write(&partial, out)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|source| PipelineError::Io {
            path: path.to_owned(),
            source,
        })
}

fn write_predictions_parquet(path: &Path, predictions: &Predictions) -> Result<()> {
    use kiln_data::{Column, ColumnData, ParquetWriter, Table};
    let columns = match predictions {
        Predictions::Classes {
            classes,
            codes,
            probabilities,
        } => {
            let mut columns = vec![Column::new(
                "prediction",
                ColumnData::Categorical {
                    codes: codes.clone(),
                    levels: classes.clone(),
                },
                None,
            )];
            columns.extend(classes.iter().enumerate().map(|(c, class)| {
                let values = (0..probabilities.rows())
                    .map(|r| f64::from(probabilities.row(r)[c]))
                    .collect();
                Column::new(
                    format!("probability_{class}"),
                    ColumnData::Float(values),
                    None,
                )
            }));
            columns
        }
        Predictions::Values(values) => vec![Column::new(
            "prediction",
            ColumnData::Float(values.clone()),
            None,
        )],
    };
    let table = Table::new(columns).map_err(data_error(path))?;
    ParquetWriter::new()
        .write(&table, path)
        .map_err(data_error(path))
}

/// Input drift and prediction drift of `data` against the bundle's training profile (and
/// accuracy, when `data` has the target), as one window.
pub fn monitor(bundle_dir: &Path, data: &Path, device: &Device) -> Result<WindowReport> {
    let bundle = AnyBundle::load(bundle_dir, device)?;
    let examples = bundle.read_data(data, false)?;
    let Examples::Table(table) = &examples else {
        return Err(invalid(
            "data",
            "monitoring compares table columns; this bundle reads images",
        ));
    };
    let predictions = bundle.predict(&examples, device, data)?;
    let mut monitor = Monitor::from_bundle(bundle_dir, MonitorConfig::new(Window::Rows(u64::MAX)))?;
    let labels = predictions.labels();
    let values: Vec<f64>;
    let outputs = match &predictions {
        Predictions::Classes { .. } => Outputs::Classes(&labels),
        Predictions::Values(v) => {
            values = v.clone();
            Outputs::Values(&values)
        }
    };
    monitor.observe(table, outputs)?;
    if let Some(target) = table.target() {
        match &predictions {
            Predictions::Classes { .. } => {
                let truth: Vec<String> = (0..target.len())
                    .map(|i| {
                        target
                            .text_at(i)
                            .map(|t| t.into_owned())
                            .unwrap_or_default()
                    })
                    .collect();
                monitor.observe_labels(outputs, Outputs::Classes(&truth))?;
            }
            Predictions::Values(_) => {
                let truth: Vec<f64> = (0..target.len())
                    .map(|i| target.f64_at(i).unwrap_or(f64::NAN))
                    .collect();
                monitor.observe_labels(outputs, Outputs::Values(&truth))?;
            }
        }
    }
    monitor
        .flush()?
        .ok_or_else(|| invalid("data", format!("{} has no rows", data.display())))
}
