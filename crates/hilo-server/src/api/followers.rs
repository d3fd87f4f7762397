//! Contact followers: add and remove (spec: `add-followers-contact`, `remove-followers-contact`;
//! dossier §3.24, §3.25), and the follower storage that contact reads share. Followers are users
//! of the contact's location: its location users and its agency's agency users. Adding an id that
//! is no such user is a 400 and adds nothing (dossier §7 #2).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::followers::{FollowersAddedResponse, FollowersBody, FollowersRemovedResponse};
use sqlx::AnyPool;

use super::contact_lists::FOLLOWERS;
use super::contacts::require_contact;
use super::route;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::sql::{bind_list, SqlBuilder};
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::AddFollowers, add_followers);
    route(router, Operation::RemoveFollowers, remove_followers)
}

impl Schema for FollowersBody {
    const FIELDS: &'static [Field] = &[required("followers", Kind::StringArray)];
}

/// `ids` without repeats, first occurrence first.
pub(crate) fn dedupe(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// The followers of a contact, in the order they were added.
pub(crate) async fn load_followers<'e, E>(
    executor: E,
    location_id: &str,
    contact_id: &str,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    FOLLOWERS.load(executor, location_id, contact_id).await
}

/// The followers of many contacts at once, keyed by contact id.
pub(crate) async fn load_followers_for(
    pool: &AnyPool,
    location_id: &str,
    contact_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
    FOLLOWERS.load_for(pool, location_id, contact_ids).await
}

/// 400 for the first of `ids` that is not a user of the location.
async fn require_location_users(
    state: &AppState,
    location_id: &str,
    ids: &[String],
) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuilder::new(
        "SELECT u.id FROM users u JOIN locations l ON l.id = u.location_id \
         OR (u.location_id IS NULL AND l.company_id = u.company_id) WHERE l.id = ",
    );
    sql.bind_text(location_id).push(" AND u.id IN (");
    bind_list(&mut sql, ids);
    sql.push(")");
    let found: Vec<String> = sql.query_scalar().fetch_all(state.db.read()).await?;
    match ids.iter().find(|id| !found.contains(id)) {
        Some(unknown) => Err(ApiError::bad_request(format!(
            "User not found for id:{unknown}"
        ))),
        None => Ok(()),
    }
}

async fn add_followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<FollowersBody>,
) -> ApiResult<Reply<FollowersAddedResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let ids = dedupe(&body.followers);
    require_location_users(&state, &auth.location_id, &ids).await?;
    let mut tx = state.db.write().begin().await?;
    let added = FOLLOWERS
        .add(&mut tx, &auth.location_id, &contact_id, ids)
        .await?;
    tx.commit().await?;
    Ok(Reply::created(FollowersAddedResponse {
        followers: added.all,
        followers_added: added.changed,
    }))
}

/// Ids that do not follow the contact (unknown users included) are left out of
/// `followersRemoved`; they are not an error.
async fn remove_followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(body): Body<FollowersBody>,
) -> ApiResult<Reply<FollowersRemovedResponse>> {
    require_contact(&state, &auth, &contact_id).await?;
    let mut tx = state.db.write().begin().await?;
    let removed = FOLLOWERS
        .remove(
            &mut tx,
            &auth.location_id,
            &contact_id,
            dedupe(&body.followers),
        )
        .await?;
    tx.commit().await?;
    Ok(Reply::ok(FollowersRemovedResponse {
        followers: removed.all,
        followers_removed: removed.changed,
    }))
}

#[cfg(test)]
mod tests {
    use super::dedupe;

    #[test]
    fn repeats_are_dropped_first_occurrence_first() {
        let ids: Vec<String> = ["b", "a", "b", "c", "a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(dedupe(&ids), vec!["b", "a", "c"]);
    }
}
