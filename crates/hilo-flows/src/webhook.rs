//! The runner's webhook listener: each webhook flow's path takes JSON posts, kept in the
//! store before the answer, so a post answered 200 is never lost. Bodies with a `webhookId`
//! (HighLevel's and hilo's deliveries) are kept once however often they are delivered.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::store::Store;

pub struct Hook {
    pub flow: String,
    /// Only bodies whose `type` is this.
    pub event: Option<String>,
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
                post(move |body: Bytes| {
                    let store = store.clone();
                    let hook = hook.clone();
                    async move { take(&store, &hook, &body).await }
                }),
            )
        })
}

async fn take(store: &Store, hook: &Hook, body: &[u8]) -> (StatusCode, Json<Value>) {
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
