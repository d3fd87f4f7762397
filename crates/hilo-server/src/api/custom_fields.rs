//! A location's custom field definitions (spec: `locations.json`, `/locations/{locationId}/
//! customFields`): list, create, get, update, delete; and the custom field values of contacts,
//! resolved against them (dossier §2.4). Values live on the contact as `[{id, value}]`.

use axum::extract::{Path, State};
use axum::Router;
use hilo_types::contacts::{CustomFieldInput, CustomFieldValue, SuccededResponse};
use hilo_types::custom_fields::{
    CreateCustomField, CustomField, CustomFieldResponse, CustomFieldsResponse, TextBoxListOption,
    TextBoxListOptionInput, UpdateCustomField,
};
use serde::Deserialize;
use serde_json::Value;

use super::route;
use crate::auth::LocationAuth;
use crate::custom_fields::{
    check_value, contact_field_key, merge, new_field_key, DataType, FieldDef,
};
use crate::db::{Db, Flag};
use crate::endpoints::Operation;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::sql::{bind_list, SqlBuilder};
use crate::state::AppState;
use crate::tenancy::Location;
use crate::time::now_ms;
use crate::trace::Reply;
use crate::validate::{optional, required, Body, Field, Kind, NoParams, QueryParams, Schema};

pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let router = route(router, Operation::ListCustomFields, list_custom_fields);
    let router = route(router, Operation::CreateCustomField, create_custom_field);
    let router = route(router, Operation::GetCustomField, get_custom_field);
    let router = route(router, Operation::UpdateCustomField, update_custom_field);
    route(router, Operation::DeleteCustomField, delete_custom_field)
}

// ---- input schemas ----

const MODELS: &[&str] = &["contact", "opportunity"];

const TEXT_BOX_LIST_OPTION: &[Field] = &[
    optional("id", Kind::String),
    optional("label", Kind::String),
    optional("prefillValue", Kind::String),
];

/// The fields create and update share (spec: `CreateCustomFieldsDTO`, `UpdateCustomFieldsDTO`),
/// and the undocumented ones HighLevel accepts (`options`, `description`, `parentId`,
/// `showInForms`).
macro_rules! definition_fields {
    ($($first:expr),* $(,)?) => {
        &[
            $($first,)*
            required("name", Kind::String),
            optional("placeholder", Kind::String),
            optional("acceptedFormat", Kind::StringArray),
            optional("isMultipleFile", Kind::Bool),
            optional("maxNumberOfFiles", Kind::Number),
            optional("textBoxListOptions", Kind::ObjectArray(TEXT_BOX_LIST_OPTION)),
            optional("position", Kind::Number),
            optional("model", Kind::OneOf(MODELS)),
            optional("options", Kind::StringArray),
            optional("description", Kind::String),
            optional("parentId", Kind::String),
            optional("showInForms", Kind::Bool),
        ]
    };
}

impl Schema for CreateCustomField {
    const FIELDS: &'static [Field] = definition_fields!(
        required("dataType", Kind::OneOf(DataType::NAMES)),
        optional("fieldKey", Kind::String),
    );
}

impl Schema for UpdateCustomField {
    const FIELDS: &'static [Field] = definition_fields!();
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    model: Option<String>,
}

impl Schema for ListQuery {
    const FIELDS: &'static [Field] = &[optional(
        "model",
        Kind::OneOf(&["contact", "opportunity", "all"]),
    )];
}

// ---- storage ----

const COLUMNS: &str = "id, location_id, model, name, field_key, data_type, placeholder, position, \
    picklist_options, text_box_list_options, accepted_format, is_multiple_file, \
    max_number_of_files, description, parent_id, date_added, date_updated";

/// A definition as stored; the option lists are JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
struct FieldRow {
    id: String,
    location_id: String,
    model: String,
    name: String,
    field_key: String,
    data_type: String,
    placeholder: Option<String>,
    position: i64,
    picklist_options: String,
    text_box_list_options: String,
    accepted_format: Option<String>,
    is_multiple_file: Flag,
    max_number_of_files: Option<i64>,
    description: Option<String>,
    parent_id: Option<String>,
    date_added: i64,
    date_updated: i64,
}

impl FieldRow {
    fn options(&self) -> Vec<String> {
        serde_json::from_str(&self.picklist_options).unwrap_or_default()
    }

    fn rows(&self) -> Vec<TextBoxListOption> {
        serde_json::from_str(&self.text_box_list_options).unwrap_or_default()
    }

    fn to_wire(&self) -> CustomField {
        CustomField {
            id: self.id.clone(),
            name: self.name.clone(),
            field_key: self.field_key.clone(),
            placeholder: self.placeholder.clone(),
            data_type: self.data_type.clone(),
            position: self.position,
            picklist_options: self.options(),
            picklist_image_options: Vec::new(),
            is_allowed_custom_option: false,
            is_multi_file_allowed: self.is_multiple_file.0,
            max_file_limit: self.max_number_of_files,
            location_id: self.location_id.clone(),
            model: self.model.clone(),
            text_box_list_options: (self.data_type == DataType::TextboxList.as_str())
                .then(|| self.rows()),
            accepted_format: self
                .accepted_format
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            description: self.description.clone(),
            parent_id: self.parent_id.clone(),
        }
    }

    /// What a value of this field is checked against; `None` for a type hilo does not know
    /// (a row written by a newer version).
    fn to_def(&self) -> Option<FieldDef> {
        Some(FieldDef {
            id: self.id.clone(),
            field_key: self.field_key.clone(),
            data_type: DataType::parse(&self.data_type)?,
            options: self.options(),
            rows: self.rows().into_iter().map(|r| r.id).collect(),
            multiple_files: self.is_multiple_file.0,
            max_files: self.max_number_of_files,
        })
    }
}

fn field_not_found() -> ApiError {
    ApiError::bad_request("Custom field not found")
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// HighLevel positions and file limits are JSON numbers; hilo keeps whole ones.
fn whole(n: f64) -> i64 {
    // Saturating: `as` clamps out-of-range floats and maps NaN to 0.
    n.round() as i64
}

/// The definition `id_or_key` names in `location_id` (the spec's get takes either).
async fn find_field(
    db: &Db,
    location_id: &str,
    id_or_key: &str,
) -> Result<Option<FieldRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE location_id = $1 AND (id = $2 OR field_key = $2)"
    ))
    .bind(location_id)
    .bind(id_or_key)
    .fetch_optional(db.read())
    .await
}

async fn key_taken(db: &Db, location_id: &str, key: &str) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM custom_fields WHERE location_id = $1 AND field_key = $2",
    )
    .bind(location_id)
    .bind(key)
    .fetch_optional(db.read())
    .await?;
    Ok(found.is_some())
}

fn key_exists(key: &str) -> ApiError {
    ApiError::bad_request(format!("Custom field with key {key} already exists"))
}

/// A key no field of the location has: the one asked for (400 if taken), or one made from the
/// name, numbered when another field has it (`contact.size`, `contact.size_2`, …).
async fn free_key(
    db: &Db,
    location_id: &str,
    model: &str,
    explicit: Option<&str>,
    name: &str,
) -> ApiResult<String> {
    let explicit = explicit.filter(|k| !k.trim().is_empty());
    let base = new_field_key(model, explicit, name);
    let mut key = base.clone();
    let mut n = 1;
    while key_taken(db, location_id, &key).await? {
        if explicit.is_some() {
            return Err(key_exists(&key));
        }
        n += 1;
        key = format!("{base}_{n}");
    }
    Ok(key)
}

/// The rows of a `TEXTBOX_LIST` field after `inputs`: a row keeps its id when the input names
/// it, or else has the label of a row not yet kept; new rows get a new UUID, as HighLevel's do.
fn text_box_rows(
    current: &[TextBoxListOption],
    inputs: Vec<TextBoxListOptionInput>,
) -> Vec<TextBoxListOption> {
    let mut rows: Vec<TextBoxListOption> = Vec::new();
    for input in inputs {
        let label = input.label.unwrap_or_default();
        let kept = |id: &str| rows.iter().any(|r| r.id == id);
        let id = input
            .id
            .filter(|id| current.iter().any(|r| &r.id == id) && !kept(id))
            .or_else(|| {
                current
                    .iter()
                    .find(|r| r.label == label && !kept(&r.id))
                    .map(|r| r.id.clone())
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        rows.push(TextBoxListOption {
            id,
            label,
            prefill_value: input.prefill_value.unwrap_or_default(),
        });
    }
    rows
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

// ---- handlers ----

async fn list_custom_fields(
    State(state): State<AppState>,
    LocationAuth(auth): LocationAuth,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Reply<CustomFieldsResponse>> {
    let mut sql = SqlBuilder::new(&format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE location_id = "
    ));
    sql.bind_text(auth.location_id.clone());
    // HighLevel lists the contact fields unless asked for another model or `all`.
    match q.model.as_deref().unwrap_or("contact") {
        "all" => {}
        model => {
            sql.push(" AND model = ").bind_text(model);
        }
    }
    sql.push(" ORDER BY position, date_added, id");
    let rows: Vec<FieldRow> = sql.query_as().fetch_all(state.db.read()).await?;
    Ok(Reply::ok(CustomFieldsResponse {
        custom_fields: rows.iter().map(FieldRow::to_wire).collect(),
    }))
}

async fn create_custom_field(
    State(state): State<AppState>,
    LocationAuth(auth): LocationAuth,
    _: QueryParams<NoParams>,
    Body(body): Body<CreateCustomField>,
) -> ApiResult<Reply<CustomFieldResponse>> {
    let custom_field = create_field(&state.db, auth.location_id, body).await?;
    Ok(Reply::created(CustomFieldResponse { custom_field }))
}

/// Stores a new definition in `location_id`, with a key no other field of it has.
pub(crate) async fn create_field(
    db: &Db,
    location_id: String,
    body: CreateCustomField,
) -> ApiResult<CustomField> {
    let data_type = DataType::parse(&body.data_type).ok_or_else(|| {
        ApiError::unprocessable(format!(
            "dataType must be one of the following values: {}",
            DataType::NAMES.join(", ")
        ))
    })?;
    let model = body.model.unwrap_or_else(|| "contact".to_owned());
    let name = body.name.trim().to_owned();
    let field_key = free_key(db, &location_id, &model, body.field_key.as_deref(), &name).await?;
    let now = now_ms();
    let row = FieldRow {
        id: new_id(),
        location_id,
        model,
        name,
        field_key,
        data_type: data_type.as_str().to_owned(),
        placeholder: body.placeholder,
        position: body.position.map_or(0, whole),
        picklist_options: to_json(&body.options.unwrap_or_default()),
        text_box_list_options: to_json(&text_box_rows(
            &[],
            body.text_box_list_options.unwrap_or_default(),
        )),
        accepted_format: body.accepted_format.as_ref().map(to_json),
        is_multiple_file: Flag(body.is_multiple_file.unwrap_or(false)),
        max_number_of_files: body.max_number_of_files.map(whole).filter(|n| *n > 0),
        description: body.description,
        parent_id: body.parent_id,
        date_added: now,
        date_updated: now,
    };
    sqlx::query(&format!(
        "INSERT INTO custom_fields ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&row.id)
    .bind(&row.location_id)
    .bind(&row.model)
    .bind(&row.name)
    .bind(&row.field_key)
    .bind(&row.data_type)
    .bind(&row.placeholder)
    .bind(row.position)
    .bind(&row.picklist_options)
    .bind(&row.text_box_list_options)
    .bind(&row.accepted_format)
    .bind(row.is_multiple_file)
    .bind(row.max_number_of_files)
    .bind(&row.description)
    .bind(&row.parent_id)
    .bind(row.date_added)
    .bind(row.date_updated)
    .execute(db.write())
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            key_exists(&row.field_key)
        } else {
            e.into()
        }
    })?;
    Ok(row.to_wire())
}

async fn get_custom_field(
    State(state): State<AppState>,
    LocationAuth(auth): LocationAuth,
    Path((_, id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<CustomFieldResponse>> {
    let row = find_field(&state.db, &auth.location_id, &id)
        .await?
        .ok_or_else(field_not_found)?;
    Ok(Reply::ok(CustomFieldResponse {
        custom_field: row.to_wire(),
    }))
}

async fn update_custom_field(
    State(state): State<AppState>,
    LocationAuth(auth): LocationAuth,
    Path((_, id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
    Body(change): Body<UpdateCustomField>,
) -> ApiResult<Reply<CustomFieldResponse>> {
    let mut row = find_field(&state.db, &auth.location_id, &id)
        .await?
        .ok_or_else(field_not_found)?;
    if change.model.is_some_and(|m| m != row.model) {
        return Err(ApiError::bad_request(
            "The model of a custom field cannot be changed",
        ));
    }
    row.name = change.name.trim().to_owned();
    row.placeholder = change.placeholder.apply(row.placeholder.take());
    row.accepted_format = change
        .accepted_format
        .map(|formats| to_json(&formats))
        .apply(row.accepted_format.take());
    if let Some(multiple) = change.is_multiple_file {
        row.is_multiple_file = Flag(multiple);
    }
    row.max_number_of_files = change
        .max_number_of_files
        .map(whole)
        .apply(row.max_number_of_files)
        .filter(|n| *n > 0);
    if let Some(inputs) = change.text_box_list_options {
        row.text_box_list_options = to_json(&text_box_rows(&row.rows(), inputs));
    }
    if let Some(position) = change.position {
        row.position = whole(position);
    }
    if let Some(options) = change.options {
        row.picklist_options = to_json(&options);
    }
    row.description = change.description.apply(row.description.take());
    row.parent_id = change.parent_id.apply(row.parent_id.take());
    row.date_updated = now_ms();
    sqlx::query(
        "UPDATE custom_fields SET name = $3, placeholder = $4, accepted_format = $5, \
         is_multiple_file = $6, max_number_of_files = $7, text_box_list_options = $8, \
         position = $9, picklist_options = $10, description = $11, parent_id = $12, \
         date_updated = $13 WHERE location_id = $1 AND id = $2",
    )
    .bind(&row.location_id)
    .bind(&row.id)
    .bind(&row.name)
    .bind(&row.placeholder)
    .bind(&row.accepted_format)
    .bind(row.is_multiple_file)
    .bind(row.max_number_of_files)
    .bind(&row.text_box_list_options)
    .bind(row.position)
    .bind(&row.picklist_options)
    .bind(&row.description)
    .bind(&row.parent_id)
    .bind(row.date_updated)
    .execute(state.db.write())
    .await?;
    Ok(Reply::ok(CustomFieldResponse {
        custom_field: row.to_wire(),
    }))
}

/// Deletes the definition and, in the same transaction, its values on the location's contacts.
async fn delete_custom_field(
    State(state): State<AppState>,
    LocationAuth(auth): LocationAuth,
    Path((_, id)): Path<(String, String)>,
    _: QueryParams<NoParams>,
) -> ApiResult<Reply<SuccededResponse>> {
    let row = find_field(&state.db, &auth.location_id, &id)
        .await?
        .ok_or_else(field_not_found)?;
    let mut tx = state.db.write().begin().await?;
    sqlx::query("DELETE FROM custom_fields WHERE location_id = $1 AND id = $2")
        .bind(&row.location_id)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    // Field ids are base62, so the pattern has no LIKE wildcards; the JSON decides.
    let holders: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, custom_fields FROM contacts WHERE location_id = $1 AND custom_fields LIKE $2",
    )
    .bind(&row.location_id)
    .bind(format!("%\"{}\"%", row.id))
    .fetch_all(&mut *tx)
    .await?;
    for (contact_id, values) in holders {
        let values: Vec<CustomFieldValue> = serde_json::from_str(&values).unwrap_or_default();
        let before = values.len();
        let kept: Vec<CustomFieldValue> = values.into_iter().filter(|v| v.id != row.id).collect();
        if kept.len() != before {
            sqlx::query(
                "UPDATE contacts SET custom_fields = $1 WHERE location_id = $2 AND id = $3",
            )
            .bind(to_json(&kept))
            .bind(&row.location_id)
            .bind(&contact_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Reply::ok(SuccededResponse { succeded: true }))
}

// ---- values on contacts ----

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A contact's custom field values after `inputs` (create or update), each checked against its
/// definition in `location`: named by `id`, or by `key` with or without the `contact.` prefix;
/// the value under `field_value`, `fieldValue` or `value`; `null` or `""` clears. Fields not
/// named keep their values. 422 naming every field whose value its type refuses; then 400 for a
/// field the location does not have (another location's included). `None` when no
/// `customFields` were sent.
pub(crate) async fn contact_values(
    db: &Db,
    location: &Location,
    current: Vec<CustomFieldValue>,
    inputs: Option<Vec<CustomFieldInput>>,
) -> ApiResult<Option<Vec<CustomFieldValue>>> {
    let Some(inputs) = inputs else {
        return Ok(None);
    };
    let ids: Vec<String> = inputs
        .iter()
        .filter_map(|i| non_empty(&i.id).map(str::to_owned))
        .collect();
    let keys: Vec<String> = inputs
        .iter()
        .filter(|i| non_empty(&i.id).is_none())
        .filter_map(|i| non_empty(&i.key).map(contact_field_key))
        .collect();
    let mut fields: Vec<FieldRow> = Vec::new();
    if !ids.is_empty() || !keys.is_empty() {
        let mut sql = SqlBuilder::new(&format!(
            "SELECT {COLUMNS} FROM custom_fields WHERE location_id = "
        ));
        sql.bind_text(location.id.clone())
            .push(" AND model = 'contact' AND (");
        let mut any = false;
        for (column, values) in [("id", &ids), ("field_key", &keys)] {
            if values.is_empty() {
                continue;
            }
            if any {
                sql.push(" OR ");
            }
            sql.push(column).push(" IN (");
            bind_list(&mut sql, values);
            sql.push(")");
            any = true;
        }
        sql.push(")");
        fields = sql.query_as().fetch_all(db.read()).await?;
    }

    let mut errors: Vec<String> = Vec::new();
    let mut missing: Option<ApiError> = None;
    let mut changes: Vec<(String, Option<Value>)> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let field = match (non_empty(&input.id), non_empty(&input.key)) {
            (Some(id), _) => fields
                .iter()
                .find(|f| f.id == id)
                .ok_or_else(|| format!("Custom field with id {id} not found")),
            (None, Some(key)) => {
                let field_key = contact_field_key(key);
                fields
                    .iter()
                    .find(|f| f.field_key == field_key)
                    .ok_or_else(|| format!("Custom field with key {key} not found"))
            }
            (None, None) => {
                errors.push(format!("customFields.{i}.id should not be empty"));
                continue;
            }
        };
        let def = match field.map(|f| {
            f.to_def()
                .ok_or_else(|| format!("Custom field {} has an unknown data type", f.id))
        }) {
            Ok(Ok(def)) => def,
            Ok(Err(message)) | Err(message) => {
                missing.get_or_insert_with(|| ApiError::bad_request(message));
                continue;
            }
        };
        let value = input.value().cloned().unwrap_or(Value::Null);
        match check_value(&def, &value, &location.country) {
            Ok(value) => changes.push((def.id, value)),
            Err(messages) => errors.extend(messages),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Unprocessable(errors));
    }
    if let Some(missing) = missing {
        return Err(missing);
    }
    Ok(Some(merge(current, changes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, label: &str) -> TextBoxListOption {
        TextBoxListOption {
            id: id.into(),
            label: label.into(),
            prefill_value: String::new(),
        }
    }

    fn input(id: Option<&str>, label: &str) -> TextBoxListOptionInput {
        TextBoxListOptionInput {
            id: id.map(str::to_owned),
            label: Some(label.into()),
            prefill_value: None,
        }
    }

    #[test]
    fn text_box_rows_keep_their_ids() {
        let current = vec![row("a", "First"), row("b", "Second")];
        let rows = text_box_rows(
            &current,
            vec![
                input(Some("b"), "Second, renamed"),
                input(None, "First"),
                input(Some("zz"), "Third"),
                input(None, "First"),
            ],
        );
        assert_eq!(rows[0], row("b", "Second, renamed"));
        assert_eq!(rows[1], row("a", "First"));
        for new in &rows[2..] {
            assert!(uuid::Uuid::parse_str(&new.id).is_ok(), "{}", new.id);
        }
        assert_eq!(
            (rows[2].label.as_str(), rows[3].label.as_str()),
            ("Third", "First")
        );
        assert_ne!(rows[2].id, rows[3].id);
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole(2.4), 2);
        assert_eq!(whole(2.5), 3);
        assert_eq!(whole(f64::NAN), 0);
        assert_eq!(whole(1e300), i64::MAX);
    }
}
