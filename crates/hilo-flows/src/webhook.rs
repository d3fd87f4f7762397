//! The runner's webhook listener: each webhook flow's path takes JSON posts, kept in the
//! store before the answer, so a post answered 200 is never lost. Bodies with a `webhookId`
//! (HighLevel's and hilo's deliveries) are kept once however often they are delivered. A flow
//! with `signed` refuses, unkept, any post whose signature does not verify over its raw bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hilo_sdk::webhooks::{self, PublicKeys};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::store::Store;

pub struct Hook {
    pub flow: String,
    /// Only bodies whose `type` is this.
    pub event: Option<String>,
    /// The keys posts must be signed with, when the flow says `signed`.
    pub keys: Option<PublicKeys>,
    /// Woken when a body is kept.
    pub arrived: Arc<Notify>,
}

pub fn router(store: Store, hooks: BTreeMap<String, Hook>) -> Router {
    hooks
        .into_iter()
        .fold(Router::new(), |router, (path, hook)| {
            let store = store.clone();
            let hook = Arc::new(hook);
            router.route(
                &path,
                post(move |headers: HeaderMap, body: Bytes| {
                    let store = store.clone();
                    let hook = hook.clone();
                    async move { take(&store, &hook, &headers, &body).await }
                }),
            )
        })
}

async fn take(
    store: &Store,
    hook: &Hook,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Json<Value>) {
    if let Some(keys) = &hook.keys {
        if let Err(e) = webhooks::verify(headers, body, keys) {
            tracing::warn!(flow = %hook.flow, error = %e, "refused an unsigned webhook post");
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"statusCode": 401, "message": format!("Invalid signature: {e}")})),
            );
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"statusCode": 400, "message": "The body must be JSON"})),
        );
    };
    if let Some(event) = &hook.event {
        if body.get("type").and_then(Value::as_str) != Some(event) {
            return (
                StatusCode::OK,
                Json(json!({"accepted": false, "reason": "another event"})),
            );
        }
    }
    let dedupe = body
        .get("webhookId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match store.enqueue(&hook.flow, dedupe.as_deref(), &body).await {
        Ok(new) => {
            hook.arrived.notify_one();
            (
                StatusCode::OK,
                Json(json!({"accepted": true, "duplicate": !new})),
            )
        }
        Err(e) => {
            tracing::error!(flow = %hook.flow, error = %e, "could not keep a webhook body");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"statusCode": 500, "message": "The body could not be kept"})),
            )
        }
    }
}
