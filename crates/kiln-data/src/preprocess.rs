//! Fitted preprocessing: impute, scale and one-hot encode a table into a numeric matrix.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::column::{Column, ColumnData, Table};
use crate::column_type::ColumnType;
use crate::error::{DataError, Result};
use crate::matrix::Matrix;

/// How missing values are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    /// Do not impute: a missing value is an error at transform time.
    None,
    /// The training mean (numeric columns; categoricals use the most frequent value).
    Mean,
    /// The training median (numeric columns; categoricals use the most frequent value).
    Median,
    /// The most frequent training value.
    MostFrequent,
}

/// How numeric columns are rescaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Leave values as they are.
    None,
    /// Subtract the training mean, divide by the training standard deviation (population).
    Standardize,
    /// Map the training range to `[0, 1]`.
    MinMax,
    /// Map each value to its quantile among the training values, then through the standard
    /// normal's inverse CDF (scikit-learn's `QuantileTransformer(output_distribution="normal")`
    /// with up to 1,000 quantiles): robust to outliers and skew, the usual choice for MLPs on
    /// tables.
    Quantile,
}

/// Quantiles kept per column by [`Scaling::Quantile`] (scikit-learn's default `n_quantiles`).
const N_QUANTILES: usize = 1000;

/// What one-hot encoding does with a category it did not see during fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCategory {
    /// Return [`DataError::UnknownCategory`].
    Error,
    /// Encode it as all zeros.
    Ignore,
}

/// Settings of a [`Preprocessor`]; [`fit`](Self::fit) learns the statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessorConfig {
    /// Imputation for missing values.
    pub impute: Impute,
    /// Scaling of numeric (integer, float) columns.
    pub scaling: Scaling,
    /// Policy for unseen categories.
    pub unknown: UnknownCategory,
    /// Columns to leave out (text columns must be left out or vectorized separately).
    pub exclude: Vec<String>,
}

impl Default for PreprocessorConfig {
    fn default() -> Self {
        Self {
            impute: Impute::None,
            scaling: Scaling::Standardize,
            unknown: UnknownCategory::Error,
            exclude: Vec::new(),
        }
    }
}

impl PreprocessorConfig {
    /// Sets the imputation.
    pub fn with_impute(mut self, impute: Impute) -> Self {
        self.impute = impute;
        self
    }

    /// Sets the scaling.
    pub fn with_scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// Sets the unknown-category policy.
    pub fn with_unknown(mut self, unknown: UnknownCategory) -> Self {
        self.unknown = unknown;
        self
    }

    /// Leaves a column out of the features.
    pub fn with_exclude(mut self, column: impl Into<String>) -> Self {
        self.exclude.push(column.into());
        self
    }

    /// Learns per-column statistics from the training table's feature columns (the target
    /// and excluded columns are skipped). Numeric and boolean columns become one feature;
    /// categorical columns one feature per category seen.
    pub fn fit(self, train: &Table) -> Result<Preprocessor> {
        if train.rows() == 0 {
            return Err(DataError::config("train", "fit needs at least one row"));
        }
        for name in &self.exclude {
            train.column(name)?;
        }
        let mut steps = Vec::new();
        for column in train.features() {
            if self.exclude.iter().any(|e| e == column.name()) {
                continue;
            }
            steps.push(match column.column_type() {
                ColumnType::Integer | ColumnType::Float | ColumnType::Boolean => {
                    self.fit_numeric(column)?
                }
                ColumnType::Categorical => self.fit_categorical(column),
                ColumnType::Text => {
                    return Err(DataError::ColumnType {
                        column: column.name().into(),
                        found: ColumnType::Text,
                        operation: "tabular preprocessing".into(),
                        needed: "a non-text column; exclude it, or use a `Vectorizer`".into(),
                    });
                }
            });
        }
        Ok(Preprocessor {
            config: self,
            steps,
        })
    }

    fn fit_numeric(&self, column: &Column) -> Result<Step> {
        let mut values = Vec::with_capacity(column.len());
        for row in 0..column.len() {
            match column.f64_at(row) {
                Some(x) if !x.is_finite() => {
                    return Err(DataError::NonFinite {
                        column: column.name().into(),
                        row,
                        value: x,
                    });
                }
                Some(x) => values.push(x),
                None => {}
            }
        }
        let fill = if values.is_empty() {
            Some(0.0)
        } else {
            match self.impute {
                Impute::None => None,
                Impute::Mean => Some(values.iter().sum::<f64>() / values.len() as f64),
                Impute::Median => Some(median(&mut values)),
                Impute::MostFrequent => Some(most_frequent_f64(&values)),
            }
        };
        let mut quantiles = Vec::new();
        let (shift, scale) = match (self.scaling, column.column_type()) {
            (_, ColumnType::Boolean) | (Scaling::None, _) => (0.0, 1.0),
            _ if values.is_empty() => (0.0, 1.0),
            (Scaling::Quantile, _) => {
                quantiles = quantiles_of(&mut values);
                (0.0, 1.0)
            }
            (Scaling::Standardize, _) => {
                let n = values.len() as f64;
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
                (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
            }
            (Scaling::MinMax, _) => {
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (min, if max > min { max - min } else { 1.0 })
            }
        };
        Ok(Step::Numeric {
            column: column.name().into(),
            fill,
            shift,
            scale,
            quantiles,
        })
    }

    fn fit_categorical(&self, column: &Column) -> Step {
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut categories: Vec<String> = Vec::new();
        for row in 0..column.len() {
            if let Some(text) = column.text_at(row) {
                let n = counts.entry(text.to_string()).or_default();
                if *n == 0 {
                    categories.push(text.to_string());
                }
                *n += 1;
            }
        }
        categories.sort();
        let fill = match self.impute {
            Impute::None => None,
            _ => categories
                .iter()
                .max_by(|a, b| counts[*a].cmp(&counts[*b]).then_with(|| b.cmp(a)))
                .cloned(),
        };
        Step::OneHot {
            column: column.name().into(),
            categories,
            fill,
        }
    }
}

/// One fitted column transformation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Step {
    Numeric {
        column: String,
        fill: Option<f64>,
        shift: f64,
        scale: f64,
        /// The training values at evenly spaced quantiles ([`Scaling::Quantile`]; else empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        quantiles: Vec<f64>,
    },
    OneHot {
        column: String,
        categories: Vec<String>,
        fill: Option<String>,
    },
}

/// A fitted table → matrix transformation; fit on training data, apply to any split, save as
/// JSON next to a model so serving applies exactly the same transformation.
///
/// ```
/// use kiln_data::{CsvLoader, Impute, PreprocessorConfig};
///
/// let csv = "x,colour,label\n1.0,red,0\n3.0,blue,1\n,red,0\n";
/// let table = CsvLoader::new().with_target("label").load_bytes("inline", csv.as_bytes())?;
/// let prep = PreprocessorConfig::default().with_impute(Impute::Mean).fit(&table)?;
/// let x = prep.transform(&table)?;
/// assert_eq!(prep.feature_names(), ["x", "colour=blue", "colour=red"]);
/// assert_eq!(x.row(2), [0.0, 0.0, 1.0]); // the mean-imputed x standardizes to 0
/// # Ok::<(), kiln_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    config: PreprocessorConfig,
    steps: Vec<Step>,
}

impl Preprocessor {
    /// The names of the output features, in column order (`column=category` for one-hot).
    pub fn feature_names(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|step| match step {
                Step::Numeric { column, .. } => vec![column.clone()],
                Step::OneHot {
                    column, categories, ..
                } => categories.iter().map(|c| format!("{column}={c}")).collect(),
            })
            .collect()
    }

    /// The input columns it reads, in order.
    pub fn input_columns(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Numeric { column, .. } | Step::OneHot { column, .. } => column.as_str(),
            })
            .collect()
    }

    /// The number of output features.
    pub fn n_features(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Numeric { .. } => 1,
                Step::OneHot { categories, .. } => categories.len(),
            })
            .sum()
    }

    /// The settings it was fitted with.
    pub fn config(&self) -> &PreprocessorConfig {
        &self.config
    }

    /// Applies the fitted steps. The table needs every fitted column (by name, any order);
    /// extra columns are ignored.
    pub fn transform(&self, table: &Table) -> Result<Matrix> {
        self.transform_counted(table).map(|(features, _)| features)
    }

    /// [`transform`](Self::transform), also counting, per column, the values of categories
    /// not seen during fit that [`UnknownCategory::Ignore`] encoded as all zeros (columns
    /// without any are left out).
    pub fn transform_counted(&self, table: &Table) -> Result<(Matrix, BTreeMap<String, u64>)> {
        let mut unknown = BTreeMap::new();
        let cols = self.n_features();
        let mut data = vec![0.0f32; table.rows() * cols];
        let mut offset = 0;
        for step in &self.steps {
            match step {
                Step::Numeric {
                    column,
                    fill,
                    shift,
                    scale,
                    quantiles,
                } => {
                    let col = table.column(column)?;
                    if !matches!(
                        col.column_type(),
                        ColumnType::Integer | ColumnType::Float | ColumnType::Boolean
                    ) {
                        return Err(type_changed(col, "integer, float or boolean"));
                    }
                    for row in 0..table.rows() {
                        let x = match (col.f64_at(row), fill) {
                            (Some(x), _) if !x.is_finite() => {
                                return Err(DataError::NonFinite {
                                    column: column.clone(),
                                    row,
                                    value: x,
                                });
                            }
                            (Some(x), _) => x,
                            (None, Some(f)) => *f,
                            (None, None) => {
                                return Err(DataError::MissingValue {
                                    column: column.clone(),
                                    row,
                                });
                            }
                        };
                        let x = if quantiles.is_empty() {
                            x
                        } else {
                            normal_score(quantiles, x)
                        };
                        data[row * cols + offset] = ((x - shift) / scale) as f32;
                    }
                    offset += 1;
                }
                Step::OneHot {
                    column,
                    categories,
                    fill,
                } => {
                    let col = table.column(column)?;
                    if col.column_type() != ColumnType::Categorical {
                        return Err(type_changed(col, "categorical"));
                    }
                    let ColumnData::Categorical { codes, levels } = col.data() else {
                        unreachable!("checked above");
                    };
                    // Map this table's codes to fitted positions once.
                    let position: Vec<Option<usize>> = levels
                        .iter()
                        .map(|l| categories.binary_search(l).ok())
                        .collect();
                    let fill_position =
                        fill.as_ref().and_then(|f| categories.binary_search(f).ok());
                    for row in 0..table.rows() {
                        let hot = if col.is_missing(row) {
                            match fill_position {
                                Some(p) => Some(p),
                                None => {
                                    return Err(DataError::MissingValue {
                                        column: column.clone(),
                                        row,
                                    });
                                }
                            }
                        } else {
                            let code = codes[row] as usize;
                            match (position[code], self.config.unknown) {
                                (Some(p), _) => Some(p),
                                (None, UnknownCategory::Ignore) => {
                                    *unknown.entry(column.clone()).or_insert(0) += 1;
                                    None
                                }
                                (None, UnknownCategory::Error) => {
                                    return Err(DataError::UnknownCategory {
                                        column: column.clone(),
                                        row,
                                        value: levels[code].clone(),
                                    });
                                }
                            }
                        };
                        if let Some(p) = hot {
                            data[row * cols + offset + p] = 1.0;
                        }
                    }
                    offset += categories.len();
                }
            }
        }
        Ok((Matrix::new(table.rows(), cols, data)?, unknown))
    }

    /// Writes the fitted preprocessor as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_json(path.as_ref(), self)
    }

    /// Reads a preprocessor written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        read_json(path.as_ref())
    }

    /// The preprocessor as a JSON string.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| DataError::Json {
            context: "serializing a preprocessor".into(),
            source,
        })
    }

    /// A preprocessor from a JSON string.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|source| DataError::Json {
            context: "reading a preprocessor".into(),
            source,
        })
    }
}

fn type_changed(col: &Column, needed: &str) -> DataError {
    DataError::ColumnType {
        column: col.name().into(),
        found: col.column_type(),
        operation: "the fitted preprocessor".into(),
        needed: needed.into(),
    }
}

/// The values at `N_QUANTILES` evenly spaced quantiles (fewer for fewer values), computed
/// step by step as scikit-learn and NumPy do (`np.nanpercentile(x, np.linspace(0, 1, k) * 100)`:
/// the same rounding, so the same values and ties).
fn quantiles_of(values: &mut [f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let k = N_QUANTILES.min(n);
    if k == 1 {
        return vec![values[0]];
    }
    let step = 1.0 / (k - 1) as f64;
    (0..k)
        .map(|i| {
            let q = if i == k - 1 { 1.0 } else { i as f64 * step };
            let pos = (n - 1) as f64 * (q * 100.0 / 100.0);
            let lo = (pos.floor() as usize).min(n - 1);
            let (a, b) = (values[lo], values[(lo + 1).min(n - 1)]);
            let t = pos - lo as f64;
            // NumPy's `_lerp`: from the nearer end, so equal neighbours give themselves.
            if t >= 0.5 {
                b - (b - a) * (1.0 - t)
            } else {
                a + (b - a) * t
            }
        })
        .collect()
}

/// `x`'s quantile among the training `quantiles` (the mean of the forward and backward
/// interpolations, so a repeated value lands in the middle of its run; the training minimum
/// and anything below it at 0, the maximum and above at 1, as scikit-learn does), clipped to
/// `[1e-7, 1 − 1e-7]` and mapped through the standard normal's inverse CDF.
fn normal_score(quantiles: &[f64], x: f64) -> f64 {
    let k = quantiles.len();
    if k < 2 {
        return 0.0;
    }
    if x <= quantiles[0] {
        return inverse_normal_cdf(1e-7);
    }
    if x >= quantiles[k - 1] {
        return inverse_normal_cdf(1.0 - 1e-7);
    }
    let step = 1.0 / (k - 1) as f64;
    // The rank interpolated from the first and from the last of equal quantiles.
    let forward = interpolate(quantiles, x, step, quantiles.partition_point(|&q| q < x));
    let backward = interpolate(quantiles, x, step, quantiles.partition_point(|&q| q <= x));
    let p = (0.5 * (forward + backward)).clamp(1e-7, 1.0 - 1e-7);
    inverse_normal_cdf(p)
}

/// The rank (0–1) of `x` between `quantiles[at - 1]` and `quantiles[at]`.
fn interpolate(quantiles: &[f64], x: f64, step: f64, at: usize) -> f64 {
    if at == 0 {
        return 0.0;
    }
    if at >= quantiles.len() {
        return 1.0;
    }
    let (lo, hi) = (quantiles[at - 1], quantiles[at]);
    let frac = if hi > lo { (x - lo) / (hi - lo) } else { 0.5 };
    ((at - 1) as f64 + frac.clamp(0.0, 1.0)) * step
}

/// The standard normal's quantile function (Acklam's rational approximation: relative error
/// below 1.2e-9, far finer than the `f32` features it feeds).
fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The most frequent value; ties go to the smallest.
fn most_frequent_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut best = (sorted[0], 0);
    for group in sorted.chunk_by(|a, b| a == b) {
        if group.len() > best.1 {
            best = (group[0], group.len());
        }
    }
    best.0
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let file = File::create(path).map_err(|e| DataError::io(path, e))?;
    serde_json::to_writer_pretty(BufWriter::new(file), value).map_err(|source| DataError::Json {
        context: format!("writing {}", path.display()),
        source,
    })
}

pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    serde_json::from_reader(BufReader::new(file)).map_err(|source| DataError::Json {
        context: format!("reading {}", path.display()),
        source,
    })
}
