//! Contact tags: add and remove (spec: `add-tags`, `remove-tags`), and the tag storage that
//! contact create/update share. Tags are trimmed, lower-cased and de-duplicated, keeping the
//! order they were first added in (dossier §2.3).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::contacts::{TagsAddedResponse, TagsBody, TagsRemovedResponse};
use sqlx::{AnyConnection, AnyPool};

use super::contact_lists::{Changed, TAGS};
use super::contacts::{enqueue_contact_event, require_contact};
use super::route;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{required, Body, Field, Kind, NoParams, QueryParams, Schema};
use crate::webhooks::EventKind;

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::AddTags, add_tags);
    route(router, Operation::RemoveTags, remove_tags)
}

impl Schema for TagsBody {
    const FIELDS: &'static [Field] = &[required("tags", Kind::StringArray)];
}

/// Trimmed, lower-cased, without empties or repeats, first occurrence first.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// A contact's tags, in the order they were added.
pub(crate) async fn load_tags<'e, E>(
    executor: E,
    location_id: &str,
    contact_id: &str,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    TAGS.load(executor, location_id, contact_id).await
}

/// The tags of many contacts at once, keyed by contact id.
pub(crate) async fn load_tags_for(
    pool: &AnyPool,
    location_id: &str,
    contact_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
    TAGS.load_for(pool, location_id, contact_ids).await
}

/// Makes `tags` (already normalised) the contact's whole tag set.
pub(crate) async fn replace_tags(
    tx: &mut AnyConnection,
    location_id: &str,
    contact_id: &str,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM contact_tags WHERE location_id = $1 AND contact_id = $2")
        .bind(location_id)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
    for (position, tag) in (0_i64..).zip(tags) {
        sqlx::query("INSERT INTO contact_tags (location_id, contact_id, tag, position) VALUES ($1, $2, $3, $4)")
            .bind(location_id)
            .bind(contact_id)
            .bind(tag)
            .bind(position)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Adds the tags of many new contacts (which have none yet).
pub(crate) async fn insert_tags(
    tx: &mut AnyConnection,
    location_id: &str,
    contacts: &[(&str, &[String])],
) -> Result<(), sqlx::Error> {
    TAGS.insert_new(tx, location_id, contacts).await
}

/// Adds or removes `tags` in one transaction; a change fires ContactTagUpdate.
async fn change_tags(
    state: &AppState,
    auth: &Auth,
    contact_id: &str,
    tags: &[String],
    add: bool,
) -> ApiResult<Changed> {
    require_contact(state, auth, contact_id).await?;
    let (location_id, tags) = (auth.location_id.as_str(), normalize_tags(tags));
    let mut tx = state.db.write().begin().await?;
    let changed = if add {
        TAGS.add(&mut tx, location_id, contact_id, tags).await?
    } else {
        TAGS.remove(&mut tx, location_id, contact_id, tags).await?
    };
    if !changed.changed.is_empty() {
        enqueue_contact_event(
            &mut tx,
            EventKind::ContactTagUpdate,
            location_id,
            contact_id,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

async fn add_tags(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<TagsBody>,
) -> ApiResult<Reply<TagsAddedResponse>> {
    let added = change_tags(&state, &auth, &contact_id, &body.tags, true).await?;
    Ok(Reply::created(TagsAddedResponse {
        tags: added.all,
        tags_added: added.changed,
    }))
}

async fn remove_tags(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<TagsBody>,
) -> ApiResult<Reply<TagsRemovedResponse>> {
    let removed = change_tags(&state, &auth, &contact_id, &body.tags, false).await?;
    Ok(Reply::ok(TagsRemovedResponse {
        tags: removed.all,
        tags_removed: removed.changed,
    }))
}

#[cfg(test)]
mod tests {
    use super::normalize_tags;

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        let input: Vec<String> = [" VIP ", "vip", "", "  ", "New Lead", "new lead", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(normalize_tags(&input), vec!["vip", "new lead", "b"]);
    }
}
