//! Tables to and from Arrow record batches (the `parquet` feature).
//!
//! How Arrow types become Kiln column types:
//!
//! | Arrow | Kiln |
//! |---|---|
//! | `Int8`…`Int64`, `UInt8`…`UInt64` | integer (a `UInt64` past `i64::MAX` is an error) |
//! | `Date32`, `Date64` | integer: days since 1970-01-01 |
//! | `Float16`, `Float32`, `Float64` | float (NaN counts as missing, as in CSV) |
//! | `Decimal32`…`Decimal256` | float: the decimal's value (rounded to the nearest `f64`) |
//! | `Timestamp` (any unit, any time zone) | float: seconds since 1970-01-01T00:00:00Z |
//! | `Boolean` | boolean |
//! | `Utf8`, `LargeUtf8`, `Utf8View` | categorical, or text past `max_categories` distinct values |
//! | `Dictionary` of strings | categorical |
//! | `Null` | float, every row missing |
//!
//! Nulls are missing values. Nested types (lists, structs, maps), binary and durations are
//! refused with [`DataError::UnsupportedType`] naming the column; leave them out with a column
//! projection. Writing goes the other way: integer → `Int64`, float → `Float64`, boolean →
//! `Boolean`, categorical → `Dictionary(Int32, Utf8)`, text → `Utf8`, missing → null; the
//! target column's name is kept in the schema metadata under [`TARGET_METADATA_KEY`].

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};

use crate::column::{Column, ColumnData, level_code, remap_levels};

use crate::column_type::ColumnType;
use crate::error::{DataError, Result};

mod table;
/// Arrow's record batch (arrow-array 60), re-exported so callers use the version Kiln reads.
pub use arrow_array::RecordBatch;

/// Schema metadata key that holds the name of a written table's target column.
pub const TARGET_METADATA_KEY: &str = "kiln.target";

/// Distinct strings a string column may have and still load as categorical (as in CSV).
pub(crate) const DEFAULT_MAX_CATEGORIES: usize = 1024;

/// What a source column becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    Integer,
    Float,
    Boolean,
    /// Categorical, whatever the number of distinct values.
    Categorical,
    Text,
    /// Categorical until it has more than this many distinct values, then text.
    Strings(usize),
}

impl Plan {
    /// The Kiln type this plan yields when the data does not decide it.
    pub(crate) fn column_type(self) -> ColumnType {
        match self {
            Self::Integer => ColumnType::Integer,
            Self::Float => ColumnType::Float,
            Self::Boolean => ColumnType::Boolean,
            Self::Categorical | Self::Strings(_) => ColumnType::Categorical,
            Self::Text => ColumnType::Text,
        }
    }
}

/// The plan for one Arrow field: its natural Kiln type, overridden by a declared one.
pub(crate) fn plan_field(
    field: &ArrowField,
    file: &str,
    declared: Option<ColumnType>,
    max_categories: usize,
) -> Result<Plan> {
    let natural = natural_plan(field.data_type(), max_categories).ok_or_else(|| {
        DataError::UnsupportedType {
            file: file.into(),
            column: field.name().clone(),
            found: field.data_type().to_string(),
            hint: "leave the column out (select the columns to read), or flatten it to \
                   numbers or strings before writing the file"
                .into(),
        }
    })?;
    let Some(declared) = declared else {
        return Ok(natural);
    };
    let plan = match (natural, declared) {
        (Plan::Strings(_) | Plan::Categorical | Plan::Text, ColumnType::Categorical) => {
            Plan::Categorical
        }
        (Plan::Strings(_) | Plan::Categorical | Plan::Text, ColumnType::Text) => Plan::Text,
        (Plan::Integer | Plan::Float, ColumnType::Float) => Plan::Float,
        (plan, declared) if plan.column_type() == declared => plan,
        (plan, declared) => {
            return Err(DataError::config(
                "column type",
                format!(
                    "{file}: column `{}` holds {} values ({}), which cannot be read as {declared}; \
                     strings can be categorical or text, integers can be floats",
                    field.name(),
                    plan.column_type(),
                    field.data_type()
                ),
            ));
        }
    };
    Ok(plan)
}

fn natural_plan(data_type: &DataType, max_categories: usize) -> Option<Plan> {
    use DataType as D;
    Some(match data_type {
        D::Int8
        | D::Int16
        | D::Int32
        | D::Int64
        | D::UInt8
        | D::UInt16
        | D::UInt32
        | D::UInt64
        | D::Date32
        | D::Date64 => Plan::Integer,
        D::Float16
        | D::Float32
        | D::Float64
        | D::Decimal32(..)
        | D::Decimal64(..)
        | D::Decimal128(..)
        | D::Decimal256(..)
        | D::Timestamp(..)
        | D::Null => Plan::Float,
        D::Boolean => Plan::Boolean,
        D::Utf8 | D::LargeUtf8 | D::Utf8View => Plan::Strings(max_categories),
        D::Dictionary(_, values) if is_string(values) => Plan::Categorical,
        _ => return None,
    })
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Where converted values come from, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The file (or `record batch`).
    pub file: &'a str,
    /// Row of the array's first value within the file.
    pub first_row: usize,
}

/// Appends Arrow arrays to one Kiln column.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    name: String,
    data: Values,
    /// Categorical until the number of levels passes this, then text.
    max_levels: Option<usize>,
    /// `None` until the first missing value.
    missing: Option<Vec<bool>>,
    len: usize,
}

#[derive(Debug)]
enum Values {
    Integer(Vec<i64>),
    Float(Vec<f64>),
    Boolean(Vec<bool>),
    Categorical {
        codes: Vec<u32>,
        levels: Vec<String>,
        index: HashMap<String, u32>,
    },
    Text(Vec<String>),
}

impl ColumnBuilder {
    pub(crate) fn new(name: impl Into<String>, plan: Plan) -> Self {
        let (data, max_levels) = match plan {
            Plan::Integer => (Values::Integer(Vec::new()), None),
            Plan::Float => (Values::Float(Vec::new()), None),
            Plan::Boolean => (Values::Boolean(Vec::new()), None),
            Plan::Categorical => (Values::categorical(), None),
            Plan::Strings(max) => (Values::categorical(), Some(max)),
            Plan::Text => (Values::Text(Vec::new()), None),
        };
        Self {
            name: name.into(),
            data,
            max_levels,
            missing: None,
            len: 0,
        }
    }

    /// The column type the values gathered so far have.
    pub(crate) fn column_type(&self) -> ColumnType {
        match self.data {
            Values::Integer(_) => ColumnType::Integer,
            Values::Float(_) => ColumnType::Float,
            Values::Boolean(_) => ColumnType::Boolean,
            Values::Categorical { .. } => ColumnType::Categorical,
            Values::Text(_) => ColumnType::Text,
        }
    }

    /// Room for `rows` more values.
    pub(crate) fn reserve(&mut self, rows: usize) {
        match &mut self.data {
            Values::Integer(v) => v.reserve(rows),
            Values::Float(v) => v.reserve(rows),
            Values::Boolean(v) => v.reserve(rows),
            Values::Categorical { codes, .. } => codes.reserve(rows),
            Values::Text(v) => v.reserve(rows),
        }
    }

    /// Appends every value of `array` (of the type this builder was planned for).
    pub(crate) fn append(&mut self, array: &dyn Array, origin: Origin<'_>) -> Result<()> {
        let n = array.len();
        let nulls = array.logical_nulls();
        match &mut self.data {
            Values::Integer(out) => append_integers(out, array, &self.name, origin)?,
            Values::Float(out) => append_floats(out, array, &self.name, origin)?,
            Values::Boolean(out) => match array.as_boolean_opt() {
                Some(values) => out.extend(values.values().iter()),
                None => {
                    let found = array.data_type();
                    return Err(type_changed(&self.name, found, ColumnType::Boolean, origin));
                }
            },
            Values::Categorical { .. } | Values::Text(_) => {
                self.append_strings(array, nulls.as_ref(), origin)?;
            }
        }
        self.mark_missing(n, nulls.as_ref());
        self.len += n;
        Ok(())
    }

    fn strings_expected(&self, array: &dyn Array, origin: Origin<'_>) -> DataError {
        type_changed(&self.name, array.data_type(), self.column_type(), origin)
    }

    /// Records nulls (and, for floats, NaNs) as missing and clears their slots.
    fn mark_missing(&mut self, n: usize, nulls: Option<&NullBuffer>) {
        let start = self.len;
        let nan_rows: Vec<usize> = match &self.data {
            Values::Float(v) => v[start..]
                .iter()
                .enumerate()
                .filter(|(i, x)| x.is_nan() && nulls.is_none_or(|b| b.is_valid(*i)))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        let null_rows = nulls.filter(|b| b.null_count() > 0);
        if null_rows.is_none() && nan_rows.is_empty() {
            return;
        }
        let missing = self.missing.get_or_insert_with(|| vec![false; start]);
        missing.resize(start + n, false);
        let mut clear = |i: usize, data: &mut Values| {
            missing[start + i] = true;
            match data {
                Values::Integer(v) => v[start + i] = 0,
                Values::Float(v) => v[start + i] = f64::NAN,
                Values::Boolean(v) => v[start + i] = false,
                Values::Categorical { codes, .. } => codes[start + i] = 0,
                Values::Text(v) => v[start + i].clear(),
            }
        };
        if let Some(b) = null_rows {
            for i in (0..n).filter(|&i| b.is_null(i)) {
                clear(i, &mut self.data);
            }
        }
        for i in nan_rows {
            clear(i, &mut self.data);
        }
    }

    fn append_strings(
        &mut self,
        array: &dyn Array,
        nulls: Option<&NullBuffer>,
        origin: Origin<'_>,
    ) -> Result<()> {
        if let Some(dict) = array.as_any_dictionary_opt() {
            let values = dict.values();
            let mut codes_of_values: Vec<Option<u32>> = vec![None; values.len()];
            let value_nulls = values.logical_nulls();
            let keys = dict.normalized_keys();
            for (i, &key) in keys.iter().enumerate() {
                let valid = nulls.is_none_or(|b| b.is_valid(i))
                    && value_nulls.as_ref().is_none_or(|b| b.is_valid(key));
                if !valid {
                    self.push_missing();
                    continue;
                }
                if let (Values::Categorical { codes, .. }, Some(code)) =
                    (&mut self.data, codes_of_values[key])
                {
                    codes.push(code);
                    continue;
                }
                let Some(text) = string_at(values.as_ref(), key) else {
                    return Err(self.strings_expected(array, origin));
                };
                codes_of_values[key] = self.push_str(text);
            }
            return Ok(());
        }
        match array.data_type() {
            DataType::Utf8 => {
                for s in array.as_string::<i32>().iter() {
                    self.push_opt(s);
                }
            }
            DataType::LargeUtf8 => {
                for s in array.as_string::<i64>().iter() {
                    self.push_opt(s);
                }
            }
            DataType::Utf8View => {
                for s in array.as_string_view().iter() {
                    self.push_opt(s);
                }
            }
            _ => return Err(self.strings_expected(array, origin)),
        }
        Ok(())
    }

    fn push_opt(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.push_str(text);
            }
            None => self.push_missing(),
        }
    }

    /// Pushes a placeholder for a missing string (marked missing afterwards).
    fn push_missing(&mut self) {
        match &mut self.data {
            Values::Categorical { codes, .. } => codes.push(0),
            Values::Text(v) => v.push(String::new()),
            _ => {}
        }
    }

    /// Pushes one string; returns its code while the column is categorical.
    fn push_str(&mut self, text: &str) -> Option<u32> {
        match &mut self.data {
            Values::Categorical {
                codes,
                levels,
                index,
            } => {
                let code = level_code(levels, index, text);
                codes.push(code);
                if self.max_levels.is_some_and(|max| levels.len() > max) {
                    self.data = self.data.take_as_text();
                    return None;
                }
                Some(code)
            }
            Values::Text(v) => {
                v.push(text.to_owned());
                None
            }
            _ => None,
        }
    }

    /// Appends another builder's values (same column, later rows).
    pub(crate) fn extend(&mut self, other: Self) {
        let start = self.len;
        if other.column_type() == ColumnType::Text && self.column_type() != ColumnType::Text {
            self.data = self.data.take_as_text();
        }
        let other_data = if self.column_type() == ColumnType::Text {
            other.data.into_text()
        } else {
            other.data
        };
        match (&mut self.data, other_data) {
            (Values::Integer(a), Values::Integer(b)) => a.extend(b),
            (Values::Float(a), Values::Float(b)) => a.extend(b),
            (Values::Boolean(a), Values::Boolean(b)) => a.extend(b),
            (Values::Text(a), Values::Text(b)) => a.extend(b),
            (
                Values::Categorical {
                    codes,
                    levels,
                    index,
                },
                Values::Categorical {
                    codes: other_codes,
                    levels: other_levels,
                    ..
                },
            ) => {
                let remap = remap_levels(levels, index, &other_levels);
                codes.extend(other_codes.into_iter().map(|c| remap[c as usize]));
                if self.max_levels.is_some_and(|max| levels.len() > max) {
                    self.data = self.data.take_as_text();
                }
            }
            _ => unreachable!("parts of one column are planned alike"),
        }
        if let Some(other_missing) = other.missing {
            let missing = self.missing.get_or_insert_with(|| vec![false; start]);
            missing.resize(start, false);
            missing.extend(other_missing);
        }
        self.len += other.len;
        if let Some(m) = &mut self.missing {
            m.resize(self.len, false);
        }
    }

    /// The finished column.
    pub(crate) fn finish(self) -> Column {
        let data = match self.data {
            Values::Integer(v) => ColumnData::Integer(v),
            Values::Float(v) => ColumnData::Float(v),
            Values::Boolean(v) => ColumnData::Boolean(v),
            Values::Categorical { codes, levels, .. } => ColumnData::Categorical { codes, levels },
            Values::Text(v) => ColumnData::Text(v),
        };
        let missing = self.missing.map(|mut m| {
            m.resize(self.len, false);
            m
        });
        Column::new(self.name, data, missing)
    }
}

impl Values {
    fn categorical() -> Self {
        Self::Categorical {
            codes: Vec::new(),
            levels: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn take_as_text(&mut self) -> Self {
        std::mem::replace(self, Self::Text(Vec::new())).into_text()
    }

    fn into_text(self) -> Self {
        match self {
            Self::Categorical { codes, levels, .. } => Self::Text(
                codes
                    .into_iter()
                    .map(|c| levels[c as usize].clone())
                    .collect(),
            ),
            other => other,
        }
    }
}

fn string_at(array: &dyn Array, i: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(array.as_string_view().value(i)),
        _ => None,
    }
}

fn extend_as<T: ArrowPrimitiveType>(
    out: &mut Vec<i64>,
    array: &dyn Array,
    f: impl Fn(T::Native) -> i64,
) {
    out.extend(array.as_primitive::<T>().values().iter().map(|&x| f(x)));
}

fn append_integers(
    out: &mut Vec<i64>,
    array: &dyn Array,
    column: &str,
    origin: Origin<'_>,
) -> Result<()> {
    use DataType as D;
    match array.data_type() {
        D::Int64 => out.extend_from_slice(array.as_primitive::<Int64Type>().values()),
        D::Int32 => extend_as::<Int32Type>(out, array, i64::from),
        D::Int16 => extend_as::<Int16Type>(out, array, i64::from),
        D::Int8 => extend_as::<Int8Type>(out, array, i64::from),
        D::UInt32 => extend_as::<UInt32Type>(out, array, i64::from),
        D::UInt16 => extend_as::<UInt16Type>(out, array, i64::from),
        D::UInt8 => extend_as::<UInt8Type>(out, array, i64::from),
        D::Date32 => extend_as::<Date32Type>(out, array, i64::from),
        D::Date64 => extend_as::<Date64Type>(out, array, |ms| ms.div_euclid(86_400_000)),
        D::UInt64 => {
            let values = array.as_primitive::<UInt64Type>();
            for (i, &x) in values.values().iter().enumerate() {
                match i64::try_from(x) {
                    Ok(x) => out.push(x),
                    Err(_) if values.is_null(i) => out.push(0),
                    Err(_) => {
                        return Err(DataError::ValueOutOfRange {
                            file: origin.file.into(),
                            column: column.into(),
                            row: origin.first_row + i,
                            reason: format!(
                                "{x} does not fit a 64-bit signed integer; declare the column \
                                 as float to read it approximately"
                            ),
                        });
                    }
                }
            }
        }
        other => return Err(type_changed(column, other, ColumnType::Integer, origin)),
    }
    Ok(())
}

fn append_floats(
    out: &mut Vec<f64>,
    array: &dyn Array,
    column: &str,
    origin: Origin<'_>,
) -> Result<()> {
    use DataType as D;
    fn extend<T: ArrowPrimitiveType>(
        out: &mut Vec<f64>,
        array: &dyn Array,
        f: impl Fn(T::Native) -> f64,
    ) {
        out.extend(array.as_primitive::<T>().values().iter().map(|&x| f(x)));
    }
    match array.data_type() {
        D::Float64 => out.extend_from_slice(array.as_primitive::<Float64Type>().values()),
        D::Float32 => extend::<Float32Type>(out, array, f64::from),
        D::Float16 => extend::<Float16Type>(out, array, f64::from),
        D::Null => out.resize(out.len() + array.len(), f64::NAN),
        // Integers declared as floats.
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 => {
            let mut ints = Vec::with_capacity(array.len());
            append_integers(&mut ints, array, column, origin)?;
            out.extend(ints.into_iter().map(|x| x as f64));
        }
        D::UInt64 => extend::<UInt64Type>(out, array, |x| x as f64),
        D::Decimal32(_, scale) => {
            let s = 10f64.powi(i32::from(*scale));
            extend::<Decimal32Type>(out, array, |x| f64::from(x) / s);
        }
        D::Decimal64(_, scale) => {
            let s = 10f64.powi(i32::from(*scale));
            extend::<Decimal64Type>(out, array, |x| x as f64 / s);
        }
        D::Decimal128(_, scale) => {
            let s = 10f64.powi(i32::from(*scale));
            extend::<Decimal128Type>(out, array, |x| x as f64 / s);
        }
        D::Decimal256(_, scale) => {
            let s = 10f64.powi(i32::from(*scale));
            extend::<Decimal256Type>(out, array, |x| {
                x.to_i128().map_or(f64::NAN, |x| x as f64 / s)
            });
        }
        D::Timestamp(unit, _) => match unit {
            TimeUnit::Second => extend::<TimestampSecondType>(out, array, |x| x as f64),
            TimeUnit::Millisecond => {
                extend::<TimestampMillisecondType>(out, array, |x| x as f64 / 1e3);
            }
            TimeUnit::Microsecond => {
                extend::<TimestampMicrosecondType>(out, array, |x| x as f64 / 1e6);
            }
            TimeUnit::Nanosecond => {
                extend::<TimestampNanosecondType>(out, array, |x| x as f64 / 1e9);
            }
        },
        other => return Err(type_changed(column, other, ColumnType::Float, origin)),
    }
    Ok(())
}

fn type_changed(
    column: &str,
    found: &DataType,
    planned: ColumnType,
    origin: Origin<'_>,
) -> DataError {
    DataError::SchemaMismatch {
        file: origin.file.into(),
        reason: format!("column `{column}` is {found} here but {planned} in the first file"),
    }
}

/// Plans every field of `schema`, with declared types by column name.
pub(crate) fn plan_schema(
    schema: &ArrowSchema,
    file: &str,
    declared: &[(String, ColumnType)],
    max_categories: usize,
) -> Result<Vec<Plan>> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let declared = declared
                .iter()
                .rev()
                .find(|(n, _)| n == f.name())
                .map(|(_, t)| *t);
            plan_field(f, file, declared, max_categories)
        })
        .collect()
}

/// The target recorded in Arrow schema metadata, if any.
pub(crate) fn metadata_target(schema: &ArrowSchema) -> Option<&str> {
    schema
        .metadata()
        .get(TARGET_METADATA_KEY)
        .map(String::as_str)
}
