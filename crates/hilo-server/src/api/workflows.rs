//! Workflows: the read-only list (spec: `workflows.json`, `get-workflow`), a contact's enrolment
//! (spec: `add-contact-to-workflow`, `delete-contact-from-workflow`; dossier §3.29, §3.30), and
//! the creation of workflows, which HighLevel's API does not offer and
//! `hilo admin workflow create` does. Workflow ids are UUIDs, as HighLevel's are.
//!
//! A workflow is looked up in the contact's location only (400 `Workflow not found` otherwise).
//! Enrolling twice keeps the first enrolment and its `eventStartTime`; removing a contact that
//! is not enrolled succeeds and changes nothing.

use anyhow::{bail, Context};
use axum::extract::{Path, State};
use axum::Router;
use hilo_types::contacts::SuccededResponse;
use hilo_types::workflows::{Workflow, WorkflowEnrolment, WorkflowsResponse};
use serde::Deserialize;

use super::contacts::require_contact;
use super::route;
use crate::auth::Auth;
use crate::db::Db;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::time::{format_ms, now_ms, parse_datetime_ms};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::ListWorkflows, list_workflows);
    let router = route(router, Operation::AddToWorkflow, add_to_workflow);
    route(router, Operation::RemoveFromWorkflow, remove_from_workflow)
}

/// The statuses `hilo admin workflow create` gives workflows (the spec's examples).
pub const STATUSES: &[&str] = &["draft", "published"];

impl Schema for WorkflowEnrolment {
    const FIELDS: &'static [Field] = &[optional("eventStartTime", Kind::DateTime)];
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkflowsQuery {
    location_id: String,
}

impl Schema for WorkflowsQuery {
    const FIELDS: &'static [Field] = &[required("locationId", Kind::String)];
    const HAS_LOCATION: bool = true;
}

#[derive(sqlx::FromRow)]
struct WorkflowRow {
    id: String,
    name: String,
    status: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    location_id: String,
}

impl From<WorkflowRow> for Workflow {
    fn from(row: WorkflowRow) -> Workflow {
        Workflow {
            id: row.id,
            name: row.name,
            status: row.status,
            version: u64::try_from(row.version).unwrap_or(1),
            created_at: format_ms(row.created_at),
            updated_at: format_ms(row.updated_at),
            location_id: row.location_id,
        }
    }
}

/// A new workflow (version 1) in a location (`hilo admin workflow create`).
pub async fn create_workflow(
    db: &Db,
    location_id: &str,
    name: &str,
    status: &str,
) -> anyhow::Result<Workflow> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the workflow name must not be empty");
    }
    if !STATUSES.contains(&status) {
        bail!(
            "unknown workflow status {status:?}: use one of {}",
            STATUSES.join(", ")
        );
    }
    let location = crate::tenancy::find_location(db, location_id)
        .await?
        .with_context(|| format!("no location with id {location_id}"))?;
    let now = now_ms();
    let row = WorkflowRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        status: status.to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        location_id: location.id,
    };
    sqlx::query(
        "INSERT INTO workflows (id, location_id, name, status, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.id)
    .bind(&row.location_id)
    .bind(&row.name)
    .bind(&row.status)
    .bind(row.version)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(db.write())
    .await?;
    Ok(row.into())
}

/// The workflows of a location, oldest first.
pub async fn list_location_workflows(
    db: &Db,
    location_id: &str,
) -> Result<Vec<Workflow>, sqlx::Error> {
    let rows: Vec<WorkflowRow> = sqlx::query_as(
        "SELECT id, name, status, version, created_at, updated_at, location_id FROM workflows \
         WHERE location_id = $1 ORDER BY created_at, id",
    )
    .bind(location_id)
    .fetch_all(db.read())
    .await?;
    Ok(rows.into_iter().map(Workflow::from).collect())
}

async fn list_workflows(
    State(state): State<AppState>,
    _auth: Auth,
    QueryParams(q): QueryParams<WorkflowsQuery>,
) -> ApiResult<Reply<WorkflowsResponse>> {
    let workflows = list_location_workflows(&state.db, &q.location_id).await?;
    Ok(Reply::ok(WorkflowsResponse { workflows }))
}

/// 400 unless the workflow is one of the location's.
async fn require_workflow(state: &AppState, location_id: &str, workflow_id: &str) -> ApiResult<()> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM workflows WHERE location_id = $1 AND id = $2")
            .bind(location_id)
            .bind(workflow_id)
            .fetch_optional(state.db.read())
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_request("Workflow not found")),
    }
}

async fn add_to_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, workflow_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(body): Body<WorkflowEnrolment>,
) -> ApiResult<Reply<SuccededResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    require_workflow(&state, &auth.location_id, &workflow_id).await?;
    // Validated as an ISO 8601 date-time with a zone by the body schema.
    let start = body.event_start_time.as_deref().and_then(parse_datetime_ms);
    sqlx::query(
        "INSERT INTO contact_workflows (location_id, contact_id, workflow_id, event_start_time, \
         added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_id, workflow_id) DO NOTHING",
    )
    .bind(&auth.location_id)
    .bind(&contact_id)
    .bind(&workflow_id)
    .bind(start)
    .bind(now_ms())
    .execute(state.db.write())
    .await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}

/// The body's `eventStartTime` is validated and otherwise unused: the contact leaves the
/// workflow now.
async fn remove_from_workflow(
    State(state): State<AppState>,
    auth: Auth,
    Path((contact_id, workflow_id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(_): Body<WorkflowEnrolment>,
) -> ApiResult<Reply<SuccededResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    require_workflow(&state, &auth.location_id, &workflow_id).await?;
    sqlx::query(
        "DELETE FROM contact_workflows WHERE location_id = $1 AND contact_id = $2 \
         AND workflow_id = $3",
    )
    .bind(&auth.location_id)
    .bind(&contact_id)
    .bind(&workflow_id)
    .execute(state.db.write())
    .await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}
