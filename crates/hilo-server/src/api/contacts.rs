//! Contacts: create, the deprecated list, get, update, delete, contacts of a business, and the
//! bulk business assignment (spec: `contacts.json`; behaviour: dossier §2, §3).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Router;
use chrono::Datelike;
use hilo_types::contacts::{
    Contact, ContactListItem, ContactResponse, ContactsByBusinessResponse, ContactsListResponse,
    ContactsMeta, CreateContact, CreatedBy, CustomFieldValue, DndSettings, InboundDndSettings,
    SearchContact, SuccededResponse, UpdateContact, UpdateContactResponse, UpsertContact,
};
use hilo_types::Patch;
use serde::{Deserialize, Serialize};

use super::duplicates::reject_duplicate;
use super::followers::{load_followers, load_followers_for};
use super::tags::{load_tags, load_tags_for, normalize_tags, replace_tags};
use super::{custom_fields, route};
use crate::auth::Auth;
use crate::contact_search::SqlScope;
use crate::db::{Backend, Flag};
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::fixtures;
use crate::ids::{is_id, new_id};
use crate::sql::{bind_list, like_contains, SqlBuilder};
use crate::state::AppState;
use crate::tenancy::{find_location, ContactIdentifier, Location};
use crate::time::{format_ms, now_ms, parse_birth_date};
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};
use crate::webhooks::events::ContactFields;
use crate::webhooks::{self, Event, EventKind};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::CreateContact, create_contact);
    let router = route(router, Operation::ListContacts, list_contacts);
    let router = route(router, Operation::GetContact, get_contact);
    let router = route(router, Operation::UpdateContact, update_contact);
    let router = route(router, Operation::DeleteContact, delete_contact);
    let router = route(router, Operation::ContactsByBusiness, contacts_by_business);
    route(router, Operation::BulkBusiness, bulk_business)
}

// ---- input schemas ----

const DND_SETTING: &[Field] = &[
    required("status", Kind::OneOf(&["active", "inactive", "permanent"])),
    optional("message", Kind::String),
    optional("code", Kind::String),
];
const DND_SETTINGS: &[Field] = &[
    optional("Call", Kind::Object(DND_SETTING)),
    optional("Email", Kind::Object(DND_SETTING)),
    optional("SMS", Kind::Object(DND_SETTING)),
    optional("WhatsApp", Kind::Object(DND_SETTING)),
    optional("GMB", Kind::Object(DND_SETTING)),
    optional("FB", Kind::Object(DND_SETTING)),
    optional("RCS", Kind::Object(DND_SETTING)),
];
const INBOUND_DND_SETTING: &[Field] = &[
    required("status", Kind::OneOf(&["active", "inactive"])),
    optional("message", Kind::String),
];
const INBOUND_DND_SETTINGS: &[Field] = &[optional("all", Kind::Object(INBOUND_DND_SETTING))];
const CUSTOM_FIELD: &[Field] = &[
    optional("id", Kind::String),
    optional("key", Kind::String),
    optional("field_value", Kind::Any),
    optional("fieldValue", Kind::Any),
    optional("value", Kind::Any),
];

/// The fields create, update and upsert share.
macro_rules! contact_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            $($extra,)*
            optional("firstName", Kind::String),
            optional("lastName", Kind::String),
            optional("name", Kind::String),
            optional("email", Kind::Email),
            optional("gender", Kind::String),
            optional("phone", Kind::String),
            optional("address1", Kind::String),
            optional("city", Kind::String),
            optional("state", Kind::String),
            optional("postalCode", Kind::String),
            optional("website", Kind::String),
            optional("timezone", Kind::String),
            optional("dnd", Kind::Bool),
            optional("dndSettings", Kind::Object(DND_SETTINGS)),
            optional("inboundDndSettings", Kind::Object(INBOUND_DND_SETTINGS)),
            optional("tags", Kind::StringArray),
            optional("customFields", Kind::ObjectArray(CUSTOM_FIELD)),
            optional("source", Kind::String),
            optional("dateOfBirth", Kind::String),
            optional("country", Kind::String),
            optional("companyName", Kind::String),
            optional("assignedTo", Kind::String),
        ]
    };
}

impl Schema for CreateContact {
    const FIELDS: &'static [Field] = contact_fields!(required("locationId", Kind::String));
    const HAS_LOCATION: bool = true;
}

impl Schema for UpdateContact {
    const FIELDS: &'static [Field] = contact_fields!();
}

impl Schema for UpsertContact {
    const FIELDS: &'static [Field] = contact_fields!(
        required("locationId", Kind::String),
        optional("createNewIfDuplicateAllowed", Kind::Bool),
    );
    const HAS_LOCATION: bool = true;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListContactsQuery {
    location_id: String,
    start_after_id: Option<String>,
    start_after: Option<i64>,
    query: Option<String>,
    limit: Option<i64>,
    sort_by: Option<String>,
    order: Option<String>,
}

impl Schema for ListContactsQuery {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("startAfterId", Kind::String),
        optional(
            "startAfter",
            Kind::QueryInt {
                min: 0,
                max: i64::MAX,
            },
        ),
        optional("query", Kind::String),
        optional("limit", Kind::QueryInt { min: 1, max: 100 }),
        // Not in the spec, but n8n and the white-label docs send them.
        optional("sortBy", Kind::OneOf(&["date_added", "date_updated"])),
        optional("order", Kind::OneOf(&["asc", "desc"])),
    ];
    const HAS_LOCATION: bool = true;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByBusinessQuery {
    location_id: String,
    limit: Option<i64>,
    skip: Option<i64>,
    query: Option<String>,
}

impl Schema for ByBusinessQuery {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        optional("limit", Kind::QueryInt { min: 1, max: 100 }),
        optional(
            "skip",
            Kind::QueryInt {
                min: 0,
                max: i64::MAX,
            },
        ),
        optional("query", Kind::String),
    ];
    const HAS_LOCATION: bool = true;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkBusinessBody {
    location_id: String,
    ids: Vec<String>,
    business_id: Option<String>,
}

impl Schema for BulkBusinessBody {
    const FIELDS: &'static [Field] = &[
        required("locationId", Kind::String),
        required("ids", Kind::StringArray),
        optional("businessId", Kind::String),
    ];
    const HAS_LOCATION: bool = true;
}

#[derive(Debug, Serialize)]
struct BulkBusinessResponse {
    success: bool,
    ids: Vec<String>,
}

// ---- storage ----

pub(crate) const COLUMNS: &str = "id, location_id, first_name, last_name, name, first_name_lower, \
    last_name_lower, full_name_lower, email, email_lower, phone, company_name, timezone, dnd, \
    dnd_settings, inbound_dnd_settings, contact_type, source, assigned_to, address1, city, state, \
    country, postal_code, website, gender, date_of_birth, business_id, custom_fields, created_by, \
    date_added, date_updated";

/// `$target { … }` with the fields the single-contact shape and the fixture shape both take
/// from the row as stored, and the `$rest` each adds.
macro_rules! stored_fields {
    ($row:expr, $($target:ident)::+ { $($rest:tt)* }) => {
        $($target)::+ {
            id: $row.id.clone(),
            first_name: $row.first_name.clone(),
            last_name: $row.last_name.clone(),
            email: $row.email.clone(),
            phone: $row.phone.clone(),
            company_name: $row.company_name.clone(),
            timezone: $row.timezone.clone(),
            dnd: $row.dnd.0,
            dnd_settings: $row.dnd_settings(),
            inbound_dnd_settings: $row.inbound_dnd_settings(),
            contact_type: $row.contact_type.clone(),
            source: $row.source.clone(),
            assigned_to: $row.assigned_to.clone(),
            address1: $row.address1.clone(),
            city: $row.city.clone(),
            state: $row.state.clone(),
            country: $row.country.clone(),
            postal_code: $row.postal_code.clone(),
            website: $row.website.clone(),
            gender: $row.gender.clone(),
            business_id: $row.business_id.clone(),
            custom_fields: $row.custom_fields(),
            created_by: $row.created_by(),
            $($rest)*
        }
    };
}

/// A contact as stored. JSON-valued columns hold serialised `hilo-types` values.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub(crate) struct ContactRow {
    id: String,
    location_id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    first_name_lower: Option<String>,
    last_name_lower: Option<String>,
    full_name_lower: Option<String>,
    email: Option<String>,
    email_lower: Option<String>,
    phone: Option<String>,
    company_name: Option<String>,
    timezone: Option<String>,
    dnd: Flag,
    dnd_settings: Option<String>,
    inbound_dnd_settings: Option<String>,
    contact_type: String,
    source: Option<String>,
    assigned_to: Option<String>,
    address1: Option<String>,
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
    postal_code: Option<String>,
    website: Option<String>,
    gender: Option<String>,
    date_of_birth: Option<String>,
    business_id: Option<String>,
    custom_fields: String,
    created_by: Option<String>,
    date_added: i64,
    date_updated: i64,
}

impl ContactRow {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The contact's value for `identifier`, as stored and compared: the lower-cased email, the
    /// E.164 phone.
    pub(crate) fn identifier(&self, identifier: ContactIdentifier) -> Option<&str> {
        match identifier {
            ContactIdentifier::Email => self.email_lower.as_deref(),
            ContactIdentifier::Phone => self.phone.as_deref(),
        }
    }

    /// A new, empty contact of `location`, created by the caller of `auth`.
    pub(crate) fn new_for(auth: &Auth, location: &Location) -> ContactRow {
        let now = now_ms();
        let created_by = CreatedBy {
            source: "INTEGRATION".to_owned(),
            channel: auth.principal.channel().to_owned(),
            source_id: auth.principal.client.clone(),
            timestamp: format_ms(now),
        };
        ContactRow::new_row(location, &created_by, now, now)
    }

    /// A new, empty contact of `location`, added and last updated at the times given.
    pub(crate) fn new_row(
        location: &Location,
        created_by: &CreatedBy,
        date_added: i64,
        date_updated: i64,
    ) -> ContactRow {
        ContactRow {
            id: new_id(),
            location_id: location.id.clone(),
            contact_type: "lead".to_owned(),
            custom_fields: "[]".to_owned(),
            created_by: Some(to_json(created_by)),
            date_added,
            date_updated,
            ..ContactRow::default()
        }
    }

    /// The columns derived from others: the full name and the lower-cased names and email.
    fn derive_columns(&mut self) {
        let full = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        self.name = (!full.is_empty()).then_some(full);
        self.first_name_lower = self.first_name.as_ref().map(|s| s.to_lowercase());
        self.last_name_lower = self.last_name.as_ref().map(|s| s.to_lowercase());
        self.full_name_lower = self.name.as_ref().map(|s| s.to_lowercase());
        self.email_lower = self.email.as_ref().map(|e| e.to_lowercase());
    }

    /// The row of a fixture contact (already checked) in `location_id`; what hangs under the
    /// contact is stored apart.
    pub(crate) fn from_fixture(location_id: &str, contact: &fixtures::Contact) -> ContactRow {
        let mut row = ContactRow {
            id: contact.id.clone(),
            location_id: location_id.to_owned(),
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            email: contact.email.as_ref().map(|e| e.trim().to_owned()),
            phone: contact.phone.clone(),
            company_name: contact.company_name.clone(),
            timezone: contact.timezone.clone(),
            dnd: Flag(contact.dnd),
            dnd_settings: contact.dnd_settings.as_ref().map(to_json),
            inbound_dnd_settings: contact.inbound_dnd_settings.as_ref().map(to_json),
            contact_type: contact.contact_type.clone(),
            source: contact.source.clone(),
            assigned_to: contact.assigned_to.clone(),
            address1: contact.address1.clone(),
            city: contact.city.clone(),
            state: contact.state.clone(),
            country: contact.country.clone(),
            postal_code: contact.postal_code.clone(),
            website: contact.website.clone(),
            gender: contact.gender.clone(),
            date_of_birth: contact.date_of_birth.clone(),
            business_id: contact.business_id.clone(),
            custom_fields: to_json(&contact.custom_fields),
            created_by: contact.created_by.as_ref().map(to_json),
            date_added: contact.date_added.0,
            date_updated: contact.date_updated.0,
            ..ContactRow::default()
        };
        row.derive_columns();
        row
    }

    /// The fixture form of the row, without what hangs under the contact.
    pub(crate) fn to_fixture(&self) -> fixtures::Contact {
        stored_fields!(
            self,
            fixtures::Contact {
                date_of_birth: self.date_of_birth.clone(),
                date_added: fixtures::Time(self.date_added),
                date_updated: fixtures::Time(self.date_updated),
                ..fixtures::Contact::default()
            }
        )
    }

    /// The row's values in the order of [`COLUMNS`], as one parenthesised `VALUES` tuple.
    fn push_values(&self, sql: &mut SqlBuilder) {
        let text = |v: &Option<String>| v.clone();
        sql.push("(").bind_text(self.id.clone()).push(", ");
        sql.bind_text(self.location_id.clone());
        for value in [
            &self.first_name,
            &self.last_name,
            &self.name,
            &self.first_name_lower,
            &self.last_name_lower,
            &self.full_name_lower,
            &self.email,
            &self.email_lower,
            &self.phone,
            &self.company_name,
            &self.timezone,
        ] {
            sql.push(", ").bind_maybe_text(text(value));
        }
        sql.push(", ").bind_int(i64::from(self.dnd.0));
        sql.push(", ").bind_maybe_text(text(&self.dnd_settings));
        sql.push(", ")
            .bind_maybe_text(text(&self.inbound_dnd_settings));
        sql.push(", ").bind_text(self.contact_type.clone());
        for value in [
            &self.source,
            &self.assigned_to,
            &self.address1,
            &self.city,
            &self.state,
            &self.country,
            &self.postal_code,
            &self.website,
            &self.gender,
            &self.date_of_birth,
            &self.business_id,
        ] {
            sql.push(", ").bind_maybe_text(text(value));
        }
        sql.push(", ").bind_text(self.custom_fields.clone());
        sql.push(", ").bind_maybe_text(text(&self.created_by));
        sql.push(", ").bind_int(self.date_added);
        sql.push(", ").bind_int(self.date_updated);
        sql.push(")");
    }

    fn custom_fields(&self) -> Vec<CustomFieldValue> {
        serde_json::from_str(&self.custom_fields).unwrap_or_default()
    }

    fn dnd_settings(&self) -> Option<DndSettings> {
        parse_column(&self.dnd_settings)
    }

    fn inbound_dnd_settings(&self) -> Option<InboundDndSettings> {
        parse_column(&self.inbound_dnd_settings)
    }

    fn created_by(&self) -> Option<CreatedBy> {
        parse_column(&self.created_by)
    }

    fn date_of_birth_iso(&self) -> Option<String> {
        self.date_of_birth
            .as_ref()
            .map(|d| format!("{d}T00:00:00.000Z"))
    }

    /// The single-contact shape: absent values omitted.
    pub(crate) fn to_contact(&self, tags: Vec<String>) -> Contact {
        stored_fields!(
            self,
            Contact {
                location_id: self.location_id.clone(),
                name: self.name.clone(),
                first_name_lower_case: self.first_name_lower.clone(),
                last_name_lower_case: self.last_name_lower.clone(),
                full_name_lower_case: self.full_name_lower.clone(),
                email_lower_case: self.email_lower.clone(),
                tags,
                date_of_birth: self.date_of_birth_iso(),
                date_added: format_ms(self.date_added),
                date_updated: format_ms(self.date_updated),
                ..Contact::default()
            }
        )
    }

    /// The create response adds `deleted`, `birthMonth` and `birthDay` (spec:
    /// `CreateContactSchema`).
    fn to_created_contact(&self, tags: Vec<String>) -> Contact {
        let birth = self
            .date_of_birth
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        Contact {
            deleted: Some(false),
            birth_month: birth.map(|d| d.month()),
            birth_day: birth.map(|d| d.day()),
            ..self.to_contact(tags)
        }
    }

    /// The contact as its webhook events carry it; `dndSettings` only in ContactDndUpdate.
    fn webhook_event(&self, kind: EventKind, tags: Vec<String>) -> Event {
        let fields = ContactFields {
            id: self.id.clone(),
            address1: self.address1.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            company_name: self.company_name.clone(),
            country: self.country.clone(),
            source: self.source.clone(),
            date_added: format_ms(self.date_added),
            date_of_birth: self.date_of_birth_iso(),
            dnd: self.dnd.0,
            dnd_settings: (kind == EventKind::ContactDndUpdate).then(|| {
                serde_json::to_value(self.dnd_settings().unwrap_or_default()).unwrap_or_default()
            }),
            email: self.email.clone(),
            name: self.name.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            phone: self.phone.clone(),
            postal_code: self.postal_code.clone(),
            tags,
            website: self.website.clone(),
            attachments: Vec::new(),
            assigned_to: self.assigned_to.clone(),
            custom_fields: self
                .custom_fields()
                .into_iter()
                .map(|f| serde_json::json!({ "id": f.id, "value": f.value }))
                .collect(),
        };
        Event::of_location(kind, &self.location_id, &fields)
    }

    /// A row of `POST /contacts/search`: every key, `null` where empty, names lower-cased with
    /// the originals in `…Raw` (dossier §3.1).
    pub(crate) fn to_search_contact(
        &self,
        tags: Vec<String>,
        followers: Vec<String>,
        business_name: Option<String>,
        search_after: Vec<serde_json::Value>,
    ) -> SearchContact {
        let json_or_empty = |column: &Option<String>| {
            column
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_else(|| serde_json::json!({}))
        };
        SearchContact {
            id: self.id.clone(),
            location_id: self.location_id.clone(),
            contact_name: self.full_name_lower.clone(),
            first_name: self.first_name_lower.clone(),
            last_name: self.last_name_lower.clone(),
            first_name_raw: self.first_name.clone(),
            last_name_raw: self.last_name.clone(),
            first_name_lower_case: self.first_name_lower.clone(),
            last_name_lower_case: self.last_name_lower.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            company_name: self.company_name.clone(),
            business_name,
            business_id: self.business_id.clone(),
            address: self.address1.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            website: self.website.clone(),
            timezone: self.timezone.clone(),
            source: self.source.clone(),
            contact_type: self.contact_type.clone(),
            assigned_to: self.assigned_to.clone(),
            tags,
            custom_fields: self.custom_fields(),
            dnd: self.dnd.0,
            dnd_settings: json_or_empty(&self.dnd_settings),
            inbound_dnd_settings: json_or_empty(&self.inbound_dnd_settings),
            date_of_birth: self.date_of_birth_iso(),
            date_added: format_ms(self.date_added),
            date_updated: format_ms(self.date_updated),
            followers,
            search_after,
            ..SearchContact::default()
        }
    }

    fn to_list_item(&self, tags: Vec<String>) -> ContactListItem {
        ContactListItem {
            id: self.id.clone(),
            location_id: self.location_id.clone(),
            contact_name: self.full_name_lower.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            company_name: self.company_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            dnd: self.dnd.0,
            contact_type: self.contact_type.clone(),
            source: self.source.clone(),
            assigned_to: self.assigned_to.clone(),
            address1: self.address1.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            website: self.website.clone(),
            timezone: self.timezone.clone(),
            date_added: format_ms(self.date_added),
            date_updated: format_ms(self.date_updated),
            date_of_birth: self.date_of_birth_iso(),
            business_id: self.business_id.clone(),
            tags,
            custom_fields: self.custom_fields(),
            ..ContactListItem::default()
        }
    }
}

/// The 400 HighLevel answers for a contact id it does not know (dossier §7 #3).
pub(crate) fn contact_not_found(contact_id: &str) -> ApiError {
    if is_id(contact_id) {
        ApiError::bad_request(format!("Contact not found for id:{contact_id}"))
    } else {
        ApiError::bad_request(format!("Contact with id {contact_id} not found"))
    }
}

/// The contact, if it exists and is in the caller's location: 400 if it does not exist, 403 if
/// it belongs to another location. This lookup alone is not scoped by location, because telling
/// those two apart is HighLevel's contract.
pub(crate) async fn load_contact(
    state: &AppState,
    auth: &Auth,
    contact_id: &str,
) -> ApiResult<ContactRow> {
    let row: Option<ContactRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM contacts WHERE id = $1"))
            .bind(contact_id)
            .fetch_optional(state.db.read())
            .await?;
    let row = row.ok_or_else(|| contact_not_found(contact_id))?;
    auth.check_location(&row.location_id)?;
    Ok(row)
}

/// Like [`load_contact`], for routes under a contact that only need it to exist.
pub(crate) async fn require_contact(
    state: &AppState,
    auth: &Auth,
    contact_id: &str,
) -> ApiResult<()> {
    load_contact(state, auth, contact_id).await.map(drop)
}

pub(crate) async fn token_location(state: &AppState, auth: &Auth) -> ApiResult<Location> {
    find_location(&state.db, &auth.location_id)
        .await?
        .ok_or(ApiError::WrongLocation)
}

// ---- applying a change ----

/// The changes of a create, as an update of an empty contact: one code path normalises both.
pub(crate) fn create_as_update(body: CreateContact) -> UpdateContact {
    fn v<T>(o: Option<T>) -> Patch<T> {
        o.map_or(Patch::Absent, Patch::Value)
    }
    UpdateContact {
        first_name: v(body.first_name),
        last_name: v(body.last_name),
        name: v(body.name),
        email: v(body.email),
        phone: v(body.phone),
        address1: v(body.address1),
        city: v(body.city),
        state: v(body.state),
        postal_code: v(body.postal_code),
        website: v(body.website),
        timezone: v(body.timezone),
        dnd: body.dnd,
        dnd_settings: body.dnd_settings,
        inbound_dnd_settings: body.inbound_dnd_settings,
        tags: body.tags,
        custom_fields: body.custom_fields,
        source: v(body.source),
        date_of_birth: v(body.date_of_birth),
        country: v(body.country),
        assigned_to: v(body.assigned_to),
        company_name: v(body.company_name),
        gender: v(body.gender),
    }
}

/// Applies `change` to `row` as [`apply_change`] does, resolving its custom field values against
/// the location's definitions first.
pub(crate) async fn apply_contact_change(
    db: &crate::db::Db,
    row: &mut ContactRow,
    mut change: UpdateContact,
    location: &Location,
) -> ApiResult<Option<Vec<String>>> {
    let custom_fields = custom_fields::contact_values(
        db,
        location,
        row.custom_fields(),
        change.custom_fields.take(),
    )
    .await;
    apply_change(row, change, location, custom_fields)
}

/// Applies `change` to `row`, normalising as HighLevel does (E.164 phones, derived lower-case
/// fields, ISO birth dates), with the custom field values already resolved against the
/// location's definitions (their 422 messages join the others). Returns the new tag set when
/// the change replaces it.
pub(crate) fn apply_change(
    row: &mut ContactRow,
    change: UpdateContact,
    location: &Location,
    custom_fields: ApiResult<Option<Vec<CustomFieldValue>>>,
) -> ApiResult<Option<Vec<String>>> {
    let mut errors = Vec::new();

    // First and last name win over `name`; `name` alone is split at its first space.
    if change.first_name.is_absent() && change.last_name.is_absent() {
        match change.name {
            Patch::Value(name) => {
                let mut parts = name.trim().splitn(2, ' ');
                row.first_name = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
                row.last_name = parts
                    .next()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
            }
            Patch::Null => {
                row.first_name = None;
                row.last_name = None;
            }
            Patch::Absent => {}
        }
    } else {
        row.first_name = change.first_name.apply(row.first_name.take());
        row.last_name = change.last_name.apply(row.last_name.take());
    }
    row.email = change
        .email
        .map(|e| e.trim().to_owned())
        .apply(row.email.take());
    row.derive_columns();

    row.country = change.country.apply(row.country.take());
    match change.phone {
        Patch::Value(phone) if phone.trim().is_empty() => row.phone = None,
        Patch::Value(phone) => {
            let country = row.country.as_deref().unwrap_or(&location.country);
            match to_e164(&phone, country).or_else(|| to_e164(&phone, &location.country)) {
                Some(e164) => row.phone = Some(e164),
                None => errors.push("phone must be a valid phone number".to_owned()),
            }
        }
        Patch::Null => row.phone = None,
        Patch::Absent => {}
    }
    match change.date_of_birth {
        Patch::Value(s) => match parse_birth_date(&s) {
            Some(date) => row.date_of_birth = Some(date.format("%Y-%m-%d").to_string()),
            None => errors.push(
                "dateOfBirth must be a date in one of the formats YYYY-MM-DD, MM-DD-YYYY, YYYY/MM/DD, MM/DD/YYYY, YYYY.MM.DD, MM.DD.YYYY, YYYY_MM_DD, MM_DD_YYYY".to_owned(),
            ),
        },
        Patch::Null => row.date_of_birth = None,
        Patch::Absent => {}
    }

    row.address1 = change.address1.apply(row.address1.take());
    row.city = change.city.apply(row.city.take());
    row.state = change.state.apply(row.state.take());
    row.postal_code = change.postal_code.apply(row.postal_code.take());
    row.website = change.website.apply(row.website.take());
    row.timezone = change.timezone.apply(row.timezone.take());
    row.source = change.source.apply(row.source.take());
    row.assigned_to = change.assigned_to.apply(row.assigned_to.take());
    row.company_name = change.company_name.apply(row.company_name.take());
    row.gender = change.gender.apply(row.gender.take());
    if let Some(dnd) = change.dnd {
        row.dnd = Flag(dnd);
    }
    if let Some(settings) = change.dnd_settings {
        let merged = merge_dnd(row.dnd_settings().unwrap_or_default(), settings);
        row.dnd_settings = Some(to_json(&merged));
    }
    if let Some(inbound) = change.inbound_dnd_settings {
        row.inbound_dnd_settings = Some(to_json::<InboundDndSettings>(&inbound));
    }
    let mut refused = None;
    match custom_fields {
        Ok(Some(values)) => row.custom_fields = to_json(&values),
        Ok(None) => {}
        Err(ApiError::Unprocessable(messages)) => errors.extend(messages),
        Err(e) => refused = Some(e),
    }
    if !errors.is_empty() {
        return Err(ApiError::Unprocessable(errors));
    }
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(change.tags.map(|tags| normalize_tags(&tags)))
}

/// A JSON column's value; `None` when empty (or unreadable).
fn parse_column<T: serde::de::DeserializeOwned>(column: &Option<String>) -> Option<T> {
    column.as_deref().and_then(|s| serde_json::from_str(s).ok())
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Channels present in `change` replace the stored ones; the others stay.
fn merge_dnd(mut current: DndSettings, change: DndSettings) -> DndSettings {
    macro_rules! take {
        ($($channel:ident),*) => { $(if change.$channel.is_some() { current.$channel = change.$channel; })* };
    }
    take!(call, email, sms, whatsapp, gmb, fb, rcs);
    current
}

/// A phone number in E.164, read in the given country when it has no `+` prefix.
pub(crate) fn to_e164(phone: &str, country: &str) -> Option<String> {
    let country = country
        .trim()
        .to_uppercase()
        .parse::<phonenumber::country::Id>()
        .ok();
    let number = phonenumber::parse(country, phone.trim()).ok()?;
    let national = number.national().value();
    (national >= 1000).then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Loads the phone-number metadata, which the first parse otherwise pays for (tens of
/// milliseconds in a release build) inside someone's request.
pub(crate) fn warm_phone_metadata() {
    let _ = to_e164("+1 202-555-0143", "US");
}

/// Inserts `rows` with one statement (callers keep batches within the engines' parameter
/// limits: 32 per row).
pub(crate) async fn insert_contacts(
    tx: &mut sqlx::AnyConnection,
    rows: &[ContactRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = SqlBuilder::for_backend(
        Backend::of(tx),
        &format!("INSERT INTO contacts ({COLUMNS}) VALUES "),
    );
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        row.push_values(&mut sql);
    }
    sql.query().execute(&mut *tx).await.map(drop)
}

async fn update_row(tx: &mut sqlx::AnyConnection, row: &ContactRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contacts SET first_name = $3, last_name = $4, name = $5, first_name_lower = $6, \
         last_name_lower = $7, full_name_lower = $8, email = $9, email_lower = $10, phone = $11, \
         company_name = $12, timezone = $13, dnd = $14, dnd_settings = $15, \
         inbound_dnd_settings = $16, source = $17, assigned_to = $18, address1 = $19, city = $20, \
         state = $21, country = $22, postal_code = $23, website = $24, gender = $25, \
         date_of_birth = $26, custom_fields = $27, date_updated = $28 \
         WHERE location_id = $1 AND id = $2",
    )
    .bind(&row.location_id)
    .bind(&row.id)
    .bind(&row.first_name)
    .bind(&row.last_name)
    .bind(&row.name)
    .bind(&row.first_name_lower)
    .bind(&row.last_name_lower)
    .bind(&row.full_name_lower)
    .bind(&row.email)
    .bind(&row.email_lower)
    .bind(&row.phone)
    .bind(&row.company_name)
    .bind(&row.timezone)
    .bind(row.dnd)
    .bind(&row.dnd_settings)
    .bind(&row.inbound_dnd_settings)
    .bind(&row.source)
    .bind(&row.assigned_to)
    .bind(&row.address1)
    .bind(&row.city)
    .bind(&row.state)
    .bind(&row.country)
    .bind(&row.postal_code)
    .bind(&row.website)
    .bind(&row.gender)
    .bind(&row.date_of_birth)
    .bind(&row.custom_fields)
    .bind(row.date_updated)
    .execute(&mut *tx)
    .await
    .map(drop)
}

/// Stores a new contact with its tags, in one transaction.
pub(crate) async fn insert_new(
    state: &AppState,
    row: &ContactRow,
    tags: &[String],
) -> ApiResult<()> {
    let mut tx = state.db.write().begin().await?;
    insert_contacts(&mut tx, std::slice::from_ref(row)).await?;
    replace_tags(&mut tx, &row.location_id, &row.id, tags).await?;
    // Tags and DND given at creation fire ContactCreate alone (dossier §7 #5).
    webhooks::enqueue(
        &mut tx,
        row.webhook_event(EventKind::ContactCreate, tags.to_vec()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a changed contact (and its tags, when the change replaced them) as changed now, with
/// the events the change fires; returns its tags. `before` is the contact as it was read.
pub(crate) async fn save_update(
    state: &AppState,
    before: &ContactRow,
    row: &mut ContactRow,
    new_tags: Option<Vec<String>>,
) -> ApiResult<Vec<String>> {
    row.date_updated = now_ms();
    let mut tx = state.db.write().begin().await?;
    let old_tags = load_tags(&mut *tx, &row.location_id, &row.id).await?;
    update_row(&mut tx, row).await?;
    if let Some(tags) = &new_tags {
        replace_tags(&mut tx, &row.location_id, &row.id, tags).await?;
    }
    let tags = new_tags.unwrap_or_else(|| old_tags.clone());
    for kind in change_events(before, row, tags != old_tags) {
        webhooks::enqueue(&mut tx, row.webhook_event(kind, tags.clone())).await?;
    }
    tx.commit().await?;
    Ok(tags)
}

/// The events an update fires: ContactDndUpdate when `dnd` or `dndSettings` changed,
/// ContactTagUpdate when the tag set did, ContactUpdate when any other field did.
fn change_events(before: &ContactRow, after: &ContactRow, tags_changed: bool) -> Vec<EventKind> {
    let dnd_changed = before.dnd != after.dnd || before.dnd_settings != after.dnd_settings;
    let others = ContactRow {
        dnd: after.dnd,
        dnd_settings: after.dnd_settings.clone(),
        date_updated: after.date_updated,
        ..before.clone()
    };
    [
        (others != *after, EventKind::ContactUpdate),
        (tags_changed, EventKind::ContactTagUpdate),
        (dnd_changed, EventKind::ContactDndUpdate),
    ]
    .into_iter()
    .filter_map(|(fired, kind)| fired.then_some(kind))
    .collect()
}

/// Fires `kind` for the contact as it stands in `tx` (after a change to its tags, say).
pub(crate) async fn enqueue_contact_event(
    tx: &mut sqlx::AnyConnection,
    kind: EventKind,
    location_id: &str,
    contact_id: &str,
) -> Result<(), sqlx::Error> {
    let row: Option<ContactRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contacts WHERE location_id = $1 AND id = $2"
    ))
    .bind(location_id)
    .bind(contact_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let tags = load_tags(&mut *tx, location_id, contact_id).await?;
    webhooks::enqueue(tx, row.webhook_event(kind, tags)).await
}

/// Marks a contact as changed now (tag and sub-resource writes do).
pub(crate) async fn touch(
    tx: &mut sqlx::AnyConnection,
    location_id: &str,
    contact_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE contacts SET date_updated = $1 WHERE location_id = $2 AND id = $3")
        .bind(now_ms())
        .bind(location_id)
        .bind(contact_id)
        .execute(&mut *tx)
        .await
        .map(drop)
}

// ---- handlers ----

async fn create_contact(
    State(state): State<AppState>,
    auth: Auth,
    _: QueryParams<NoParams>,
    Body(body): Body<CreateContact>,
) -> ApiResult<Reply<ContactResponse>> {
    let location = token_location(&state, &auth).await?;
    let mut row = ContactRow::new_for(&auth, &location);
    let tags = apply_contact_change(&state.db, &mut row, create_as_update(body), &location)
        .await?
        .unwrap_or_default();
    reject_duplicate(&state, &location, &row, None).await?;
    insert_new(&state, &row, &tags).await?;
    Ok(Reply::created(ContactResponse {
        contact: row.to_created_contact(tags),
    }))
}

/// The single-contact shape, with the contact's followers.
pub(crate) async fn contact_view(
    state: &AppState,
    row: &ContactRow,
    tags: Vec<String>,
) -> Result<Contact, sqlx::Error> {
    let mut contact = row.to_contact(tags);
    contact.followers = load_followers(state.db.read(), &row.location_id, &row.id).await?;
    Ok(contact)
}

async fn get_contact(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<ContactResponse>> {
    let row = load_contact(&state, &auth, &contact_id).await?;
    let tags = load_tags(state.db.read(), &row.location_id, &row.id).await?;
    let contact = contact_view(&state, &row, tags).await?;
    Ok(Reply::ok(ContactResponse { contact }))
}

async fn update_contact(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
    Body(change): Body<UpdateContact>,
) -> ApiResult<Reply<UpdateContactResponse>> {
    let mut row = load_contact(&state, &auth, &contact_id).await?;
    let before = row.clone();
    let location = token_location(&state, &auth).await?;
    let new_tags = apply_contact_change(&state.db, &mut row, change, &location).await?;
    // The create rule holds for a changed email or phone too (dossier §7 #7).
    reject_duplicate(&state, &location, &row, Some(&before)).await?;
    let tags = save_update(&state, &before, &mut row, new_tags).await?;
    let contact = contact_view(&state, &row, tags).await?;
    Ok(Reply::ok(UpdateContactResponse {
        succeded: true,
        contact,
    }))
}

async fn delete_contact(
    State(state): State<AppState>,
    auth: Auth,
    Path(contact_id): Path<String>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    let row = load_contact(&state, &auth, &contact_id).await?;
    // The contact and everything under it go together or not at all.
    let mut tx = state.db.write().begin().await?;
    enqueue_contact_event(&mut tx, EventKind::ContactDelete, &row.location_id, &row.id).await?;
    for table in [
        "contact_tags",
        "tasks",
        "notes",
        "contact_followers",
        "contact_campaigns",
        "contact_workflows",
    ] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE location_id = $1 AND contact_id = $2"
        ))
        .bind(&row.location_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM contacts WHERE location_id = $1 AND id = $2")
        .bind(&row.location_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    // The tombstone lets bulk operations answer "contact is deleted".
    sqlx::query(
        "INSERT INTO deleted_contacts (id, location_id, deleted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&row.id)
    .bind(&row.location_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}

/// Free text as HighLevel's list and search queries match it: name, email, phone (by digits),
/// company name and tags, as one condition: the contact is among the text matches or the
/// holders of a matching tag. Each set reads an index: the engine's trigram index for the text
/// (with the exact test repeated on its candidates), the distinct tags of the location for tags.
pub(crate) fn push_text_query(sql: &mut SqlBuilder, query: &str, scope: SqlScope) {
    let pattern = like_contains(query);
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let digits = (!digits.is_empty()).then(|| like_contains(&digits));
    sql.push("contacts.id IN (");
    let indexed = (scope.backend == Backend::Sqlite)
        .then(|| text_index_query(query))
        .flatten();
    match indexed {
        Some(fts) => {
            sql.push(
                "SELECT c.id FROM contacts_text JOIN contacts c ON c.rowid = contacts_text.rowid \
                 WHERE contacts_text MATCH ",
            )
            .bind_text(fts);
        }
        None => {
            sql.push("SELECT c.id FROM contacts c WHERE 1 = 1");
        }
    }
    sql.push(" AND c.location_id = ")
        .bind_text(scope.location_id)
        .push(" AND (");
    for (i, column) in [
        "c.full_name_lower",
        "c.email_lower",
        "lower(c.company_name)",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push(column)
            .push(" LIKE ")
            .bind_text(pattern.clone())
            .push(" ESCAPE '\\'");
    }
    if let Some(digits) = digits {
        sql.push(" OR c.phone LIKE ")
            .bind_text(digits)
            .push(" ESCAPE '\\'");
    }
    sql.push(") UNION SELECT t.contact_id FROM contact_tags t WHERE t.location_id = ")
        .bind_text(scope.location_id)
        .push(" AND t.tag IN (");
    push_location_tags_like(sql, scope.location_id, pattern);
    sql.push("))");
}

/// The FTS5 query (trigram tokens) whose matches include every contact the text matches, or
/// `None` when a part is too short for trigrams (under three characters) and only a scan finds
/// it. Phrases are quoted, so the text's own punctuation is never FTS5 syntax.
fn text_index_query(query: &str) -> Option<String> {
    let phrase = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let text = query.to_lowercase();
    if text.chars().count() < 3 {
        return None;
    }
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let names = format!(
        "{{full_name_lower email_lower company_name}} : {}",
        phrase(&text)
    );
    match digits.len() {
        0 => Some(names),
        1..=2 => None,
        _ => Some(format!("{names} OR phone : {}", phrase(&digits))),
    }
}

/// The location's distinct tags that match `pattern` (a LIKE pattern): a loose scan of the
/// `(location_id, tag)` index that visits each distinct tag once, however many contacts hold it.
fn push_location_tags_like(sql: &mut SqlBuilder, location_id: &str, pattern: String) {
    sql.push(
        "WITH RECURSIVE location_tags(tag) AS (SELECT MIN(tag) FROM contact_tags \
         WHERE location_id = ",
    )
    .bind_text(location_id)
    .push(" UNION ALL SELECT (SELECT MIN(n.tag) FROM contact_tags n WHERE n.location_id = ")
    .bind_text(location_id)
    .push(
        " AND n.tag > location_tags.tag) FROM location_tags WHERE location_tags.tag IS NOT NULL) \
         SELECT tag FROM location_tags WHERE tag LIKE ",
    )
    .bind_text(pattern)
    .push(" ESCAPE '\\'");
}

/// Which contacts of a location a listing covers.
struct ContactFilter<'a> {
    backend: Backend,
    location_id: &'a str,
    business_id: Option<&'a str>,
    query: Option<&'a str>,
}

impl ContactFilter<'_> {
    fn push_where(&self, sql: &mut SqlBuilder) {
        sql.push(" WHERE location_id = ")
            .bind_text(self.location_id);
        if let Some(business_id) = self.business_id {
            sql.push(" AND business_id = ").bind_text(business_id);
        }
        if let Some(query) = self.query.map(str::trim).filter(|q| !q.is_empty()) {
            sql.push(" AND ");
            let scope = SqlScope {
                backend: self.backend,
                location_id: self.location_id,
            };
            push_text_query(sql, query, scope);
        }
    }

    async fn count(
        &self,
        state: &AppState,
        extra: impl FnOnce(&mut SqlBuilder),
    ) -> Result<u64, sqlx::Error> {
        let mut sql = SqlBuilder::new("SELECT COUNT(*) FROM contacts");
        self.push_where(&mut sql);
        extra(&mut sql);
        let n: i64 = sql.query_scalar().fetch_one(state.db.read()).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

async fn with_tags(
    state: &AppState,
    location_id: &str,
    rows: Vec<ContactRow>,
) -> Result<Vec<ContactListItem>, sqlx::Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut tags: HashMap<String, Vec<String>> =
        load_tags_for(state.db.read(), location_id, &ids).await?;
    let mut followers = load_followers_for(state.db.read(), location_id, &ids).await?;
    Ok(rows
        .iter()
        .map(|row| ContactListItem {
            followers: followers.remove(&row.id).unwrap_or_default(),
            ..row.to_list_item(tags.remove(&row.id).unwrap_or_default())
        })
        .collect())
}

/// `GET /contacts/` (deprecated): cursor pages by `startAfter` (the sort value of the last row,
/// epoch ms) and `startAfterId`, newest first unless asked otherwise.
async fn list_contacts(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    QueryParams(q): QueryParams<ListContactsQuery>,
) -> ApiResult<Reply<ContactsListResponse>> {
    let filter = ContactFilter {
        backend: state.db.backend,
        location_id: &q.location_id,
        business_id: None,
        query: q.query.as_deref(),
    };
    let limit = q.limit.unwrap_or(20);
    let column = match q.sort_by.as_deref() {
        Some("date_updated") => "date_updated",
        _ => "date_added",
    };
    let descending = q.order.as_deref() != Some("asc");
    let (before, after) = if descending { ("<", ">") } else { (">", "<") };

    // The cursor: the sort value and id of the last row of the previous page.
    let start_after = match (q.start_after, q.start_after_id.as_deref()) {
        (Some(value), id) => Some((value, id.map(str::to_owned))),
        (None, Some(id)) => {
            let value: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT {column} FROM contacts WHERE location_id = $1 AND id = $2"
            ))
            .bind(&auth.location_id)
            .bind(id)
            .fetch_optional(state.db.read())
            .await?;
            let value = value.ok_or_else(|| contact_not_found(id))?;
            Some((value, Some(id.to_owned())))
        }
        (None, None) => None,
    };
    let push_cursor = |sql: &mut SqlBuilder, op: &str| {
        if let Some((value, id)) = &start_after {
            match id {
                Some(id) => {
                    sql.push(&format!(" AND ({column} {op} ")).bind_int(*value);
                    sql.push(&format!(" OR ({column} = ")).bind_int(*value);
                    sql.push(&format!(" AND id {op} "))
                        .bind_text(id.clone())
                        .push("))");
                }
                None => {
                    sql.push(&format!(" AND {column} {op} ")).bind_int(*value);
                }
            }
        }
    };

    let mut sql = SqlBuilder::new(&format!("SELECT {COLUMNS} FROM contacts"));
    filter.push_where(&mut sql);
    push_cursor(&mut sql, before);
    let direction = if descending { "DESC" } else { "ASC" };
    sql.push(&format!(
        " ORDER BY {column} {direction}, id {direction} LIMIT "
    ))
    .bind_int(limit + 1);
    let mut rows: Vec<ContactRow> = sql.query_as().fetch_all(state.db.read()).await?;
    let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));

    let total = filter.count(&state, |_| {}).await?;
    let skipped = if start_after.is_some() {
        filter.count(&state, |sql| push_cursor(sql, after)).await?
            + u64::from(start_after.as_ref().is_some_and(|(_, id)| id.is_some()))
    } else {
        0
    };
    let per_page = u64::try_from(limit).unwrap_or(1).max(1);
    let current_page = skipped / per_page + 1;
    let last = rows.last().map(|r| {
        (
            if column == "date_updated" {
                r.date_updated
            } else {
                r.date_added
            },
            r.id.clone(),
        )
    });
    let next_page_url = match (&last, has_more) {
        (Some((value, id)), true) => {
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let mut url = format!("http://{host}/contacts/?locationId={}&startAfter={value}&startAfterId={id}&limit={limit}", q.location_id);
            if let Some(query) = &q.query {
                url.push_str(&format!(
                    "&query={}",
                    form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
                ));
            }
            Some(url)
        }
        _ => None,
    };
    let meta = ContactsMeta {
        total,
        next_page_url,
        start_after_id: last.as_ref().map(|(_, id)| id.clone()),
        start_after: last.as_ref().map(|(value, _)| *value),
        current_page,
        next_page: has_more.then_some(current_page + 1),
        prev_page: (current_page > 1).then(|| current_page - 1),
    };
    let contacts = with_tags(&state, &q.location_id, rows).await?;
    Ok(Reply::ok(ContactsListResponse {
        contacts,
        count: total,
        meta,
    }))
}

async fn contacts_by_business(
    State(state): State<AppState>,
    _auth: Auth,
    Path(business_id): Path<String>,
    QueryParams(q): QueryParams<ByBusinessQuery>,
) -> ApiResult<Reply<ContactsByBusinessResponse>> {
    let filter = ContactFilter {
        backend: state.db.backend,
        location_id: &q.location_id,
        business_id: Some(&business_id),
        query: q.query.as_deref(),
    };
    let mut sql = SqlBuilder::new(&format!("SELECT {COLUMNS} FROM contacts"));
    filter.push_where(&mut sql);
    sql.push(" ORDER BY date_added DESC, id DESC LIMIT ")
        .bind_int(q.limit.unwrap_or(25));
    sql.push(" OFFSET ").bind_int(q.skip.unwrap_or(0));
    let rows: Vec<ContactRow> = sql.query_as().fetch_all(state.db.read()).await?;
    let count = filter.count(&state, |_| {}).await?;
    let contacts = with_tags(&state, &q.location_id, rows).await?;
    Ok(Reply::ok(ContactsByBusinessResponse { contacts, count }))
}

/// `POST /contacts/bulk/business`: sets (or, with `businessId: null`, clears) the business of up
/// to 50 contacts; `ids` in the answer are the contacts of the location that were updated.
async fn bulk_business(
    State(state): State<AppState>,
    _auth: Auth,
    _: QueryParams<NoParams>,
    Body(body): Body<BulkBusinessBody>,
) -> ApiResult<Reply<BulkBusinessResponse>> {
    if body.ids.len() > 50 {
        return Err(ApiError::unprocessable(
            "ids must contain no more than 50 elements",
        ));
    }
    if let Some(business_id) = &body.business_id {
        super::businesses::require_business_in(&state, &body.location_id, business_id).await?;
    }
    let mut ids: Vec<String> = Vec::new();
    for id in body.ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Ok(Reply::ok(BulkBusinessResponse { success: true, ids }));
    }
    let mut tx = state.db.write().begin().await?;
    let mut sql = SqlBuilder::new("SELECT id FROM contacts WHERE location_id = ");
    sql.bind_text(body.location_id.clone()).push(" AND id IN (");
    bind_list(&mut sql, &ids);
    sql.push(")");
    let found: Vec<String> = sql.query_scalar().fetch_all(&mut *tx).await?;
    let updated: Vec<String> = ids.into_iter().filter(|id| found.contains(id)).collect();
    if !updated.is_empty() {
        let mut sql = SqlBuilder::new("UPDATE contacts SET business_id = ");
        match &body.business_id {
            Some(business_id) => sql.bind_text(business_id.clone()),
            None => sql.push("NULL"),
        };
        sql.push(", date_updated = ").bind_int(now_ms());
        sql.push(" WHERE location_id = ")
            .bind_text(body.location_id.clone())
            .push(" AND id IN (");
        bind_list(&mut sql, &updated);
        sql.push(")");
        sql.query().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Reply::ok(BulkBusinessResponse {
        success: true,
        ids: updated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            to_e164("+1 888-888-8888", "US").as_deref(),
            Some("+18888888888")
        );
        assert_eq!(
            to_e164("(888) 777-2222", "US").as_deref(),
            Some("+18887772222")
        );
        assert_eq!(
            to_e164("+33 6 12 34 56 78", "US").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            to_e164("06 12 34 56 78", "FR").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            to_e164("+1 555-010-0101", "US").as_deref(),
            Some("+15550100101")
        );
        assert_eq!(to_e164("not a phone", "US"), None);
        assert_eq!(to_e164("12", "US"), None);
    }

    fn location() -> Location {
        Location {
            id: "L".into(),
            company_id: "C".into(),
            name: "n".into(),
            country: "US".into(),
            timezone: "UTC".into(),
            allow_duplicate_contact: Flag(false),
            contact_unique_identifiers: "email phone".into(),
        }
    }

    #[test]
    fn name_alone_is_split_and_first_last_win() {
        let mut row = ContactRow::default();
        let change = UpdateContact {
            name: Patch::Value("Rosan Van Deo".into()),
            ..Default::default()
        };
        apply_change(&mut row, change, &location(), Ok(None)).unwrap();
        assert_eq!(row.first_name.as_deref(), Some("Rosan"));
        assert_eq!(row.last_name.as_deref(), Some("Van Deo"));
        assert_eq!(row.full_name_lower.as_deref(), Some("rosan van deo"));

        let change = UpdateContact {
            name: Patch::Value("Ignored Name".into()),
            first_name: Patch::Value("Ann".into()),
            ..Default::default()
        };
        apply_change(&mut row, change, &location(), Ok(None)).unwrap();
        assert_eq!(row.name.as_deref(), Some("Ann Van Deo"));
        assert_eq!(row.first_name_lower.as_deref(), Some("ann"));
    }

    #[test]
    fn dnd_channels_merge() {
        let on = |s: &str| {
            Some(hilo_types::contacts::DndSetting {
                status: s.into(),
                message: None,
                code: None,
            })
        };
        let current = DndSettings {
            email: on("active"),
            sms: on("active"),
            ..Default::default()
        };
        let change = DndSettings {
            sms: on("inactive"),
            ..Default::default()
        };
        let merged = merge_dnd(current, change);
        assert_eq!(merged.email, on("active"));
        assert_eq!(merged.sms, on("inactive"));
    }
}
