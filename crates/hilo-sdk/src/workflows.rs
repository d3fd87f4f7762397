//! Workflows (spec: `workflows.json`): `client.workflows()`. Enrolling a contact is on
//! [`Contacts`](crate::Contacts).

use hilo_types::workflows::{Workflow, WorkflowsResponse};

use crate::{Client, Error};

#[derive(Clone)]
pub struct Workflows {
    client: Client,
}

impl Client {
    pub fn workflows(&self) -> Workflows {
        Workflows {
            client: self.clone(),
        }
    }
}

impl Workflows {
    pub async fn list(&self, location_id: &str) -> Result<Vec<Workflow>, Error> {
        let response: WorkflowsResponse = self
            .client
            .get("/workflows/")
            .query("locationId", location_id)
            .send_as()
            .await?;
        Ok(response.workflows)
    }
}
