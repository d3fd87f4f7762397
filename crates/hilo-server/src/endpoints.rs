//! The endpoint table: every HighLevel operation hilo serves, declared once with its method,
//! path, spec operation id, required scope and the token kinds its security scheme accepts.
//! Routing, authentication and the generated test matrices all read it.

use axum::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    ContactsReadonly,
    ContactsWrite,
    BusinessesReadonly,
    BusinessesWrite,
    OauthReadonly,
    OauthWrite,
    MarketplaceInstallerDetailsReadonly,
    LocationsCustomFieldsReadonly,
    LocationsCustomFieldsWrite,
    CampaignsReadonly,
    WorkflowsReadonly,
}

impl Scope {
    pub const ALL: [Scope; 11] = [
        Scope::ContactsReadonly,
        Scope::ContactsWrite,
        Scope::BusinessesReadonly,
        Scope::BusinessesWrite,
        Scope::OauthReadonly,
        Scope::OauthWrite,
        Scope::MarketplaceInstallerDetailsReadonly,
        Scope::LocationsCustomFieldsReadonly,
        Scope::LocationsCustomFieldsWrite,
        Scope::CampaignsReadonly,
        Scope::WorkflowsReadonly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ContactsReadonly => "contacts.readonly",
            Scope::ContactsWrite => "contacts.write",
            Scope::BusinessesReadonly => "businesses.readonly",
            Scope::BusinessesWrite => "businesses.write",
            Scope::OauthReadonly => "oauth.readonly",
            Scope::OauthWrite => "oauth.write",
            Scope::MarketplaceInstallerDetailsReadonly => "marketplace-installer-details.readonly",
            Scope::LocationsCustomFieldsReadonly => "locations/customFields.readonly",
            Scope::LocationsCustomFieldsWrite => "locations/customFields.write",
            Scope::CampaignsReadonly => "campaigns.readonly",
            Scope::WorkflowsReadonly => "workflows.readonly",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// The scopes of every operation a token of `kind` may call.
    pub fn usable_by(kind: TokenKind) -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|scope| {
                ENDPOINTS
                    .iter()
                    .any(|e| e.scope == *scope && e.access.accepts(kind))
            })
            .collect()
    }
}

/// The kinds of bearer token HighLevel issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A Sub-Account private integration token (`pit-…`).
    LocationPrivate,
    /// An Agency private integration token.
    AgencyPrivate,
    /// An OAuth access token with `userType` Location.
    LocationOAuth,
    /// An OAuth access token with `userType` Company.
    CompanyOAuth,
}

/// The token kinds an operation accepts: the union of its spec security schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access(u8);

impl Access {
    /// `bearer` and `Location-Access`: a Sub-Account OAuth token or Sub-Account private token.
    pub const SUB_ACCOUNT: Access = Access(1 | 4);
    /// `Location-Access-Only`: a Sub-Account OAuth token.
    pub const SUB_ACCOUNT_OAUTH: Access = Access(4);
    /// `Agency-Access`: an Agency OAuth token or Agency private token.
    pub const AGENCY: Access = Access(2 | 8);
    /// `Agency-Access-Only`: an Agency OAuth token.
    pub const AGENCY_OAUTH: Access = Access(8);

    pub const fn or(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub fn accepts(self, kind: TokenKind) -> bool {
        let bit = match kind {
            TokenKind::LocationPrivate => 1,
            TokenKind::AgencyPrivate => 2,
            TokenKind::LocationOAuth => 4,
            TokenKind::CompanyOAuth => 8,
        };
        self.0 & bit != 0
    }

    /// The spec's security scheme names, as they appear in an operation's `security`.
    pub fn from_scheme(name: &str) -> Option<Access> {
        match name {
            "bearer" | "Location-Access" => Some(Access::SUB_ACCOUNT),
            "Location-Access-Only" => Some(Access::SUB_ACCOUNT_OAUTH),
            "Agency-Access" => Some(Access::AGENCY),
            "Agency-Access-Only" => Some(Access::AGENCY_OAUTH),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateContact,
    ListContacts,
    GetContact,
    UpdateContact,
    DeleteContact,
    ContactsByBusiness,
    BulkBusiness,
    SearchContacts,
    DuplicateContact,
    UpsertContact,
    ListTasks,
    CreateTask,
    GetTask,
    UpdateTask,
    CompleteTask,
    DeleteTask,
    ContactAppointments,
    AddTags,
    RemoveTags,
    ListNotes,
    CreateNote,
    GetNote,
    UpdateNote,
    DeleteNote,
    BulkTags,
    AddFollowers,
    RemoveFollowers,
    AddToCampaign,
    RemoveFromCampaign,
    RemoveFromAllCampaigns,
    AddToWorkflow,
    RemoveFromWorkflow,
    ListCampaigns,
    ListWorkflows,
    CreateBusiness,
    ListBusinesses,
    GetBusiness,
    UpdateBusiness,
    DeleteBusiness,
    ListCustomFields,
    CreateCustomField,
    GetCustomField,
    UpdateCustomField,
    DeleteCustomField,
    LocationToken,
    InstalledLocations,
    Uninstall,
    InstallerDetails,
}

/// One row of the endpoint table.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub operation: Operation,
    pub method: &'static str,
    /// The path as axum routes it; HighLevel's trailing slashes are optional everywhere.
    pub path: &'static str,
    /// `operationId` in the spec file.
    pub operation_id: &'static str,
    pub scope: Scope,
    pub access: Access,
}

use Operation as O;
use Scope::{
    BusinessesReadonly as BR, BusinessesWrite as BW, CampaignsReadonly as CAR,
    ContactsReadonly as CR, ContactsWrite as CW, LocationsCustomFieldsReadonly as FR,
    LocationsCustomFieldsWrite as FW, WorkflowsReadonly as WR,
};

/// A Sub-Account operation (`bearer` in the spec).
const fn e(
    operation: Operation,
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    scope: Scope,
) -> Endpoint {
    with_access(
        operation,
        method,
        path,
        operation_id,
        scope,
        Access::SUB_ACCOUNT,
    )
}

const fn with_access(
    operation: Operation,
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    scope: Scope,
    access: Access,
) -> Endpoint {
    Endpoint {
        operation,
        method,
        path,
        operation_id,
        scope,
        access,
    }
}

#[rustfmt::skip]
pub const ENDPOINTS: &[Endpoint] = &[
    e(O::CreateContact,       "POST",   "/contacts",                                    "create-contact",              CW),
    e(O::ListContacts,        "GET",    "/contacts",                                    "get-contacts",                CR),
    e(O::GetContact,          "GET",    "/contacts/{contactId}",                        "get-contact",                 CR),
    e(O::UpdateContact,       "PUT",    "/contacts/{contactId}",                        "update-contact",              CW),
    e(O::DeleteContact,       "DELETE", "/contacts/{contactId}",                        "delete-contact",              CW),
    e(O::ContactsByBusiness,  "GET",    "/contacts/business/{businessId}",              "get-contacts-by-businessId",  CR),
    // The spec declares no scope here; contacts.write is the dossier's recommendation.
    e(O::BulkBusiness,        "POST",   "/contacts/bulk/business",                      "add-remove-contact-from-business", CW),
    e(O::SearchContacts,      "POST",   "/contacts/search",                             "search-contacts-advanced",    CR),
    e(O::DuplicateContact,    "GET",    "/contacts/search/duplicate",                   "get-duplicate-contact",       CR),
    e(O::UpsertContact,       "POST",   "/contacts/upsert",                             "upsert-contact",              CW),
    e(O::ListTasks,           "GET",    "/contacts/{contactId}/tasks",                  "get-all-tasks",               CR),
    e(O::CreateTask,          "POST",   "/contacts/{contactId}/tasks",                  "create-task",                 CW),
    e(O::GetTask,             "GET",    "/contacts/{contactId}/tasks/{taskId}",         "get-task",                    CR),
    e(O::UpdateTask,          "PUT",    "/contacts/{contactId}/tasks/{taskId}",         "update-task",                 CW),
    e(O::CompleteTask,        "PUT",    "/contacts/{contactId}/tasks/{taskId}/completed", "update-task-completed",     CW),
    e(O::DeleteTask,          "DELETE", "/contacts/{contactId}/tasks/{taskId}",         "delete-task",                 CW),
    e(O::ContactAppointments, "GET",    "/contacts/{contactId}/appointments",           "get-appointments-for-contact", CR),
    e(O::AddTags,             "POST",   "/contacts/{contactId}/tags",                   "add-tags",                    CW),
    e(O::RemoveTags,          "DELETE", "/contacts/{contactId}/tags",                   "remove-tags",                 CW),
    e(O::ListNotes,           "GET",    "/contacts/{contactId}/notes",                  "get-all-notes",               CR),
    e(O::CreateNote,          "POST",   "/contacts/{contactId}/notes",                  "create-note",                 CW),
    e(O::GetNote,             "GET",    "/contacts/{contactId}/notes/{id}",             "get-note",                    CR),
    e(O::UpdateNote,          "PUT",    "/contacts/{contactId}/notes/{id}",             "update-note",                 CW),
    e(O::DeleteNote,          "DELETE", "/contacts/{contactId}/notes/{id}",             "delete-note",                 CW),
    // The spec declares no scope here; contacts.write is the dossier's recommendation. The
    // operation id is the spec's, shared with associations.json's `POST /associations/`.
    e(O::BulkTags,            "POST",   "/contacts/bulk/tags/update/{type}",            "create-association",          CW),
    e(O::AddFollowers,        "POST",   "/contacts/{contactId}/followers",              "add-followers-contact",       CW),
    e(O::RemoveFollowers,     "DELETE", "/contacts/{contactId}/followers",              "remove-followers-contact",    CW),
    e(O::AddToCampaign,       "POST",   "/contacts/{contactId}/campaigns/{campaignId}", "add-contact-to-campaign",     CW),
    e(O::RemoveFromCampaign,  "DELETE", "/contacts/{contactId}/campaigns/{campaignId}", "remove-contact-from-campaign", CW),
    e(O::RemoveFromAllCampaigns, "DELETE", "/contacts/{contactId}/campaigns/removeAll", "remove-contact-from-every-campaign", CW),
    e(O::AddToWorkflow,       "POST",   "/contacts/{contactId}/workflow/{workflowId}",  "add-contact-to-workflow",     CW),
    e(O::RemoveFromWorkflow,  "DELETE", "/contacts/{contactId}/workflow/{workflowId}",  "delete-contact-from-workflow", CW),
    e(O::ListCampaigns,       "GET",    "/campaigns",                                   "get-campaigns",               CAR),
    e(O::ListWorkflows,       "GET",    "/workflows",                                   "get-workflow",                WR),
    e(O::CreateBusiness,      "POST",   "/businesses",                                  "create-business",             BW),
    e(O::ListBusinesses,      "GET",    "/businesses",                                  "get-businesses-by-location",  BR),
    e(O::GetBusiness,         "GET",    "/businesses/{businessId}",                     "get-business",                BR),
    e(O::UpdateBusiness,      "PUT",    "/businesses/{businessId}",                     "update-business",             BW),
    e(O::DeleteBusiness,      "DELETE", "/businesses/{businessId}",                     "delete-Business",             BW),
    e(O::ListCustomFields,    "GET",    "/locations/{locationId}/customFields",         "get-custom-fields",           FR),
    e(O::CreateCustomField,   "POST",   "/locations/{locationId}/customFields",         "create-custom-field",         FW),
    // The spec names no scope for these three; they take the collection's scopes by method.
    e(O::GetCustomField,      "GET",    "/locations/{locationId}/customFields/{id}",    "get-custom-field",            FR),
    e(O::UpdateCustomField,   "PUT",    "/locations/{locationId}/customFields/{id}",    "update-custom-field",         FW),
    e(O::DeleteCustomField,   "DELETE", "/locations/{locationId}/customFields/{id}",    "delete-custom-field",         FW),
    with_access(O::LocationToken, "POST", "/oauth/locationToken", "get-location-access-token", Scope::OauthWrite, Access::AGENCY_OAUTH),
    with_access(O::InstalledLocations, "GET", "/oauth/installedLocations", "get-installed-location", Scope::OauthReadonly, Access::AGENCY_OAUTH),
    with_access(O::Uninstall, "DELETE", "/marketplace/app/{appId}/installations", "uninstall-application", Scope::OauthWrite, Access::SUB_ACCOUNT_OAUTH.or(Access::AGENCY)),
    with_access(O::InstallerDetails, "GET", "/marketplace/app/{appId}/installations", "get-installer-details", Scope::MarketplaceInstallerDetailsReadonly, Access::SUB_ACCOUNT_OAUTH.or(Access::AGENCY_OAUTH)),
];

impl Operation {
    pub fn endpoint(self) -> &'static Endpoint {
        ENDPOINTS
            .iter()
            .find(|e| e.operation == self)
            .unwrap_or_else(|| unreachable!("every operation has a row in ENDPOINTS"))
    }
}

impl Endpoint {
    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap_or(Method::GET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The spec files live in `shared/` beside the repository.
    fn spec(file: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../../shared/spec/highlevel/apps/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// Every operation of every spec file: (path, method, operation).
    fn spec_operations() -> Vec<(String, String, serde_json::Value)> {
        let dir = format!(
            "{}/../../../shared/spec/highlevel/apps",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for file in files {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let spec = spec(&name);
            for (path, ops) in spec["paths"].as_object().unwrap() {
                for (method, op) in ops.as_object().unwrap() {
                    out.push((path.clone(), method.to_uppercase(), op.clone()));
                }
            }
        }
        out
    }

    /// The scopes named by the `security` of every operation at `path`.
    fn scopes_at(
        operations: &[(String, String, serde_json::Value)],
        path: &str,
    ) -> HashSet<String> {
        let mut scopes = HashSet::new();
        for (p, _, op) in operations {
            if p.trim_end_matches('/') != path {
                continue;
            }
            for requirement in op["security"].as_array().into_iter().flatten() {
                for names in requirement.as_object().unwrap().values() {
                    for name in names.as_array().unwrap() {
                        scopes.insert(name.as_str().unwrap().to_owned());
                    }
                }
            }
        }
        scopes
    }

    /// The scope an operation the spec leaves without one takes: of the scopes the nearest
    /// enclosing path declares (`/contacts/` for `/contacts/bulk/business`, the collection for
    /// `/locations/{locationId}/customFields/{id}`), the readonly one for GET, else the write one.
    fn inherited_scope(
        operations: &[(String, String, serde_json::Value)],
        path: &str,
        method: &str,
    ) -> Option<String> {
        let suffix = if method == "GET" {
            ".readonly"
        } else {
            ".write"
        };
        let mut prefix = path.trim_end_matches('/');
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            prefix = parent;
            if let Some(scope) = scopes_at(operations, prefix)
                .into_iter()
                .find(|s| s.ends_with(suffix))
            {
                return Some(scope);
            }
        }
        None
    }

    #[test]
    fn every_row_matches_the_spec_method_path_and_scope() {
        let operations = spec_operations();
        for endpoint in ENDPOINTS {
            // operationIds are not unique across spec files (`create-association` is both bulk
            // tags and `POST /associations/`): a row names its operation by id, method and path.
            let candidates: Vec<_> = operations
                .iter()
                .filter(|(_, _, op)| op["operationId"] == endpoint.operation_id)
                .collect();
            assert!(
                !candidates.is_empty(),
                "{} not in spec",
                endpoint.operation_id
            );
            let (path, method, op) = candidates
                .iter()
                .find(|(path, method, _)| {
                    path.trim_end_matches('/') == endpoint.path && *method == endpoint.method
                })
                .unwrap_or_else(|| {
                    let seen: Vec<_> = candidates
                        .iter()
                        .map(|(p, m, _)| format!("{m} {p}"))
                        .collect();
                    panic!(
                        "{}: {} {} not in spec, which has {seen:?}",
                        endpoint.operation_id, endpoint.method, endpoint.path
                    )
                });
            let mut access: Option<Access> = None;
            let mut scopes = HashSet::new();
            for requirement in op["security"].as_array().into_iter().flatten() {
                for (scheme, names) in requirement.as_object().unwrap() {
                    let scheme = Access::from_scheme(scheme).unwrap();
                    access = Some(access.map_or(scheme, |a| a.or(scheme)));
                    for name in names.as_array().unwrap() {
                        scopes.insert(name.as_str().unwrap().to_owned());
                    }
                }
            }
            // No scheme declared: a Sub-Account operation, as the rest of its resource.
            let access = access.unwrap_or(Access::SUB_ACCOUNT);
            assert_eq!(access, endpoint.access, "{}", endpoint.operation_id);
            if scopes.is_empty() {
                let inherited = inherited_scope(&operations, path, method)
                    .unwrap_or_else(|| panic!("{}: no scope to inherit", endpoint.operation_id));
                scopes.insert(inherited);
            }
            let want: HashSet<String> = [endpoint.scope.as_str().to_owned()].into();
            assert_eq!(scopes, want, "{}", endpoint.operation_id);
        }
    }

    #[test]
    fn operations_and_routes_are_unique() {
        let ops: HashSet<_> = ENDPOINTS.iter().map(|e| e.operation).collect();
        assert_eq!(ops.len(), ENDPOINTS.len());
        let routes: HashSet<_> = ENDPOINTS.iter().map(|e| (e.method, e.path)).collect();
        assert_eq!(routes.len(), ENDPOINTS.len());
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
    }
}
