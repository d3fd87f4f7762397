//! Campaigns (spec: `campaigns.json`): `client.campaigns()`. Enrolling a contact is on
//! [`Contacts`](crate::Contacts).

use hilo_types::campaigns::{Campaign, CampaignsResponse};

use crate::{Client, Error};

#[derive(Clone)]
pub struct Campaigns {
    client: Client,
}

impl Client {
    pub fn campaigns(&self) -> Campaigns {
        Campaigns {
            client: self.clone(),
        }
    }
}

impl Campaigns {
    /// The location's campaigns, only those of `status` when given.
    pub async fn list(
        &self,
        location_id: &str,
        status: Option<&str>,
    ) -> Result<Vec<Campaign>, Error> {
        let response: CampaignsResponse = self
            .client
            .get("/campaigns/")
            .query("locationId", location_id)
            .query_opt("status", status)
            .send_as()
            .await?;
        Ok(response.campaigns)
    }
}
