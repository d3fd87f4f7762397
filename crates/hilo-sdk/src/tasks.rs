//! A contact's tasks: `client.contacts().tasks(contact_id)`.

use hilo_types::tasks::{
    CreateTask, Task, TaskResponse, TasksResponse, UpdateTask, UpdateTaskCompleted,
};

use crate::contacts::succeded;
use crate::paging::seg;
use crate::{Client, Error};

#[derive(Clone)]
pub struct Tasks {
    client: Client,
    /// `/contacts/{contactId}/tasks`
    base: String,
}

impl Tasks {
    pub(crate) fn new(client: Client, base: String) -> Tasks {
        Tasks { client, base }
    }

    fn path(&self, task_id: &str) -> String {
        format!("{}/{}", self.base, seg(task_id))
    }

    pub async fn list(&self) -> Result<Vec<Task>, Error> {
        let response: TasksResponse = self.client.get(&self.base).send_as().await?;
        Ok(response.tasks)
    }

    pub async fn create(&self, task: &CreateTask) -> Result<Task, Error> {
        let request = self.client.post(&self.base).json(task)?;
        Ok(request.send_as::<TaskResponse>().await?.task)
    }

    pub async fn get(&self, task_id: &str) -> Result<Task, Error> {
        let response: TaskResponse = self.client.get(&self.path(task_id)).send_as().await?;
        Ok(response.task)
    }

    pub async fn update(&self, task_id: &str, task: &UpdateTask) -> Result<Task, Error> {
        let request = self.client.put(&self.path(task_id)).json(task)?;
        Ok(request.send_as::<TaskResponse>().await?.task)
    }

    /// Marks the task completed or not.
    pub async fn complete(&self, task_id: &str, completed: bool) -> Result<Task, Error> {
        let path = format!("{}/completed", self.path(task_id));
        let request = self
            .client
            .put(&path)
            .json(&UpdateTaskCompleted { completed })?;
        Ok(request.send_as::<TaskResponse>().await?.task)
    }

    pub async fn delete(&self, task_id: &str) -> Result<(), Error> {
        succeded(self.client.delete(&self.path(task_id)).send_as().await?)
    }
}
