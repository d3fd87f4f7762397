//! Contacts (spec: `contacts.json`; behaviour: the contacts dossier).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Patch;

/// One DND channel (spec: `DndSettingSchema`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DndSetting {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// Per-channel DND (spec: `DndSettingsSchema`; `RCS` is observed in real payloads).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct DndSettings {
    #[serde(rename = "Call", default, skip_serializing_if = "Option::is_none")]
    pub call: Option<DndSetting>,
    #[serde(rename = "Email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<DndSetting>,
    #[serde(rename = "SMS", default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<DndSetting>,
    #[serde(rename = "WhatsApp", default, skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<DndSetting>,
    #[serde(rename = "GMB", default, skip_serializing_if = "Option::is_none")]
    pub gmb: Option<DndSetting>,
    #[serde(rename = "FB", default, skip_serializing_if = "Option::is_none")]
    pub fb: Option<DndSetting>,
    #[serde(rename = "RCS", default, skip_serializing_if = "Option::is_none")]
    pub rcs: Option<DndSetting>,
}

impl DndSettings {
    /// The wire names of the channels, in the order they are serialised.
    pub const CHANNELS: [&'static str; 7] =
        ["Call", "Email", "SMS", "WhatsApp", "GMB", "FB", "RCS"];
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InboundDndSetting {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct InboundDndSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<InboundDndSetting>,
}

/// A custom field value as clients send it: `id` (or `key`) and the value under `field_value`
/// (spec), `fieldValue` (v3) or `value` (seen from real v2 clients).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct CustomFieldInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_value: Option<Value>,
    #[serde(
        rename = "fieldValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub field_value_v3: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl CustomFieldInput {
    /// The value, whichever of the accepted keys carried it (first present wins).
    pub fn value(&self) -> Option<&Value> {
        self.field_value
            .as_ref()
            .or(self.field_value_v3.as_ref())
            .or(self.value.as_ref())
    }
}

/// A custom field value as HighLevel returns it (spec: `CustomFieldSchema`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomFieldValue {
    pub id: String,
    pub value: Value,
}

/// `POST /contacts/` body (spec: `CreateContactDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateContact {
    pub location_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_dnd_settings: Option<InboundDndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

/// `POST /contacts/upsert` body (spec: `UpsertContactDto`): the create fields, and whether to
/// create without matching where the location allows duplicates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpsertContact {
    #[serde(flatten)]
    pub contact: CreateContact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_new_if_duplicate_allowed: Option<bool>,
}

/// `PUT /contacts/{contactId}` body (spec: `UpdateContactDto`, plus `companyName` and `gender`,
/// which clients send although the spec leaves them out). Only present fields change; `null`
/// clears a field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContact {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub first_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub last_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub email: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub phone: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub address1: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub city: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub state: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub postal_code: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub website: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub timezone: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_dnd_settings: Option<InboundDndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<Vec<CustomFieldInput>>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub source: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub date_of_birth: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub country: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub assigned_to: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub company_name: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub gender: Patch<String>,
}

/// Who created a contact (observed: `{source, channel, sourceId, timestamp}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedBy {
    pub source: String,
    pub channel: String,
    pub source_id: String,
    pub timestamp: String,
}

/// A contact as `GET /contacts/{id}`, create, update and upsert return it: absent values are
/// omitted, not `null`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    pub location_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_lower_case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub dnd: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_settings: Option<DndSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_dnd_settings: Option<InboundDndSettings>,
    #[serde(rename = "type")]
    pub contact_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<u32>,
    pub date_added: String,
    pub date_updated: String,
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    #[serde(default)]
    pub additional_emails: Vec<Value>,
    #[serde(default)]
    pub followers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy>,
    /// Only in the create response (spec: `CreateContactSchema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// A row of `GET /contacts/` and `GET /contacts/business/{businessId}` (spec:
/// `ContactsSearchSchema`, with the name and address fields real responses carry).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContactListItem {
    pub id: String,
    pub location_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub dnd: bool,
    #[serde(rename = "type")]
    pub contact_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub date_added: String,
    pub date_updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Vec<CustomFieldValue>,
    #[serde(default)]
    pub followers: Vec<String>,
    #[serde(default)]
    pub additional_emails: Vec<Value>,
    #[serde(default)]
    pub attributions: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactResponse {
    pub contact: Contact,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpdateContactResponse {
    pub succeded: bool,
    pub contact: Contact,
}

/// `POST /contacts/upsert` answer: `new` says whether a contact was created. HighLevel also sends
/// `succeded` (observed), which the spec leaves out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpsertContactResponse {
    pub new: bool,
    pub succeded: bool,
    pub contact: Contact,
}

/// `GET /contacts/search/duplicate` answer: the matching contact, or `null`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicateContactResponse {
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SuccededResponse {
    pub succeded: bool,
}

/// `meta` of `GET /contacts/` (spec: `ContactsMetaSchema`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactsMeta {
    pub total: u64,
    pub next_page_url: Option<String>,
    pub start_after_id: Option<String>,
    pub start_after: Option<i64>,
    pub current_page: u64,
    pub next_page: Option<u64>,
    pub prev_page: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactsListResponse {
    pub contacts: Vec<ContactListItem>,
    pub count: u64,
    pub meta: ContactsMeta,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContactsByBusinessResponse {
    pub contacts: Vec<ContactListItem>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TagsBody {
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TagsAddedResponse {
    pub tags: Vec<String>,
    pub tags_added: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TagsRemovedResponse {
    pub tags: Vec<String>,
    pub tags_removed: Vec<String>,
}

/// One row of `POST /contacts/search` (dossier §3.1): every key present, `null` when the contact
/// has no value; names lower-cased with the originals in `…Raw`; `address` (not `address1`);
/// `searchAfter`, the row's cursor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchContact {
    pub id: String,
    pub location_id: String,
    pub contact_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub first_name_raw: Option<String>,
    pub last_name_raw: Option<String>,
    pub first_name_lower_case: Option<String>,
    pub last_name_lower_case: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_label: Option<String>,
    pub additional_emails: Vec<Value>,
    pub additional_phones: Vec<Value>,
    pub company_name: Option<String>,
    pub business_name: Option<String>,
    pub business_id: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub timezone: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub contact_type: String,
    pub assigned_to: Option<String>,
    pub followers: Vec<String>,
    pub tags: Vec<String>,
    pub custom_fields: Vec<CustomFieldValue>,
    pub dnd: bool,
    pub dnd_settings: Value,
    pub inbound_dnd_settings: Value,
    pub valid_email: Option<bool>,
    pub date_of_birth: Option<String>,
    pub date_added: String,
    pub date_updated: String,
    pub opportunities: Vec<Value>,
    pub search_after: Vec<Value>,
}

/// `POST /contacts/search` answer: `total` counts every match, whatever the page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchContactsResponse {
    pub contacts: Vec<SearchContact>,
    pub total: u64,
}

/// `POST /contacts/bulk/business` body: attach `ids` to `businessId`, or detach them with `null`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkBusinessBody {
    pub location_id: String,
    pub ids: Vec<String>,
    pub business_id: Option<String>,
}

/// `POST /contacts/bulk/business` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BulkBusinessResponse {
    pub success: bool,
    pub ids: Vec<String>,
}
