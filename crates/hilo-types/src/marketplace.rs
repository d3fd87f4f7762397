//! The installation part of `marketplace.json`: uninstalling an app and the installer's details.

use serde::{Deserialize, Serialize};

/// `DELETE /marketplace/app/{appId}/installations` (spec: `DeleteIntegrationBodyDto`): an agency
/// token gives `company_id` (and may narrow to one `location_id`), a location token its
/// `location_id`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UninstallRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to an uninstall (spec: `DeleteIntegrationResponse`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UninstallResponse {
    pub success: bool,
}

/// Who installed the app (spec: `InstallerDetailsDTO`). HighLevel leaves the company's email
/// and owner out for sub-account installations; hilo has no plans or relationship numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstallerDetails {
    pub company_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    pub company_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_owner_full_name: Option<String>,
    pub user_id: Option<String>,
    pub is_whitelabel_company: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_high_level_plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_app_plan_id: Option<String>,
}

/// `GET /marketplace/app/{appId}/installations` (spec: `GetInstallerDetailsResponseDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstallerDetailsResponse {
    pub installation_details: InstallerDetails,
}
