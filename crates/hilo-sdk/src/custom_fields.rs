//! A location's custom field definitions (spec: `locations.json`):
//! `client.custom_fields(location_id)`.

use hilo_types::custom_fields::{
    CreateCustomField, CustomField, CustomFieldResponse, CustomFieldsResponse, UpdateCustomField,
};

use crate::contacts::succeded;
use crate::paging::seg;
use crate::{Client, Error};

#[derive(Clone)]
pub struct CustomFields {
    client: Client,
    /// `/locations/{locationId}/customFields`
    base: String,
}

impl Client {
    pub fn custom_fields(&self, location_id: &str) -> CustomFields {
        CustomFields {
            client: self.clone(),
            base: format!("/locations/{}/customFields", seg(location_id)),
        }
    }
}

impl CustomFields {
    fn path(&self, id: &str) -> String {
        format!("{}/{}", self.base, seg(id))
    }

    /// The definitions of `model` (`contact`, `opportunity` or `all`; the server's default is
    /// `contact`).
    pub async fn list(&self, model: Option<&str>) -> Result<Vec<CustomField>, Error> {
        let request = self.client.get(&self.base).query_opt("model", model);
        Ok(request
            .send_as::<CustomFieldsResponse>()
            .await?
            .custom_fields)
    }

    pub async fn create(&self, field: &CreateCustomField) -> Result<CustomField, Error> {
        let request = self.client.post(&self.base).json(field)?;
        Ok(request.send_as::<CustomFieldResponse>().await?.custom_field)
    }

    pub async fn get(&self, id: &str) -> Result<CustomField, Error> {
        let request = self.client.get(&self.path(id));
        Ok(request.send_as::<CustomFieldResponse>().await?.custom_field)
    }

    pub async fn update(&self, id: &str, field: &UpdateCustomField) -> Result<CustomField, Error> {
        let request = self.client.put(&self.path(id)).json(field)?;
        Ok(request.send_as::<CustomFieldResponse>().await?.custom_field)
    }

    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        succeded(self.client.delete(&self.path(id)).send_as().await?)
    }
}
