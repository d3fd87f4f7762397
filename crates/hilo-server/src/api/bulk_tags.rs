//! `POST /contacts/bulk/tags/update/{type}`: add tags to, or remove them from, up to 500
//! contacts at once (spec: `UpdateTagsDTO`, `UpdateTagsResponseDTO`, operation id
//! `create-association` [sic]; dossier §3.17).
//!
//! The request is validated as a whole first (shape, the 500-contact and 50-tag limits, the
//! `type`, the token's location): a refused request changes nothing. Then each contact gets its
//! own row in `responses`: a contact that is not the location's is an `error` row, never
//! touched, and does not fail the others. The changes are written in one transaction.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::bulk_tags::{BulkTagsBody, BulkTagsResponse, BulkTagsRow};

use super::contacts::{enqueue_contact_event, touch};
use super::followers::dedupe;
use super::route;
use super::tags::normalize_tags;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::is_id;
use crate::sql::{bind_list, SqlBuilder};
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};
use crate::webhooks::EventKind;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    route(router, Operation::BulkTags, bulk_tags)
}

/// The limits of the spec's first revision (`contacts` ≤ 500, `tags` ≤ 50; dossier §7 #14).
pub const MAX_CONTACTS: usize = 500;
pub const MAX_TAGS: usize = 50;

impl Schema for BulkTagsBody {
    const FIELDS: &'static [Field] = &[
        required("contacts", Kind::StringArrayMax(MAX_CONTACTS)),
        required("tags", Kind::StringArrayMax(MAX_TAGS)),
        required("locationId", Kind::String),
        optional("removeAllTags", Kind::Bool),
    ];
    const HAS_LOCATION: bool = true;
}

// A contact's error row, in the spec's words (`UpdateTagsResponseDTO` example), except
// `NOT_FOUND`, for an id no contact ever had, which the spec does not word.
const NOT_AN_ID: &str = "contact id is not a valid firebase id";
const DELETED: &str = "contact is deleted";
const OTHER_LOCATION: &str = "contact does not belong to location";
const NOT_FOUND: &str = "contact not found";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Remove,
}

/// Appends `column IN ($…)` bound to `values` (never empty).
fn push_in(sql: &mut SqlBuilder, column: &str, values: &[String]) {
    sql.push(&format!(" AND {column} IN ("));
    bind_list(sql, values);
    sql.push(")");
}

/// Which of `ids` are in `table` (`contacts` or `deleted_contacts`) with a `location_id` that is
/// (`=`) or is not (`<>`) `location_id`.
async fn ids_in(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    op: &str,
    location_id: &str,
    ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new(&format!("SELECT id FROM {table} WHERE location_id {op} "));
    sql.bind_text(location_id);
    push_in(&mut sql, "id", ids);
    sql.query_scalar().fetch_all(&mut *tx).await
}

async fn bulk_tags(
    State(state): State<AppState>,
    _auth: Auth,
    Path(kind): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<BulkTagsBody>,
) -> ApiResult<Reply<BulkTagsResponse>> {
    let change = match kind.as_str() {
        "add" => Change::Add,
        "remove" => Change::Remove,
        _ => {
            return Err(ApiError::unprocessable(
                "type must be one of the following values: add, remove",
            ))
        }
    };
    let remove_all = body.remove_all_tags == Some(true);
    if remove_all && change == Change::Add {
        return Err(ApiError::unprocessable(
            "removeAllTags can only be used with remove type",
        ));
    }
    // The body's locationId is the token's: the body extractor checked it.
    let location_id = body.location_id.as_str();
    let ids = dedupe(&body.contacts);
    let tags = normalize_tags(&body.tags);
    let well_formed: Vec<String> = ids.iter().filter(|id| is_id(id)).cloned().collect();

    let mut tx = state.db.write().begin().await?;
    let here = ids_in(&mut tx, "contacts", "=", location_id, &well_formed).await?;
    let missing: Vec<String> = well_formed
        .iter()
        .filter(|id| !here.contains(id))
        .cloned()
        .collect();
    let deleted_here = ids_in(&mut tx, "deleted_contacts", "=", location_id, &missing).await?;
    // Another location's contacts are named as such, and nothing else of them is read.
    let mut elsewhere = ids_in(&mut tx, "contacts", "<>", location_id, &missing).await?;
    elsewhere.extend(ids_in(&mut tx, "deleted_contacts", "<>", location_id, &missing).await?);
    let mut old: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    if !here.is_empty() {
        let mut sql = SqlBuilder::new(
            "SELECT contact_id, tag, position FROM contact_tags WHERE location_id = ",
        );
        sql.bind_text(location_id);
        push_in(&mut sql, "contact_id", &here);
        sql.push(" ORDER BY contact_id, position");
        let rows: Vec<(String, String, i64)> = sql.query_as().fetch_all(&mut *tx).await?;
        for (contact_id, tag, position) in rows {
            old.entry(contact_id).or_default().push((tag, position));
        }
    }

    let mut responses = Vec::with_capacity(ids.len());
    for id in ids {
        if !is_id(&id) {
            responses.push(BulkTagsRow::error(id, NOT_AN_ID));
            continue;
        }
        if !here.contains(&id) {
            let message = if deleted_here.contains(&id) {
                DELETED
            } else if elsewhere.contains(&id) {
                OTHER_LOCATION
            } else {
                NOT_FOUND
            };
            responses.push(BulkTagsRow::error(id, message));
            continue;
        }
        let current = old.remove(&id).unwrap_or_default();
        let old_tags: Vec<String> = current.iter().map(|(tag, _)| tag.clone()).collect();
        let (added, removed) = match change {
            Change::Add => {
                let next = current.iter().map(|(_, p)| p + 1).max().unwrap_or(0);
                let added = add(&mut tx, location_id, &id, &tags, &old_tags, next).await?;
                (added, Vec::new())
            }
            Change::Remove => {
                let targets: Vec<String> = if remove_all {
                    old_tags.clone()
                } else {
                    tags.iter()
                        .filter(|t| old_tags.contains(t))
                        .cloned()
                        .collect()
                };
                let removed = remove(&mut tx, location_id, &id, &targets, &old_tags).await?;
                (Vec::new(), removed)
            }
        };
        if !added.is_empty() || !removed.is_empty() {
            touch(&mut tx, location_id, &id).await?;
            enqueue_contact_event(&mut tx, EventKind::ContactTagUpdate, location_id, &id).await?;
        }
        responses.push(BulkTagsRow::success(id, old_tags, added, removed));
    }
    tx.commit().await?;
    let error_count = responses.iter().filter(|r| r.is_error()).count();
    Ok(Reply::created(BulkTagsResponse {
        succeded: true,
        error_count: u64::try_from(error_count).unwrap_or(u64::MAX),
        responses,
    }))
}

/// Adds the `tags` the contact lacks after its last position; the ones actually inserted, in
/// the order asked (a concurrent request may have added some meanwhile).
async fn add(
    tx: &mut sqlx::AnyConnection,
    location_id: &str,
    contact_id: &str,
    tags: &[String],
    old_tags: &[String],
    next_position: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let new: Vec<&String> = tags.iter().filter(|t| !old_tags.contains(t)).collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new(
        "INSERT INTO contact_tags (location_id, contact_id, tag, position) VALUES ",
    );
    for (position, tag) in (next_position..).zip(&new) {
        if position > next_position {
            sql.push(", ");
        }
        sql.push("(")
            .bind_text(location_id)
            .push(", ")
            .bind_text(contact_id)
            .push(", ")
            .bind_text(tag.as_str())
            .push(", ")
            .bind_int(position)
            .push(")");
    }
    sql.push(" ON CONFLICT (contact_id, tag) DO NOTHING RETURNING tag");
    let inserted: Vec<String> = sql.query_scalar().fetch_all(&mut *tx).await?;
    Ok(new
        .into_iter()
        .filter(|t| inserted.contains(t))
        .cloned()
        .collect())
}

/// Removes `targets`; the ones actually removed, in the contact's tag order.
async fn remove(
    tx: &mut sqlx::AnyConnection,
    location_id: &str,
    contact_id: &str,
    targets: &[String],
    old_tags: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new("DELETE FROM contact_tags WHERE location_id = ");
    sql.bind_text(location_id)
        .push(" AND contact_id = ")
        .bind_text(contact_id);
    push_in(&mut sql, "tag", targets);
    sql.push(" RETURNING tag");
    let deleted: Vec<String> = sql.query_scalar().fetch_all(&mut *tx).await?;
    Ok(old_tags
        .iter()
        .filter(|t| deleted.contains(t))
        .cloned()
        .collect())
}
