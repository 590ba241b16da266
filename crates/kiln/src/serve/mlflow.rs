//! MLflow's scoring protocol (`mlflow models serve`): `POST /invocations` with a JSON body of
//! exactly one of `dataframe_split`, `dataframe_records`, `instances` or `inputs` (and
//! optional `params`), or a `text/csv` body; the answer is `{"predictions": [...]}`.

use kiln_train::Predictions;
use serde_json::{Map, Value, json};

use crate::serve::error::ApiError;
use crate::serve::schema::{Rows, Schema, parse_json};

/// The input formats, by their key.
const FORMATS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];
/// The `params` this server reads.
const PARAMS: [&str; 1] = ["probabilities"];

/// A parsed scoring request.
#[derive(Debug)]
pub(crate) struct Scoring {
    pub rows: Rows,
    /// Answer each row with its class probabilities too.
    pub probabilities: bool,
}

/// Parses a body by its media type (lower-cased, without parameters).
pub(crate) fn parse(schema: &Schema, media: &str, body: &[u8]) -> Result<Scoring, ApiError> {
    match media {
        "application/json" => parse_body(schema, body),
        "text/csv" => Ok(Scoring {
            rows: schema.table_from_csv(body)?,
            probabilities: false,
        }),
        "" => Err(ApiError::media_type("(none)")),
        other => Err(ApiError::media_type(other)),
    }
}

fn parse_body(schema: &Schema, body: &[u8]) -> Result<Scoring, ApiError> {
    let value = parse_json(body)?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::bad_request(format!(
            "the body must be a JSON object with one of {}",
            formats()
        )));
    };
    let probabilities = match object.remove("params") {
        None | Some(Value::Null) => false,
        Some(Value::Object(params)) => read_params(&params)?,
        Some(_) => return Err(ApiError::field("params", "must be an object")),
    };
    if let Some(k) = object.keys().find(|k| !FORMATS.contains(&k.as_str())) {
        return Err(ApiError::field(
            k.clone(),
            format!(
                "unknown field `{k}`; send exactly one of {} (and optional `params`)",
                formats()
            ),
        ));
    }
    let mut present = object.into_iter();
    let (Some((key, value)), None) = (present.next(), present.next()) else {
        return Err(ApiError::bad_request(format!(
            "send exactly one of {}",
            formats()
        )));
    };
    let rows = match key.as_str() {
        "dataframe_split" => dataframe_split(schema, value)?,
        "dataframe_records" => match value {
            Value::Array(rows) if rows.iter().all(Value::is_object) => {
                schema.table_from_rows(&key, &rows)?
            }
            _ => {
                return Err(ApiError::field(
                    key,
                    "must be an array of objects, one per row, keyed by column",
                ));
            }
        },
        // TF Serving's row format: an array of rows.
        "instances" => match value {
            Value::Array(rows) => schema.table_from_rows(&key, &rows)?,
            _ => return Err(ApiError::field(key, "must be an array of rows")),
        },
        // TF Serving's column format: an object of columns, or an array as `instances`.
        _ => match value {
            Value::Object(columns) => {
                if schema.columns().is_empty() {
                    return Err(ApiError::field(
                        key,
                        "this model reads images: send an array of images, each an array of \
                         pixel values",
                    ));
                }
                let columns = columns
                    .into_iter()
                    .map(|(name, v)| match v {
                        Value::Array(values) => Ok((name, values)),
                        scalar => Ok((name, vec![scalar])),
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                schema.table_from_columns(columns)?
            }
            Value::Array(rows) => schema.table_from_rows(&key, &rows)?,
            _ => {
                return Err(ApiError::field(
                    key,
                    "must be an object of columns or an array of rows",
                ));
            }
        },
    };
    Ok(Scoring {
        rows,
        probabilities,
    })
}

fn dataframe_split(schema: &Schema, value: Value) -> Result<Rows, ApiError> {
    const FIELD: &str = "dataframe_split";
    let Value::Object(mut split) = value else {
        return Err(ApiError::field(
            FIELD,
            "must be an object with `columns` and `data` (pandas' `split` orientation)",
        ));
    };
    let columns: Vec<String> = match split.remove("columns") {
        Some(Value::Array(c)) => c
            .into_iter()
            .map(|c| match c {
                Value::String(s) => Ok(s),
                other => Err(ApiError::field(
                    "dataframe_split.columns",
                    format!("column names must be strings, got {other}"),
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::field(
                "dataframe_split.columns",
                "send `columns`: the column names, in the order of each row's values",
            ));
        }
    };
    let Some(Value::Array(data)) = split.remove("data") else {
        return Err(ApiError::field(
            "dataframe_split.data",
            "send `data`: an array of rows, each an array of values",
        ));
    };
    split.remove("index");
    if let Some(k) = split.keys().next() {
        return Err(ApiError::field(
            format!("dataframe_split.{k}"),
            format!("unknown field `{k}`; `dataframe_split` has `columns`, `data` and `index`"),
        ));
    }
    let mut by_column: Vec<(String, Vec<Value>)> = columns
        .into_iter()
        .map(|c| (c, Vec::with_capacity(data.len())))
        .collect();
    for (r, row) in data.into_iter().enumerate() {
        let Value::Array(values) = row else {
            return Err(ApiError::field(
                "dataframe_split.data",
                format!("row {r} is not an array of values"),
            ));
        };
        if values.len() != by_column.len() {
            return Err(ApiError::field(
                "dataframe_split.data",
                format!(
                    "row {r} has {} values for {} columns",
                    values.len(),
                    by_column.len()
                ),
            ));
        }
        for (column, v) in by_column.iter_mut().zip(values) {
            column.1.push(v);
        }
    }
    schema.table_from_columns(by_column)
}

fn read_params(params: &Map<String, Value>) -> Result<bool, ApiError> {
    let mut probabilities = false;
    for (k, v) in params {
        match (k.as_str(), v) {
            ("probabilities", Value::Bool(b)) => probabilities = *b,
            ("probabilities", _) => {
                return Err(ApiError::field(
                    "params.probabilities",
                    "must be true or false",
                ));
            }
            _ => {
                return Err(ApiError::field(
                    format!("params.{k}"),
                    format!(
                        "unknown param `{k}`; this server reads: {}",
                        PARAMS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(probabilities)
}

fn formats() -> String {
    FORMATS
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{"predictions": [...]}`: class names or values; with probabilities, one object per row
/// with `prediction` and a `probability_<class>` per class (the columns `kiln predict`
/// writes).
pub(crate) fn response(predictions: &Predictions, probabilities: bool) -> Value {
    let rows: Vec<Value> = match predictions {
        Predictions::Classes {
            classes,
            codes,
            probabilities: p,
        } => codes
            .iter()
            .enumerate()
            .map(|(r, &code)| {
                let name = Value::String(classes[code as usize].clone());
                if !probabilities {
                    return name;
                }
                let mut row = Map::new();
                row.insert("prediction".into(), name);
                for (c, &q) in classes.iter().zip(p.row(r)) {
                    row.insert(format!("probability_{c}"), json!(q));
                }
                Value::Object(row)
            })
            .collect(),
        Predictions::Values(values) => values.iter().map(|v| json!(v)).collect(),
    };
    json!({ "predictions": rows })
}
