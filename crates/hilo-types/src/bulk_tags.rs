//! `POST /contacts/bulk/tags/update/{type}` (spec: `UpdateTagsDTO`, `UpdateTagsResponseDTO`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsBody {
    pub contacts: Vec<String>,
    pub tags: Vec<String>,
    pub location_id: String,
    /// With `remove`: take every tag off the contacts, whatever `tags` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_all_tags: Option<bool>,
}

/// The answer: `succeded` [sic], how many contacts failed, and one row per contact.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsResponse {
    pub succeded: bool,
    pub error_count: u64,
    pub responses: Vec<BulkTagsRow>,
}

/// One contact's outcome: `type` is `success` (with its tags before and the change) or `error`
/// (with why, in HighLevel's words).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkTagsRow {
    pub contact_id: String,
    pub message: String,
    #[serde(rename = "type")]
    pub row_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_added: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_removed: Option<Vec<String>>,
}

impl BulkTagsRow {
    pub fn success(
        contact_id: String,
        old_tags: Vec<String>,
        tags_added: Vec<String>,
        tags_removed: Vec<String>,
    ) -> Self {
        BulkTagsRow {
            contact_id,
            message: "Tags updated".to_owned(),
            row_type: "success".to_owned(),
            old_tags: Some(old_tags),
            tags_added: Some(tags_added),
            tags_removed: Some(tags_removed),
        }
    }

    pub fn error(contact_id: String, message: &str) -> Self {
        BulkTagsRow {
            contact_id,
            message: message.to_owned(),
            row_type: "error".to_owned(),
            old_tags: None,
            tags_added: None,
            tags_removed: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.row_type == "error"
    }
}
