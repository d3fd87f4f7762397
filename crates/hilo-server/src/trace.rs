//! The trace id of each request: a UUID v4 returned as `traceId` in every successful JSON body
//! (HighLevel does the same) and recorded on the request's tracing span.

use std::time::Instant;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tracing::Instrument;

tokio::task_local! {
    static TRACE_ID: String;
}

/// Middleware: gives the request a trace id and a span, and logs its outcome.
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        trace_id = %trace_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    TRACE_ID
        .scope(trace_id, async move {
            let response = next.run(request).await;
            tracing::info!(
                status = response.status().as_u16(),
                latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "handled"
            );
            response
        })
        .instrument(span)
        .await
}

/// The current request's trace id (a fresh one outside a request).
pub fn current_trace_id() -> String {
    TRACE_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

/// A successful JSON answer: the body's fields plus `traceId`.
pub struct Reply<T> {
    status: StatusCode,
    body: T,
}

impl<T> Reply<T> {
    pub fn ok(body: T) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn created(body: T) -> Self {
        Reply {
            status: StatusCode::CREATED,
            body,
        }
    }
}

#[derive(Serialize)]
struct Traced<T> {
    #[serde(flatten)]
    body: T,
    #[serde(rename = "traceId")]
    trace_id: String,
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = Traced {
            body: self.body,
            trace_id: current_trace_id(),
        };
        (self.status, Json(body)).into_response()
    }
}
