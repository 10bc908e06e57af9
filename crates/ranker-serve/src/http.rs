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
use ranker_eval::reward::{CompareConversationsInput, CompareInput, RankInput};
use tokio::sync::oneshot;

use crate::batcher::Job;
use crate::metrics::Metrics;
use crate::request::{self, BadRequest, Work};

/// What every handler shares.
pub(crate) struct AppState {
    pub jobs: SyncSender<Job>,
    pub metrics: Arc<Metrics>,
    pub token: Option<String>,
    pub ranker_type: &'static str,
    pub pairwise: bool,
}

type Shared = Arc<AppState>;

pub(crate) fn router(state: Shared, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/rank", post(rank))
        .route("/compare", post(compare))
        .route("/compare-conversations", post(compare_conversations))
        .route("/best-of-n", post(best_of_n))
        .route("/worst-of-n", post(worst_of_n))
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
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (POST /rank, /compare, /compare-conversations, /best-of-n, /worst-of-n; GET /health, /metrics)",
    )
}

async fn health(State(state): State<Shared>) -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({
            "status": "ok",
            "ranker_type": state.ranker_type,
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

/// The body, the query string, and how to turn them into work for the model.
struct Call {
    endpoint: &'static str,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
}

async fn handle(
    state: Shared,
    call: Call,
    parse: impl FnOnce(&AppState, Option<&str>, &[u8]) -> Result<(Work, bool), BadRequest>,
) -> Response {
    let started = Instant::now();
    let response = answer(&state, call.headers, call.query, call.body, parse).await;
    state
        .metrics
        .request(call.endpoint, response.status().as_u16(), started.elapsed());
    response
}

async fn answer(
    state: &AppState,
    headers: HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
    parse: impl FnOnce(&AppState, Option<&str>, &[u8]) -> Result<(Work, bool), BadRequest>,
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
    let (work, is_list) = match parse(state, query.as_deref(), &body) {
        Ok(parsed) => parsed,
        Err(BadRequest(message)) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let cost = work.cost(state.pairwise);
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

async fn rank(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = Call {
        endpoint: "/rank",
        headers,
        query,
        body,
    };
    handle(state, call, |_, query, body| {
        request::query_options(query, &[])?;
        let (inputs, is_list) = request::parse_items::<RankInput>(body)?;
        request::check_candidates(&inputs, is_list)?;
        Ok((Work::Rank(inputs), is_list))
    })
    .await
}

async fn compare(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = Call {
        endpoint: "/compare",
        headers,
        query,
        body,
    };
    handle(state, call, |state, query, body| {
        let order = request::compare_order(query)?;
        check_order(state, order)?;
        let (inputs, is_list) = request::parse_items::<CompareInput>(body)?;
        Ok((Work::Compare(inputs, order), is_list))
    })
    .await
}

async fn compare_conversations(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = Call {
        endpoint: "/compare-conversations",
        headers,
        query,
        body,
    };
    handle(state, call, |state, query, body| {
        let order = request::compare_order(query)?;
        check_order(state, order)?;
        let (inputs, is_list) = request::parse_items::<CompareConversationsInput>(body)?;
        let pairs = request::conversations(&inputs, is_list)?;
        Ok((Work::Compare(pairs, order), is_list))
    })
    .await
}

fn check_order(
    state: &AppState,
    order: ranker_eval::reward::CompareOrder,
) -> Result<(), BadRequest> {
    if !state.pairwise && order != ranker_eval::reward::CompareOrder::Both {
        return Err(BadRequest(format!(
            "query order: a single order needs a pairranker checkpoint; this one is a {}",
            state.ranker_type
        )));
    }
    Ok(())
}

fn select(query: Option<&str>, body: &[u8], worst: bool) -> Result<(Work, bool), BadRequest> {
    let (mode, bubble, return_all) = request::best_of_n_options(query, worst)?;
    let (inputs, is_list) = request::parse_items::<RankInput>(body)?;
    request::check_candidates(&inputs, is_list)?;
    Ok((
        Work::BestOfN {
            inputs,
            mode,
            bubble,
            return_all,
        },
        is_list,
    ))
}

async fn best_of_n(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = Call {
        endpoint: "/best-of-n",
        headers,
        query,
        body,
    };
    handle(state, call, |_, query, body| select(query, body, false)).await
}

async fn worst_of_n(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let call = Call {
        endpoint: "/worst-of-n",
        headers,
        query,
        body,
    };
    handle(state, call, |_, query, body| select(query, body, true)).await
}
