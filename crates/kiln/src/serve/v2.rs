//! The Open Inference Protocol (KServe V2, REST): typed input tensors in, typed output tensors
//! out. A table model takes one tensor per column (shape `[n]` or `[n, 1]`); an image model
//! one tensor of shape `[n, …]` whose trailing dimensions hold one image's pixels; a text model
//! one `BYTES` tensor.

use kiln_data::ColumnType;
use kiln_train::Predictions;
use serde_json::{Value, json};

use crate::serve::error::ApiError;
use crate::serve::schema::{Inputs, Rows, Schema, flatten_numbers, parse_json, pixel_rows, short};

const DATATYPES: [&str; 14] = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "FP32", "FP64", "BYTES", "BF16",
];
/// The output tensors, by name.
const OUTPUTS: [&str; 2] = ["prediction", "probabilities"];

/// A parsed inference request.
#[derive(Debug)]
pub(crate) struct Infer {
    pub id: Option<String>,
    pub rows: Rows,
    /// The outputs asked for (all when the request names none).
    pub outputs: Vec<String>,
}

/// Parses `POST /v2/models/{name}/infer`.
pub(crate) fn parse(schema: &Schema, body: &[u8]) -> Result<Infer, ApiError> {
    let value = parse_json(body)?;
    let Value::Object(request) = value else {
        return Err(ApiError::bad_request(
            "the body must be an object with `inputs`",
        ));
    };
    for k in request.keys() {
        if !["id", "parameters", "inputs", "outputs"].contains(&k.as_str()) {
            return Err(ApiError::field(
                k.clone(),
                format!(
                    "unknown field `{k}`; an inference request has `id`, `parameters`, `inputs`, `outputs`"
                ),
            ));
        }
    }
    let id = match request.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::field("id", "must be a string")),
    };
    let outputs = match request.get("outputs") {
        None | Some(Value::Null) => OUTPUTS.iter().map(|s| (*s).to_owned()).collect(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, o)| match o.get("name").and_then(Value::as_str) {
                Some(n) if OUTPUTS.contains(&n) => Ok(n.to_owned()),
                Some(n) => Err(ApiError::field(
                    format!("outputs[{i}].name"),
                    format!("no output `{n}`; this model has `prediction` and `probabilities`"),
                )),
                None => Err(ApiError::field(format!("outputs[{i}]"), "needs a `name`")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::field("outputs", "must be an array")),
    };
    let Some(Value::Array(inputs)) = request.get("inputs") else {
        return Err(ApiError::field(
            "inputs",
            "send `inputs`: an array of tensors, each with `name`, `shape`, `datatype`, `data`",
        ));
    };
    let mut tensors = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        tensors.push(Tensor::parse(i, t)?);
    }
    let rows = match schema.inputs {
        Inputs::Pixels { width } => {
            let [t] = tensors.as_slice() else {
                return Err(ApiError::field(
                    "inputs",
                    format!(
                        "this model reads one tensor of images, [n, {width}] pixel values; got {} tensors",
                        tensors.len()
                    ),
                ));
            };
            let per_row: usize = t.shape.iter().skip(1).product();
            if t.shape.len() < 2 || per_row != width {
                return Err(ApiError::field(
                    t.field("shape"),
                    format!(
                        "shape {:?}: this model reads [n, {width}] (or [n, …] with {width} values per image)",
                        t.shape
                    ),
                ));
            }
            let mut data = Vec::with_capacity(t.data.len());
            for v in &t.data {
                flatten_numbers(v, &mut data).map_err(|v| {
                    ApiError::field(
                        t.field("data"),
                        format!("expected numbers, got {}", short(&v)),
                    )
                })?;
            }
            pixel_rows(&t.field("data"), data, t.shape[0], width)?
        }
        _ => {
            let mut columns = Vec::with_capacity(tensors.len());
            for t in tensors {
                if !(t.shape.len() == 1 || (t.shape.len() == 2 && t.shape[1] == 1)) {
                    return Err(ApiError::field(
                        t.field("shape"),
                        format!("shape {:?}: a column's tensor is [n] or [n, 1]", t.shape),
                    ));
                }
                columns.push((t.name, t.data));
            }
            schema.table_from_columns(columns)?
        }
    };
    Ok(Infer { id, rows, outputs })
}

/// One input tensor, its data flattened and checked against its datatype and shape.
struct Tensor {
    index: usize,
    name: String,
    shape: Vec<usize>,
    data: Vec<Value>,
}

impl Tensor {
    fn parse(index: usize, t: &Value) -> Result<Self, ApiError> {
        let at = |f: &str| format!("inputs[{index}].{f}");
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::field(at("name"), "each input tensor needs a `name`"))?
            .to_owned();
        let shape: Vec<usize> = t
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|s| s.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .ok_or_else(|| {
                ApiError::field(
                    at("shape"),
                    "needs a `shape`: an array of non-negative integers",
                )
            })?;
        let datatype = t.get("datatype").and_then(Value::as_str).ok_or_else(|| {
            ApiError::field(at("datatype"), "needs a `datatype` (e.g. FP32, BYTES)")
        })?;
        if !DATATYPES.contains(&datatype) {
            return Err(ApiError::field(
                at("datatype"),
                format!(
                    "unknown datatype `{datatype}`; use one of {}",
                    DATATYPES.join(", ")
                ),
            ));
        }
        let mut data = Vec::new();
        flatten(
            t.get("data").ok_or_else(|| {
                ApiError::field(at("data"), "needs `data`: the values, row-major")
            })?,
            &mut data,
        );
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(ApiError::field(
                at("data"),
                format!(
                    "{} values for shape {shape:?}, which holds {expected}",
                    data.len()
                ),
            ));
        }
        for (i, v) in data.iter().enumerate() {
            let ok = match datatype {
                "BOOL" => v.is_boolean(),
                "BYTES" => v.is_string(),
                "FP16" | "FP32" | "FP64" | "BF16" => v.is_number(),
                _ => v.is_i64() || v.is_u64(),
            };
            if !ok {
                return Err(ApiError::field(
                    at("data"),
                    format!("value {i} is {}, not {datatype}", short(v)),
                ));
            }
        }
        Ok(Self {
            index,
            name,
            shape,
            data,
        })
    }

    fn field(&self, f: &str) -> String {
        format!("inputs[{}].{f}", self.index)
    }
}

fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// The V2 datatype of a column type.
fn datatype(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer | ColumnType::Float => "FP64",
        ColumnType::Boolean => "BOOL",
        ColumnType::Categorical | ColumnType::Text => "BYTES",
    }
}

/// `GET /v2/models/{name}`.
pub(crate) fn metadata(name: &str, version: &str, schema: &Schema, classes: &[String]) -> Value {
    let inputs: Vec<Value> = match schema.inputs {
        Inputs::Pixels { width } => {
            vec![json!({"name": "images", "datatype": "FP32", "shape": [-1, width]})]
        }
        _ => schema
            .columns()
            .iter()
            .map(|c| json!({"name": c.name, "datatype": datatype(c.column_type), "shape": [-1]}))
            .collect(),
    };
    let mut outputs = vec![json!({
        "name": "prediction",
        "datatype": if classes.is_empty() { "FP64" } else { "BYTES" },
        "shape": [-1],
    })];
    if !classes.is_empty() {
        outputs.push(json!({
            "name": "probabilities",
            "datatype": "FP32",
            "shape": [-1, classes.len()],
            "parameters": {"classes": classes},
        }));
    }
    json!({
        "name": name,
        "versions": [version],
        "platform": "kiln",
        "inputs": inputs,
        "outputs": outputs,
    })
}

/// The inference response.
pub(crate) fn response(
    name: &str,
    version: &str,
    id: Option<String>,
    outputs: &[String],
    predictions: &Predictions,
) -> Value {
    let n = predictions.len();
    let mut tensors = Vec::new();
    for o in outputs {
        match (o.as_str(), predictions) {
            ("prediction", Predictions::Classes { .. }) => tensors.push(json!({
                "name": "prediction", "datatype": "BYTES", "shape": [n],
                "data": predictions.labels(),
            })),
            ("prediction", Predictions::Values(v)) => tensors.push(json!({
                "name": "prediction", "datatype": "FP64", "shape": [n], "data": v,
            })),
            (
                "probabilities",
                Predictions::Classes {
                    classes,
                    probabilities,
                    ..
                },
            ) => tensors.push(json!({
                "name": "probabilities", "datatype": "FP32",
                "shape": [n, classes.len()],
                "data": probabilities.as_slice(),
                "parameters": {"classes": classes},
            })),
            // A regression model has no probabilities.
            _ => {}
        }
    }
    let mut body = json!({"model_name": name, "model_version": version, "outputs": tensors});
    if let Some(id) = id {
        body["id"] = Value::String(id);
    }
    body
}
