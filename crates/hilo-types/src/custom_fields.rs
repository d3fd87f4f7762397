//! Custom field definitions of a location (spec: `locations.json`, the `Custom Field`
//! operations under `/locations/{locationId}/customFields`). Values on contacts are
//! [`crate::contacts::CustomFieldValue`].

use serde::{Deserialize, Serialize};

use crate::Patch;

/// A definition as HighLevel returns it (spec: `CustomFieldSchema`), plus the rows of a
/// `TEXTBOX_LIST` field and what else was set on create, so that clients can read back the keys
/// their values use.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    pub id: String,
    pub name: String,
    /// `contact.<key>` or `opportunity.<key>`.
    pub field_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    pub data_type: String,
    pub position: i64,
    pub picklist_options: Vec<String>,
    pub picklist_image_options: Vec<String>,
    pub is_allowed_custom_option: bool,
    pub is_multi_file_allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_limit: Option<i64>,
    pub location_id: String,
    pub model: String,
    /// The rows of a `TEXTBOX_LIST` field; a value is an object keyed by their ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_box_list_options: Option<Vec<TextBoxListOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_format: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// One row of a `TEXTBOX_LIST` field (spec: `textBoxListOptionsSchema`, with the row's id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TextBoxListOption {
    pub id: String,
    pub label: String,
    pub prefill_value: String,
}

/// A `TEXTBOX_LIST` row as clients send it: `label` and `prefillValue` (spec), and the `id` a
/// client read back, which keeps the row's values on update.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TextBoxListOptionInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub prefill_value: Option<String>,
}

/// `POST /locations/{locationId}/customFields` (spec: `CreateCustomFieldsDTO`). `fieldKey`,
/// `description`, `parentId` and `showInForms` are accepted as HighLevel accepts them beyond its
/// documentation; `options` carries the choices of the option types.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomField {
    pub name: String,
    pub data_type: String,
    #[serde(default)]
    pub placeholder: Option<String>,
    #[serde(default)]
    pub accepted_format: Option<Vec<String>>,
    #[serde(default)]
    pub is_multiple_file: Option<bool>,
    #[serde(default)]
    pub max_number_of_files: Option<f64>,
    #[serde(default)]
    pub text_box_list_options: Option<Vec<TextBoxListOptionInput>>,
    #[serde(default)]
    pub position: Option<f64>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub field_key: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub show_in_forms: Option<bool>,
}

/// `PUT /locations/{locationId}/customFields/{id}` (spec: `UpdateCustomFieldsDTO`): `name` is
/// required, everything else changes only when sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCustomField {
    pub name: String,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub placeholder: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub accepted_format: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_multiple_file: Option<bool>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub max_number_of_files: Patch<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_box_list_options: Option<Vec<TextBoxListOptionInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub parent_id: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_in_forms: Option<bool>,
}

/// `GET /locations/{locationId}/customFields` (spec: `CustomFieldsListSuccessfulResponseDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldsResponse {
    pub custom_fields: Vec<CustomField>,
}

/// Create, get and update (spec: `CustomFieldSuccessfulResponseDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldResponse {
    pub custom_field: CustomField,
}
