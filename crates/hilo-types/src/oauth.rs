//! OAuth answers (spec: `oauth.json`): the token endpoints and installed locations.

use serde::{Deserialize, Serialize};

/// `POST /oauth/token` and `POST /oauth/locationToken` (spec: `GetAccessCodeSuccessfulResponseDto`,
/// `GetLocationAccessTokenSuccessfulResponseDto`).
/// (The token fields are snake_case on the wire, the rest camelCase.)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(rename = "userType", default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(
        rename = "locationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub location_id: Option<String>,
    #[serde(rename = "companyId", default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(rename = "userId", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A row of `GET /oauth/installedLocations` (spec: `InstalledLocationSchema`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstalledLocation {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub address: String,
    pub is_installed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<String>,
}

/// `GET /oauth/installedLocations` (spec: `GetInstalledLocationsSuccessfulResponseDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstalledLocationsResponse {
    pub locations: Vec<InstalledLocation>,
    pub count: u64,
    pub install_to_future_locations: bool,
}
