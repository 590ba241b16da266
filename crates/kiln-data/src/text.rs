//! Labelled text datasets read from `text,label` CSVs.

use std::path::Path;

use crate::column::ColumnData;
use crate::column_type::ColumnType;
use crate::csv::CsvLoader;
use crate::error::{DataError, Result};

/// One document and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextItem {
    /// The document.
    pub text: String,
    /// The class code, an index into [`TextDataset::classes`].
    pub label: u32,
}

/// Documents with class labels, e.g. the SpamAssassin corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDataset {
    texts: Vec<String>,
    labels: Vec<u32>,
    classes: Vec<String>,
}

impl TextDataset {
    /// Reads a CSV (plain or gzip) and keeps the `text_column` and `label_column`.
    ///
    /// Fields may be long and hold newlines and commas (standard CSV quoting). Labels may be
    /// integers, booleans or strings; integers are sorted numerically into class codes.
    /// A missing text or label is an error naming the row.
    pub fn from_csv(path: impl AsRef<Path>, text_column: &str, label_column: &str) -> Result<Self> {
        let table = CsvLoader::new()
            .with_missing_values::<&str>(&[])
            .with_column_type(text_column, ColumnType::Text)
            .with_column_type(label_column, ColumnType::Categorical)
            .load(path)?;
        let labels = table.column(label_column)?;
        let (codes, classes) = match labels.data() {
            // Labels that are all integers sort numerically ("2" before "10").
            ColumnData::Categorical { codes, levels }
                if levels.iter().all(|l| l.parse::<i64>().is_ok()) =>
            {
                let mut order: Vec<usize> = (0..levels.len()).collect();
                order.sort_by_key(|&i| levels[i].parse::<i64>().unwrap_or(0));
                let mut remap = vec![0u32; levels.len()];
                for (new, &old) in order.iter().enumerate() {
                    remap[old] = new as u32;
                }
                let classes = order.iter().map(|&i| levels[i].clone()).collect();
                (codes.iter().map(|&c| remap[c as usize]).collect(), classes)
            }
            _ => labels.class_codes()?,
        };
        let texts = match table.column(text_column)?.data() {
            ColumnData::Text(v) => v.clone(),
            _ => unreachable!("the text column was loaded as text"),
        };
        Self::new(texts, codes, classes)
    }

    /// A dataset from parallel vectors; every label must index `classes`.
    pub fn new(texts: Vec<String>, labels: Vec<u32>, classes: Vec<String>) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(DataError::config(
                "labels",
                format!("{} labels for {} texts", labels.len(), texts.len()),
            ));
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= classes.len()) {
            return Err(DataError::config(
                "labels",
                format!(
                    "label {} at row {i} but there are {} classes",
                    labels[i],
                    classes.len()
                ),
            ));
        }
        Ok(Self {
            texts,
            labels,
            classes,
        })
    }

    /// The documents.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// The class codes, one per document.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The class names, indexed by code.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The number of documents.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The documents at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        Self {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes.clone(),
        }
    }
}

impl burn_dataset::Dataset<TextItem> for TextDataset {
    fn get(&self, index: usize) -> Result<TextItem, burn_dataset::DatasetError> {
        if index >= self.len() {
            return Err(crate::error::out_of_range(index, self.len()));
        }
        Ok(TextItem {
            text: self.texts[index].clone(),
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.texts.len()
    }
}
