//! Contacts (spec: `contacts.json`): CRUD, upsert, search, duplicates, tags, followers,
//! businesses, campaigns, workflows and appointments. Tasks and notes are in their own modules.

use futures::stream::BoxStream;
use hilo_types::appointments::{Event, EventsResponse};
use hilo_types::bulk_tags::{BulkTagsBody, BulkTagsResponse};
use hilo_types::contacts::{
    BulkBusinessBody, BulkBusinessResponse, Contact, ContactListItem, ContactResponse,
    ContactsByBusinessResponse, ContactsListResponse, CreateContact, DuplicateContactResponse,
    SearchContact, SearchContactsResponse, SuccededResponse, TagsAddedResponse, TagsBody,
    TagsRemovedResponse, UpdateContact, UpdateContactResponse, UpsertContact,
    UpsertContactResponse,
};
use hilo_types::followers::{FollowersAddedResponse, FollowersBody, FollowersRemovedResponse};
use hilo_types::workflows::WorkflowEnrolment;
use serde_json::{json, Value};

use crate::notes::Notes;
use crate::paging::{pages, seg};
use crate::tasks::Tasks;
use crate::{Client, Error};

/// The contacts of the token's location: `client.contacts()`.
#[derive(Clone)]
pub struct Contacts {
    client: Client,
}

/// `GET /contacts/` parameters; only `location_id` is required.
#[derive(Debug, Clone, Default)]
pub struct ListContacts {
    pub location_id: String,
    pub query: Option<String>,
    /// Rows per page (1–100; the server's default is 20).
    pub limit: Option<u32>,
    pub start_after_id: Option<String>,
    pub start_after: Option<i64>,
}

impl ListContacts {
    pub fn new(location_id: impl Into<String>) -> ListContacts {
        ListContacts {
            location_id: location_id.into(),
            ..ListContacts::default()
        }
    }
}

/// What `GET /contacts/search/duplicate` matches on.
#[derive(Debug, Clone, Copy)]
pub enum DuplicateBy<'a> {
    Email(&'a str),
    Number(&'a str),
}

/// Which way `POST /contacts/bulk/tags/update/{type}` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkTagsOp {
    Add,
    Remove,
}

/// `limit` and `skip` of the lists that page by offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub limit: Option<u32>,
    pub skip: Option<u32>,
}

impl Client {
    pub fn contacts(&self) -> Contacts {
        Contacts {
            client: self.clone(),
        }
    }
}

/// `Ok` for `{"succeded": true}`.
pub(crate) fn succeded(response: SuccededResponse) -> Result<(), Error> {
    crate::error::confirmed(response.succeded, "succeded")
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

impl Contacts {
    fn path(id: &str) -> String {
        format!("/contacts/{}", seg(id))
    }

    pub async fn get(&self, id: &str) -> Result<Contact, Error> {
        let path = Contacts::path(id);
        let response: ContactResponse = self.client.get(&path).send_as().await?;
        Ok(response.contact)
    }

    pub async fn create(&self, contact: &CreateContact) -> Result<Contact, Error> {
        let request = self.client.post("/contacts/").json(contact)?;
        Ok(request.send_as::<ContactResponse>().await?.contact)
    }

    /// Changes the fields `patch` sets; `Patch::Null` clears one.
    pub async fn update(&self, id: &str, patch: &UpdateContact) -> Result<Contact, Error> {
        let request = self.client.put(&Contacts::path(id)).json(patch)?;
        Ok(request.send_as::<UpdateContactResponse>().await?.contact)
    }

    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        let path = Contacts::path(id);
        succeded(self.client.delete(&path).send_as().await?)
    }

    /// Updates the contact the location's duplicate rules match, or creates one.
    pub async fn upsert(&self, contact: &UpsertContact) -> Result<UpsertContactResponse, Error> {
        let request = self.client.post("/contacts/upsert").json(contact)?;
        request.send_as().await
    }

    /// One page of `POST /contacts/search` (`locationId` and `pageLimit` are required).
    pub async fn search(&self, body: &Value) -> Result<SearchContactsResponse, Error> {
        self.client
            .post("/contacts/search")
            .json(body)?
            .send_as()
            .await
    }

    /// Every match of `body`, page after page: `pageLimit` rows a page (100 unless set), each
    /// page after the `searchAfter` of the last row of the one before. `page` is dropped.
    pub fn search_all(&self, mut body: Value) -> BoxStream<'static, Result<SearchContact, Error>> {
        let client = self.client.clone();
        let limit = body.get("pageLimit").and_then(Value::as_u64).unwrap_or(100);
        if let Some(object) = body.as_object_mut() {
            object.remove("page");
            object.insert("pageLimit".into(), json!(limit));
        }
        pages(body, move |body: Value| {
            let client = client.clone();
            async move {
                let response: SearchContactsResponse = client
                    .post("/contacts/search")
                    .json(&body)?
                    .send_as()
                    .await?;
                let full = u64::try_from(response.contacts.len()).unwrap_or(u64::MAX) >= limit;
                let next = match response.contacts.last() {
                    Some(last) if full => {
                        let mut body = body;
                        body["searchAfter"] = Value::Array(last.search_after.clone());
                        Some(body)
                    }
                    _ => None,
                };
                Ok((response.contacts, next))
            }
        })
    }

    /// One page of `GET /contacts/` (deprecated by HighLevel in favour of search).
    pub async fn list(&self, query: &ListContacts) -> Result<ContactsListResponse, Error> {
        self.client
            .get("/contacts/")
            .query("locationId", &query.location_id)
            .query_opt("query", query.query.as_ref())
            .query_opt("limit", query.limit)
            .query_opt("startAfterId", query.start_after_id.as_ref())
            .query_opt("startAfter", query.start_after)
            .send_as()
            .await
    }

    /// Every contact `query` lists, following `meta.startAfterId` and `meta.startAfter`.
    pub fn list_all(
        &self,
        query: ListContacts,
    ) -> BoxStream<'static, Result<ContactListItem, Error>> {
        let contacts = self.clone();
        pages(query, move |query: ListContacts| {
            let contacts = contacts.clone();
            async move {
                let page = contacts.list(&query).await?;
                let next = match (page.meta.next_page, page.meta.start_after_id) {
                    (Some(_), Some(id)) => Some(ListContacts {
                        start_after_id: Some(id),
                        start_after: page.meta.start_after,
                        ..query
                    }),
                    _ => None,
                };
                Ok((page.contacts, next))
            }
        })
    }

    /// The contact a new one with this email or phone would duplicate, if any.
    pub async fn duplicate(
        &self,
        location_id: &str,
        by: DuplicateBy<'_>,
    ) -> Result<Option<Contact>, Error> {
        let (name, value) = match by {
            DuplicateBy::Email(email) => ("email", email),
            DuplicateBy::Number(number) => ("number", number),
        };
        let response: DuplicateContactResponse = self
            .client
            .get("/contacts/search/duplicate")
            .query("locationId", location_id)
            .query(name, value)
            .send_as()
            .await?;
        Ok(response.contact)
    }

    /// The contacts of a business.
    pub async fn by_business(
        &self,
        business_id: &str,
        location_id: &str,
        page: Page,
    ) -> Result<ContactsByBusinessResponse, Error> {
        self.client
            .get(&format!("/contacts/business/{}", seg(business_id)))
            .query("locationId", location_id)
            .query_opt("limit", page.limit)
            .query_opt("skip", page.skip)
            .send_as()
            .await
    }

    /// Attaches contacts to a business (`business_id: None` detaches them).
    pub async fn bulk_business(
        &self,
        body: &BulkBusinessBody,
    ) -> Result<BulkBusinessResponse, Error> {
        let request = self.client.post("/contacts/bulk/business").json(body)?;
        request.send_as().await
    }

    pub async fn add_tags(&self, id: &str, tags: &[&str]) -> Result<TagsAddedResponse, Error> {
        let path = format!("{}/tags", Contacts::path(id));
        let body = TagsBody { tags: owned(tags) };
        self.client.post(&path).json(&body)?.send_as().await
    }

    pub async fn remove_tags(&self, id: &str, tags: &[&str]) -> Result<TagsRemovedResponse, Error> {
        let path = format!("{}/tags", Contacts::path(id));
        let body = TagsBody { tags: owned(tags) };
        self.client.delete(&path).json(&body)?.send_as().await
    }

    /// Adds or removes tags on many contacts at once.
    pub async fn bulk_tags(
        &self,
        op: BulkTagsOp,
        body: &BulkTagsBody,
    ) -> Result<BulkTagsResponse, Error> {
        let kind = match op {
            BulkTagsOp::Add => "add",
            BulkTagsOp::Remove => "remove",
        };
        let path = format!("/contacts/bulk/tags/update/{kind}");
        self.client.post(&path).json(body)?.send_as().await
    }

    /// Adds followers (user ids).
    pub async fn add_followers(
        &self,
        id: &str,
        followers: &[&str],
    ) -> Result<FollowersAddedResponse, Error> {
        let path = format!("{}/followers", Contacts::path(id));
        let body = FollowersBody {
            followers: owned(followers),
        };
        self.client.post(&path).json(&body)?.send_as().await
    }

    pub async fn remove_followers(
        &self,
        id: &str,
        followers: &[&str],
    ) -> Result<FollowersRemovedResponse, Error> {
        let path = format!("{}/followers", Contacts::path(id));
        let body = FollowersBody {
            followers: owned(followers),
        };
        self.client.delete(&path).json(&body)?.send_as().await
    }

    pub async fn add_to_campaign(&self, id: &str, campaign_id: &str) -> Result<(), Error> {
        let path = format!("{}/campaigns/{}", Contacts::path(id), seg(campaign_id));
        succeded(self.client.post(&path).json(&json!({}))?.send_as().await?)
    }

    pub async fn remove_from_campaign(&self, id: &str, campaign_id: &str) -> Result<(), Error> {
        let path = format!("{}/campaigns/{}", Contacts::path(id), seg(campaign_id));
        succeded(self.client.delete(&path).send_as().await?)
    }

    pub async fn remove_from_all_campaigns(&self, id: &str) -> Result<(), Error> {
        let path = format!("{}/campaigns/removeAll", Contacts::path(id));
        succeded(self.client.delete(&path).send_as().await?)
    }

    pub async fn add_to_workflow(
        &self,
        id: &str,
        workflow_id: &str,
        enrolment: &WorkflowEnrolment,
    ) -> Result<(), Error> {
        let path = format!("{}/workflow/{}", Contacts::path(id), seg(workflow_id));
        succeded(self.client.post(&path).json(enrolment)?.send_as().await?)
    }

    pub async fn remove_from_workflow(
        &self,
        id: &str,
        workflow_id: &str,
        enrolment: &WorkflowEnrolment,
    ) -> Result<(), Error> {
        let path = format!("{}/workflow/{}", Contacts::path(id), seg(workflow_id));
        succeded(self.client.delete(&path).json(enrolment)?.send_as().await?)
    }

    /// The contact's appointments.
    pub async fn appointments(&self, id: &str) -> Result<Vec<Event>, Error> {
        let path = format!("{}/appointments", Contacts::path(id));
        let response: EventsResponse = self.client.get(&path).send_as().await?;
        Ok(response.events)
    }

    /// The tasks of contact `id`.
    pub fn tasks(&self, id: &str) -> Tasks {
        Tasks::new(self.client.clone(), format!("{}/tasks", Contacts::path(id)))
    }

    /// The notes of contact `id`.
    pub fn notes(&self, id: &str) -> Notes {
        Notes::new(self.client.clone(), format!("{}/notes", Contacts::path(id)))
    }
}
