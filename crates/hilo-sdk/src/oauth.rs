//! The OAuth operations an agency token calls (spec: `oauth.json`): `client.oauth()`. The
//! refresh grant is the client's own business (see [`ClientBuilder::oauth`](crate::ClientBuilder::oauth)).

use hilo_types::oauth::{InstalledLocationsResponse, TokenResponse};

use crate::{Client, Error};

#[derive(Clone)]
pub struct OAuth {
    client: Client,
}

/// `GET /oauth/installedLocations` parameters; `company_id` and `app_id` are required.
#[derive(Debug, Clone, Default)]
pub struct InstalledLocationsQuery {
    pub company_id: String,
    pub app_id: String,
    pub is_installed: Option<bool>,
    pub query: Option<String>,
    pub location_id: Option<String>,
    pub skip: Option<u32>,
    pub limit: Option<u32>,
}

impl Client {
    pub fn oauth(&self) -> OAuth {
        OAuth {
            client: self.clone(),
        }
    }
}

impl OAuth {
    /// A Sub-Account token for `location_id`, from an agency OAuth token.
    pub async fn location_token(
        &self,
        company_id: &str,
        location_id: &str,
    ) -> Result<TokenResponse, Error> {
        self.client
            .post("/oauth/locationToken")
            .form([("companyId", company_id), ("locationId", location_id)])
            .send_as()
            .await
    }

    /// The agency's locations and whether the app is installed on each.
    pub async fn installed_locations(
        &self,
        query: &InstalledLocationsQuery,
    ) -> Result<InstalledLocationsResponse, Error> {
        self.client
            .get("/oauth/installedLocations")
            .query("companyId", &query.company_id)
            .query("appId", &query.app_id)
            .query_opt("isInstalled", query.is_installed)
            .query_opt("query", query.query.as_ref())
            .query_opt("locationId", query.location_id.as_ref())
            .query_opt("skip", query.skip)
            .query_opt("limit", query.limit)
            .send_as()
            .await
    }
}
