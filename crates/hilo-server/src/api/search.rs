//! `POST /contacts/search` (dossier §3.1, §4): the filter language of `contact_search`, run
//! over the token's location, with `page`/`pageLimit` pages or `searchAfter` cursors.

use std::collections::HashMap;

use axum::extract::State;
use axum::Router;
use hilo_types::contacts::{SearchContact, SearchContactsResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::contacts::{push_text_query, token_location, ContactRow, COLUMNS};
use super::followers::load_followers_for;
use super::route;
use super::tags::load_tags_for;
use crate::auth::Auth;
use crate::contact_search::{
    self, SearchContext, SearchError, SearchQuery, SqlScope, BUSINESS_NAME,
};
use crate::custom_fields::DataType;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::sql::{bind_list, SqlBuilder};
use crate::state::AppState;
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    route(router, Operation::SearchContacts, search_contacts)
}

/// The body: `locationId`, and the rest for `contact_search::parse` to read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    location_id: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl Schema for SearchBody {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("page", Kind::Any),
        optional("pageLimit", Kind::Any),
        optional("searchAfter", Kind::Any),
        optional("filters", Kind::Any),
        optional("sort", Kind::Any),
        optional("query", Kind::Any),
    ];
    const HAS_LOCATION: bool = true;
}

impl From<SearchError> for ApiError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::InvalidField(field) => {
                ApiError::bad_request(format!("Invalid field: {field}"))
            }
            SearchError::Invalid(messages) => ApiError::Unprocessable(messages),
        }
    }
}

/// `WHERE` the location, the filters and the free text.
fn push_where(sql: &mut SqlBuilder, location_id: &str, q: &SearchQuery, ctx: &SearchContext) {
    let scope = SqlScope {
        backend: ctx.backend,
        location_id,
    };
    sql.push(" WHERE location_id = ").bind_text(location_id);
    sql.push(" AND ");
    q.filter.push_sql(sql, scope);
    if let Some(text) = &q.text {
        sql.push(" AND ");
        push_text_query(sql, text, scope);
    }
}

/// The data types of the location's contact custom fields the body's filters name.
async fn custom_field_types(
    state: &AppState,
    location_id: &str,
    body: &Map<String, Value>,
) -> Result<HashMap<String, DataType>, sqlx::Error> {
    let ids = contact_search::custom_field_ids(body);
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = SqlBuilder::new("SELECT id, data_type FROM custom_fields WHERE location_id = ");
    sql.bind_text(location_id)
        .push(" AND model = 'contact' AND id IN (");
    bind_list(&mut sql, &ids);
    sql.push(")");
    let rows: Vec<(String, String)> = sql.query_as().fetch_all(state.db.read()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, data_type)| DataType::parse(&data_type).map(|t| (id, t)))
        .collect())
}

/// The page's rows, with their sort values, for a search the index answered.
async fn page_of(
    state: &AppState,
    location_id: &str,
    q: &SearchQuery,
    ids: &[String],
) -> Result<Vec<AnyRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = select_rows(q);
    select
        .push(" WHERE location_id = ")
        .bind_text(location_id)
        .push(" AND id IN (");
    bind_list(&mut select, ids);
    select.push(")");
    let place: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut placed = Vec::with_capacity(ids.len());
    for row in select.query().fetch_all(state.db.read()).await? {
        let id: String = row.try_get("id")?;
        placed.push((place.get(id.as_str()).copied(), row));
    }
    placed.sort_by_key(|(place, _)| *place);
    Ok(placed.into_iter().map(|(_, row)| row).collect())
}

/// `SELECT` the contact columns, the business name and the sort values.
fn select_rows(q: &SearchQuery) -> SqlBuilder {
    SqlBuilder::new(&format!(
        "SELECT {COLUMNS}, {BUSINESS_NAME} AS business_name{} FROM contacts",
        q.sort_columns()
    ))
}

/// The total and the page, as SQL (for what the index does not hold).
async fn search_sql(
    state: &AppState,
    location_id: &str,
    q: &SearchQuery,
    ctx: &SearchContext,
) -> Result<(u64, Vec<AnyRow>), sqlx::Error> {
    let mut count = SqlBuilder::new("SELECT COUNT(*) FROM contacts");
    push_where(&mut count, location_id, q, ctx);

    let mut select = select_rows(q);
    push_where(&mut select, location_id, q, ctx);
    if let Some(cursor) = &q.search_after {
        select.push(" AND ");
        q.push_after_cursor(&mut select, cursor);
    }
    select.push(&q.order_by());
    select.push(" LIMIT ").bind_int(q.page_limit);
    if q.search_after.is_none() {
        select
            .push(" OFFSET ")
            .bind_int((q.page - 1).saturating_mul(q.page_limit));
    }
    // The count and the page read side by side, on two connections.
    let (total, found): (i64, _) = tokio::try_join!(
        count.query_scalar().fetch_one(state.db.read()),
        select.query().fetch_all(state.db.read()),
    )?;
    Ok((u64::try_from(total).unwrap_or(0), found))
}

async fn search_contacts(
    State(state): State<AppState>,
    auth: Auth,
    _: QueryParams<NoParams>,
    Body(body): Body<SearchBody>,
) -> ApiResult<Reply<SearchContactsResponse>> {
    let location = token_location(&state, &auth).await?;
    let ctx = SearchContext {
        backend: state.db.backend,
        timezone: location.timezone.parse().unwrap_or(chrono_tz::UTC),
        country: location.country.clone(),
        custom_fields: custom_field_types(&state, &location.id, &body.rest).await?,
    };
    let q = contact_search::parse(&body.rest, &ctx)?;
    // `QueryParams`/`Body` checked that the body's location is the token's.
    let location_id = body.location_id;
    let indexed = match &state.contact_indexes {
        Some(indexes) => indexes.search(&state.db, &location_id, &q).await?,
        None => None,
    };
    let (total, found) = match indexed {
        Some(hits) => (
            hits.total,
            page_of(&state, &location_id, &q, &hits.ids).await?,
        ),
        None => search_sql(&state, &location_id, &q, &ctx).await?,
    };

    let mut rows = Vec::with_capacity(found.len());
    for row in &found {
        let contact = ContactRow::from_row(row)?;
        let business_name: Option<String> = row.try_get("business_name")?;
        // The row's cursor: its sort values (epoch ms and 0/1 as numbers), then its id.
        let mut search_after = Vec::with_capacity(q.sort.len() + 1);
        for (i, key) in q.sort.iter().enumerate() {
            let column = format!("sort_{i}");
            search_after.push(if key.field.numeric {
                Value::from(row.try_get::<i64, _>(column.as_str())?)
            } else {
                Value::from(row.try_get::<String, _>(column.as_str())?)
            });
        }
        search_after.push(Value::from(contact.id()));
        rows.push((contact, business_name, search_after));
    }
    let ids: Vec<String> = rows.iter().map(|(c, _, _)| c.id().to_owned()).collect();
    let mut tags = load_tags_for(state.db.read(), &location_id, &ids).await?;
    let mut followers = load_followers_for(state.db.read(), &location_id, &ids).await?;
    let contacts: Vec<SearchContact> = rows
        .into_iter()
        .map(|(contact, business_name, search_after)| {
            let tags = tags.remove(contact.id()).unwrap_or_default();
            let followers = followers.remove(contact.id()).unwrap_or_default();
            contact.to_search_contact(tags, followers, business_name, search_after)
        })
        .collect();
    Ok(Reply::ok(SearchContactsResponse { contacts, total }))
}
