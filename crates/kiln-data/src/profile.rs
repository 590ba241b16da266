//! Column profiles: one-pass, mergeable summaries of a table's columns.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::column::{Column, Table};
use crate::column_type::ColumnType;
use crate::error::{DataError, Result};
use crate::sketch::QuantileSketch;

/// Quantiles reported by [`NumericProfile::summary`].
pub const SUMMARY_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];
/// Bins in [`NumericProfile::summary`]'s histogram.
pub const HISTOGRAM_BINS: usize = 10;

/// Running statistics of a numeric (integer, float or boolean) column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    count: u64,
    missing: u64,
    non_finite: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    sketch: QuantileSketch,
}

impl Default for NumericProfile {
    fn default() -> Self {
        Self {
            count: 0,
            missing: 0,
            non_finite: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sketch: QuantileSketch::default(),
        }
    }
}

impl NumericProfile {
    /// Adds one value (`None` = missing; NaN and ±inf are counted apart, not summarised).
    pub fn observe(&mut self, value: Option<f64>) {
        let Some(x) = value else {
            self.missing += 1;
            return;
        };
        if !x.is_finite() {
            self.non_finite += 1;
            return;
        }
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sketch.insert(x);
    }

    /// Folds in the profile of another chunk (Chan et al.'s parallel variance update).
    pub fn merge(&mut self, other: &Self) {
        let n = self.count + other.count;
        if n > 0 {
            let delta = other.mean - self.mean;
            let (a, b) = (self.count as f64, other.count as f64);
            self.mean += delta * b / n as f64;
            self.m2 += other.m2 + delta * delta * a * b / n as f64;
        }
        self.count = n;
        self.missing += other.missing;
        self.non_finite += other.non_finite;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sketch.merge(&other.sketch);
    }

    /// Finite values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Missing values seen.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// NaN or infinite values seen.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// The mean, if any value was seen.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// The sample standard deviation (n − 1), as pandas' `std`.
    pub fn std(&self) -> Option<f64> {
        (self.count > 1).then(|| (self.m2 / (self.count - 1) as f64).sqrt())
    }

    /// The smallest value.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The quantile sketch of the finite values.
    pub fn sketch(&self) -> &QuantileSketch {
        &self.sketch
    }

    /// The `q`-quantile (exact up to 4096 values, approximate beyond).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.sketch.quantile(q)
    }

    /// Equal-width histogram over `[min, max]`.
    pub fn histogram(&self, bins: usize) -> Histogram {
        let (min, max) = (self.min().unwrap_or(0.0), self.max().unwrap_or(0.0));
        let edges = (0..=bins)
            .map(|i| min + (max - min) * i as f64 / bins.max(1) as f64)
            .collect();
        Histogram {
            edges,
            counts: self.sketch.histogram(min, max, bins),
        }
    }

    /// The headline numbers, as shown in reports.
    pub fn summary(&self) -> NumericSummary {
        NumericSummary {
            count: self.count,
            missing: self.missing,
            non_finite: self.non_finite,
            mean: self.mean(),
            std: self.std(),
            min: self.min(),
            max: self.max(),
            quantiles: SUMMARY_QUANTILES
                .iter()
                .zip(self.sketch.quantiles(&SUMMARY_QUANTILES))
                .filter_map(|(&q, v)| v.map(|v| (q, v)))
                .collect(),
            histogram: self.histogram(HISTOGRAM_BINS),
        }
    }
}

/// Bin edges (`bins + 1`) and counts (`bins`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges, ascending.
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
}

/// The report view of a [`NumericProfile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericSummary {
    /// Finite values.
    pub count: u64,
    /// Missing values.
    pub missing: u64,
    /// NaN or infinite values.
    pub non_finite: u64,
    /// Mean.
    pub mean: Option<f64>,
    /// Sample standard deviation.
    pub std: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// `(q, value)` pairs for [`SUMMARY_QUANTILES`].
    pub quantiles: Vec<(f64, f64)>,
    /// Equal-width histogram.
    pub histogram: Histogram,
}

/// Value frequencies of a categorical or text column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    count: u64,
    missing: u64,
    frequencies: BTreeMap<String, u64>,
}

impl CategoricalProfile {
    /// Adds one value (`None` = missing).
    pub fn observe(&mut self, value: Option<&str>) {
        match value {
            Some(v) => {
                self.count += 1;
                *self.frequencies.entry(v.to_owned()).or_default() += 1;
            }
            None => self.missing += 1,
        }
    }

    /// Folds in another chunk's profile.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.missing += other.missing;
        for (k, v) in &other.frequencies {
            *self.frequencies.entry(k.clone()).or_default() += v;
        }
    }

    /// Present values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Missing values seen.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Count per distinct value.
    pub fn frequencies(&self) -> &BTreeMap<String, u64> {
        &self.frequencies
    }

    /// The `n` most frequent values, most frequent first (ties alphabetical).
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self
            .frequencies
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

/// Lengths of a free-text column (its values are too many to count one by one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextProfile {
    count: u64,
    missing: u64,
    lengths: NumericProfile,
}

impl TextProfile {
    /// Adds one value (`None` = missing).
    pub fn observe(&mut self, value: Option<&str>) {
        match value {
            Some(v) => {
                self.count += 1;
                self.lengths.observe(Some(v.chars().count() as f64));
            }
            None => self.missing += 1,
        }
    }

    /// Folds in another chunk's profile.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.missing += other.missing;
        self.lengths.merge(&other.lengths);
    }

    /// Present values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Missing values seen.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Statistics of the values' lengths in characters.
    pub fn lengths(&self) -> &NumericProfile {
        &self.lengths
    }
}

/// The profile of one column, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnProfile {
    /// Integer, float and boolean columns.
    Numeric(NumericProfile),
    /// Categorical columns.
    Categorical(CategoricalProfile),
    /// Text columns.
    Text(TextProfile),
}

impl ColumnProfile {
    fn for_type(column_type: ColumnType) -> Self {
        match column_type {
            ColumnType::Integer | ColumnType::Float | ColumnType::Boolean => {
                Self::Numeric(NumericProfile::default())
            }
            ColumnType::Categorical => Self::Categorical(CategoricalProfile::default()),
            ColumnType::Text => Self::Text(TextProfile::default()),
        }
    }

    fn observe_column(&mut self, column: &Column) {
        for row in 0..column.len() {
            match self {
                Self::Numeric(p) => p.observe(column.f64_at(row)),
                Self::Categorical(p) => p.observe(column.text_at(row).as_deref()),
                Self::Text(p) => p.observe(column.text_at(row).as_deref()),
            }
        }
    }

    fn merge(&mut self, other: &Self) -> bool {
        match (self, other) {
            (Self::Numeric(a), Self::Numeric(b)) => a.merge(b),
            (Self::Categorical(a), Self::Categorical(b)) => a.merge(b),
            (Self::Text(a), Self::Text(b)) => a.merge(b),
            _ => return false,
        }
        true
    }
}

/// Profiles of every column of a table, in column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProfile {
    rows: u64,
    columns: Vec<(String, ColumnType, ColumnProfile)>,
}

impl TableProfile {
    /// Profiles a table in one pass over each column.
    pub fn from_table(table: &Table) -> Self {
        let columns = table
            .columns()
            .iter()
            .map(|c| {
                let mut p = ColumnProfile::for_type(c.column_type());
                p.observe_column(c);
                (c.name().to_owned(), c.column_type(), p)
            })
            .collect();
        Self {
            rows: table.rows() as u64,
            columns,
        }
    }

    /// Profiles a stream of chunks (e.g. [`CsvLoader::chunks`](crate::CsvLoader::chunks)).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Result<Table>>) -> Result<Self> {
        let mut profile: Option<Self> = None;
        for chunk in chunks {
            let next = Self::from_table(&chunk?);
            match &mut profile {
                Some(p) => p.merge(&next)?,
                None => profile = Some(next),
            }
        }
        profile.ok_or_else(|| DataError::config("chunks", "no chunk to profile"))
    }

    /// Folds in the profile of another chunk with the same columns.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        let same = self.columns.len() == other.columns.len()
            && self
                .columns
                .iter()
                .zip(&other.columns)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
        if !same {
            return Err(DataError::config(
                "profile",
                "cannot merge profiles of tables with different columns",
            ));
        }
        self.rows += other.rows;
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.2.merge(&b.2);
        }
        Ok(())
    }

    /// Rows profiled.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The profile of column `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.0 == name).map(|c| &c.2)
    }

    /// `(name, type, profile)` for every column.
    pub fn columns(&self) -> &[(String, ColumnType, ColumnProfile)] {
        &self.columns
    }

    /// The profile as pretty JSON (mergeable again after reading back).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| DataError::Json {
            context: "serializing a profile".into(),
            source,
        })
    }

    /// A profile from JSON written by [`to_json`](Self::to_json).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|source| DataError::Json {
            context: "reading a profile".into(),
            source,
        })
    }
}

impl fmt::Display for TableProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} rows", self.rows)?;
        let width = self.columns.iter().map(|c| c.0.len()).max().unwrap_or(0);
        let num = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        for (name, column_type, profile) in &self.columns {
            let ty = column_type.name();
            match profile {
                ColumnProfile::Numeric(p) => {
                    let s = p.summary();
                    let q = |q: f64| s.quantiles.iter().find(|(x, _)| *x == q).map(|(_, v)| *v);
                    writeln!(
                        f,
                        "  {name:<width$}  {ty:<11}  missing {:>5}  mean {}  std {}  min {}  p25 {}  p50 {}  p75 {}  max {}",
                        s.missing,
                        num(s.mean),
                        num(s.std),
                        num(s.min),
                        num(q(0.25)),
                        num(q(0.5)),
                        num(q(0.75)),
                        num(s.max),
                    )?;
                }
                ColumnProfile::Categorical(p) => {
                    let top: Vec<String> =
                        p.top(5).iter().map(|(k, v)| format!("{k} ({v})")).collect();
                    writeln!(
                        f,
                        "  {name:<width$}  {ty:<11}  missing {:>5}  distinct {}  top: {}",
                        p.missing(),
                        p.frequencies().len(),
                        top.join(", ")
                    )?;
                }
                ColumnProfile::Text(p) => {
                    writeln!(
                        f,
                        "  {name:<width$}  {ty:<11}  missing {:>5}  length mean {}  max {}",
                        p.missing(),
                        num(p.lengths().mean()),
                        num(p.lengths().max()),
                    )?;
                }
            }
        }
        Ok(())
    }
}
