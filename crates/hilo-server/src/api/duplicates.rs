//! A location's contacts found by their unique identifiers (dossier §5): the duplicate rule of
//! create and update, `GET /contacts/search/duplicate` and `POST /contacts/upsert`. Which fields
//! identify a contact, and in which order, is the location's `contactUniqueIdentifiers`
//! (email, then phone, unless configured otherwise).

use axum::extract::State;
use axum::Router;
use hilo_types::contacts::{DuplicateContactResponse, UpsertContact, UpsertContactResponse};
use hilo_types::Patch;
use serde::Deserialize;
use serde_json::json;

use super::contacts::{
    apply_contact_change, contact_view, create_as_update, insert_new, load_contact, save_update,
    to_e164, token_location, ContactRow,
};
use super::route;
use super::tags::load_tags;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tenancy::{ContactIdentifier, Location};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::DuplicateContact, duplicate_contact);
    route(router, Operation::UpsertContact, upsert_contact)
}

fn column(identifier: ContactIdentifier) -> &'static str {
    match identifier {
        ContactIdentifier::Email => "email_lower",
        ContactIdentifier::Phone => "phone",
    }
}

/// The oldest contact of the location, other than `except`, whose `identifier` is `value`
/// (already normalised: lower-cased email, E.164 phone). Reads the primary, so a contact written
/// a moment ago is found.
async fn find_by(
    state: &AppState,
    location_id: &str,
    identifier: ContactIdentifier,
    value: &str,
    except: Option<&str>,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT id, name FROM contacts WHERE location_id = $1 AND {} = $2 AND id <> $3 \
         ORDER BY date_added, id LIMIT 1",
        column(identifier)
    ))
    .bind(location_id)
    .bind(value)
    .bind(except.unwrap_or(""))
    .fetch_optional(state.db.write())
    .await
}

/// 400 with the existing contact when the location forbids duplicates and one of its
/// identifiers is taken by another contact (dossier §5 rule 1). With `before` (an update), only
/// identifiers the change altered are checked, so older duplicates do not block other edits.
pub(crate) async fn reject_duplicate(
    state: &AppState,
    location: &Location,
    row: &ContactRow,
    before: Option<&ContactRow>,
) -> ApiResult<()> {
    if location.allow_duplicate_contact.0 {
        return Ok(());
    }
    for identifier in location.unique_identifiers() {
        let Some(value) = row.identifier(identifier) else {
            continue;
        };
        if before.is_some_and(|b| b.identifier(identifier) == Some(value)) {
            continue;
        }
        if let Some((id, name)) =
            find_by(state, &location.id, identifier, value, Some(row.id())).await?
        {
            return Err(ApiError::DuplicateContact {
                meta: json!({
                    "contactId": id,
                    "contactName": name,
                    "matchingField": identifier.as_str(),
                }),
            });
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DuplicateQuery {
    location_id: String,
    number: Option<String>,
    email: Option<String>,
}

impl Schema for DuplicateQuery {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("number", Kind::String),
        optional("email", Kind::String),
    ];
    const HAS_LOCATION: bool = true;
}

/// `GET /contacts/search/duplicate?locationId&email&number`: where the location forbids
/// duplicates, its identifiers in their order; where it allows them, email then phone.
async fn duplicate_contact(
    State(state): State<AppState>,
    auth: Auth,
    QueryParams(q): QueryParams<DuplicateQuery>,
) -> ApiResult<Reply<DuplicateContactResponse>> {
    let non_empty = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (email, number) = (non_empty(q.email.clone()), non_empty(q.number.clone()));
    if email.is_none() && number.is_none() {
        return Err(ApiError::unprocessable(
            "either email or number should not be empty",
        ));
    }
    let location = token_location(&state, &auth).await?;
    let order = if location.allow_duplicate_contact.0 {
        vec![ContactIdentifier::Email, ContactIdentifier::Phone]
    } else {
        location.unique_identifiers()
    };
    for identifier in order {
        let value = match identifier {
            ContactIdentifier::Email => email.as_ref().map(|e| e.to_lowercase()),
            // A number that does not parse is looked up as sent: it matches nothing stored.
            ContactIdentifier::Phone => number
                .as_ref()
                .map(|n| to_e164(n, &location.country).unwrap_or_else(|| n.clone())),
        };
        let Some(value) = value else { continue };
        // `QueryParams` checked that the query's location is the token's.
        if let Some((id, _)) = find_by(&state, &q.location_id, identifier, &value, None).await? {
            let row = load_contact(&state, &auth, &id).await?;
            let tags = load_tags(state.db.read(), &q.location_id, &id).await?;
            return Ok(Reply::ok(DuplicateContactResponse {
                contact: Some(contact_view(&state, &row, tags).await?),
            }));
        }
    }
    Ok(Reply::ok(DuplicateContactResponse { contact: None }))
}

/// `POST /contacts/upsert`: updates the contact the location's first identifier matches, or
/// creates one (dossier §5 rule 3). A later identifier that matches a different contact is not
/// written, so the upsert never makes a duplicate.
async fn upsert_contact(
    State(state): State<AppState>,
    auth: Auth,
    _: QueryParams<NoParams>,
    Body(body): Body<UpsertContact>,
) -> ApiResult<Reply<UpsertContactResponse>> {
    let location = token_location(&state, &auth).await?;
    let create_new =
        body.create_new_if_duplicate_allowed == Some(true) && location.allow_duplicate_contact.0;
    let mut change = create_as_update(body.contact);
    // The new contact it would be: the input validated and normalised before anything is read
    // or written, and the identifiers in their stored form.
    let mut created = ContactRow::new_for(&auth, &location);
    let tags = apply_contact_change(&state.db, &mut created, change.clone(), &location)
        .await?
        .unwrap_or_default();
    if !create_new {
        let mut matched: Option<String> = None;
        for identifier in location.unique_identifiers() {
            let Some(value) = created.identifier(identifier) else {
                continue;
            };
            let Some((id, _)) = find_by(&state, &location.id, identifier, value, None).await?
            else {
                continue;
            };
            match &matched {
                None => matched = Some(id),
                Some(first) if *first != id => match identifier {
                    ContactIdentifier::Email => change.email = Patch::Absent,
                    ContactIdentifier::Phone => change.phone = Patch::Absent,
                },
                Some(_) => {}
            }
        }
        if let Some(id) = matched {
            let mut row = load_contact(&state, &auth, &id).await?;
            let before = row.clone();
            let new_tags = apply_contact_change(&state.db, &mut row, change, &location).await?;
            let tags = save_update(&state, &before, &mut row, new_tags).await?;
            return Ok(Reply::ok(UpsertContactResponse {
                new: false,
                succeded: true,
                contact: contact_view(&state, &row, tags).await?,
            }));
        }
    }
    insert_new(&state, &created, &tags).await?;
    Ok(Reply::ok(UpsertContactResponse {
        new: true,
        succeded: true,
        contact: created.to_contact(tags),
    }))
}
