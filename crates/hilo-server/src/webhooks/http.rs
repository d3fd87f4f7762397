//! HTTP: the public keys (`GET /hilo/webhooks/keys`, no auth: receivers fetch them), and the
//! admin API under `/hilo/admin/webhooks/…`, guarded by the admin key like the rest of
//! `/hilo/admin`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::inspect::{self, Delivery, DeliveryDetail, Filter, Redelivery, STATUSES};
use super::signing::PublicKeys;
use crate::control::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{optional, Field, Kind, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/hilo/webhooks/keys", get(keys))
        .route("/hilo/admin/webhooks/deliveries", get(list))
        .route("/hilo/admin/webhooks/deliveries/{id}", get(detail))
        .route(
            "/hilo/admin/webhooks/deliveries/{id}/redeliver",
            post(redeliver),
        )
        .route("/hilo/admin/webhooks/apps/{app}/pause", post(pause))
        .route("/hilo/admin/webhooks/apps/{app}/resume", post(resume))
}

/// `GET /hilo/webhooks/keys`: the public keys that verify `x-wh-signature` and
/// `x-ghl-signature`.
async fn keys(State(state): State<AppState>) -> ApiResult<Reply<PublicKeys>> {
    let keys = state.webhooks.keys(&state.db).await?;
    Ok(Reply::ok(keys.public().clone()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    app_id: Option<String>,
    status: Option<String>,
    location_id: Option<String>,
    event_type: Option<String>,
    limit: Option<i64>,
}

impl Schema for ListQuery {
    const FIELDS: &'static [Field] = &[
        optional("appId", Kind::String),
        optional("status", Kind::OneOf(&STATUSES)),
        optional("locationId", Kind::String),
        optional("eventType", Kind::String),
        optional(
            "limit",
            Kind::QueryInt {
                min: 1,
                max: 10_000,
            },
        ),
    ];
}

#[derive(Serialize)]
struct DeliveryList {
    /// Newest first.
    deliveries: Vec<Delivery>,
}

/// `GET /hilo/admin/webhooks/deliveries?appId&status&locationId&eventType&limit` (100 unless
/// `limit` says otherwise).
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Reply<DeliveryList>> {
    let filter = Filter {
        app: q.app_id,
        status: q.status,
        location_id: q.location_id,
        event_type: q.event_type,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Reply::ok(DeliveryList {
        deliveries: inspect::list(&state.db, &filter).await?,
    }))
}

fn not_found(id: &str) -> ApiError {
    ApiError::bad_request(format!("Webhook delivery not found for id:{id}"))
}

/// `GET /hilo/admin/webhooks/deliveries/{id}`: the delivery, its payload and every attempt.
async fn detail(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Reply<DeliveryDetail>> {
    inspect::detail(&state.db, &id)
        .await?
        .map(Reply::ok)
        .ok_or_else(|| not_found(&id))
}

#[derive(Serialize)]
struct Redelivered {
    delivery: Delivery,
}

/// `POST /hilo/admin/webhooks/deliveries/{id}/redeliver`: due again now, same `webhookId`.
async fn redeliver(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Reply<Redelivered>> {
    match inspect::redeliver(&state.db, &id, state.clock.now_ms()).await? {
        Redelivery::Queued(delivery) => {
            state.webhooks.wake();
            Ok(Reply::ok(Redelivered {
                delivery: *delivery,
            }))
        }
        Redelivery::Sending => Err(ApiError::bad_request(format!(
            "delivery {id} is being sent right now; try again shortly"
        ))),
        Redelivery::Missing => Err(not_found(&id)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Paused {
    app: String,
    paused: bool,
}

async fn set_paused(state: &AppState, app: String, paused: bool) -> ApiResult<Reply<Paused>> {
    if !inspect::set_paused(&state.db, &app, paused, state.clock.now_ms()).await? {
        return Err(ApiError::bad_request(format!("App not found for id:{app}")));
    }
    state.webhooks.wake();
    Ok(Reply::ok(Paused { app, paused }))
}

/// `POST /hilo/admin/webhooks/apps/{app}/pause` (app id or client id): its deliveries wait.
async fn pause(
    State(state): State<AppState>,
    _admin: Admin,
    Path(app): Path<String>,
) -> ApiResult<Reply<Paused>> {
    set_paused(&state, app, true).await
}

/// `POST /hilo/admin/webhooks/apps/{app}/resume`: what waited goes out.
async fn resume(
    State(state): State<AppState>,
    _admin: Admin,
    Path(app): Path<String>,
) -> ApiResult<Reply<Paused>> {
    set_paused(&state, app, false).await
}
