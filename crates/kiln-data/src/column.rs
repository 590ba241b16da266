//! Typed columns and tables.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::column_type::ColumnType;
use crate::error::{DataError, Result};
use crate::schema::{Field, Schema};

/// The values of one column, stored by type; missing values are tracked separately.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Integers (missing slots hold 0).
    Integer(Vec<i64>),
    /// Floats (missing slots hold NaN).
    Float(Vec<f64>),
    /// Booleans (missing slots hold `false`).
    Boolean(Vec<bool>),
    /// Category codes into `levels` (missing slots hold 0).
    Categorical {
        /// One code per row.
        codes: Vec<u32>,
        /// The distinct values, in order of first appearance.
        levels: Vec<String>,
    },
    /// Free text (missing slots hold an empty string).
    Text(Vec<String>),
}

/// One named column: its values plus which rows are missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    name: String,
    data: ColumnData,
    /// `None` when no value is missing; else one flag per row.
    missing: Option<Vec<bool>>,
}

impl Column {
    /// A column from its values and an optional missing mask (one flag per row).
    ///
    /// # Panics
    /// If `missing` has a different length than `data`.
    pub fn new(name: impl Into<String>, data: ColumnData, missing: Option<Vec<bool>>) -> Self {
        let column = Self {
            name: name.into(),
            data,
            missing: missing.filter(|m| m.iter().any(|&x| x)),
        };
        if let Some(m) = &column.missing {
            assert_eq!(
                m.len(),
                column.len(),
                "missing mask length != column length"
            );
        }
        column
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stored values.
    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    /// The column type.
    pub fn column_type(&self) -> ColumnType {
        match self.data {
            ColumnData::Integer(_) => ColumnType::Integer,
            ColumnData::Float(_) => ColumnType::Float,
            ColumnData::Boolean(_) => ColumnType::Boolean,
            ColumnData::Categorical { .. } => ColumnType::Categorical,
            ColumnData::Text(_) => ColumnType::Text,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Integer(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Boolean(v) => v.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
            ColumnData::Text(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether row `i` is missing.
    pub fn is_missing(&self, i: usize) -> bool {
        self.missing.as_ref().is_some_and(|m| m[i])
    }

    /// How many rows are missing.
    pub fn missing_count(&self) -> usize {
        self.missing
            .as_ref()
            .map_or(0, |m| m.iter().filter(|&&x| x).count())
    }

    /// Row `i` as a number: integers, floats and booleans (0/1); `None` if missing or not numeric.
    pub fn f64_at(&self, i: usize) -> Option<f64> {
        if self.is_missing(i) {
            return None;
        }
        match &self.data {
            ColumnData::Integer(v) => Some(v[i] as f64),
            ColumnData::Float(v) => Some(v[i]),
            ColumnData::Boolean(v) => Some(f64::from(u8::from(v[i]))),
            ColumnData::Categorical { .. } | ColumnData::Text(_) => None,
        }
    }

    /// Row `i` as text, as it would be written back to a CSV; `None` if missing.
    pub fn text_at(&self, i: usize) -> Option<Cow<'_, str>> {
        if self.is_missing(i) {
            return None;
        }
        Some(match &self.data {
            ColumnData::Integer(v) => Cow::Owned(v[i].to_string()),
            ColumnData::Float(v) => Cow::Owned(v[i].to_string()),
            ColumnData::Boolean(v) => Cow::Borrowed(if v[i] { "true" } else { "false" }),
            ColumnData::Categorical { codes, levels } => Cow::Borrowed(&levels[codes[i] as usize]),
            ColumnData::Text(v) => Cow::Borrowed(&v[i]),
        })
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        fn pick<T: Clone>(v: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().map(|&i| v[i].clone()).collect()
        }
        let data = match &self.data {
            ColumnData::Integer(v) => ColumnData::Integer(pick(v, indices)),
            ColumnData::Float(v) => ColumnData::Float(pick(v, indices)),
            ColumnData::Boolean(v) => ColumnData::Boolean(pick(v, indices)),
            ColumnData::Categorical { codes, levels } => ColumnData::Categorical {
                codes: pick(codes, indices),
                levels: levels.clone(),
            },
            ColumnData::Text(v) => ColumnData::Text(pick(v, indices)),
        };
        let missing = self.missing.as_ref().map(|m| pick(m, indices));
        Self::new(self.name.clone(), data, missing)
    }

    /// Class codes for a classification target: integer, boolean or categorical values mapped
    /// to `0..n_classes`, with the class names. Integer classes are sorted numerically.
    pub fn class_codes(&self) -> Result<(Vec<u32>, Vec<String>)> {
        if let Some(row) = (0..self.len()).find(|&i| self.is_missing(i)) {
            return Err(DataError::MissingValue {
                column: self.name.clone(),
                row,
            });
        }
        match &self.data {
            ColumnData::Integer(v) => {
                let mut distinct: Vec<i64> = v.clone();
                distinct.sort_unstable();
                distinct.dedup();
                let codes = v
                    .iter()
                    .map(|x| distinct.binary_search(x).map_or(0, |p| p as u32))
                    .collect();
                Ok((codes, distinct.iter().map(i64::to_string).collect()))
            }
            ColumnData::Boolean(v) => Ok((
                v.iter().map(|&b| u32::from(b)).collect(),
                vec!["false".into(), "true".into()],
            )),
            ColumnData::Categorical { codes, levels } => Ok((codes.clone(), levels.clone())),
            ColumnData::Float(_) | ColumnData::Text(_) => Err(DataError::ColumnType {
                column: self.name.clone(),
                found: self.column_type(),
                operation: "a classification target".into(),
                needed: "integer, boolean or categorical values".into(),
            }),
        }
    }

    /// All values as `f32` for a regression target; errors on missing or non-numeric values.
    pub fn to_f32_values(&self) -> Result<Vec<f32>> {
        (0..self.len())
            .map(|i| match self.f64_at(i) {
                Some(x) if x.is_finite() => Ok(x as f32),
                Some(value) => Err(DataError::NonFinite {
                    column: self.name.clone(),
                    row: i,
                    value,
                }),
                None if self.is_missing(i) => Err(DataError::MissingValue {
                    column: self.name.clone(),
                    row: i,
                }),
                None => Err(DataError::ColumnType {
                    column: self.name.clone(),
                    found: self.column_type(),
                    operation: "a numeric target".into(),
                    needed: "integer, float or boolean values".into(),
                }),
            })
            .collect()
    }
}

/// Named, typed columns of equal length, with an optional target column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    schema: Schema,
    columns: Vec<Column>,
    rows: usize,
    target: Option<usize>,
}

impl Table {
    /// A table from columns of equal length with distinct names.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let rows = columns.first().map_or(0, Column::len);
        if let Some(c) = columns.iter().find(|c| c.len() != rows) {
            return Err(DataError::config(
                "columns",
                format!(
                    "column `{}` has {} rows, expected {rows}",
                    c.name(),
                    c.len()
                ),
            ));
        }
        let schema = Schema::new(
            columns
                .iter()
                .map(|c| Field::new(c.name(), c.column_type()))
                .collect(),
        )?;
        Ok(Self {
            schema,
            columns,
            rows,
            target: None,
        })
    }

    /// The same table with `name` marked as the target column.
    pub fn with_target(mut self, name: &str) -> Result<Self> {
        self.target = Some(self.schema.index_of(name)?);
        Ok(self)
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// All columns in order, the target included.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.schema.index_of(name)?])
    }

    /// The target column, if one was chosen.
    pub fn target(&self) -> Option<&Column> {
        self.target.map(|i| &self.columns[i])
    }

    /// The columns other than the target.
    pub fn features(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != self.target)
            .map(|(_, c)| c)
    }

    /// The rows at `indices`, in that order (the target stays the target).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        Self {
            schema: self.schema.clone(),
            columns: self.columns.iter().map(|c| c.take(indices)).collect(),
            rows: indices.len(),
            target: self.target,
        }
    }
}

/// The code of `level` in `levels`, adding it (to `levels` and `index`) when it is new.
pub(crate) fn level_code(
    levels: &mut Vec<String>,
    index: &mut HashMap<String, u32>,
    level: &str,
) -> u32 {
    if let Some(&code) = index.get(level) {
        return code;
    }
    let code = levels.len() as u32;
    levels.push(level.to_owned());
    index.insert(level.to_owned(), code);
    code
}

/// The code in `levels` of each of `other` (another part's levels of the same column), adding
/// the levels it lacks; for joining categorical parts in row order.
pub(crate) fn remap_levels(
    levels: &mut Vec<String>,
    index: &mut HashMap<String, u32>,
    other: &[String],
) -> Vec<u32> {
    other
        .iter()
        .map(|level| level_code(levels, index, level))
        .collect()
}
