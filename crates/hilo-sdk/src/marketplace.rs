//! The installation operations of `marketplace.json`: `client.marketplace()`.

use hilo_types::marketplace::{
    InstallerDetails, InstallerDetailsResponse, UninstallRequest, UninstallResponse,
};

use crate::paging::seg;
use crate::{Client, Error};

#[derive(Clone)]
pub struct Marketplace {
    client: Client,
}

impl Client {
    pub fn marketplace(&self) -> Marketplace {
        Marketplace {
            client: self.clone(),
        }
    }
}

impl Marketplace {
    fn path(app_id: &str) -> String {
        format!("/marketplace/app/{}/installations", seg(app_id))
    }

    /// Uninstalls the app (the token's own, or any with an agency private token), revoking what
    /// the installation granted.
    pub async fn uninstall(&self, app_id: &str, request: &UninstallRequest) -> Result<(), Error> {
        let request = self
            .client
            .delete(&Marketplace::path(app_id))
            .json(request)?;
        let response: UninstallResponse = request.send_as().await?;
        crate::error::confirmed(response.success, "success")
    }

    /// Who installed the app where the token belongs.
    pub async fn installer_details(&self, app_id: &str) -> Result<InstallerDetails, Error> {
        let path = Marketplace::path(app_id);
        let response: InstallerDetailsResponse = self.client.get(&path).send_as().await?;
        Ok(response.installation_details)
    }
}
