//! Businesses (spec: `businesses.json`). The create/update wrapper key is spelled `buiseness`
//! in HighLevel's contract.

use serde::{Deserialize, Serialize};

use crate::Patch;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Business {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub location_id: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateBusiness {
    pub name: String,
    pub location_id: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateBusiness {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub phone: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub email: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub postal_code: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub website: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub address: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub state: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub city: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub country: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub description: Patch<String>,
}

/// Create and update answer `{"success": true, "buiseness": {…}}` (sic).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusinessWriteResponse {
    pub success: bool,
    pub buiseness: Business,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusinessResponse {
    pub business: Business,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusinessesResponse {
    pub businesses: Vec<Business>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SuccessResponse {
    pub success: bool,
}
