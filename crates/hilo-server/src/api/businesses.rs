//! Businesses (spec: `businesses.json`): create, list by location, get, update, delete.
//! Contacts belong to one through `businessId`; deleting a business detaches its contacts.

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::businesses::{
    Business, BusinessResponse, BusinessWriteResponse, BusinessesResponse, CreateBusiness,
    SuccessResponse, UpdateBusiness,
};
use serde::Deserialize;

use super::route;
use crate::auth::Auth;
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_object_id;
use crate::state::AppState;
use crate::time::{format_ms, now_ms};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::CreateBusiness, create_business);
    let router = route(router, Operation::ListBusinesses, list_businesses);
    let router = route(router, Operation::GetBusiness, get_business);
    let router = route(router, Operation::UpdateBusiness, update_business);
    route(router, Operation::DeleteBusiness, delete_business)
}

macro_rules! business_fields {
    ($($first:expr),* $(,)?) => {
        &[
            $($first,)*
            optional("phone", Kind::String),
            optional("email", Kind::String),
            optional("website", Kind::String),
            optional("address", Kind::String),
            optional("city", Kind::String),
            optional("postalCode", Kind::String),
            optional("state", Kind::String),
            optional("country", Kind::String),
            optional("description", Kind::String),
        ]
    };
}

impl Schema for CreateBusiness {
    const FIELDS: &'static [Field] = business_fields!(
        required("name", Kind::String),
        required("locationId", Kind::String)
    );
    const HAS_LOCATION: bool = true;
}

impl Schema for UpdateBusiness {
    const FIELDS: &'static [Field] = business_fields!(optional("name", Kind::String));
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBusinessesQuery {
    location_id: String,
    limit: Option<i64>,
    skip: Option<i64>,
}

impl Schema for ListBusinessesQuery {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("limit", Kind::QueryInt { min: 1, max: 1000 }),
        optional(
            "skip",
            Kind::QueryInt {
                min: 0,
                max: i64::MAX,
            },
        ),
    ];
    const HAS_LOCATION: bool = true;
}

#[derive(Debug, Default, sqlx::FromRow)]
struct BusinessRow {
    id: String,
    location_id: String,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    address: Option<String>,
    city: Option<String>,
    description: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl BusinessRow {
    fn to_business(&self) -> Business {
        Business {
            id: self.id.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            website: self.website.clone(),
            address: self.address.clone(),
            city: self.city.clone(),
            description: self.description.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            location_id: self.location_id.clone(),
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, location_id, name, phone, email, website, address, city, description, \
    state, postal_code, country, created_at, updated_at";

fn business_not_found(business_id: &str) -> ApiError {
    ApiError::bad_request(format!("Business not found for id:{business_id}"))
}

/// The business if it exists and is in the caller's location: 400 if it does not exist, 403 if
/// it is another location's.
async fn load_business(state: &AppState, auth: &Auth, business_id: &str) -> ApiResult<BusinessRow> {
    let row: Option<BusinessRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM businesses WHERE id = $1"))
            .bind(business_id)
            .fetch_optional(state.db.read())
            .await?;
    let row = row.ok_or_else(|| business_not_found(business_id))?;
    auth.check_location(&row.location_id)?;
    Ok(row)
}

/// 400 unless the business exists in `location_id`.
pub(crate) async fn require_business_in(
    state: &AppState,
    location_id: &str,
    business_id: &str,
) -> ApiResult<()> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM businesses WHERE location_id = $1 AND id = $2")
            .bind(location_id)
            .bind(business_id)
            .fetch_optional(state.db.read())
            .await?;
    found
        .map(drop)
        .ok_or_else(|| business_not_found(business_id))
}

async fn create_business(
    State(state): State<AppState>,
    _auth: Auth,
    _: QueryParams<NoParams>,
    Body(body): Body<CreateBusiness>,
) -> ApiResult<Reply<BusinessWriteResponse>> {
    let now = now_ms();
    let row = BusinessRow {
        id: new_object_id(),
        location_id: body.location_id,
        name: body.name,
        phone: body.phone,
        email: body.email,
        website: body.website,
        address: body.address,
        city: body.city,
        description: body.description,
        state: body.state,
        postal_code: body.postal_code,
        country: body.country,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(&format!(
        "INSERT INTO businesses ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&row.id)
    .bind(&row.location_id)
    .bind(&row.name)
    .bind(&row.phone)
    .bind(&row.email)
    .bind(&row.website)
    .bind(&row.address)
    .bind(&row.city)
    .bind(&row.description)
    .bind(&row.state)
    .bind(&row.postal_code)
    .bind(&row.country)
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(state.db.write())
    .await?;
    Ok(Reply::created(BusinessWriteResponse {
        success: true,
        buiseness: row.to_business(),
    }))
}

async fn list_businesses(
    State(state): State<AppState>,
    _auth: Auth,
    QueryParams(q): QueryParams<ListBusinessesQuery>,
) -> ApiResult<Reply<BusinessesResponse>> {
    let rows: Vec<BusinessRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM businesses WHERE location_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
    ))
    .bind(&q.location_id)
    .bind(q.limit.unwrap_or(100))
    .bind(q.skip.unwrap_or(0))
    .fetch_all(state.db.read())
    .await?;
    Ok(Reply::ok(BusinessesResponse {
        businesses: rows.iter().map(BusinessRow::to_business).collect(),
    }))
}

async fn get_business(
    State(state): State<AppState>,
    auth: Auth,
    Path(business_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<BusinessResponse>> {
    let row = load_business(&state, &auth, &business_id).await?;
    Ok(Reply::ok(BusinessResponse {
        business: row.to_business(),
    }))
}

async fn update_business(
    State(state): State<AppState>,
    auth: Auth,
    Path(business_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(change): Body<UpdateBusiness>,
) -> ApiResult<Reply<BusinessWriteResponse>> {
    let mut row = load_business(&state, &auth, &business_id).await?;
    if let Some(name) = change.name {
        if name.trim().is_empty() {
            return Err(ApiError::unprocessable("name should not be empty"));
        }
        row.name = name;
    }
    row.phone = change.phone.apply(row.phone.take());
    row.email = change.email.apply(row.email.take());
    row.postal_code = change.postal_code.apply(row.postal_code.take());
    row.website = change.website.apply(row.website.take());
    row.address = change.address.apply(row.address.take());
    row.state = change.state.apply(row.state.take());
    row.city = change.city.apply(row.city.take());
    row.country = change.country.apply(row.country.take());
    row.description = change.description.apply(row.description.take());
    row.updated_at = now_ms();
    sqlx::query(
        "UPDATE businesses SET name = $1, phone = $2, email = $3, postal_code = $4, website = $5, \
         address = $6, state = $7, city = $8, country = $9, description = $10, updated_at = $11 \
         WHERE location_id = $12 AND id = $13",
    )
    .bind(&row.name)
    .bind(&row.phone)
    .bind(&row.email)
    .bind(&row.postal_code)
    .bind(&row.website)
    .bind(&row.address)
    .bind(&row.state)
    .bind(&row.city)
    .bind(&row.country)
    .bind(&row.description)
    .bind(row.updated_at)
    .bind(&row.location_id)
    .bind(&row.id)
    .execute(state.db.write())
    .await?;
    Ok(Reply::ok(BusinessWriteResponse {
        success: true,
        buiseness: row.to_business(),
    }))
}

async fn delete_business(
    State(state): State<AppState>,
    auth: Auth,
    Path(business_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccessResponse>> {
    let row = load_business(&state, &auth, &business_id).await?;
    let mut tx = state.db.write().begin().await?;
    sqlx::query("UPDATE contacts SET business_id = NULL, date_updated = $1 WHERE location_id = $2 AND business_id = $3")
        .bind(now_ms())
        .bind(&row.location_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM businesses WHERE location_id = $1 AND id = $2")
        .bind(&row.location_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Reply::ok(SuccessResponse { success: true }))
}
