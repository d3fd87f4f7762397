//! `apps/oauth.json`: the token endpoint, agency-to-location tokens, and the agency's installed
//! locations.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::route;
use crate::auth::AnyAuth;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult, INVALID_JWT};
use crate::oauth::grants::{self, TokenResponse};
use crate::oauth::{apps, UserType};
use crate::state::AppState;
use crate::time::format_ms;
use crate::trace::Reply;
use crate::validate::{optional, required, Field, Form, Kind, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::LocationToken, location_token);
    route(router, Operation::InstalledLocations, installed_locations)
}

/// `POST /oauth/token` takes no `Version` header and no bearer token, so it sits outside the
/// endpoint table's middleware.
pub fn token_route(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/oauth/token", post(token))
        .route("/v2/oauth/token", post(token))
}

const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];
const USER_TYPES: &[&str] = &["Location", "Company"];

#[derive(Deserialize)]
struct TokenRequest {
    client_id: String,
    client_secret: String,
    grant_type: String,
    code: Option<String>,
    refresh_token: Option<String>,
    user_type: Option<String>,
    redirect_uri: Option<String>,
}

impl Schema for TokenRequest {
    const FIELDS: &'static [Field] = &[
        required("client_id", Kind::String),
        required("client_secret", Kind::String),
        required("grant_type", Kind::OneOf(GRANT_TYPES)),
        optional("code", Kind::String),
        optional("refresh_token", Kind::String),
        optional("user_type", Kind::OneOf(USER_TYPES)),
        optional("redirect_uri", Kind::String),
    ];
}

async fn token(
    State(state): State<AppState>,
    Form(request): Form<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let app = apps::authenticate_client(&state.db, &request.client_id, &request.client_secret)
        .await?
        .ok_or_else(ApiError::invalid_client)?;
    let user_type = request.user_type.as_deref().and_then(UserType::parse);
    let response = match request.grant_type.as_str() {
        "authorization_code" => {
            let code = request
                .code
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_request("Invalid request: missing parameter: `code`")
                })?;
            grants::exchange_code(
                &state.db,
                &state.oauth,
                &app,
                code,
                request.redirect_uri.as_deref(),
                user_type,
            )
            .await?
        }
        "refresh_token" => {
            let refresh_token = request
                .refresh_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_request("Invalid request: missing parameter: `refresh_token`")
                })?;
            grants::refresh(&state.db, &state.oauth, &app, refresh_token, user_type).await?
        }
        _ => {
            return Err(ApiError::OAuth {
                status: axum::http::StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: "Unsupported grant type: client_credentials is not offered to \
                              marketplace apps"
                    .to_owned(),
            })
        }
    };
    Ok(Json(response))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationTokenBody {
    company_id: String,
    location_id: String,
}

impl Schema for LocationTokenBody {
    const FIELDS: &'static [Field] = &[
        required("companyId", Kind::String),
        required("locationId", Kind::String),
    ];
}

async fn location_token(
    State(state): State<AppState>,
    AnyAuth(principal): AnyAuth,
    Form(body): Form<LocationTokenBody>,
) -> ApiResult<Json<TokenResponse>> {
    let claims = principal
        .claims
        .as_ref()
        .ok_or(ApiError::Unauthorized(INVALID_JWT))?;
    let response = grants::location_token(
        &state.db,
        &state.oauth,
        claims,
        &body.company_id,
        &body.location_id,
    )
    .await?;
    Ok(Json(response))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstalledLocationsQuery {
    skip: Option<i64>,
    limit: Option<i64>,
    query: Option<String>,
    is_installed: Option<String>,
    company_id: String,
    app_id: String,
    // versionId, onTrial and planId are accepted; hilo has no app versions, trials or plans.
    location_id: Option<String>,
}

const TRUE_FALSE: &[&str] = &["true", "false"];

impl Schema for InstalledLocationsQuery {
    const FIELDS: &'static [Field] = &[
        optional(
            "skip",
            Kind::QueryInt {
                min: 0,
                max: i64::MAX,
            },
        ),
        optional("limit", Kind::QueryInt { min: 1, max: 500 }),
        optional("query", Kind::String),
        optional("isInstalled", Kind::OneOf(TRUE_FALSE)),
        required("companyId", Kind::String),
        required("appId", Kind::String),
        optional("versionId", Kind::String),
        optional("onTrial", Kind::OneOf(TRUE_FALSE)),
        optional("planId", Kind::String),
        optional("locationId", Kind::String),
    ];
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstalledLocation {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    address: String,
    is_installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    installed_at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstalledLocations {
    locations: Vec<InstalledLocation>,
    count: usize,
    install_to_future_locations: bool,
}

/// The agency's locations with whether the app is installed on each.
async fn installed_locations(
    State(state): State<AppState>,
    AnyAuth(principal): AnyAuth,
    QueryParams(q): QueryParams<InstalledLocationsQuery>,
) -> ApiResult<Reply<InstalledLocations>> {
    if q.company_id != principal.company_id {
        return Err(ApiError::wrong_company());
    }
    // An app sees where it is installed, not where other apps are.
    super::marketplace::check_app(&principal, &q.app_id)?;
    let installed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT location_id, installed_at FROM app_installations WHERE app_id = $1 \
         AND company_id = $2 AND location_id IS NOT NULL AND uninstalled_at IS NULL",
    )
    .bind(&q.app_id)
    .bind(&q.company_id)
    .fetch_all(state.db.read())
    .await?;
    let wanted_installed = q.is_installed.as_deref().map(|v| v == "true");
    let needle = q.query.as_deref().map(str::to_lowercase);
    let matching: Vec<InstalledLocation> =
        crate::tenancy::list_company_locations(&state.db, &q.company_id)
            .await?
            .into_iter()
            .filter(|l| q.location_id.as_ref().is_none_or(|id| &l.id == id))
            .filter(|l| {
                needle
                    .as_ref()
                    .is_none_or(|n| l.name.to_lowercase().contains(n))
            })
            .map(|l| {
                let at = installed
                    .iter()
                    .find(|(id, _)| *id == l.id)
                    .map(|(_, at)| *at);
                InstalledLocation {
                    is_installed: at.is_some(),
                    version_id: at.map(|_| q.app_id.clone()),
                    installed_at: at.map(format_ms),
                    address: String::new(),
                    name: l.name,
                    id: l.id,
                }
            })
            .filter(|l| wanted_installed.is_none_or(|w| l.is_installed == w))
            .collect();
    let count = matching.len();
    let skip = usize::try_from(q.skip.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(q.limit.unwrap_or(20)).unwrap_or(20);
    Ok(Reply::ok(InstalledLocations {
        locations: matching.into_iter().skip(skip).take(limit).collect(),
        count,
        install_to_future_locations: false,
    }))
}
