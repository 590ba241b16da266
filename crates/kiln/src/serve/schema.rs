//! What a bundle reads, and request values made into it: table columns typed as in training,
//! a text column, or image pixels. Every check names the column (or input), the row and what
//! was expected.

use std::collections::BTreeMap;

use kiln_data::bundle::TextInput;
use kiln_data::{Column, ColumnData, ColumnType, CsvLoader, Matrix, Table};
use serde_json::Value;

use crate::pipeline::AnyBundle;
use crate::serve::error::ApiError;

/// One input column of a table or text bundle.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputColumn {
    /// Its name.
    pub name: String,
    /// Its type in training (numbers: integer or float; booleans; categories; text).
    pub column_type: ColumnType,
}

/// What the model reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inputs {
    /// Table columns through the fitted preprocessor.
    Table(Vec<InputColumn>),
    /// One text column through the fitted vectorizer.
    Text(InputColumn),
    /// Images: `width` raw pixel values (0–255) per row, flattened channel-major.
    Pixels {
        /// Values per row.
        width: usize,
    },
}

/// A request's rows, checked against the schema.
#[derive(Debug, Clone)]
pub(crate) enum Rows {
    /// Table (or text) rows, with exactly the schema's columns.
    Table(Table),
    /// Pixel rows, scaled to 0–1 as training scaled them.
    Pixels(Matrix),
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Table(t) => t.rows(),
            Self::Pixels(m) => m.rows(),
        }
    }
}

/// The bundle's inputs, and the target column a request may carry (and the server ignores).
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    pub inputs: Inputs,
    pub target: Option<String>,
}

impl Schema {
    pub(crate) fn of(bundle: &AnyBundle) -> Self {
        let target = bundle.pipeline_config().and_then(|c| c.data.target.clone());
        let types: BTreeMap<&str, ColumnType> = bundle
            .profile()
            .map(|p| {
                p.columns()
                    .iter()
                    .map(|(n, t, _)| (n.as_str(), *t))
                    .collect()
            })
            .unwrap_or_default();
        let inputs = if let Some(p) = bundle.preprocessor() {
            Inputs::Table(
                p.input_columns()
                    .into_iter()
                    .map(|name| InputColumn {
                        name: name.to_owned(),
                        // Without a profile the type follows the values sent.
                        column_type: types.get(name).copied().unwrap_or(ColumnType::Float),
                    })
                    .collect(),
            )
        } else if bundle.vectorizer().is_some() {
            let name = bundle
                .text_column()
                .map(str::to_owned)
                .or_else(|| {
                    types
                        .iter()
                        .find(|(_, t)| **t == ColumnType::Text)
                        .map(|(n, _)| (*n).to_owned())
                })
                .or_else(|| {
                    types
                        .keys()
                        .find(|n| Some(**n) != target.as_deref())
                        .map(|n| (*n).to_owned())
                })
                .unwrap_or_else(|| "text".to_owned());
            Inputs::Text(InputColumn {
                name,
                column_type: ColumnType::Text,
            })
        } else {
            Inputs::Pixels {
                width: bundle.input_width().unwrap_or(0),
            }
        };
        Self { inputs, target }
    }

    /// The input columns, in the model's order (none for images).
    pub(crate) fn columns(&self) -> &[InputColumn] {
        match &self.inputs {
            Inputs::Table(c) => c,
            Inputs::Text(c) => std::slice::from_ref(c),
            Inputs::Pixels { .. } => &[],
        }
    }

    pub(crate) fn column_names(&self) -> String {
        self.columns()
            .iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn unknown_column(&self, name: &str) -> ApiError {
        ApiError::column(
            name,
            None,
            format!(
                "unknown column `{name}`; this model reads {}",
                self.column_names()
            ),
        )
    }

    fn missing_column(&self, name: &str) -> ApiError {
        ApiError::column(
            name,
            None,
            format!(
                "missing column `{name}`; this model reads {}",
                self.column_names()
            ),
        )
    }

    /// Rows from named columns of JSON values (each the same length).
    pub(crate) fn table_from_columns(
        &self,
        columns: Vec<(String, Vec<Value>)>,
    ) -> Result<Rows, ApiError> {
        if let Inputs::Pixels { width } = self.inputs {
            return Err(ApiError::bad_request(format!(
                "this model reads images, not named columns; send `instances` or `inputs` as \
                 arrays of {width} pixel values (0–255) per row"
            )));
        }
        let mut by_name: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut rows = None;
        for (name, values) in columns {
            let is_target = Some(name.as_str()) == self.target.as_deref();
            if !is_target && !self.columns().iter().any(|c| c.name == name) {
                return Err(self.unknown_column(&name));
            }
            match rows {
                None => rows = Some(values.len()),
                Some(n) if n != values.len() => {
                    return Err(ApiError::column(
                        name,
                        None,
                        format!("has {} values where other columns have {n}", values.len()),
                    ));
                }
                Some(_) => {}
            }
            if by_name.insert(name.clone(), values).is_some() {
                return Err(ApiError::column(name, None, "is given twice"));
            }
        }
        let mut out = Vec::with_capacity(self.columns().len());
        for c in self.columns() {
            let values = by_name
                .remove(&c.name)
                .ok_or_else(|| self.missing_column(&c.name))?;
            out.push(column_from_json(c, &values)?);
        }
        Ok(Rows::Table(Table::new(out).map_err(ApiError::from)?))
    }

    /// Rows from JSON rows: objects by column name, arrays in the model's column order (or of
    /// pixels), or bare values for a one-column model.
    pub(crate) fn table_from_rows(&self, field: &str, rows: &[Value]) -> Result<Rows, ApiError> {
        if let Inputs::Pixels { width } = self.inputs {
            return pixels(field, rows, width);
        }
        let names: Vec<&str> = self.columns().iter().map(|c| c.name.as_str()).collect();
        if rows.first().is_some_and(Value::is_object) {
            // Records: the union of keys, in first-seen order; a key a row lacks is missing.
            let mut keys: Vec<String> = Vec::new();
            for (r, row) in rows.iter().enumerate() {
                let Value::Object(map) = row else {
                    return Err(ApiError::field(
                        field,
                        format!("row {r} is not an object like the rows before it"),
                    ));
                };
                for k in map.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
            let columns = keys
                .into_iter()
                .map(|k| {
                    let values = rows
                        .iter()
                        .map(|row| row.get(&k).cloned().unwrap_or(Value::Null))
                        .collect();
                    (k, values)
                })
                .collect();
            return self.table_from_columns(columns);
        }
        if rows.first().is_some_and(Value::is_array) {
            let mut columns: Vec<(String, Vec<Value>)> = names
                .iter()
                .map(|n| ((*n).to_owned(), Vec::with_capacity(rows.len())))
                .collect();
            for (r, row) in rows.iter().enumerate() {
                let Some(values) = row.as_array() else {
                    return Err(ApiError::field(
                        field,
                        format!("row {r} is not an array like the rows before it"),
                    ));
                };
                if values.len() != names.len() {
                    return Err(ApiError::field(
                        field,
                        format!(
                            "row {r} has {} values; this model reads {} columns in this order: {}",
                            values.len(),
                            names.len(),
                            self.column_names()
                        ),
                    ));
                }
                for (column, v) in columns.iter_mut().zip(values) {
                    column.1.push(v.clone());
                }
            }
            return self.table_from_columns(columns);
        }
        match names.as_slice() {
            [one] => self.table_from_columns(vec![((*one).to_owned(), rows.to_vec())]),
            _ => Err(ApiError::field(
                field,
                format!(
                    "rows must be objects keyed by column, or arrays of values in the order {}",
                    self.column_names()
                ),
            )),
        }
    }

    /// Rows from a CSV body with a header row, typed as in training.
    pub(crate) fn table_from_csv(&self, body: &[u8]) -> Result<Rows, ApiError> {
        if let Inputs::Pixels { .. } = self.inputs {
            return Err(ApiError::bad_request(
                "this model reads images; send JSON `instances` or `inputs` of pixel values",
            ));
        }
        let mut loader = CsvLoader::new();
        if let Inputs::Text(_) = self.inputs {
            loader = loader.with_missing_values::<&str>(&[]);
        }
        // The header first: unknown and missing columns are the client's to fix, by name.
        let untyped = loader.load_bytes("request body", body)?;
        for column in untyped.columns() {
            let name = column.name();
            if Some(name) != self.target.as_deref()
                && !self.columns().iter().any(|c| c.name == name)
            {
                return Err(self.unknown_column(name));
            }
        }
        if let Some(c) = self
            .columns()
            .iter()
            .find(|c| untyped.column(&c.name).is_err())
        {
            return Err(self.missing_column(&c.name));
        }
        // Then typed as in training (a column of digits may be categories).
        for c in self.columns() {
            loader = loader.with_column_type(c.name.clone(), c.column_type);
        }
        let table = loader.load_bytes("request body", body)?;
        let out = self
            .columns()
            .iter()
            .map(|c| table.column(&c.name).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rows::Table(Table::new(out)?))
    }

    /// The model's features for checked rows, and per column the values of categories unseen
    /// in training (encoded as all zeros).
    pub(crate) fn features(
        &self,
        bundle: &AnyBundle,
        rows: &Rows,
    ) -> Result<(Matrix, BTreeMap<String, u64>), ApiError> {
        match (rows, &self.inputs) {
            (Rows::Pixels(m), _) => Ok((m.clone(), BTreeMap::new())),
            (Rows::Table(table), Inputs::Text(c)) => {
                let column = table.column(&c.name)?;
                let texts: Vec<String> = (0..table.rows())
                    .map(|r| {
                        column
                            .text_at(r)
                            .map(|t| t.into_owned())
                            .unwrap_or_default()
                    })
                    .collect();
                let Some((vectorizer, input)) = bundle.vectorizer() else {
                    return Err(ApiError::internal("the text bundle has no vectorizer"));
                };
                let features = match input {
                    TextInput::Dense => vectorizer.transform_dense(&texts),
                    TextInput::TokenIds { max_len } => vectorizer.token_ids(&texts, *max_len),
                };
                Ok((features, BTreeMap::new()))
            }
            (Rows::Table(table), _) => {
                let Some(preprocessor) = bundle.preprocessor() else {
                    return Err(ApiError::internal("the table bundle has no preprocessor"));
                };
                Ok(preprocessor.transform_counted(table)?)
            }
        }
    }
}

/// One column of JSON values as the training column's type. Numbers may come as numbers or
/// numeric strings; categories as strings (numbers and booleans are taken by their text);
/// `null` is a missing value.
fn column_from_json(c: &InputColumn, values: &[Value]) -> Result<Column, ApiError> {
    let mut missing = vec![false; values.len()];
    let bad = |row: usize, expected: &str, v: &Value| {
        ApiError::column(
            c.name.clone(),
            Some(row),
            format!(
                "column `{}`, row {row}: expected {expected}, got {}",
                c.name,
                short(v)
            ),
        )
    };
    let data = match c.column_type {
        ColumnType::Integer | ColumnType::Float => {
            let mut out = Vec::with_capacity(values.len());
            for (r, v) in values.iter().enumerate() {
                let x = match v {
                    Value::Null => {
                        missing[r] = true;
                        f64::NAN
                    }
                    Value::Number(n) => n.as_f64().ok_or_else(|| bad(r, "a number", v))?,
                    Value::String(s) => {
                        s.trim().parse::<f64>().map_err(|_| bad(r, "a number", v))?
                    }
                    _ => return Err(bad(r, "a number", v)),
                };
                if !missing[r] && !x.is_finite() {
                    return Err(ApiError::column(
                        c.name.clone(),
                        Some(r),
                        format!(
                            "column `{}`, row {r}: {x} is not a finite number; send null for \
                             a missing value",
                            c.name
                        ),
                    ));
                }
                out.push(x);
            }
            ColumnData::Float(out)
        }
        ColumnType::Boolean => {
            let mut out = Vec::with_capacity(values.len());
            for (r, v) in values.iter().enumerate() {
                out.push(match v {
                    Value::Null => {
                        missing[r] = true;
                        false
                    }
                    Value::Bool(b) => *b,
                    Value::Number(n) if n.as_f64() == Some(0.0) => false,
                    Value::Number(n) if n.as_f64() == Some(1.0) => true,
                    Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                    Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => return Err(bad(r, "true or false", v)),
                });
            }
            ColumnData::Boolean(out)
        }
        ColumnType::Categorical => {
            let mut levels: Vec<String> = Vec::new();
            let mut index: BTreeMap<String, u32> = BTreeMap::new();
            let mut codes = Vec::with_capacity(values.len());
            for (r, v) in values.iter().enumerate() {
                let text = match v {
                    Value::Null => {
                        missing[r] = true;
                        codes.push(0);
                        continue;
                    }
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(bad(r, "a category (a string)", v)),
                };
                let code = *index.entry(text.clone()).or_insert_with(|| {
                    levels.push(text);
                    (levels.len() - 1) as u32
                });
                codes.push(code);
            }
            ColumnData::Categorical { codes, levels }
        }
        ColumnType::Text => {
            let mut out = Vec::with_capacity(values.len());
            for (r, v) in values.iter().enumerate() {
                out.push(match v {
                    Value::Null => {
                        missing[r] = true;
                        String::new()
                    }
                    Value::String(s) => s.clone(),
                    _ => return Err(bad(r, "a text (a string)", v)),
                });
            }
            ColumnData::Text(out)
        }
    };
    let missing = missing.iter().any(|&m| m).then_some(missing);
    Ok(Column::new(c.name.clone(), data, missing))
}

/// Pixel rows: each an array (flat or nested) of `width` values in 0–255.
fn pixels(field: &str, rows: &[Value], width: usize) -> Result<Rows, ApiError> {
    let mut data = Vec::with_capacity(rows.len() * width);
    for (r, row) in rows.iter().enumerate() {
        let start = data.len();
        flatten_numbers(row, &mut data).map_err(|v| {
            ApiError::field(
                field,
                format!(
                    "row {r}: expected pixel values (numbers 0–255), got {}",
                    short(&v)
                ),
            )
        })?;
        let n = data.len() - start;
        if n != width {
            return Err(ApiError::field(
                field,
                format!("row {r} has {n} values; this model reads {width} pixels per image"),
            ));
        }
    }
    pixel_rows(field, data, rows.len(), width)
}

/// `rows` rows of `width` pixel values (0–255), checked and scaled as training scaled them.
pub(crate) fn pixel_rows(
    field: &str,
    mut data: Vec<f32>,
    rows: usize,
    width: usize,
) -> Result<Rows, ApiError> {
    if let Some(i) = data.iter().position(|p| !(0.0..=255.0).contains(p)) {
        return Err(ApiError::field(
            field,
            format!(
                "row {}, value {} is {}; pixels are 0–255, as in the training images",
                i / width.max(1),
                i % width.max(1),
                data[i]
            ),
        ));
    }
    for p in &mut data {
        *p /= 255.0;
    }
    Matrix::new(rows, width, data)
        .map(Rows::Pixels)
        .map_err(ApiError::from)
}

/// A JSON body, or a 400 saying where it stops being JSON.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Appends the numbers of a (nested) array; the first non-number is the error.
pub(crate) fn flatten_numbers(v: &Value, out: &mut Vec<f32>) -> Result<(), Value> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten_numbers(i, out)),
        Value::Number(n) => {
            out.push(n.as_f64().ok_or_else(|| v.clone())? as f32);
            Ok(())
        }
        other => Err(other.clone()),
    }
}

/// A value for an error message, cut short.
pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}
