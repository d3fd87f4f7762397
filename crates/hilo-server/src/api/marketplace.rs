//! `apps/marketplace.json`, the installation part: uninstalling an app (which revokes what the
//! installation granted) and the installer's details.

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::marketplace::{
    InstallerDetails, InstallerDetailsResponse, UninstallRequest, UninstallResponse,
};

use super::route;
use crate::auth::{AnyAuth, Principal};
use crate::endpoints::{Operation, TokenKind};
use crate::error::{ApiError, ApiResult};
use crate::oauth::grants;
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{optional, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::Uninstall, uninstall);
    route(router, Operation::InstallerDetails, installer_details)
}

/// An app's own token may look at and remove only that app's installations.
pub(crate) fn check_app(principal: &Principal, app_id: &str) -> ApiResult<()> {
    match &principal.claims {
        Some(claims) if claims.oauth_meta.client == app_id => Ok(()),
        Some(_) => Err(ApiError::Forbidden(
            "The token does not belong to this app.".to_owned(),
        )),
        // Agency private tokens act for the agency, whatever the app.
        None => Ok(()),
    }
}

impl Schema for UninstallRequest {
    const FIELDS: &'static [Field] = &[
        optional("companyId", Kind::String),
        optional("locationId", Kind::String),
        optional("reason", Kind::String),
    ];
}

async fn uninstall(
    State(state): State<AppState>,
    AnyAuth(principal): AnyAuth,
    Path(app_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<UninstallRequest>,
) -> ApiResult<Reply<UninstallResponse>> {
    check_app(&principal, &app_id)?;
    // A location token uninstalls from its location; an agency token from the agency and all of
    // its locations, or from one of them when locationId is given.
    let location_id = match principal.kind {
        TokenKind::LocationOAuth | TokenKind::LocationPrivate => {
            let own = principal
                .location_id
                .clone()
                .ok_or_else(|| anyhow::anyhow!("a location token without a location"))?;
            let given = body
                .location_id
                .ok_or_else(|| ApiError::unprocessable("locationId should not be empty"))?;
            if given != own {
                return Err(ApiError::WrongLocation);
            }
            Some(own)
        }
        TokenKind::CompanyOAuth | TokenKind::AgencyPrivate => {
            let given = body
                .company_id
                .ok_or_else(|| ApiError::unprocessable("companyId should not be empty"))?;
            if given != principal.company_id {
                return Err(ApiError::wrong_company());
            }
            body.location_id
        }
    };
    let done = grants::uninstall(
        &state.db,
        &state.oauth,
        &app_id,
        &principal.company_id,
        location_id.as_deref(),
    )
    .await?;
    if !done {
        return Err(ApiError::bad_request("The app is not installed here"));
    }
    Ok(Reply::ok(UninstallResponse { success: true }))
}

async fn installer_details(
    State(state): State<AppState>,
    AnyAuth(principal): AnyAuth,
    Path(app_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<InstallerDetailsResponse>> {
    check_app(&principal, &app_id)?;
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT company_id, user_id FROM app_installations WHERE app_id = $1 AND company_id = $2 \
         AND ((location_id IS NULL AND $3 IS NULL) OR location_id = $3) \
         AND uninstalled_at IS NULL",
    )
    .bind(&app_id)
    .bind(&principal.company_id)
    .bind(&principal.location_id)
    .fetch_optional(state.db.read())
    .await?;
    let (company_id, user_id) =
        row.ok_or_else(|| ApiError::bad_request("The app is not installed here"))?;
    let company_name = crate::tenancy::require_company(&state.db, &company_id)
        .await?
        .name;
    Ok(Reply::ok(InstallerDetailsResponse {
        installation_details: InstallerDetails {
            company_id,
            location_id: principal.location_id,
            company_name,
            user_id,
            is_whitelabel_company: false,
            relationship_number: None,
            company_email: None,
            company_owner_full_name: None,
            company_plan: None,
            company_high_level_plan: None,
            marketplace_app_plan_id: None,
        },
    }))
}
