//! Declarative data-quality checks and their report.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::column::{Column, Table};
use crate::column_type::ColumnType;
use crate::error::{DataError, Result};

/// Failing rows kept as examples per check.
pub const MAX_EXAMPLES: usize = 5;

/// One check on a column or on the whole table.
///
/// In TOML or JSON each check is a table tagged by `check`:
///
/// ```toml
/// [[check]]
/// check = "range"
/// column = "bill_length_mm"
/// min = 30.0
/// max = 60.0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// No value of the column is missing.
    NotNull {
        /// The column.
        column: String,
    },
    /// Every present value is a finite number within the bounds (inclusive).
    Range {
        /// The column.
        column: String,
        /// Lower bound, if any.
        #[serde(default)]
        min: Option<f64>,
        /// Upper bound, if any.
        #[serde(default)]
        max: Option<f64>,
    },
    /// Every present value is one of `values`.
    InSet {
        /// The column.
        column: String,
        /// The allowed values, as text.
        values: Vec<String>,
    },
    /// No present value occurs twice.
    Unique {
        /// The column.
        column: String,
    },
    /// The column has the expected type.
    Type {
        /// The column.
        column: String,
        /// The type it must have.
        expected: ColumnType,
    },
    /// Every present value matches the regular expression (whole value).
    Regex {
        /// The column.
        column: String,
        /// The pattern (Rust `regex` syntax), anchored at both ends.
        pattern: String,
    },
    /// The table's row count is within the bounds (inclusive).
    RowCount {
        /// Fewest rows allowed.
        #[serde(default)]
        min: Option<usize>,
        /// Most rows allowed.
        #[serde(default)]
        max: Option<usize>,
    },
    /// Every class of `column` makes up at least `min_fraction` of the rows.
    ClassBalance {
        /// The class column.
        column: String,
        /// Smallest allowed share of any class, in `(0, 1)`.
        min_fraction: f64,
    },
}

impl Check {
    /// A short description, e.g. `range(bill_length_mm, 30..60)`.
    pub fn describe(&self) -> String {
        let bound = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        match self {
            Self::NotNull { column } => format!("not_null({column})"),
            Self::Range { column, min, max } => {
                format!("range({column}, {}..{})", bound(*min), bound(*max))
            }
            Self::InSet { column, values } => format!("in_set({column}, {})", values.join("|")),
            Self::Unique { column } => format!("unique({column})"),
            Self::Type { column, expected } => format!("type({column}, {expected})"),
            Self::Regex { column, pattern } => format!("regex({column}, /{pattern}/)"),
            Self::RowCount { min, max } => format!(
                "row_count({}..{})",
                min.map_or(String::new(), |v| v.to_string()),
                max.map_or(String::new(), |v| v.to_string())
            ),
            Self::ClassBalance {
                column,
                min_fraction,
            } => format!("class_balance({column}, ≥{min_fraction})"),
        }
    }

    fn run(&self, table: &Table) -> Result<CheckResult> {
        let mut result = CheckResult {
            check: self.clone(),
            description: self.describe(),
            passed: true,
            failing: 0,
            examples: Vec::new(),
            note: None,
        };
        match self {
            Self::NotNull { column } => {
                let c = table.column(column)?;
                result.scan(c, |_, v| v.is_some());
            }
            Self::Range { column, min, max } => {
                let c = table.column(column)?;
                if !c.column_type().is_numeric() && c.column_type() != ColumnType::Boolean {
                    result.fail_all(table.rows(), format!("column is {}", c.column_type()));
                } else {
                    result.scan(c, |row, v| {
                        v.is_none()
                            || c.f64_at(row).is_some_and(|x| {
                                x.is_finite()
                                    && min.is_none_or(|m| x >= m)
                                    && max.is_none_or(|m| x <= m)
                            })
                    });
                }
            }
            Self::InSet { column, values } => {
                let c = table.column(column)?;
                let allowed: HashSet<&str> = values.iter().map(String::as_str).collect();
                result.scan(c, |_, v| v.is_none_or(|v| allowed.contains(v)));
            }
            Self::Unique { column } => {
                let c = table.column(column)?;
                let mut seen: HashMap<String, usize> = HashMap::new();
                for row in 0..c.len() {
                    if let Some(v) = c.text_at(row) {
                        *seen.entry(v.into_owned()).or_default() += 1;
                    }
                }
                result.scan(c, |_, v| v.is_none_or(|v| seen[v] == 1));
            }
            Self::Type { column, expected } => {
                let c = table.column(column)?;
                if c.column_type() != *expected {
                    result.fail_all(table.rows(), format!("column is {}", c.column_type()));
                }
            }
            Self::Regex { column, pattern } => {
                let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                    DataError::config(format!("regex check on `{column}`"), e.to_string())
                })?;
                let c = table.column(column)?;
                result.scan(c, |_, v| v.is_none_or(|v| re.is_match(v)));
            }
            Self::RowCount { min, max } => {
                let n = table.rows();
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    result.passed = false;
                    result.note = Some(format!("table has {n} rows"));
                }
            }
            Self::ClassBalance {
                column,
                min_fraction,
            } => {
                let c = table.column(column)?;
                let mut counts: HashMap<String, usize> = HashMap::new();
                for row in 0..c.len() {
                    if let Some(v) = c.text_at(row) {
                        *counts.entry(v.into_owned()).or_default() += 1;
                    }
                }
                let total = table.rows().max(1) as f64;
                let mut rare: Vec<(String, usize)> = counts
                    .into_iter()
                    .filter(|(_, n)| (*n as f64 / total) < *min_fraction)
                    .collect();
                rare.sort();
                if !rare.is_empty() {
                    result.passed = false;
                    result.failing = rare.iter().map(|r| r.1).sum();
                    let list: Vec<String> = rare
                        .iter()
                        .map(|(k, n)| format!("{k}: {n} ({:.1}%)", 100.0 * *n as f64 / total))
                        .collect();
                    result.note = Some(format!("rare classes: {}", list.join(", ")));
                }
            }
        }
        Ok(result)
    }
}

/// A failing row: its 0-based index and its value as text (`None` if missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingRow {
    /// 0-based data row (the file line is `row + 2` when no field spans lines).
    pub row: usize,
    /// The value, or `None` when missing.
    pub value: Option<String>,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check that ran.
    pub check: Check,
    /// Its short description.
    pub description: String,
    /// Whether it passed.
    pub passed: bool,
    /// How many rows failed it.
    pub failing: usize,
    /// Up to [`MAX_EXAMPLES`] failing rows.
    pub examples: Vec<FailingRow>,
    /// Extra explanation (e.g. the actual type or row count).
    pub note: Option<String>,
}

impl CheckResult {
    fn scan(&mut self, column: &Column, ok: impl Fn(usize, Option<&str>) -> bool) {
        for row in 0..column.len() {
            let value = column.text_at(row);
            if !ok(row, value.as_deref()) {
                self.passed = false;
                self.failing += 1;
                if self.examples.len() < MAX_EXAMPLES {
                    self.examples.push(FailingRow {
                        row,
                        value: value.map(|v| crate::error::excerpt(&v)),
                    });
                }
            }
        }
    }

    fn fail_all(&mut self, rows: usize, note: String) {
        self.passed = false;
        self.failing = rows;
        self.note = Some(note);
    }
}

/// A list of checks, built in code or read from TOML/JSON (`[[check]]` entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualitySuite {
    /// The checks, run in order.
    #[serde(rename = "check", default)]
    pub checks: Vec<Check>,
}

impl QualitySuite {
    /// An empty suite.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check.
    pub fn with_check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// Sensible defaults for a table: at least one row, no missing values, finite numbers,
    /// and, for a classification target, no class under 5% of the rows.
    pub fn defaults_for(table: &Table) -> Self {
        let mut suite = Self::new().with_check(Check::RowCount {
            min: Some(1),
            max: None,
        });
        for column in table.columns() {
            let name = column.name().to_owned();
            suite = suite.with_check(Check::NotNull {
                column: name.clone(),
            });
            if column.column_type().is_numeric() {
                suite = suite.with_check(Check::Range {
                    column: name,
                    min: None,
                    max: None,
                });
            }
        }
        if let Some(target) = table.target()
            && matches!(
                target.column_type(),
                ColumnType::Integer | ColumnType::Categorical | ColumnType::Boolean
            )
        {
            suite = suite.with_check(Check::ClassBalance {
                column: target.name().to_owned(),
                min_fraction: 0.05,
            });
        }
        suite
    }

    /// Reads a suite from TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|source| DataError::Toml {
            context: "reading a quality suite".into(),
            source,
        })
    }

    /// Reads a suite from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|source| DataError::Json {
            context: "reading a quality suite".into(),
            source,
        })
    }

    /// Reads a suite from a `.toml` or `.json` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let with_path = |e: DataError| match e {
            DataError::Toml { source, .. } => DataError::Toml {
                context: path.display().to_string(),
                source,
            },
            DataError::Json { source, .. } => DataError::Json {
                context: path.display().to_string(),
                source,
            },
            other => other,
        };
        if path.extension().is_some_and(|e| e == "json") {
            Self::from_json(&text).map_err(with_path)
        } else {
            Self::from_toml(&text).map_err(with_path)
        }
    }

    /// Runs every check. A check naming an unknown column, or with an invalid pattern, is an
    /// error (a broken suite); failing checks are results, and the table is never changed.
    pub fn run(&self, table: &Table) -> Result<QualityReport> {
        let results = self
            .checks
            .iter()
            .map(|c| c.run(table))
            .collect::<Result<_>>()?;
        Ok(QualityReport {
            rows: table.rows(),
            results,
        })
    }
}

/// Pass/fail per check, with failing counts and example rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Rows checked.
    pub rows: usize,
    /// One result per check, in suite order.
    pub results: Vec<CheckResult>,
}

impl QualityReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| !r.passed)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|source| DataError::Json {
            context: "serializing a quality report".into(),
            source,
        })
    }
}

impl fmt::Display for QualityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        writeln!(
            f,
            "{} checks on {} rows: {} passed, {} failed",
            self.results.len(),
            self.rows,
            self.results.len() - failed,
            failed
        )?;
        for r in &self.results {
            let mark = if r.passed { "PASS" } else { "FAIL" };
            write!(f, "  {mark}  {}", r.description)?;
            if !r.passed && r.failing > 0 {
                write!(f, "  ({} rows)", r.failing)?;
            }
            if let Some(note) = &r.note {
                write!(f, "  {note}")?;
            }
            writeln!(f)?;
            for e in &r.examples {
                let value = e.value.as_deref().unwrap_or("<missing>");
                writeln!(f, "          row {}: {value}", e.row)?;
            }
        }
        Ok(())
    }
}
