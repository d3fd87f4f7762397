//! A contact's notes: `client.contacts().notes(contact_id)`.

use hilo_types::notes::{CreateNote, Note, NoteResponse, NotesResponse, UpdateNote};

use crate::contacts::succeded;
use crate::paging::seg;
use crate::{Client, Error};

#[derive(Clone)]
pub struct Notes {
    client: Client,
    /// `/contacts/{contactId}/notes`
    base: String,
}

impl Notes {
    pub(crate) fn new(client: Client, base: String) -> Notes {
        Notes { client, base }
    }

    fn path(&self, note_id: &str) -> String {
        format!("{}/{}", self.base, seg(note_id))
    }

    pub async fn list(&self) -> Result<Vec<Note>, Error> {
        let response: NotesResponse = self.client.get(&self.base).send_as().await?;
        Ok(response.notes)
    }

    pub async fn create(&self, note: &CreateNote) -> Result<Note, Error> {
        let request = self.client.post(&self.base).json(note)?;
        Ok(request.send_as::<NoteResponse>().await?.note)
    }

    pub async fn get(&self, note_id: &str) -> Result<Note, Error> {
        let response: NoteResponse = self.client.get(&self.path(note_id)).send_as().await?;
        Ok(response.note)
    }

    pub async fn update(&self, note_id: &str, note: &UpdateNote) -> Result<Note, Error> {
        let request = self.client.put(&self.path(note_id)).json(note)?;
        Ok(request.send_as::<NoteResponse>().await?.note)
    }

    pub async fn delete(&self, note_id: &str) -> Result<(), Error> {
        succeded(self.client.delete(&self.path(note_id)).send_as().await?)
    }
}
