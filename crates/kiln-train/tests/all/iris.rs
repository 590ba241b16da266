//! The iris fixture, written once: kiln-train's integration tests use it as a module and
//! kiln's include this file by path (`crates/kiln/tests/all/main.rs`). Iris is split
//! stratified with seed 0 and standardized on its training part.

// Each test binary uses part of the fixture.
#![allow(dead_code)]

use kiln_data::{
    LabeledDataset, Preprocessor, PreprocessorConfig, Table, Targets, datasets, split,
};
use kiln_train::ClassificationSet;

/// Iris, split and preprocessed.
pub struct Iris {
    /// The training rows, as read.
    pub train_table: Table,
    /// The test rows, as read.
    pub test_table: Table,
    /// Fitted on the training rows.
    pub prep: Preprocessor,
    /// The training rows, preprocessed, with their classes.
    pub train: LabeledDataset,
    /// The test rows, preprocessed, with their classes.
    pub test: LabeledDataset,
    /// The class names, in code order.
    pub names: Vec<String>,
}

impl Iris {
    /// Iris with `test_fraction` of each class held out (seed 0).
    pub fn split(test_fraction: f64) -> Self {
        let table = datasets::tabular("iris").unwrap();
        let (codes, names) = table.target().unwrap().class_codes().unwrap();
        let parts = split::stratified_holdout(&codes, test_fraction, 0).unwrap();
        let (train_table, test_table) = (table.take(&parts.train), table.take(&parts.test));
        let prep = PreprocessorConfig::default().fit(&train_table).unwrap();
        let labeled = |t: &Table, rows: &[usize]| {
            let targets = Targets::Classes {
                codes: rows.iter().map(|&r| codes[r]).collect(),
                names: names.clone(),
            };
            LabeledDataset::new(prep.transform(t).unwrap(), targets).unwrap()
        };
        Self {
            train: labeled(&train_table, &parts.train),
            test: labeled(&test_table, &parts.test),
            train_table,
            test_table,
            prep,
            names,
        }
    }

    /// The two parts as training sets.
    pub fn sets(&self) -> (ClassificationSet, ClassificationSet) {
        (
            ClassificationSet::from_labeled(&self.train).unwrap(),
            ClassificationSet::from_labeled(&self.test).unwrap(),
        )
    }
}

/// Iris 80/20 as training sets.
pub fn iris() -> (ClassificationSet, ClassificationSet) {
    Iris::split(0.2).sets()
}
