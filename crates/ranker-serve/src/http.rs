//! The HTTP side: routes, authentication, body limits, queueing and the JSON answers.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

use crate::batcher::Job;
use crate::endpoint::{Endpoint, ModelKind};
use crate::metrics::Metrics;
use crate::request::BadRequest;

/// What every handler shares.
pub(crate) struct AppState {
    pub jobs: SyncSender<Job>,
    pub metrics: Arc<Metrics>,
    pub token: Option<String>,
    pub model: ModelKind,
}

type Shared = Arc<AppState>;

pub(crate) fn router(state: Shared, max_body_bytes: usize) -> Router {
    let mut router = Router::new();
    for endpoint in Endpoint::ALL {
        router = router.route(
            endpoint.path(),
            post(
                move |State(state): State<Shared>,
                      headers: HeaderMap,
                      RawQuery(query): RawQuery,
                      body: Result<Bytes, BytesRejection>| {
                    handle(state, endpoint, headers, query, body)
                },
            ),
        );
    }
    router
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "error": message }).to_string())
}

async fn not_found() -> Response {
    let posts: Vec<&str> = Endpoint::ALL.iter().map(|e| e.path()).collect();
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "no such endpoint (POST {}; GET /health, /metrics)",
            posts.join(", ")
        ),
    )
}

async fn health(State(state): State<Shared>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({
            "status": "ok",
            "ranker_type": state.model.ranker_type,
            "queued": state.metrics.queued().load(Ordering::Relaxed),
        })
        .to_string(),
    )
}

async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return *response;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `Authorization: Bearer TOKEN` when the server has a token.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(token) = &state.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compare every byte, so that the time taken does not tell how much of the token matched.
    let matches = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if matches {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "authorization: missing or wrong bearer token (send `Authorization: Bearer <token>`)",
        )))
    }
}

/// Every model endpoint: authorize, read the body, validate it, queue the work, answer; one metrics record.
async fn handle(
    state: Shared,
    endpoint: Endpoint,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let response = answer(&state, endpoint, headers, query, body).await;
    state.metrics.request(
        endpoint.path(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn answer(
    state: &AppState,
    endpoint: Endpoint,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(response) = authorize(state, &headers) {
        return *response;
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body: larger than the server's limit (--max-body-bytes)".to_owned()
            } else {
                format!("body: {}", rejection.body_text())
            };
            return error(status, &message);
        }
    };
    let (work, is_list) = match endpoint.parse(state.model, query.as_deref(), &body) {
        Ok(parsed) => parsed,
        Err(BadRequest(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let cost = work.cost(state.model.pairwise);
    let (reply, answer) = oneshot::channel();
    state.metrics.queued().fetch_add(1, Ordering::Relaxed);
    if let Err(e) = state.jobs.try_send(Job { work, cost, reply }) {
        state.metrics.queued().fetch_sub(1, Ordering::Relaxed);
        return match e {
            TrySendError::Full(_) => {
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue: full; retry later (--queue-size)",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                response
            }
            TrySendError::Disconnected(_) => {
                error(StatusCode::SERVICE_UNAVAILABLE, "model: shutting down")
            }
        };
    }
    match answer.await {
        Ok(Ok(mut values)) => {
            let body = if is_list {
                serde_json::Value::Array(values)
            } else {
                values.pop().unwrap_or(serde_json::Value::Null)
            };
            json(StatusCode::OK, body.to_string())
        }
        Ok(Err(message)) => error(StatusCode::UNPROCESSABLE_ENTITY, &message),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "model: the model thread stopped",
        ),
    }
}
