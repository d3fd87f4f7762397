//! hilo-server: a self-hostable implementation of the HighLevel API v2 wire contract.
//!
//! `app()` builds the whole HTTP application from an [`AppState`]; `serve()` runs it on a
//! listener until a shutdown signal. The binary (`hilo serve`) and the tests both use these.

pub mod api;
pub mod auth;
pub mod contact_index;
pub mod contact_search;
pub mod control;
pub mod custom_fields;
pub mod db;
pub mod endpoints;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod ids;
pub mod journal;
pub mod oauth;
pub mod ratelimit;
pub mod reset;
pub mod scopes;
pub mod seed;
pub mod sql;
pub mod state;
pub mod tenancy;
pub mod time;
pub mod trace;
pub mod users;
pub mod validate;
pub mod web;
pub mod webhooks;

use std::future::Future;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, Uri};
use axum::routing::get;
use axum::{middleware, Json, Router, ServiceExt};
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

pub use db::Db;
pub use state::AppState;

use crate::error::ApiError;

/// The largest request body accepted (HighLevel's own limit is not documented).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The HTTP application: HighLevel's routes, `/healthz`, and NestJS-style 404s for the rest.
/// Trailing slashes are optional on every route, as real clients use both spellings.
pub fn app(state: AppState, body_limit: usize) -> NormalizePath<Router> {
    let state = AppState {
        journal: journal::Journal::new(state.journal.capacity(), body_limit),
        ..state
    };
    let journaled = middleware::from_fn_with_state(state.clone(), journal::record);
    let router = api::router()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .route_layer(middleware::from_fn(auth::rate_limit_headers))
        .route_layer(middleware::from_fn(auth::require_version))
        .route_layer(journaled.clone());
    let token = api::oauth::token_route(Router::new()).route_layer(journaled);
    let router = web::routes(webhooks::http::routes(control::routes(router.merge(token))))
        .route("/healthz", get(healthz))
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            webhooks::wake_after_write,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            time::use_clock,
        ))
        .layer(middleware::from_fn(trace::trace_requests))
        .with_state(state);
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute(format!("Cannot {method} {}", uri.path()))
}

/// Serves `app` on `listener` until `shutdown` completes, finishing requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: NormalizePath<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::task::spawn_blocking(api::contacts::warm_phone_metadata);
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
        .with_graceful_shutdown(shutdown)
        .await
}
