//! Campaigns: the read-only list (spec: `campaigns.json`, `get-campaigns`), a contact's
//! enrolment (spec: `add-contact-to-campaign`, `remove-contact-from-campaign`,
//! `remove-contact-from-every-campaign`; dossier §3.26–§3.28), and the creation of campaigns,
//! which HighLevel's API does not offer and `hilo admin campaign create` does.
//!
//! A campaign is looked up in the contact's location only: another location's campaign is as
//! unknown as one that does not exist (400 `Campaign not found`). Enrolling twice, or removing a
//! contact that is not enrolled, succeeds and changes nothing.

use anyhow::{bail, Context};
use axum::extract::{Path, State};
use axum::Router;
use hilo_types::campaigns::{AddContactToCampaign, Campaign, CampaignsResponse};
use hilo_types::contacts::SuccededResponse;
use serde::Deserialize;

use super::contacts::require_contact;
use super::route;
use crate::auth::Auth;
use crate::db::Db;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::state::AppState;
use crate::time::now_ms;
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::ListCampaigns, list_campaigns);
    let router = route(router, Operation::AddToCampaign, add_to_campaign);
    let router = route(router, Operation::RemoveFromCampaign, remove_from_campaign);
    route(
        router,
        Operation::RemoveFromAllCampaigns,
        remove_from_all_campaigns,
    )
}

/// The statuses `hilo admin campaign create` gives campaigns (the spec's examples).
pub const STATUSES: &[&str] = &["draft", "published"];

impl Schema for AddContactToCampaign {
    const FIELDS: &'static [Field] = &[];
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CampaignsQuery {
    location_id: String,
    status: Option<String>,
}

impl Schema for CampaignsQuery {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("status", Kind::String),
    ];
    const HAS_LOCATION: bool = true;
}

const COLUMNS: &str = "id, name, status, location_id";

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: String,
    name: String,
    status: String,
    location_id: String,
}

impl From<CampaignRow> for Campaign {
    fn from(row: CampaignRow) -> Campaign {
        Campaign {
            id: row.id,
            name: row.name,
            status: row.status,
            location_id: row.location_id,
        }
    }
}

/// A new campaign in a location (`hilo admin campaign create`).
pub async fn create_campaign(
    db: &Db,
    location_id: &str,
    name: &str,
    status: &str,
) -> anyhow::Result<Campaign> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the campaign name must not be empty");
    }
    if !STATUSES.contains(&status) {
        bail!(
            "unknown campaign status {status:?}: use one of {}",
            STATUSES.join(", ")
        );
    }
    let location = crate::tenancy::find_location(db, location_id)
        .await?
        .with_context(|| format!("no location with id {location_id}"))?;
    let now = now_ms();
    let campaign = Campaign {
        id: new_id(),
        name: name.to_owned(),
        status: status.to_owned(),
        location_id: location.id,
    };
    sqlx::query(
        "INSERT INTO campaigns (id, location_id, name, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&campaign.id)
    .bind(&campaign.location_id)
    .bind(&campaign.name)
    .bind(&campaign.status)
    .bind(now)
    .bind(now)
    .execute(db.write())
    .await?;
    Ok(campaign)
}

/// The campaigns of a location, oldest first; with `status`, only those in it.
pub async fn list_location_campaigns(
    db: &Db,
    location_id: &str,
    status: Option<&str>,
) -> Result<Vec<Campaign>, sqlx::Error> {
    let rows: Vec<CampaignRow> = match status {
        Some(status) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM campaigns WHERE location_id = $1 AND status = $2 \
                 ORDER BY created_at, id"
            ))
            .bind(location_id)
            .bind(status)
            .fetch_all(db.read())
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM campaigns WHERE location_id = $1 ORDER BY created_at, id"
            ))
            .bind(location_id)
            .fetch_all(db.read())
            .await?
        }
    };
    Ok(rows.into_iter().map(Campaign::from).collect())
}

async fn list_campaigns(
    State(state): State<AppState>,
    _auth: Auth,
    QueryParams(q): QueryParams<CampaignsQuery>,
) -> ApiResult<Reply<CampaignsResponse>> {
    let campaigns = list_location_campaigns(&state.db, &q.location_id, q.status.as_deref()).await?;
    Ok(Reply::ok(CampaignsResponse { campaigns }))
}

/// 400 unless the campaign is one of the location's.
async fn require_campaign(state: &AppState, location_id: &str, campaign_id: &str) -> ApiResult<()> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM campaigns WHERE location_id = $1 AND id = $2")
            .bind(location_id)
            .bind(campaign_id)
            .fetch_optional(state.db.read())
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_request("Campaign not found")),
    }
}

async fn add_to_campaign(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, campaign_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(_): Body<AddContactToCampaign>,
) -> ApiResult<Reply<SuccededResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    require_campaign(&state, &auth.location_id, &campaign_id).await?;
    sqlx::query(
        "INSERT INTO contact_campaigns (location_id, contact_id, campaign_id, added_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, campaign_id) DO NOTHING",
    )
    .bind(&auth.location_id)
    .bind(&contact_id)
    .bind(&campaign_id)
    .bind(now_ms())
    .execute(state.db.write())
    .await?;
    Ok(Reply::created(SuccededResponse { succeded: true }))
}

async fn remove_from_campaign(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, campaign_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    require_campaign(&state, &auth.location_id, &campaign_id).await?;
    sqlx::query(
        "DELETE FROM contact_campaigns WHERE location_id = $1 AND contact_id = $2 \
         AND campaign_id = $3",
    )
    .bind(&auth.location_id)
    .bind(&contact_id)
    .bind(&campaign_id)
    .execute(state.db.write())
    .await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}

async fn remove_from_all_campaigns(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    sqlx::query("DELETE FROM contact_campaigns WHERE location_id = $1 AND contact_id = $2")
        .bind(&auth.location_id)
        .bind(&contact_id)
        .execute(state.db.write())
        .await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}
