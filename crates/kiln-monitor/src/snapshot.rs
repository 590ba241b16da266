//! [`Snapshot`]: a dataset's columns as drift statistics see them.

use std::collections::BTreeMap;

use kiln_data::{ColumnData, ColumnProfile, ColumnType, Table, TableProfile};

use crate::error::Result;
use crate::sample::Sample;

/// One column's values, as drift statistics compare them.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// Finite numbers (integers, floats; raw or a sketch's weighted sample).
    Numeric(Sample),
    /// Counts per category (booleans become `true`/`false`).
    Categorical(BTreeMap<String, f64>),
}

/// A column in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotColumn {
    /// The column name.
    pub name: String,
    /// Its values.
    pub values: ColumnValues,
    /// Missing and non-finite values seen.
    pub missing: u64,
}

/// The columns of a dataset (or of a profile, or of a monitor's window) that drift is
/// computed on. Text columns are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    columns: Vec<SnapshotColumn>,
    rows: u64,
}

impl Snapshot {
    /// Every non-text column of a table, with its raw values (statistics on it are exact).
    pub fn from_table(table: &Table) -> Result<Self> {
        let columns = crate::parallel::map(table.columns(), snapshot_column)
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            columns,
            rows: table.rows() as u64,
        })
    }

    /// Every non-text column of a profile: numeric columns as their quantile sketch's
    /// weighted sample (exact up to the sketch's size, 4096 values), categorical columns as
    /// their counts. This is what a model bundle keeps of its training data.
    pub fn from_profile(profile: &TableProfile) -> Self {
        let columns = profile
            .columns()
            .iter()
            .filter_map(|(name, column_type, p)| {
                let (values, missing) = match p {
                    ColumnProfile::Numeric(n) if *column_type == ColumnType::Boolean => {
                        // Booleans are profiled as 0/1 numbers; compare them as categories.
                        let mut counts = BTreeMap::new();
                        let total = n.count() as f64;
                        let trues = n.mean().unwrap_or(0.0) * total;
                        if total > 0.0 {
                            counts.insert("false".to_owned(), (total - trues).round());
                            counts.insert("true".to_owned(), trues.round());
                        }
                        (
                            ColumnValues::Categorical(counts),
                            n.missing() + n.non_finite(),
                        )
                    }
                    ColumnProfile::Numeric(n) => (
                        ColumnValues::Numeric(Sample::from_sketch(n.sketch())),
                        n.missing() + n.non_finite(),
                    ),
                    ColumnProfile::Categorical(c) => (
                        ColumnValues::Categorical(
                            c.frequencies()
                                .iter()
                                .map(|(k, &v)| (k.clone(), v as f64))
                                .collect(),
                        ),
                        c.missing(),
                    ),
                    ColumnProfile::Text(_) => return None,
                };
                Some(SnapshotColumn {
                    name: name.clone(),
                    values,
                    missing,
                })
            })
            .collect();
        Self {
            columns,
            rows: profile.rows(),
        }
    }

    /// A snapshot from columns built elsewhere (e.g. a monitor's window).
    pub fn from_columns(columns: Vec<SnapshotColumn>, rows: u64) -> Self {
        Self { columns, rows }
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[SnapshotColumn] {
        &self.columns
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&SnapshotColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Rows in the data it was taken from.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Leaves out the named column (e.g. the target, when comparing serving inputs).
    pub fn without(mut self, name: &str) -> Self {
        self.columns.retain(|c| c.name != name);
        self
    }
}

/// One table column as drift sees it; `None` for text.
fn snapshot_column(column: &kiln_data::Column) -> Result<Option<SnapshotColumn>> {
    let name = column.name().to_owned();
    let values = match column.data() {
        ColumnData::Text(_) => return Ok(None),
        ColumnData::Integer(_) | ColumnData::Float(_) => {
            let mut values = Vec::with_capacity(column.len());
            match column.data() {
                ColumnData::Float(v) if column.missing_count() == 0 => {
                    values.extend(v.iter().copied().filter(|v| v.is_finite()));
                }
                _ => values.extend(
                    (0..column.len())
                        .filter_map(|r| column.f64_at(r))
                        .filter(|v| v.is_finite()),
                ),
            }
            let missing = column.len() as u64 - values.len() as u64;
            let sample = Sample::from_finite(values);
            return Ok(Some(SnapshotColumn {
                name,
                values: ColumnValues::Numeric(sample),
                missing,
            }));
        }
        ColumnData::Boolean(v) => {
            let mut n = [0.0; 2];
            for (r, &b) in v.iter().enumerate() {
                if !column.is_missing(r) {
                    n[usize::from(b)] += 1.0;
                }
            }
            BTreeMap::from([("false".to_owned(), n[0]), ("true".to_owned(), n[1])])
        }
        ColumnData::Categorical { codes, levels } => {
            let mut n = vec![0.0; levels.len()];
            for (r, &c) in codes.iter().enumerate() {
                if !column.is_missing(r) {
                    n[c as usize] += 1.0;
                }
            }
            levels
                .iter()
                .cloned()
                .zip(n)
                .filter(|(_, c)| *c > 0.0)
                .collect()
        }
    };
    let seen = values.values().sum::<f64>() as u64;
    Ok(Some(SnapshotColumn {
        name,
        values: ColumnValues::Categorical(values),
        missing: column.len() as u64 - seen,
    }))
}
