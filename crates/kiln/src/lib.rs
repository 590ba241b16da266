//! # Kiln
//!
//! From raw data to a trained, tuned, monitored model in Rust, built on
//! [Burn](https://burn.dev). This facade is the crate to `cargo add`; it re-exports the
//! workspace crates under short names and passes Burn's backend flags through.
//!
//! | module | crate | what it holds | status |
//! |---|---|---|---|
//! | [`data`] | `kiln-data` | CSV/IDX/text loaders, splits, preprocessing, quality checks, profiles | works |
//! | [`models`] | `kiln-models` | Burn modules with serde configs | linear, MLP, CNN, ResNet, text |
//! | [`train`] | `kiln-train` | trainer, metrics, checkpoints, events, bundles | works |
//! | [`tune`] | `kiln-tune` | samplers, pruners, studies, SQLite storage | works (see docs/tuning.md) |
//! | [`track`] | `kiln-track` | runs, local and MLflow stores, HTML reports | works (see docs/tracking.md) |
//! | [`monitor`] | `kiln-monitor` | drift statistics, reports, monitors, fairness | works (see docs/monitoring.md) |
//! | [`pipeline`] | this crate | a data file in, a validated, tuned, tracked model bundle out; `kiln train` | works (see docs/pipeline.md) |
//! | `serve` | this crate (`serve` feature) | a bundle behind HTTP: MLflow scoring, Open Inference Protocol, metrics, live monitoring; `kiln serve` | works (see docs/serving.md) |
//!
//! ## Features
//!
//! Backends are chosen at run time through Burn's `Device`; a feature compiles one in, and
//! [`backend::device`] picks a compiled-in one by name.
//!
//! | feature | default | what it enables |
//! |---|---|---|
//! | `flex` | yes | Burn's pure-Rust CPU backend (`Device::flex()`), with Kiln's own CPU kernels for convolution, pooling, linear layers and Adam (`kiln_models::KilnOps`; `RAYON_NUM_THREADS` limits their threads) |
//! | `ndarray` | no | Burn's ndarray CPU backend (deprecated upstream, kept available) |
//! | `cpu` | no | Burn's CubeCL CPU backend (LLVM) |
//! | `wgpu` | no | GPUs through wgpu (Vulkan, Metal, DX12; lavapipe on CPU) |
//! | `cuda` | no | NVIDIA GPUs through CUDA |
//! | `fusion` | no | Burn's kernel fusion on the CubeCL backends (`cpu`, `wgpu`, `cuda`): element-wise chains as one kernel |
//! | `download` | yes | fetch bundled datasets into a cache when no local copy exists (`KILN_OFFLINE=1` turns it off) |
//! | `serve` | no | `kiln::serve`: a bundle behind an HTTP endpoint (axum on tokio) |
//! | `postgres` | no | studies in PostgreSQL (`postgres://` storage URLs), shared by workers on many machines |
//! | `cli` | no | the `kiln` binary: `train`, `validate`, `evaluate`, `predict`, `monitor`, `serve`, `runs`, `report`, `drift` (turns on `serve` and `postgres`) |
//!
//! ## Example
//!
//! ```no_run
//! use kiln::prelude::*;
//!
//! let table = datasets::tabular("iris")?;
//! let report = QualitySuite::defaults_for(&table).run(&table)?;
//! println!("{}\n{report}", TableProfile::from_table(&table));
//! # Ok::<(), kiln::data::DataError>(())
//! ```

pub mod backend;
pub mod pipeline;
#[cfg(feature = "serve")]
pub mod serve;
pub mod tracking;
pub mod tuning;

pub use burn;
pub use kiln_data as data;
pub use kiln_models as models;
pub use kiln_monitor as monitor;
pub use kiln_track as track;
pub use kiln_train as train;
pub use kiln_tune as tune;

/// The types most programs use, by explicit list.
pub mod prelude {
    pub use burn::tensor::{Device, Int, Tensor, TensorData};
    pub use kiln_data::{
        Check, Column, ColumnType, CsvLoader, DataError, Dataset, Impute, LabeledDataset, Matrix,
        MnistDataset, Preprocessor, PreprocessorConfig, QualityReport, QualitySuite, Scaling,
        Schema, Table, TableProfile, TargetEncoder, Targets, Task, TextDataset, VectorizerConfig,
        datasets, datasets::Datasets, datasets::Split, split,
    };
    pub use kiln_models::{
        Cnn, CnnConfig, LinearModel, LinearModelConfig, Mlp, MlpConfig, ResidualCnn,
        ResidualCnnConfig, TextClassifier, TextClassifierConfig, TextEncoder,
    };
    pub use kiln_train::{
        Bundle, ClassificationSet, Control, EarlyStopping, EarlyStoppingMetric, EpochMetrics,
        EpochObserver, OptimizerKind, Predictions, RegressionSet, TrainConfig, Trainer,
    };
}
