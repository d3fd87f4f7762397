//! hilo's own control plane, under `/hilo/admin/…` so it never meets a HighLevel path: what an
//! operator or a test suite asks of a running server and cannot read from the database, such as
//! the live rate-limit counters. Guarded by an admin key: set with `hilo serve --admin-key`, or
//! created on first start and kept as a hash in `server_keys`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path};
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::auth::{bearer, hash_token, random_secret};
use crate::db::Db;
use crate::error::{ApiError, ApiResult, NO_AUTHORIZATION};
use crate::faults::{NewRule, Rule};
use crate::journal::{self, Entry};
use crate::reset::ResetTo;
use crate::state::AppState;
use crate::time::{format_ms, now_ms};
use crate::trace::Reply;
use crate::validate::{optional, Field, Kind, QueryParams, RawBody, Schema};

const ADMIN_KEY_NAME: &str = "admin-key-sha256";
const INVALID_ADMIN_KEY: &str = "Invalid admin key";

/// A fixtures document holds whole locations: far more than the API's body limit.
pub const FIXTURES_BODY_LIMIT: usize = 512 * 1024 * 1024;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/hilo/admin/limits", get(limits))
        .route(
            "/hilo/admin/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/hilo/admin/faults/{id}", delete(remove_fault))
        .route("/hilo/admin/journal", get(journal).delete(clear_journal))
        .route("/hilo/admin/journal/count", get(journal_count))
        .route("/hilo/admin/reset", post(reset))
        .route(
            "/hilo/admin/fixtures",
            get(dump_fixtures)
                .post(load_fixtures)
                .layer(DefaultBodyLimit::max(FIXTURES_BODY_LIMIT)),
        )
        .route("/hilo/admin/clock", get(clock).post(set_clock))
        .route("/hilo/admin/state", get(location_state))
}

/// A control-plane JSON body: one over the limit is a 413, one that does not fit the request's
/// shape a 422 saying why.
fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::PayloadTooLarge)
        }
        Err(rejection) => Err(ApiError::unprocessable(rejection.body_text())),
    }
}

fn new_admin_key() -> String {
    format!("hak-{}", random_secret(24))
}

/// Creates the stored admin key if there is none yet, and returns it then (and only then), so
/// the first start can print it once.
pub async fn ensure_admin_key(db: &Db) -> anyhow::Result<Option<String>> {
    let key = new_admin_key();
    let inserted = sqlx::query(
        "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(ADMIN_KEY_NAME)
    .bind(hash_token(&key))
    .bind(now_ms())
    .execute(db.write())
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(key))
}

/// Replaces the stored admin key (a lost one cannot be recovered) and returns the new one.
/// Running servers read the stored hash on each admin request, so they take it at once.
pub async fn reset_admin_key(db: &Db) -> anyhow::Result<String> {
    let key = new_admin_key();
    let mut tx = db.write().begin().await?;
    sqlx::query("DELETE FROM server_keys WHERE name = $1")
        .bind(ADMIN_KEY_NAME)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3)")
        .bind(ADMIN_KEY_NAME)
        .bind(hash_token(&key))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(key)
}

/// A caller holding the admin key, presented as a bearer token (the scheme is
/// case-insensitive, as for the HighLevel routes: one parser, [`crate::auth::bearer`]).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(NO_AUTHORIZATION))?;
        let presented = header
            .to_str()
            .ok()
            .and_then(bearer)
            .map(hash_token)
            .ok_or(ApiError::Unauthorized(INVALID_ADMIN_KEY))?;
        let expected = match &state.admin_key_hash {
            Some(configured) => Some(configured.clone()),
            None => {
                sqlx::query_scalar::<_, String>("SELECT secret FROM server_keys WHERE name = $1")
                    .bind(ADMIN_KEY_NAME)
                    .fetch_optional(state.db.read())
                    .await?
            }
        };
        // Both sides are SHA-256 digests, so comparing them leaks nothing about the key.
        match expected {
            Some(expected) if expected == presented => Ok(Admin),
            _ => Err(ApiError::Unauthorized(INVALID_ADMIN_KEY)),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LimitsQuery {
    location_id: Option<String>,
    company_id: Option<String>,
}

impl Schema for LimitsQuery {
    const FIELDS: &'static [Field] = &[
        optional("locationId", Kind::String),
        optional("companyId", Kind::String),
    ];
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitsReport {
    /// `None` when limits are off.
    limits: Option<ConfiguredLimits>,
    resource_id: String,
    counters: Vec<Counter>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfiguredLimits {
    burst: u32,
    interval_milliseconds: u64,
    daily: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Counter {
    /// The app's client id, or the private token's id.
    client: String,
    window_used: u32,
    window_remaining: u32,
    window_resets_at: Option<String>,
    daily_used: u32,
    daily_remaining: u32,
}

/// `GET /hilo/admin/limits?locationId=…` (or `companyId=…`): the live counters of every app and
/// private token on that location or agency, as this process counts them.
async fn limits(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<LimitsQuery>,
) -> ApiResult<Reply<LimitsReport>> {
    let resource_id = match (q.location_id, q.company_id) {
        (Some(id), None) | (None, Some(id)) if !id.trim().is_empty() => id,
        _ => {
            return Err(ApiError::unprocessable(
                "exactly one of locationId and companyId must be given",
            ))
        }
    };
    let limits = state.limiter.limits();
    let usage = state.limiter.usage(&resource_id, now_ms()).await?;
    let counters = match limits {
        None => Vec::new(),
        Some(l) => usage
            .into_iter()
            .map(|u| Counter {
                window_remaining: l.burst.saturating_sub(u.window_used),
                window_resets_at: u.window_ends_ms.map(format_ms),
                daily_remaining: l.daily.saturating_sub(u.day_used),
                client: u.client,
                window_used: u.window_used,
                daily_used: u.day_used,
            })
            .collect(),
    };
    Ok(Reply::ok(LimitsReport {
        limits: limits.map(|l| ConfiguredLimits {
            burst: l.burst,
            interval_milliseconds: l.interval_ms(),
            daily: l.daily,
        }),
        resource_id,
        counters,
    }))
}

#[derive(Serialize)]
struct FaultList {
    faults: Vec<Rule>,
}

#[derive(Serialize)]
struct FaultAdded {
    fault: Rule,
}

#[derive(Serialize)]
struct FaultsRemoved {
    removed: usize,
}

/// `POST /hilo/admin/faults`: a rule that faults the HighLevel requests it matches (see
/// `faults.rs` and docs/sandbox.md for the body).
async fn add_fault(
    State(state): State<AppState>,
    _admin: Admin,
    body: Result<Json<NewRule>, JsonRejection>,
) -> ApiResult<Reply<FaultAdded>> {
    let rule = json_body(body)?;
    let fault = state
        .faults
        .add(rule, now_ms())
        .map_err(ApiError::unprocessable)?;
    Ok(Reply::created(FaultAdded { fault }))
}

/// `GET /hilo/admin/faults`: the rules in force, with how often each matched and faulted.
async fn list_faults(State(state): State<AppState>, _admin: Admin) -> Reply<FaultList> {
    Reply::ok(FaultList {
        faults: state.faults.list(now_ms()),
    })
}

/// `DELETE /hilo/admin/faults`: every rule goes.
async fn clear_faults(State(state): State<AppState>, _admin: Admin) -> Reply<FaultsRemoved> {
    Reply::ok(FaultsRemoved {
        removed: state.faults.remove(None),
    })
}

/// `DELETE /hilo/admin/faults/{id}`.
async fn remove_fault(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Reply<FaultsRemoved>> {
    match state.faults.remove(Some(&id)) {
        0 => Err(ApiError::bad_request(format!(
            "Fault rule not found for id:{id}"
        ))),
        removed => Ok(Reply::ok(FaultsRemoved { removed })),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JournalQuery {
    method: Option<String>,
    path: Option<String>,
    status: Option<i64>,
    since: Option<String>,
    location_id: Option<String>,
    client_id: Option<String>,
    body_contains: Option<String>,
    limit: Option<i64>,
}

impl Schema for JournalQuery {
    const FIELDS: &'static [Field] = &[
        optional("method", Kind::String),
        optional("path", Kind::String),
        optional("status", Kind::QueryInt { min: 100, max: 599 }),
        optional("since", Kind::String),
        optional("locationId", Kind::String),
        optional("clientId", Kind::String),
        optional("bodyContains", Kind::String),
        optional(
            "limit",
            Kind::QueryInt {
                min: 1,
                max: 10_000,
            },
        ),
    ];
}

impl JournalQuery {
    /// The question, with `since` as an ISO 8601 date-time or epoch milliseconds.
    fn question(&self) -> ApiResult<journal::Query> {
        let since_ms = match self.since.as_deref() {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .ok()
                    .or_else(|| crate::time::parse_datetime_ms(s))
                    .ok_or_else(|| {
                        ApiError::unprocessable(
                            "since must be an ISO 8601 date-time or epoch milliseconds",
                        )
                    })?,
            ),
        };
        Ok(journal::Query {
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status.and_then(|s| u16::try_from(s).ok()),
            since_ms,
            location_id: self.location_id.clone(),
            client_id: self.client_id.clone(),
            body_contains: self.body_contains.clone(),
        })
    }
}

#[derive(Serialize)]
struct JournalPage {
    /// Newest first.
    requests: Vec<Entry>,
    /// How many requests the journal keeps.
    capacity: usize,
}

#[derive(Serialize)]
struct JournalCount {
    count: usize,
}

#[derive(Serialize)]
struct JournalCleared {
    cleared: usize,
}

/// `GET /hilo/admin/journal?method&path&status&since&locationId&clientId&bodyContains&limit`:
/// the newest matching requests (100 unless `limit` says otherwise).
async fn journal(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<JournalQuery>,
) -> ApiResult<Reply<JournalPage>> {
    let limit = usize::try_from(q.limit.unwrap_or(100)).unwrap_or(100);
    Ok(Reply::ok(JournalPage {
        requests: state.journal.find(&q.question()?, limit),
        capacity: state.journal.capacity(),
    }))
}

/// `GET /hilo/admin/journal/count?…`: how many journaled requests match, for assertions like
/// "exactly one POST /contacts/ with this email since T".
async fn journal_count(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<JournalQuery>,
) -> ApiResult<Reply<JournalCount>> {
    Ok(Reply::ok(JournalCount {
        count: state.journal.count(&q.question()?),
    }))
}

/// `DELETE /hilo/admin/journal`.
async fn clear_journal(State(state): State<AppState>, _admin: Admin) -> Reply<JournalCleared> {
    Reply::ok(JournalCleared {
        cleared: state.journal.clear(),
    })
}

/// What `POST /hilo/admin/reset` asks: one location (`locationId`) or everything (`all`), to
/// empty (the default) or to the demo seed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetBody {
    location_id: Option<String>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    to: ResetTo,
}

/// `POST /hilo/admin/reset` `{"locationId": …}` or `{"all": true}`, with `"to": "empty"` or
/// `"demo"`: the location emptied of contacts and everything else it holds, or every agency
/// removed and the token signing key replaced (see `reset.rs`).
async fn reset(
    State(state): State<AppState>,
    _admin: Admin,
    body: Result<Json<ResetBody>, JsonRejection>,
) -> ApiResult<axum::response::Response> {
    let body = json_body(body)?;
    match (body.location_id, body.all) {
        (Some(location_id), false) => {
            crate::reset::reset_location(&state.db, &location_id, body.to)
                .await?
                .map(|reset| Reply::ok(reset).into_response())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("Location not found for id:{location_id}"))
                })
        }
        (None, true) => {
            let reset = crate::reset::reset_everything(&state.db, body.to).await?;
            // This process refuses the old tokens at once; others within their poll.
            state.oauth.signer.reload(&state.db).await?;
            Ok(Reply::ok(reset).into_response())
        }
        _ => Err(ApiError::unprocessable(
            "give exactly one of locationId and all: true",
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DumpQuery {
    location_id: Option<String>,
}

impl Schema for DumpQuery {
    const FIELDS: &'static [Field] = &[optional("locationId", Kind::String)];
}

/// `GET /hilo/admin/fixtures[?locationId=…]`: the whole database, or one location, as a
/// fixtures document (the bare document, without `traceId`, so it loads back as it is).
async fn dump_fixtures(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<DumpQuery>,
) -> ApiResult<Json<crate::fixtures::Fixtures>> {
    crate::fixtures::dump(&state.db, q.location_id.as_deref())
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Location not found for id:{}",
                q.location_id.unwrap_or_default()
            ))
        })
}

#[derive(Deserialize)]
struct LoadQuery {
    replace: Option<String>,
}

impl Schema for LoadQuery {
    const FIELDS: &'static [Field] = &[optional("replace", Kind::OneOf(&["true", "false"]))];
}

/// `POST /hilo/admin/fixtures[?replace=true]` with a fixtures document: all of it written in
/// one transaction, or nothing (422 naming what is wrong, 409 naming what exists already).
async fn load_fixtures(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<LoadQuery>,
    RawBody(body): RawBody,
) -> ApiResult<Reply<crate::fixtures::Loaded>> {
    let doc = crate::fixtures::parse(&body).map_err(ApiError::unprocessable)?;
    let replace = q.replace.as_deref() == Some("true");
    Ok(Reply::ok(
        crate::fixtures::load(&state.db, doc, replace).await?,
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockState {
    now: String,
    now_ms: i64,
    #[serde(flatten)]
    mode: crate::time::Mode,
}

fn clock_state(state: &AppState) -> ClockState {
    let now_ms = state.clock.now_ms();
    ClockState {
        now: format_ms(now_ms),
        now_ms,
        mode: state.clock.state(),
    }
}

/// What `POST /hilo/admin/clock` asks: exactly one of `set` (with `freeze`), `advanceMs` or
/// `real`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockChange {
    /// An ISO 8601 date-time or epoch milliseconds.
    set: Option<serde_json::Value>,
    #[serde(default)]
    freeze: bool,
    advance_ms: Option<i64>,
    #[serde(default)]
    real: bool,
}

/// `GET /hilo/admin/clock`: the server's time and how its clock runs.
async fn clock(State(state): State<AppState>, _admin: Admin) -> Reply<ClockState> {
    Reply::ok(clock_state(&state))
}

/// `POST /hilo/admin/clock`: set (and optionally freeze), advance, or return to real time. Token
/// expiry, rate-limit windows and the daily quota, codes, sessions, fault-rule lifetimes and
/// every `dateAdded`/`dateUpdated` follow it.
async fn set_clock(
    State(state): State<AppState>,
    _admin: Admin,
    body: Result<Json<ClockChange>, JsonRejection>,
) -> ApiResult<Reply<ClockState>> {
    let change = json_body(body)?;
    match (&change.set, change.advance_ms, change.real) {
        (Some(at), None, false) => {
            let at_ms = match at {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => crate::time::parse_datetime_ms(s),
                _ => None,
            }
            .ok_or_else(|| {
                ApiError::unprocessable("set must be an ISO 8601 date-time or epoch milliseconds")
            })?;
            state.clock.set(at_ms, change.freeze);
        }
        (None, Some(ms), false) if !change.freeze => state.clock.advance(ms),
        (None, None, true) if !change.freeze => state.clock.real(),
        _ => {
            return Err(ApiError::unprocessable(
                "give exactly one of set (with freeze), advanceMs or real",
            ))
        }
    }
    Ok(Reply::ok(clock_state(&state)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateQuery {
    location_id: String,
}

impl Schema for StateQuery {
    const FIELDS: &'static [Field] = &[crate::validate::required("locationId", Kind::String)];
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct InstalledApp {
    app_id: String,
    name: String,
    client_id: String,
    scopes: String,
    #[serde(skip)]
    installed_at_ms: i64,
    #[sqlx(skip)]
    installed_at: String,
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct LiveToken {
    /// `private` (a `pit-…` token) or `oauth` (a grant: its access and refresh tokens).
    kind: String,
    id: String,
    /// The app's client id, for OAuth grants.
    client_id: Option<String>,
    scopes: String,
    #[serde(skip)]
    created_at_ms: i64,
    #[sqlx(skip)]
    created_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationState {
    location_id: String,
    installed_apps: Vec<InstalledApp>,
    /// Private tokens and OAuth grants that still work; never their secrets.
    live_tokens: Vec<LiveToken>,
}

/// `GET /hilo/admin/state?locationId=…`: the apps installed on the location and the tokens
/// that work on it (ids and scopes only).
async fn location_state(
    State(state): State<AppState>,
    _admin: Admin,
    QueryParams(q): QueryParams<StateQuery>,
) -> ApiResult<Reply<LocationState>> {
    if crate::tenancy::find_location(&state.db, &q.location_id)
        .await?
        .is_none()
    {
        return Err(ApiError::bad_request(format!(
            "Location not found for id:{}",
            q.location_id
        )));
    }
    let mut installed_apps: Vec<InstalledApp> = sqlx::query_as(
        "SELECT a.id AS app_id, a.name, a.client_id, i.scopes, i.installed_at AS installed_at_ms \
         FROM app_installations i JOIN apps a ON a.id = i.app_id \
         WHERE i.location_id = $1 AND i.uninstalled_at IS NULL AND a.deleted_at IS NULL \
         ORDER BY i.installed_at, a.id",
    )
    .bind(&q.location_id)
    .fetch_all(state.db.read())
    .await?;
    for app in &mut installed_apps {
        app.installed_at = format_ms(app.installed_at_ms);
    }
    let mut live_tokens: Vec<LiveToken> = sqlx::query_as(
        "SELECT 'private' AS kind, id, NULL AS client_id, scopes, created_at AS created_at_ms \
         FROM api_tokens WHERE location_id = $1 AND revoked_at IS NULL \
         UNION ALL \
         SELECT 'oauth' AS kind, g.id, a.client_id, g.scopes, g.created_at AS created_at_ms \
         FROM oauth_grants g JOIN apps a ON a.id = g.app_id \
         WHERE g.location_id = $1 AND g.revoked_at IS NULL \
         ORDER BY created_at_ms, id",
    )
    .bind(&q.location_id)
    .fetch_all(state.db.read())
    .await?;
    for token in &mut live_tokens {
        token.created_at = format_ms(token.created_at_ms);
    }
    Ok(Reply::ok(LocationState {
        location_id: q.location_id,
        installed_apps,
        live_tokens,
    }))
}
