//! Businesses (spec: `businesses.json`): `client.businesses()`.

use futures::stream::BoxStream;
use hilo_types::businesses::{
    Business, BusinessResponse, BusinessWriteResponse, BusinessesResponse, CreateBusiness,
    SuccessResponse, UpdateBusiness,
};

use crate::contacts::Page;
use crate::paging::{pages, seg};
use crate::{Client, Error};

#[derive(Clone)]
pub struct Businesses {
    client: Client,
}

impl Client {
    pub fn businesses(&self) -> Businesses {
        Businesses {
            client: self.clone(),
        }
    }
}

impl Businesses {
    fn path(id: &str) -> String {
        format!("/businesses/{}", seg(id))
    }

    pub async fn create(&self, business: &CreateBusiness) -> Result<Business, Error> {
        let request = self.client.post("/businesses/").json(business)?;
        Ok(request.send_as::<BusinessWriteResponse>().await?.buiseness)
    }

    /// One page of the location's businesses.
    pub async fn list(&self, location_id: &str, page: Page) -> Result<Vec<Business>, Error> {
        let response: BusinessesResponse = self
            .client
            .get("/businesses/")
            .query("locationId", location_id)
            .query_opt("limit", page.limit)
            .query_opt("skip", page.skip)
            .send_as()
            .await?;
        Ok(response.businesses)
    }

    /// Every business of the location, `page_size` a request.
    pub fn list_all(
        &self,
        location_id: &str,
        page_size: u32,
    ) -> BoxStream<'static, Result<Business, Error>> {
        let businesses = self.clone();
        let location_id = location_id.to_owned();
        let limit = page_size.max(1);
        pages(0u32, move |skip: u32| {
            let (businesses, location_id) = (businesses.clone(), location_id.clone());
            async move {
                let page = Page {
                    limit: Some(limit),
                    skip: Some(skip),
                };
                let rows = businesses.list(&location_id, page).await?;
                let got = u32::try_from(rows.len()).unwrap_or(u32::MAX);
                Ok((rows, (got >= limit).then(|| skip.saturating_add(got))))
            }
        })
    }

    pub async fn get(&self, id: &str) -> Result<Business, Error> {
        let path = Businesses::path(id);
        let response: BusinessResponse = self.client.get(&path).send_as().await?;
        Ok(response.business)
    }

    pub async fn update(&self, id: &str, patch: &UpdateBusiness) -> Result<Business, Error> {
        let request = self.client.put(&Businesses::path(id)).json(patch)?;
        Ok(request.send_as::<BusinessWriteResponse>().await?.buiseness)
    }

    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        let response: SuccessResponse = self.client.delete(&Businesses::path(id)).send_as().await?;
        crate::error::confirmed(response.success, "success")
    }
}
