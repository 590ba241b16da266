//! `kiln::serve` through a real HTTP client, against servers started on free ports of
//! 127.0.0.1: every route, every body format, bad input, the token, concurrent clients, the
//! live monitor, and `kiln serve` stopped by SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use kiln::data::CsvLoader;
use kiln::data::datasets::Split;
use kiln::monitor::Window;
use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig, predict, write_predictions};
use kiln::prelude::Device;
use kiln::serve::{ServeConfig, Server};
use serde_json::{Value, json};

use crate::common::{bundled, turn};

/// A penguins bundle (numbers, categories, missing values), trained once for every test.
fn penguins() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap().keep();
        let mut config = PipelineConfig::new(bundled("tabular/penguins.csv"))
            .with_target("label")
            .with_model(ModelKind::Linear);
        config.train.epochs = Some(20);
        config.output.bundle = Some(dir.join("penguins"));
        Pipeline::new(config).run().unwrap().bundle
    })
}

/// The first `n` rows of penguins.csv, without the label, as a CSV text.
fn rows_csv(n: usize) -> String {
    let text = std::fs::read_to_string(bundled("tabular/penguins.csv")).unwrap();
    text.lines()
        .take(n + 1)
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The same rows as JSON records (`null` for a missing value), typed as the CSV loader types
/// them.
fn records(n: usize) -> Vec<Value> {
    let table = CsvLoader::new()
        .load_bytes("rows", rows_csv(n).as_bytes())
        .unwrap();
    (0..table.rows())
        .map(|r| {
            let mut row = serde_json::Map::new();
            for c in table.columns() {
                let v = if c.is_missing(r) {
                    Value::Null
                } else if c.column_type().is_numeric() {
                    json!(c.f64_at(r).unwrap())
                } else {
                    json!(c.text_at(r).unwrap())
                };
                row.insert(c.name().to_owned(), v);
            }
            Value::Object(row)
        })
        .collect()
}

struct Answer {
    status: u16,
    request_id: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `method url` with an optional body of `content_type`, and an optional bearer token.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Option<&str>,
    token: Option<&str>,
) -> Answer {
    let url = format!("http://{}{path}", server.addr());
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            r.call()
        }
        (_, body) => {
            let mut r = agent.post(&url);
            if let Some(t) = token {
                r = r.header("Authorization", &format!("Bearer {t}"));
            }
            if let Some(c) = content_type {
                r = r.header("Content-Type", c);
            }
            r.send(body.unwrap_or("").as_bytes())
        }
    }
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    Answer {
        status: response.status().as_u16(),
        request_id: response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.body_mut().read_to_string().unwrap(),
    }
}

fn get(server: &Server, path: &str) -> Answer {
    call(server, "GET", path, None, None, None)
}

fn post_json(server: &Server, path: &str, body: &Value) -> Answer {
    call(
        server,
        "POST",
        path,
        Some("application/json"),
        Some(&body.to_string()),
        None,
    )
}

/// Posts `body` (one row, probabilities asked for) and checks the answer against `line` of the
/// CSV `kiln predict` wrote (its first line the `header`): the label and every probability, to
/// the bit.
fn assert_served_alone_as_predicted(server: &Server, body: &Value, header: &str, line: &str) {
    let answer = post_json(server, "/invocations", body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let row = &answer.json()["predictions"][0];
    for (column, value) in header.split(',').zip(line.split(',')) {
        if column == "prediction" {
            assert_eq!(row[column], value, "{body}");
        } else {
            let served = row[column]
                .as_f64()
                .unwrap_or_else(|| panic!("{column}: {row}"));
            assert_eq!(
                served as f32,
                value.parse::<f32>().unwrap(),
                "{body}: {row}"
            );
        }
    }
}

fn start(config: ServeConfig) -> Server {
    Server::start(penguins(), config.with_port(0)).unwrap()
}

/// What `kiln predict` gives for the first `n` rows: labels, and the CSV it writes.
fn batch_predictions(n: usize) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rows.csv");
    std::fs::write(&data, rows_csv(n)).unwrap();
    let (_, predictions) = predict(penguins(), &data, &Device::flex()).unwrap();
    let out = dir.path().join("p.csv");
    write_predictions(&out, &predictions).unwrap();
    (predictions.labels(), std::fs::read_to_string(out).unwrap())
}

fn labels(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_route_answers_in_its_protocol() {
    let server = start(ServeConfig::default());
    for path in ["/ping", "/health"] {
        assert_eq!(get(&server, path).status, 200, "{path}");
    }
    assert_eq!(get(&server, "/version").body, env!("CARGO_PKG_VERSION"));
    assert_eq!(get(&server, "/v2").json()["name"], "kiln");
    assert_eq!(get(&server, "/v2/health/live").json()["live"], true);
    assert_eq!(get(&server, "/v2/health/ready").json()["ready"], true);
    let meta = get(&server, "/v2/models/penguins").json();
    assert_eq!(meta["name"], "penguins");
    let inputs: Vec<&str> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        inputs.contains(&"island") && !inputs.contains(&"label"),
        "{meta}"
    );
    assert_eq!(meta["outputs"][1]["shape"], json!([-1, 3]), "{meta}");
    assert_eq!(
        get(&server, "/v2/models/penguins/ready").json()["ready"],
        true
    );
    let missing = get(&server, "/v2/models/other");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("serves `penguins`"),
        "{}",
        missing.body
    );
    let nowhere = get(&server, "/nowhere");
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["error_code"], "RESOURCE_DOES_NOT_EXIST");

    let answer = post_json(&server, "/invocations", &json!({"instances": records(3)}));
    assert_eq!(labels(&answer).len(), 3);
    let metrics = get(&server, "/metrics");
    assert_eq!(metrics.status, 200);
    for line in [
        "kiln_http_requests_total{route=\"/invocations\",status=\"200\"} 1",
        "kiln_http_request_errors_total{route=\"/v2/models/{name}\"} 1",
        "kiln_http_request_duration_seconds_count{route=\"/invocations\"} 1",
        "kiln_rows_predicted_total 3",
        "kiln_monitor_enabled 1",
        "kiln_monitor_window_rows 3",
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} not in\n{}",
            metrics.body
        );
    }
    let monitor = get(&server, "/monitor").json();
    assert_eq!(monitor["enabled"], true);
    assert_eq!(monitor["open_window"]["rows"], 3);
    server.shutdown().unwrap();
}

#[test]
fn every_body_format_gives_what_kiln_predict_gives() {
    let n = 40;
    let (expected, csv) = batch_predictions(n);
    let server = start(ServeConfig::default());
    let records = records(n);
    let columns: Vec<String> = records[0].as_object().unwrap().keys().cloned().collect();
    let arrays: Vec<Value> = records
        .iter()
        .map(|r| Value::Array(columns.iter().map(|c| r[c].clone()).collect()))
        .collect();
    let by_column: serde_json::Map<String, Value> = columns
        .iter()
        .map(|c| (c.clone(), records.iter().map(|r| r[c].clone()).collect()))
        .collect();
    let meta = get(&server, "/v2/models/penguins").json();
    let model_order: Vec<String> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    let positional: Vec<Value> = records
        .iter()
        .map(|r| Value::Array(model_order.iter().map(|c| r[c].clone()).collect()))
        .collect();
    let bodies = [
        json!({"dataframe_split": {"columns": columns, "data": arrays}}),
        json!({"dataframe_records": records}),
        json!({"instances": records}),
        json!({"instances": positional}),
        json!({"inputs": by_column}),
        json!({"inputs": records, "params": {}}),
    ];
    for body in &bodies {
        let answer = post_json(&server, "/invocations", body);
        assert_eq!(labels(&answer), expected, "{body}");
        assert!(answer.request_id.is_some());
    }
    let answer = call(
        &server,
        "POST",
        "/invocations",
        Some("text/csv"),
        Some(&rows_csv(n)),
        None,
    );
    assert_eq!(labels(&answer), expected);

    // Probabilities: the columns `kiln predict` writes, with the same values.
    let answer = post_json(
        &server,
        "/invocations",
        &json!({"dataframe_records": records, "params": {"probabilities": true}}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let rows = answer.json()["predictions"].as_array().unwrap().clone();
    for (row, line) in rows.iter().zip(csv.lines().skip(1)) {
        let mut fields = line.split(',');
        assert_eq!(row["prediction"], fields.next().unwrap());
        for (c, p) in ["0", "1", "2"].iter().zip(fields) {
            let served = row[format!("probability_{c}")].as_f64().unwrap();
            assert_eq!(served as f32, p.parse::<f32>().unwrap(), "{row}");
        }
    }
    // A row sent alone (no batch around it) gets the same bits as inside `kiln predict`'s batch.
    let header = csv.lines().next().unwrap();
    for (record, line) in records.iter().zip(csv.lines().skip(1)).take(12) {
        let body = json!({"dataframe_records": [record], "params": {"probabilities": true}});
        assert_served_alone_as_predicted(&server, &body, header, line);
    }

    // The Open Inference Protocol: one typed tensor per column (V2 tensors have no nulls, so
    // the rows without missing values).
    let complete: Vec<usize> = (0..n)
        .filter(|&r| {
            records[r]
                .as_object()
                .unwrap()
                .values()
                .all(|v| !v.is_null())
        })
        .collect();
    assert!(complete.len() > n / 2);
    let inputs: Vec<Value> = columns
        .iter()
        .map(|c| {
            let values: Vec<Value> = complete.iter().map(|&r| records[r][c].clone()).collect();
            let datatype = if values[0].is_string() {
                "BYTES"
            } else {
                "FP64"
            };
            json!({"name": c, "shape": [complete.len()], "datatype": datatype, "data": values})
        })
        .collect();
    let answer = post_json(
        &server,
        "/v2/models/penguins/infer",
        &json!({"id": "r-1", "inputs": inputs}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["id"], "r-1");
    assert_eq!(body["model_name"], "penguins");
    let outputs = body["outputs"].as_array().unwrap();
    assert_eq!(outputs[0]["name"], "prediction");
    let served: Vec<&str> = outputs[0]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let want: Vec<&str> = complete.iter().map(|&r| expected[r].as_str()).collect();
    assert_eq!(served, want);
    assert_eq!(outputs[1]["shape"], json!([complete.len(), 3]));
    let only = post_json(
        &server,
        "/v2/models/penguins/infer",
        &json!({"inputs": inputs, "outputs": [{"name": "probabilities"}]}),
    )
    .json();
    assert_eq!(only["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(only["outputs"][0]["name"], "probabilities");
    server.shutdown().unwrap();
}

/// POSTs the head of a JSON body of `length` bytes with `Expect: 100-continue`, as curl does
/// for large bodies, and reads the answer (which must come before any of the body is sent).
fn oversized(server: &Server, length: usize) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

/// The status and the JSON error of a bad request.
fn rejected(answer: &Answer) -> (u16, Value) {
    assert!(
        (400..500).contains(&answer.status),
        "{}: {}",
        answer.status,
        answer.body
    );
    (answer.status, answer.json())
}

#[test]
fn bad_input_is_a_4xx_naming_what_to_fix_and_the_server_goes_on() {
    let server = start(ServeConfig::default().with_max_body(64 * 1024));
    let good = records(2);
    let post = |body: &str, content_type: Option<&str>| {
        call(
            &server,
            "POST",
            "/invocations",
            content_type,
            Some(body),
            None,
        )
    };
    let json_type = Some("application/json");

    let (status, e) = rejected(&post("{\"instances\": [", json_type));
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("not valid JSON"),
        "{e}"
    );

    let (status, e) = rejected(&post("<xml/>", Some("application/xml")));
    assert_eq!(status, 415);
    assert!(
        e["message"].as_str().unwrap().contains("application/xml"),
        "{e}"
    );
    assert_eq!(rejected(&post("{}", None)).0, 415);

    let (_, e) = rejected(&post("{}", json_type));
    assert!(
        e["message"].as_str().unwrap().contains("exactly one of"),
        "{e}"
    );
    let two = json!({"instances": good, "inputs": good}).to_string();
    assert!(
        rejected(&post(&two, json_type)).1["message"]
            .as_str()
            .unwrap()
            .contains("exactly one of")
    );
    let (_, e) = rejected(&post(&json!({"rows": good}).to_string(), json_type));
    assert_eq!(e["field"], "rows", "{e}");

    let mut unknown = good.clone();
    unknown[0]["colour"] = json!("red");
    let (_, e) = rejected(&post(
        &json!({"dataframe_records": unknown}).to_string(),
        json_type,
    ));
    assert_eq!(e["column"], "colour", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("this model reads"),
        "{e}"
    );

    let mut missing = good.clone();
    for r in &mut missing {
        r.as_object_mut().unwrap().remove("bill_length_mm");
    }
    let (_, e) = rejected(&post(
        &json!({"dataframe_records": missing}).to_string(),
        json_type,
    ));
    assert_eq!(e["column"], "bill_length_mm", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("missing column"),
        "{e}"
    );

    let mut wrong = good.clone();
    wrong[1]["body_mass_g"] = json!("heavy");
    let (_, e) = rejected(&post(&json!({"instances": wrong}).to_string(), json_type));
    assert_eq!(
        (e["column"].as_str(), e["row"].as_u64()),
        (Some("body_mass_g"), Some(1)),
        "{e}"
    );
    assert!(
        e["message"].as_str().unwrap().contains("expected a number"),
        "{e}"
    );

    let mut nan = good.clone();
    nan[0]["body_mass_g"] = json!("NaN");
    let (_, e) = rejected(&post(&json!({"instances": nan}).to_string(), json_type));
    assert_eq!(
        (e["column"].as_str(), e["row"].as_u64()),
        (Some("body_mass_g"), Some(0)),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a finite number"),
        "{e}"
    );

    let (_, e) = rejected(&post(
        &json!({"instances": good, "params": {"temperature": 2}}).to_string(),
        json_type,
    ));
    assert_eq!(e["field"], "params.temperature", "{e}");

    let (_, e) = rejected(&post(
        &json!({"instances": [[1, 2]]}).to_string(),
        json_type,
    ));
    assert!(
        e["message"].as_str().unwrap().contains("in this order"),
        "{e}"
    );

    let (_, e) = rejected(&post("island,oops\nDream,1\n", Some("text/csv")));
    assert_eq!(e["column"], "oops", "{e}");

    let big = json!({"instances": vec![good[0].clone(); 1000]}).to_string();
    assert!(big.len() > 64 * 1024);
    // Refused on its `Content-Length`, before the body is read.
    let (status, e) = oversized(&server, big.len());
    assert_eq!(status, 413);
    assert!(
        e["message"].as_str().unwrap().contains("65536 bytes"),
        "{e}"
    );

    // The Open Inference Protocol's tensors.
    let infer = |body: Value| post_json(&server, "/v2/models/penguins/infer", &body);
    let (_, e) = rejected(&infer(json!({"inputs": [
        {"name": "bill_length_mm", "shape": [3], "datatype": "FP64", "data": [1.0, 2.0]}
    ]})));
    assert_eq!(e["field"], "inputs[0].data", "{e}");
    assert!(e["message"].as_str().unwrap().contains("shape [3]"), "{e}");
    let (_, e) = rejected(&infer(json!({"inputs": [
        {"name": "island", "shape": [1], "datatype": "FP32", "data": ["Dream"]}
    ]})));
    assert!(e["message"].as_str().unwrap().contains("not FP32"), "{e}");
    let (_, e) = rejected(&infer(json!({"inputs": [
        {"name": "island", "shape": [1, 2], "datatype": "BYTES", "data": ["Dream", "Biscoe"]}
    ]})));
    assert!(
        e["message"].as_str().unwrap().contains("[n] or [n, 1]"),
        "{e}"
    );
    let (_, e) = rejected(&infer(
        json!({"inputs": [], "outputs": [{"name": "logits"}]}),
    ));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("no output `logits`"),
        "{e}"
    );
    let (status, _) = rejected(&call(
        &server,
        "POST",
        "/v2/models/penguins/infer",
        Some("text/plain"),
        Some("{}"),
        None,
    ));
    assert_eq!(status, 415);

    // None of that hurt the server; an unseen category is no error, but counted.
    let mut unseen = good.clone();
    unseen[0]["island"] = json!("Atlantis");
    let answer = post_json(&server, "/invocations", &json!({"instances": unseen}));
    assert_eq!(labels(&answer).len(), 2);
    let metrics = get(&server, "/metrics").body;
    for line in [
        "kiln_http_request_errors_total{route=\"/invocations\"} 14",
        "kiln_http_request_errors_total{route=\"/v2/models/{name}/infer\"} 5",
        "kiln_http_requests_total{route=\"/invocations\",status=\"413\"} 1",
        "kiln_http_requests_total{route=\"/invocations\",status=\"200\"} 1",
        "kiln_unknown_categories_total{column=\"island\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    server.shutdown().unwrap();
}

#[test]
fn the_token_guards_every_route_but_the_health_probes() {
    let server = start(ServeConfig::default().with_token("s3cret"));
    let body = json!({"instances": records(2)}).to_string();
    for path in ["/ping", "/health", "/v2/health/live", "/v2/health/ready"] {
        assert_eq!(get(&server, path).status, 200, "{path}");
    }
    for token in [None, Some("wrong"), Some("s3cre"), Some("s3cretx")] {
        for path in [
            "/metrics",
            "/monitor",
            "/version",
            "/v2/models/penguins",
            "/nowhere",
        ] {
            let answer = call(&server, "GET", path, None, None, token);
            assert_eq!(answer.status, 401, "{path} with {token:?}");
            assert_eq!(answer.json()["error_code"], "UNAUTHENTICATED");
        }
        let answer = call(
            &server,
            "POST",
            "/invocations",
            Some("application/json"),
            Some(&body),
            token,
        );
        assert_eq!(answer.status, 401);
        assert!(!answer.body.contains("penguins") && !answer.body.contains("island"));
    }
    let answer = call(
        &server,
        "POST",
        "/invocations",
        Some("application/json"),
        Some(&body),
        Some("s3cret"),
    );
    assert_eq!(labels(&answer).len(), 2);
    assert_eq!(
        call(&server, "GET", "/metrics", None, None, Some("s3cret")).status,
        200
    );
    server.shutdown().unwrap();
}

#[test]
fn concurrent_clients_share_forward_passes_and_each_gets_its_own_answer() {
    let n = 40;
    let (expected, _) = batch_predictions(n);
    let records = records(n);
    let server = start(
        ServeConfig::default()
            .with_batch_wait(Duration::from_millis(5))
            .with_workers(2),
    );
    let clients = 16;
    let per_client = 10;
    std::thread::scope(|s| {
        for c in 0..clients {
            let (server, records, expected) = (&server, &records, &expected);
            s.spawn(move || {
                for i in 0..per_client {
                    // Each request sends a different slice of rows.
                    let start = (c * 7 + i * 3) % (n - 5);
                    let len = 1 + (c + i) % 5;
                    let body = json!({"instances": records[start..start + len]});
                    let answer = post_json(server, "/invocations", &body);
                    assert_eq!(labels(&answer), expected[start..start + len], "client {c}");
                }
            });
        }
    });
    let metrics = get(&server, "/metrics").body;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value("kiln_rows_predicted_total"),
        value("kiln_batch_rows_total")
    );
    assert!(value("kiln_batches_total") <= (clients * per_client) as u64);
    server.shutdown().unwrap();
}

#[test]
fn feedback_tracks_accuracy_and_a_time_window_closes_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("monitor.jsonl");
    let server = start(
        ServeConfig::default()
            .with_window(Window::Duration(Duration::from_millis(400)))
            .with_monitor_log(&log),
    );
    let n = 30;
    let answer = post_json(&server, "/invocations", &json!({"instances": records(n)}));
    let predicted = labels(&answer);
    let truth: Vec<String> = std::fs::read_to_string(bundled("tabular/penguins.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .take(n)
        .map(|l| l.rsplit_once(',').unwrap().1.to_owned())
        .collect();
    let id = answer.request_id.clone().unwrap();
    let fed = post_json(
        &server,
        "/feedback",
        &json!({"request_id": id, "labels": truth}),
    );
    assert_eq!(fed.status, 200, "{}", fed.body);
    assert_eq!(fed.json()["labeled"], n);
    let (_, e) = rejected(&post_json(
        &server,
        "/feedback",
        &json!({"request_id": id, "labels": ["0"]}),
    ));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("1 labels for 30 predictions"),
        "{e}"
    );
    let (_, e) = rejected(&post_json(
        &server,
        "/feedback",
        &json!({"request_id": 999_999, "labels": ["0"]}),
    ));
    assert_eq!(e["field"], "request_id", "{e}");

    // No more requests: the window still closes, on time.
    let mut monitor = Value::Null;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        monitor = get(&server, "/monitor").json();
        if monitor["windows_closed"] == 1 {
            break;
        }
    }
    assert_eq!(monitor["windows_closed"], 1, "{monitor}");
    let window = &monitor["closed"][0];
    assert_eq!(window["rows"], n);
    assert_eq!(window["labeled"], n);
    let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
    assert_eq!(
        window["accuracy"].as_f64().unwrap(),
        correct as f64 / n as f64
    );
    let metrics = get(&server, "/metrics").body;
    assert!(
        metrics.contains("kiln_monitor_windows_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("kiln_monitor_accuracy "), "{metrics}");
    assert!(
        metrics.contains("kiln_monitor_drift_score{column=\"island\"}"),
        "{metrics}"
    );
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");

    // Shutdown closes the open window into the log.
    post_json(&server, "/invocations", &json!({"instances": records(5)}));
    server.shutdown().unwrap();
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    let last: Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(last["rows"], 5);
}

#[test]
fn image_and_text_bundles_are_served_too() {
    let dir = tempfile::tempdir().unwrap();
    let images = {
        let _turn = turn();
        let mnist = kiln::data::datasets::mnist(Split::Test).unwrap();
        let idx = dir.path().join("digits");
        std::fs::create_dir(&idx).unwrap();
        crate::pipeline::write_idx(&idx, "train", &mnist, 0..300);
        crate::pipeline::write_idx(&idx, "t10k", &mnist, 300..400);
        let mut config = PipelineConfig::new(&idx).with_model(ModelKind::Mlp);
        config.model.hidden = Some(vec![16]);
        config.train.epochs = Some(2);
        config.output.bundle = Some(dir.path().join("digits-mlp"));
        let bundle = Pipeline::new(config).run().unwrap().bundle;
        let (_, expected) = predict(&bundle, &idx, &Device::flex()).unwrap();
        let csv = dir.path().join("digits.csv");
        write_predictions(&csv, &expected).unwrap();
        let pixels: Vec<Value> = (300..305).map(|i| json!(mnist.image(i).to_vec())).collect();
        let csv = std::fs::read_to_string(csv).unwrap();
        (bundle, expected.labels()[..5].to_vec(), pixels, csv)
    };
    let server = Server::start(&images.0, ServeConfig::default().with_port(0)).unwrap();
    let answer = post_json(&server, "/invocations", &json!({"instances": images.2}));
    assert_eq!(labels(&answer), images.1);
    // Each image alone: the probabilities `kiln predict` wrote for it in its batch, bit for bit.
    let header = images.3.lines().next().unwrap();
    for (pixels, line) in images.2.iter().zip(images.3.lines().skip(1)) {
        let body = json!({"instances": [pixels], "params": {"probabilities": true}});
        assert_served_alone_as_predicted(&server, &body, header, line);
    }
    let flat: Vec<Value> = images
        .2
        .iter()
        .flat_map(|p| p.as_array().unwrap().clone())
        .collect();
    let v2 = post_json(
        &server,
        "/v2/models/digits-mlp/infer",
        &json!({"inputs": [{"name": "images", "shape": [5, 28, 28], "datatype": "UINT8", "data": flat}]}),
    );
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert_eq!(v2.json()["outputs"][0]["data"], json!(images.1));
    let (_, e) = rejected(&post_json(
        &server,
        "/invocations",
        &json!({"instances": [[1, 2, 3]]}),
    ));
    assert!(e["message"].as_str().unwrap().contains("784 pixels"), "{e}");
    let (_, e) = rejected(&post_json(
        &server,
        "/invocations",
        &json!({"instances": [vec![300; 784]]}),
    ));
    assert!(e["message"].as_str().unwrap().contains("0–255"), "{e}");
    assert_eq!(get(&server, "/monitor").json()["enabled"], false);
    server.shutdown().unwrap();

    let texts = dir.path().join("texts.csv");
    let mut csv = String::from("text,label\n");
    for i in 0..80 {
        if i % 2 == 0 {
            csv.push_str(&format!("\"cheap pills offer now {i}\",spam\n"));
        } else {
            csv.push_str(&format!("\"meeting notes for monday {i}\",ham\n"));
        }
    }
    std::fs::write(&texts, csv).unwrap();
    let bundle = {
        let _turn = turn();
        let mut config = PipelineConfig::new(&texts).with_target("label");
        config.train.epochs = Some(10);
        config.output.bundle = Some(dir.path().join("spam"));
        Pipeline::new(config).run().unwrap().bundle
    };
    let spam = Server::start(&bundle, ServeConfig::default().with_port(0)).unwrap();
    let server = &spam;
    let answer = post_json(
        server,
        "/invocations",
        &json!({"instances": ["cheap pills offer now", "meeting notes for monday"]}),
    );
    assert_eq!(labels(&answer), ["spam", "ham"]);
    let answer = post_json(
        server,
        "/invocations",
        &json!({"dataframe_records": [{"text": "cheap pills offer now"}]}),
    );
    assert_eq!(labels(&answer), ["spam"]);
    // Each text alone: the probabilities `kiln predict` wrote for it in its batch, bit for bit.
    let (_, expected) = predict(&bundle, &texts, &Device::flex()).unwrap();
    let out = dir.path().join("spam.csv");
    write_predictions(&out, &expected).unwrap();
    let written = std::fs::read_to_string(out).unwrap();
    let header = written.lines().next().unwrap();
    for (i, line) in written.lines().skip(1).enumerate().take(6) {
        let text = if i % 2 == 0 {
            format!("cheap pills offer now {i}")
        } else {
            format!("meeting notes for monday {i}")
        };
        let body =
            json!({"dataframe_records": [{"text": text}], "params": {"probabilities": true}});
        assert_served_alone_as_predicted(server, &body, header, line);
    }
    spam.shutdown().unwrap();
}

#[test]
fn a_regression_bundle_answers_values_in_the_targets_units() {
    let dir = tempfile::tempdir().unwrap();
    let data = bundled("tabular/diabetes.csv");
    let bundle = {
        let _turn = turn();
        let mut config = PipelineConfig::new(&data)
            .with_target("target")
            .with_model(ModelKind::Linear);
        config.train.epochs = Some(10);
        config.output.bundle = Some(dir.path().join("diabetes"));
        Pipeline::new(config).run().unwrap().bundle
    };
    let (_, expected) = predict(&bundle, &data, &Device::flex()).unwrap();
    let kiln::train::Predictions::Values(expected) = expected else {
        panic!("a regression bundle predicts values");
    };
    let server = Server::start(&bundle, ServeConfig::default().with_port(0)).unwrap();
    let csv = std::fs::read_to_string(&data).unwrap();
    let first: String = csv.lines().take(11).collect::<Vec<_>>().join("\n");
    let answer = call(
        &server,
        "POST",
        "/invocations",
        Some("text/csv"),
        Some(&first),
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let served: Vec<f64> = answer.json()["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(served, expected[..10]);
    assert!(
        served.iter().all(|v| *v > 20.0),
        "in the target's units: {served:?}"
    );
    let v2 = post_json(&server, "/v2/models/diabetes", &json!({}));
    assert_eq!(v2.status, 405, "metadata is a GET");
    assert!(
        v2.json()["message"]
            .as_str()
            .unwrap()
            .contains("POST is not served")
    );
    let meta = get(&server, "/v2/models/diabetes").json();
    assert_eq!(
        meta["outputs"].as_array().unwrap().len(),
        1,
        "no probabilities: {meta}"
    );
    assert_eq!(meta["outputs"][0]["datatype"], "FP64");
    server.shutdown().unwrap();
}
