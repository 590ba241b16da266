//! The routes: MLflow's scoring protocol, the Open Inference Protocol, metrics, the monitor
//! and feedback; the token check and the request counters around them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kiln_train::Predictions;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::serve::Shared;
use crate::serve::error::ApiError;
use crate::serve::live::Predicted;
use crate::serve::schema::Rows;
use crate::serve::{mlflow, v2};

/// Routes a client may call without the token: the health probes.
const OPEN: [&str; 4] = ["/ping", "/health", "/v2/health/live", "/v2/health/ready"];

pub(crate) fn router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/health", get(ping))
        .route("/version", get(version))
        .route("/invocations", post(invocations))
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/metrics", get(metrics))
        .route("/monitor", get(monitor))
        .route("/feedback", post(feedback))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(state.max_body))
        .with_state(state)
}

/// Checks the token (except on the health probes) and counts every answer by route.
async fn guard(State(state): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(request.uri().path());
    let response = match &state.token {
        Some(expected) if !OPEN.contains(&request.uri().path()) => {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if same_digest(expected, given) {
                next.run(request).await
            } else {
                ApiError::unauthorized().into_response()
            }
        }
        _ => next.run(request).await,
    };
    state
        .metrics
        .request(route, response.status().as_u16(), started.elapsed());
    response
}

/// The route a path matches, as a metrics label (one per route, whatever the model's name).
fn route_label(path: &str) -> &'static str {
    const STATIC: [&str; 9] = [
        "/ping",
        "/health",
        "/version",
        "/invocations",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/metrics",
        "/monitor",
    ];
    if let Some(p) = STATIC.iter().find(|p| **p == path) {
        return p;
    }
    if path == "/feedback" {
        return "/feedback";
    }
    match path
        .strip_prefix("/v2/models/")
        .map(|rest| rest.split('/').collect::<Vec<_>>())
    {
        Some(parts) if parts.len() == 1 => "/v2/models/{name}",
        Some(parts) if parts.len() == 2 && parts[1] == "ready" => "/v2/models/{name}/ready",
        Some(parts) if parts.len() == 2 && parts[1] == "infer" => "/v2/models/{name}/infer",
        _ => "unmatched",
    }
}

/// Compares SHA-256 digests byte by byte without stopping early: the time taken does not
/// depend on where (or whether) the token differs, nor on its length.
fn same_digest(expected: &[u8; 32], given: &str) -> bool {
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    expected
        .iter()
        .zip(given.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

async fn ping() -> &'static str {
    "\n"
}

/// The Kiln version, as `/version`, `/v2` and the model metadata report it.
const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn version() -> &'static str {
    VERSION
}

async fn live() -> Json<Value> {
    Json(json!({"live": true}))
}

async fn ready(State(state): State<Arc<Shared>>) -> Response {
    let ready = state.ready.load(Ordering::Relaxed);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ready}))).into_response()
}

async fn server_metadata() -> Json<Value> {
    Json(json!({"name": "kiln", "version": VERSION, "extensions": []}))
}

fn check_name(state: &Shared, name: &str) -> Result<(), ApiError> {
    if name == state.name {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no model `{name}`; this server serves `{}`",
            state.name
        )))
    }
}

async fn model_metadata(
    State(state): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_name(&state, &name)?;
    Ok(Json(v2::metadata(
        &state.name,
        VERSION,
        &state.schema,
        state.bundle.target_encoder().class_names(),
    )))
}

async fn model_ready(
    State(state): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&state, &name)?;
    let ready = state.ready.load(Ordering::Relaxed);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(json!({"name": name, "ready": ready}))).into_response())
}

/// The body, or the error a client should see: 413 over the limit (at once when the
/// `Content-Length` says so, before any of the body is read, so a client that sent
/// `Expect: 100-continue` never sends it), 400 when it cannot be read.
async fn body(state: &Shared, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return Err(ApiError::too_large(state.max_body));
    }
    axum::body::to_bytes(body, state.max_body)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::too_large(state.max_body)
            } else {
                ApiError::bad_request(format!("reading the body: {e}"))
            }
        })
}

fn json_body(headers: &HeaderMap) -> Result<(), ApiError> {
    match media_type(headers).as_str() {
        "application/json" => Ok(()),
        "" => Err(ApiError::media_type("(none)")),
        other => Err(ApiError::media_type(other)),
    }
}

/// The body's media type, lower-cased, without parameters (`""` when none is given).
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Runs checked rows through the model (batched with other requests), feeds the monitor and
/// returns the predictions with the request's id.
async fn predict(state: &Shared, rows: Rows) -> Result<(Predictions, u64), ApiError> {
    if rows.len() == 0 {
        return Err(ApiError::bad_request("the request has no rows"));
    }
    if !state.ready.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable());
    }
    let (features, unknown) = state.schema.features(&state.bundle, &rows)?;
    state.metrics.unknown(&unknown);
    let outputs = state
        .batcher
        .run(features)
        .await
        .ok_or_else(ApiError::unavailable)?
        .map_err(ApiError::internal)?;
    let predictions = Predictions::decode(state.bundle.target_encoder(), &outputs);
    state.metrics.rows(rows.len());
    let predicted = Predicted::of(&predictions);
    if let Rows::Table(table) = &rows {
        state.live.observe(table, &predicted);
    }
    let id = state.live.remember(predicted);
    Ok((predictions, id))
}

fn with_id(mut response: Response, id: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn invocations(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, ApiError> {
    let raw = body(&state, &headers, raw).await?;
    let request = mlflow::parse(&state.schema, &media_type(&headers), &raw)?;
    let (predictions, id) = predict(&state, request.rows).await?;
    Ok(with_id(
        Json(mlflow::response(&predictions, request.probabilities)).into_response(),
        id,
    ))
}

async fn infer(
    State(state): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Response, ApiError> {
    check_name(&state, &name)?;
    let raw = body(&state, &headers, raw).await?;
    json_body(&headers)?;
    let request = v2::parse(&state.schema, &raw)?;
    let (predictions, id) = predict(&state, request.rows).await?;
    let body = v2::response(
        &state.name,
        VERSION,
        request.id,
        &request.outputs,
        &predictions,
    );
    Ok(with_id(Json(body).into_response(), id))
}

async fn metrics(State(state): State<Arc<Shared>>) -> Response {
    let text = state.metrics.render(&state.live.render_metrics());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        Body::from(text),
    )
        .into_response()
}

async fn monitor(State(state): State<Arc<Shared>>) -> Json<Value> {
    Json(state.live.to_json())
}

async fn feedback(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<Value>, ApiError> {
    let raw = body(&state, &headers, raw).await?;
    json_body(&headers)?;
    let value = crate::serve::schema::parse_json(&raw)?;
    Ok(Json(state.live.feedback(&value)?))
}

async fn wrong_method(request: Request) -> ApiError {
    ApiError::method(format!(
        "{} is not served on {}; see docs/serving.md for each route's method",
        request.method(),
        request.uri().path()
    ))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}; see docs/serving.md for the routes",
        request.method(),
        request.uri().path()
    ))
}
