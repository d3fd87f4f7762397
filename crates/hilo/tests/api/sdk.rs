//! The Rust SDK (`hilo-sdk`) against a running hilo: every typed method with its answer
//! compared to what the server sent, streams over several pages, OAuth refresh under
//! concurrency, 429s and injected 5xx retried, errors surfaced, and webhook signatures
//! verified on a real delivery.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use hilo_sdk::types::bulk_tags::BulkTagsBody;
use hilo_sdk::types::businesses::{CreateBusiness, UpdateBusiness};
use hilo_sdk::types::contacts::{BulkBusinessBody, CreateContact, UpdateContact, UpsertContact};
use hilo_sdk::types::custom_fields::{CreateCustomField, UpdateCustomField};
use hilo_sdk::types::marketplace::UninstallRequest;
use hilo_sdk::types::notes::{CreateNote, UpdateNote};
use hilo_sdk::types::tasks::{CreateTask, UpdateTask};
use hilo_sdk::types::workflows::WorkflowEnrolment;
use hilo_sdk::types::Patch;
use hilo_sdk::{
    BulkTagsOp, Client, DuplicateBy, Error, InstalledLocationsQuery, ListContacts, OAuthApp,
    OAuthTokens, Page, RetryPolicy, UserType,
};
use hilo_server::api::{campaigns, workflows};
use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::users;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use crate::harness::TestServer;
use crate::{on_both, on_each_backend};

/// Quick retries, so that tests that retry stay fast.
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
    }
}

fn sdk(s: &TestServer) -> Client {
    sdk_with(s, &s.token, quick())
}

fn sdk_with(s: &TestServer, token: &str, retry: RetryPolicy) -> Client {
    Client::builder(&s.base)
        .private_token(token)
        .retry(retry)
        .build()
        .unwrap()
}

/// A typed answer as JSON, beside the server's own answer without its `traceId`: equal when
/// the SDK decoded every field the server sent.
fn assert_same(typed: &impl Serialize, raw: &Value) {
    let mut raw = raw.clone();
    if let Some(object) = raw.as_object_mut() {
        object.remove("traceId");
    }
    assert_eq!(serde_json::to_value(typed).unwrap(), raw);
}

fn api_error(result: Result<impl std::fmt::Debug, Error>) -> hilo_sdk::ApiError {
    match result {
        Err(Error::Api(error)) => *error,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn new_contact(s: &TestServer, first: &str, email: &str) -> CreateContact {
    CreateContact {
        location_id: s.loc().to_owned(),
        first_name: Some(first.to_owned()),
        email: Some(email.to_owned()),
        ..CreateContact::default()
    }
}

on_both! {
    async fn contacts_crud_upsert_duplicates_and_search(s) {
        let c = sdk(s).contacts();
        let created = c
            .create(&CreateContact {
                last_name: Some("Lovelace".into()),
                tags: Some(vec!["vip".into()]),
                city: Some("Paris".into()),
                ..new_contact(s, "Ada", "Ada@Example.com")
            })
            .await
            .unwrap();
        assert_eq!(created.first_name.as_deref(), Some("Ada"));
        assert_eq!(created.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(created.email.as_deref(), Some("Ada@Example.com"));
        assert_eq!(created.email_lower_case.as_deref(), Some("ada@example.com"));
        assert_eq!(created.city.as_deref(), Some("Paris"));
        assert_eq!(created.tags, ["vip"]);
        assert_eq!(created.location_id, s.loc());
        let (_, raw) = s.get(&format!("/contacts/{}", created.id)).await;
        let got = c.get(&created.id).await.unwrap();
        assert_same(&got, &raw["contact"]);
        assert_eq!(got.id, created.id);

        // Patch: a value sets, null clears, absent leaves alone.
        let updated = c
            .update(&created.id, &UpdateContact {
                first_name: Patch::Value("Augusta".into()),
                city: Patch::Null,
                ..UpdateContact::default()
            })
            .await
            .unwrap();
        assert_eq!(updated.first_name.as_deref(), Some("Augusta"));
        assert_eq!(updated.city, None);
        assert_eq!(updated.last_name.as_deref(), Some("Lovelace"));
        let (_, raw) = s.get(&format!("/contacts/{}", created.id)).await;
        assert_same(&updated, &raw["contact"]);

        let found = c.duplicate(s.loc(), DuplicateBy::Email("ada@example.com")).await.unwrap();
        assert_eq!(found.map(|f| f.id), Some(created.id.clone()));
        assert_eq!(c.duplicate(s.loc(), DuplicateBy::Number("+14155550199")).await.unwrap(), None);

        let same = c
            .upsert(&UpsertContact { contact: new_contact(s, "Ada", "ada@example.com"), ..UpsertContact::default() })
            .await
            .unwrap();
        assert!(!same.new && same.succeded);
        assert_eq!(same.contact.id, created.id);
        assert_eq!(same.contact.first_name.as_deref(), Some("Ada"));
        let fresh = c
            .upsert(&UpsertContact { contact: new_contact(s, "Grace", "grace@example.com"), ..UpsertContact::default() })
            .await
            .unwrap();
        assert!(fresh.new);
        assert_ne!(fresh.contact.id, created.id);
        assert_eq!(fresh.contact.email.as_deref(), Some("grace@example.com"));

        let body = json!({"locationId": s.loc(), "pageLimit": 10});
        let found = c.search(&body).await.unwrap();
        let (_, raw) = s.post("/contacts/search", body).await;
        assert_same(&found, &raw);
        assert_eq!(found.total, 2);
        let ids: BTreeSet<_> = found.contacts.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, BTreeSet::from([created.id.clone(), fresh.contact.id.clone()]));

        let listed = c.list(&ListContacts { limit: Some(10), ..ListContacts::new(s.loc()) }).await.unwrap();
        let (_, raw) = s.get(&format!("/contacts/?locationId={}&limit=10", s.loc())).await;
        assert_same(&listed, &raw);
        assert_eq!(listed.count, 2);

        c.delete(&fresh.contact.id).await.unwrap();
        let gone = api_error(c.get(&fresh.contact.id).await);
        assert_eq!(gone.status, 400);
        let (_, raw) = s.get(&format!("/contacts/{}", fresh.contact.id)).await;
        assert_eq!(gone.message, raw["message"].as_str().unwrap());
    }

    async fn tasks_notes_tags_followers_and_appointments(s) {
        let c = sdk(s).contacts();
        let contact = c.create(&new_contact(s, "Busy", "busy@example.com")).await.unwrap().id;
        let other = c.create(&new_contact(s, "Other", "other@example.com")).await.unwrap().id;

        let tasks = c.tasks(&contact);
        let task = tasks
            .create(&CreateTask { title: "Call".into(), body: Some("soon".into()), due_date: "2030-01-02T03:04:05Z".into(), completed: false, assigned_to: None })
            .await
            .unwrap();
        assert_eq!((task.title.as_str(), task.body.as_deref(), task.due_date.as_str(), task.completed), ("Call", Some("soon"), "2030-01-02T03:04:05.000Z", false));
        assert_eq!(task.contact_id, contact);
        assert_eq!(tasks.get(&task.id).await.unwrap(), task);
        let renamed = tasks.update(&task.id, &UpdateTask { title: Some("Call back".into()), ..UpdateTask::default() }).await.unwrap();
        assert_eq!((renamed.title.as_str(), renamed.body.as_deref()), ("Call back", Some("soon")));
        let done = tasks.complete(&task.id, true).await.unwrap();
        assert!(done.completed);
        let (_, raw) = s.get(&format!("/contacts/{contact}/tasks")).await;
        let listed = tasks.list().await.unwrap();
        assert_same(&listed, &raw["tasks"]);
        assert_eq!(listed, std::slice::from_ref(&done));
        tasks.delete(&task.id).await.unwrap();
        assert_eq!(tasks.list().await.unwrap(), []);
        assert_eq!(api_error(tasks.get(&task.id).await).status, 400);

        let notes = c.notes(&contact);
        let note = notes
            .create(&CreateNote { body: "hello".into(), user_id: Some("u1".into()), title: None, color: None, pinned: None })
            .await
            .unwrap();
        assert_eq!((note.body.as_str(), note.user_id.as_deref(), note.contact_id.as_str()), ("hello", Some("u1"), contact.as_str()));
        assert_eq!(notes.get(&note.id).await.unwrap(), note);
        let edited = notes.update(&note.id, &UpdateNote { body: Some("bye".into()), ..UpdateNote::default() }).await.unwrap();
        assert_eq!(edited.body, "bye");
        assert_eq!(edited.id, note.id);
        let (_, raw) = s.get(&format!("/contacts/{contact}/notes")).await;
        let listed = notes.list().await.unwrap();
        assert_same(&listed, &raw["notes"]);
        assert_eq!(listed, [edited]);
        notes.delete(&note.id).await.unwrap();
        assert_eq!(notes.list().await.unwrap(), []);

        let added = c.add_tags(&contact, &["vip", "new"]).await.unwrap();
        assert_eq!(added.tags_added, ["vip", "new"]);
        assert_eq!(BTreeSet::from_iter(added.tags), BTreeSet::from(["new".to_owned(), "vip".to_owned()]));
        let removed = c.remove_tags(&contact, &["new"]).await.unwrap();
        assert_eq!((removed.tags, removed.tags_removed), (vec!["vip".to_owned()], vec!["new".to_owned()]));
        let body = |tags: &[&str]| BulkTagsBody { contacts: vec![contact.clone(), other.clone()], tags: tags.iter().map(|t| t.to_string()).collect(), location_id: s.loc().to_owned(), remove_all_tags: None };
        let bulk = c.bulk_tags(BulkTagsOp::Add, &body(&["bulk"])).await.unwrap();
        assert!(bulk.succeded);
        assert_eq!(bulk.error_count, 0);
        assert_eq!(bulk.responses.iter().map(|r| r.contact_id.clone()).collect::<Vec<_>>(), [contact.clone(), other.clone()]);
        assert_eq!(bulk.responses[0].tags_added, Some(vec!["bulk".to_owned()]));
        assert_eq!(c.get(&other).await.unwrap().tags, ["bulk"]);
        let bulk = c.bulk_tags(BulkTagsOp::Remove, &body(&["bulk"])).await.unwrap();
        assert_eq!(bulk.responses[1].tags_removed, Some(vec!["bulk".to_owned()]));
        assert_eq!(c.get(&other).await.unwrap().tags, Vec::<String>::new());
        assert_eq!(c.get(&contact).await.unwrap().tags, ["vip"]);

        let u1 = users::create_location_user(&s.db, s.loc(), "one@example.com", Some("One")).await.unwrap().id;
        let u2 = users::create_location_user(&s.db, s.loc(), "two@example.com", None).await.unwrap().id;
        let added = c.add_followers(&contact, &[&u1, &u2]).await.unwrap();
        assert_eq!((added.followers.clone(), added.followers_added), (vec![u1.clone(), u2.clone()], vec![u1.clone(), u2.clone()]));
        let removed = c.remove_followers(&contact, &[&u1]).await.unwrap();
        assert_eq!((removed.followers, removed.followers_removed), (vec![u2.clone()], vec![u1.clone()]));
        assert_eq!(c.get(&contact).await.unwrap().followers, [u2]);

        assert_eq!(c.appointments(&contact).await.unwrap(), []);
        assert_eq!(api_error(c.appointments("NoSuchContact0000000").await).status, 400);
    }

    async fn campaigns_workflows_and_enrolment(s) {
        let client = sdk(s);
        let c = client.contacts();
        let contact = c.create(&new_contact(s, "Enrolled", "enrolled@example.com")).await.unwrap().id;
        let welcome = campaigns::create_campaign(&s.db, s.loc(), "Welcome", "published").await.unwrap();
        let drip = campaigns::create_campaign(&s.db, s.loc(), "Drip", "draft").await.unwrap();
        campaigns::create_campaign(&s.db, &s.other_location.id, "Theirs", "published").await.unwrap();
        let listed = client.campaigns().list(s.loc(), None).await.unwrap();
        let (_, raw) = s.get(&format!("/campaigns/?locationId={}", s.loc())).await;
        assert_same(&listed, &raw["campaigns"]);
        assert_eq!(BTreeSet::from_iter(listed.iter().map(|c| c.name.clone())), BTreeSet::from(["Drip".to_owned(), "Welcome".to_owned()]));
        let drafts = client.campaigns().list(s.loc(), Some("draft")).await.unwrap();
        assert_eq!(drafts, std::slice::from_ref(&drip));

        let enrolled = |table: &'static str, column: &'static str| {
            let (db, contact) = (s.db.clone(), contact.clone());
            async move {
                sqlx::query_scalar::<_, String>(&format!("SELECT {column} FROM {table} WHERE contact_id = $1 ORDER BY {column}"))
                    .bind(contact)
                    .fetch_all(db.read())
                    .await
                    .unwrap()
            }
        };
        c.add_to_campaign(&contact, &welcome.id).await.unwrap();
        c.add_to_campaign(&contact, &drip.id).await.unwrap();
        let mut both = vec![welcome.id.clone(), drip.id.clone()];
        both.sort();
        assert_eq!(enrolled("contact_campaigns", "campaign_id").await, both);
        c.remove_from_campaign(&contact, &welcome.id).await.unwrap();
        assert_eq!(enrolled("contact_campaigns", "campaign_id").await, std::slice::from_ref(&drip.id));
        c.remove_from_all_campaigns(&contact).await.unwrap();
        assert_eq!(enrolled("contact_campaigns", "campaign_id").await, Vec::<String>::new());

        let first = workflows::create_workflow(&s.db, s.loc(), "First", "draft").await.unwrap();
        let listed = client.workflows().list(s.loc()).await.unwrap();
        let (_, raw) = s.get(&format!("/workflows/?locationId={}", s.loc())).await;
        assert_same(&listed, &raw["workflows"]);
        assert_eq!(listed, std::slice::from_ref(&first));
        let at = WorkflowEnrolment { event_start_time: Some("2030-06-23T03:30:00+01:00".into()) };
        c.add_to_workflow(&contact, &first.id, &at).await.unwrap();
        assert_eq!(enrolled("contact_workflows", "workflow_id").await, std::slice::from_ref(&first.id));
        c.remove_from_workflow(&contact, &first.id, &WorkflowEnrolment::default()).await.unwrap();
        assert_eq!(enrolled("contact_workflows", "workflow_id").await, Vec::<String>::new());
        let unknown = api_error(c.add_to_campaign(&contact, "NoSuchCampaign000000").await);
        assert!(unknown.status >= 400 && unknown.status < 500, "{unknown:?}");
    }

    async fn businesses_and_contacts_by_business(s) {
        let client = sdk(s);
        let b = client.businesses();
        let created = b
            .create(&CreateBusiness { name: "Acme".into(), location_id: s.loc().to_owned(), phone: None, email: Some("hi@acme.test".into()), website: None, address: None, city: Some("Paris".into()), postal_code: None, state: None, country: None, description: Some("d".into()) })
            .await
            .unwrap();
        assert_eq!((created.name.as_str(), created.email.as_deref(), created.city.as_deref(), created.description.as_deref()), ("Acme", Some("hi@acme.test"), Some("Paris"), Some("d")));
        assert_eq!(created.location_id, s.loc());
        let (_, raw) = s.get(&format!("/businesses/{}", created.id)).await;
        let got = b.get(&created.id).await.unwrap();
        assert_same(&got, &raw["business"]);
        let updated = b
            .update(&created.id, &UpdateBusiness { name: Some("Acme Ltd".into()), city: Patch::Null, ..UpdateBusiness::default() })
            .await
            .unwrap();
        assert_eq!((updated.name.as_str(), updated.city.as_deref(), updated.email.as_deref()), ("Acme Ltd", None, Some("hi@acme.test")));
        let listed = b.list(s.loc(), Page::default()).await.unwrap();
        let (_, raw) = s.get(&format!("/businesses/?locationId={}", s.loc())).await;
        assert_same(&listed, &raw["businesses"]);
        assert_eq!(listed, std::slice::from_ref(&updated));

        let c = client.contacts();
        let a = c.create(&new_contact(s, "A", "a@example.com")).await.unwrap().id;
        let z = c.create(&new_contact(s, "Z", "z@example.com")).await.unwrap().id;
        let attached = c
            .bulk_business(&BulkBusinessBody { location_id: s.loc().to_owned(), ids: vec![a.clone(), z.clone()], business_id: Some(created.id.clone()) })
            .await
            .unwrap();
        assert!(attached.success);
        assert_eq!(attached.ids, [a.clone(), z.clone()]);
        assert_eq!(c.get(&a).await.unwrap().business_id, Some(created.id.clone()));
        let members = c.by_business(&created.id, s.loc(), Page::default()).await.unwrap();
        let (_, raw) = s.get(&format!("/contacts/business/{}?locationId={}", created.id, s.loc())).await;
        assert_same(&members, &raw);
        assert_eq!(members.count, 2);
        assert_eq!(BTreeSet::from_iter(members.contacts.iter().map(|m| m.id.clone())), BTreeSet::from([a.clone(), z.clone()]));
        let one = c.by_business(&created.id, s.loc(), Page { limit: Some(1), skip: Some(1) }).await.unwrap();
        assert_eq!(one.contacts.len(), 1);
        let detached = c
            .bulk_business(&BulkBusinessBody { location_id: s.loc().to_owned(), ids: vec![z.clone()], business_id: None })
            .await
            .unwrap();
        assert_eq!(detached.ids, std::slice::from_ref(&z));
        assert_eq!(c.get(&z).await.unwrap().business_id, None);

        b.delete(&created.id).await.unwrap();
        let gone = api_error(b.get(&created.id).await);
        assert!((400..500).contains(&gone.status), "{gone:?}");
        assert_eq!(b.list(s.loc(), Page::default()).await.unwrap(), []);
    }

    async fn custom_field_definitions(s) {
        let fields = sdk(s).custom_fields(s.loc());
        let created = fields
            .create(&CreateCustomField { name: "T-Shirt Size".into(), data_type: "SINGLE_OPTIONS".into(), options: Some(vec!["S".into(), "M".into()]), placeholder: Some("pick".into()), ..CreateCustomField::default() })
            .await
            .unwrap();
        assert_eq!((created.name.as_str(), created.data_type.as_str(), created.model.as_str()), ("T-Shirt Size", "SINGLE_OPTIONS", "contact"));
        assert_eq!(created.picklist_options, ["S", "M"]);
        assert_eq!(created.placeholder.as_deref(), Some("pick"));
        assert!(created.field_key.starts_with("contact."), "{}", created.field_key);
        let path = format!("/locations/{}/customFields/{}", s.loc(), created.id);
        let (_, raw) = s.get(&path).await;
        let got = fields.get(&created.id).await.unwrap();
        assert_same(&got, &raw["customField"]);
        let updated = fields
            .update(&created.id, &UpdateCustomField { name: "Size".into(), placeholder: Patch::Null, options: Some(vec!["S".into(), "M".into(), "L".into()]), ..UpdateCustomField::default() })
            .await
            .unwrap();
        assert_eq!((updated.name.as_str(), updated.placeholder.as_deref()), ("Size", None));
        assert_eq!(updated.picklist_options, ["S", "M", "L"]);
        assert_eq!(updated.field_key, created.field_key);
        let listed = fields.list(None).await.unwrap();
        let (_, raw) = s.get(&format!("/locations/{}/customFields", s.loc())).await;
        assert_same(&listed, &raw["customFields"]);
        assert_eq!(listed, std::slice::from_ref(&updated));
        assert_eq!(fields.list(Some("opportunity")).await.unwrap(), []);
        fields.delete(&created.id).await.unwrap();
        assert_eq!(fields.list(None).await.unwrap(), []);
        assert!(fields.get(&created.id).await.is_err());
    }

    async fn streams_cover_every_page_once(s) {
        let client = sdk(s);
        let c = client.contacts();
        let mut ids = BTreeSet::new();
        for i in 0..7 {
            ids.insert(c.create(&new_contact(s, &format!("Paged{i}"), &format!("paged{i}@example.com"))).await.unwrap().id);
        }
        // Another location's contacts stay out.
        s.send(s.request_as(&s.other_token, Method::POST, "/contacts/").json(&json!({"locationId": s.other_location.id, "firstName": "Theirs"}))).await;

        // 7 rows, 3 a page: three pages.
        let rows: Vec<_> = c.search_all(json!({"locationId": s.loc(), "pageLimit": 3})).try_collect().await.unwrap();
        let got: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(BTreeSet::from_iter(got.clone()), ids);
        // In the order of one big page.
        let one = c.search(&json!({"locationId": s.loc(), "pageLimit": 100})).await.unwrap();
        assert_eq!(got, one.contacts.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
        // A filter carries over to every page.
        let vip: Vec<_> = c.search_all(json!({"locationId": s.loc(), "pageLimit": 2, "query": "paged1"})).try_collect().await.unwrap();
        assert_eq!(vip.len(), 1);

        let listed: Vec<_> = c.list_all(ListContacts { limit: Some(3), ..ListContacts::new(s.loc()) }).try_collect().await.unwrap();
        let got: Vec<String> = listed.iter().map(|r| r.id.clone()).collect();
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(BTreeSet::from_iter(got.clone()), ids);
        let one = c.list(&ListContacts { limit: Some(100), ..ListContacts::new(s.loc()) }).await.unwrap();
        assert_eq!(got, one.contacts.iter().map(|r| r.id.clone()).collect::<Vec<_>>());

        let b = client.businesses();
        let mut names = Vec::new();
        for i in 0..7 {
            let business = CreateBusiness { name: format!("Biz {i}"), location_id: s.loc().to_owned(), phone: None, email: None, website: None, address: None, city: None, postal_code: None, state: None, country: None, description: None };
            names.push(b.create(&business).await.unwrap().id);
        }
        let all: Vec<_> = b.list_all(s.loc(), 3).try_collect().await.unwrap();
        let got: Vec<String> = all.iter().map(|b| b.id.clone()).collect();
        assert_eq!(got, b.list(s.loc(), Page { limit: Some(100), skip: None }).await.unwrap().iter().map(|b| b.id.clone()).collect::<Vec<_>>());
        assert_eq!(BTreeSet::from_iter(got), BTreeSet::from_iter(names));

        // A refused page ends the stream with the error.
        let bad: Result<Vec<_>, _> = c.search_all(json!({"pageLimit": 3})).try_collect().await;
        assert_eq!(api_error(bad).status, 422);
    }

    async fn errors_carry_status_message_and_trace_id(s) {
        let client = sdk(s);
        let missing = "NoSuchContact0000000";
        let error = api_error(client.contacts().get(missing).await);
        let (status, raw) = s.get(&format!("/contacts/{missing}")).await;
        assert_eq!(error.status, status.as_u16());
        assert_eq!(error.message, raw["message"].as_str().unwrap());
        assert_eq!(error.body, raw);
        // hilo, like HighLevel, puts no traceId in error bodies.
        assert_eq!(error.trace_id, None);
        assert_eq!(error.body["statusCode"], 400);

        // A 422 keeps each message.
        let bad = CreateTask { title: String::new(), body: None, due_date: "tomorrow".into(), completed: false, assigned_to: None };
        let contact = client.contacts().create(&new_contact(s, "E", "e@example.com")).await.unwrap().id;
        let error = api_error(client.contacts().tasks(&contact).create(&bad).await);
        assert_eq!(error.status, 422);
        assert_eq!(error.messages, ["title should not be empty", "dueDate must be a valid ISO 8601 date string"]);
        assert_eq!(error.message, error.messages.join("; "));

        // A revoked token: 401 with HighLevel's words; not retried, not refreshed.
        let error = api_error(sdk_with(s, &s.revoked_token, quick()).contacts().get(&contact).await);
        assert_eq!(error.status, 401);
        assert!(!error.message.is_empty());

        // An error body that has a traceId (a stub answering as HighLevel may).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stub = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(|| async {
            (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({"statusCode": 404, "message": "Not found", "traceId": "7e1c-trace"})))
        });
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        let stubbed = Client::builder(&stub).private_token("pit-x").retry(RetryPolicy::none()).build().unwrap();
        let error = api_error(stubbed.contacts().get("abc").await);
        assert_eq!((error.status, error.message.as_str(), error.trace_id.as_deref()), (404, "Not found", Some("7e1c-trace")));
    }

    async fn oauth_location_token_and_installed_locations(s) {
        let app = crate::oauth::app(s, "contacts.readonly oauth.readonly oauth.write", Distribution::Agency).await;
        let company_id = s.location.company_id.clone();
        let code = crate::oauth::authorize(s, &app, InstallTarget::Agency { company_id: company_id.clone(), locations: vec![s.loc().to_owned()] }).await;
        let tokens = crate::oauth::exchange(s, &app, &code, "Company").await;
        let agency = sdk_with(s, tokens["access_token"].as_str().unwrap(), quick());

        let location = agency.oauth().location_token(&company_id, s.loc()).await.unwrap();
        assert_eq!(location.token_type, "Bearer");
        // As HighLevel answers it: no userType or companyId, the location's id.
        assert_eq!((location.user_type.as_deref(), location.company_id.as_deref()), (None, None));
        assert_eq!(location.location_id.as_deref(), Some(s.loc()));
        assert_eq!(location.scope.as_deref(), Some("contacts.readonly oauth.readonly oauth.write"));
        assert!(location.expires_in > 0);
        // The location token works for Sub-Account calls.
        let contact = s.contact(json!({"firstName": "Agency"})).await;
        let as_location = sdk_with(s, &location.access_token, quick());
        assert_eq!(as_location.contacts().get(&contact).await.unwrap().first_name.as_deref(), Some("Agency"));

        let query = InstalledLocationsQuery { company_id: company_id.clone(), app_id: app.id.clone(), ..InstalledLocationsQuery::default() };
        let listed = agency.oauth().installed_locations(&query).await.unwrap();
        let (_, raw) = s.send(s.client.get(format!("{}/oauth/installedLocations?companyId={company_id}&appId={}", s.base, app.id)).bearer_auth(tokens["access_token"].as_str().unwrap()).header("Version", "2021-07-28")).await;
        assert_same(&listed, &raw);
        assert_eq!(listed.count, 2);
        let main = listed.locations.iter().find(|l| l.id == s.loc()).unwrap();
        assert!(main.is_installed);
        assert_eq!(main.name, "Main");
        let not_installed = agency.oauth().installed_locations(&InstalledLocationsQuery { is_installed: Some(false), ..query }).await.unwrap();
        assert_eq!(not_installed.locations.iter().map(|l| l.id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&s.other_location.id));
    }

    async fn marketplace_installer_details_and_uninstall(s) {
        let app = crate::oauth::app(s, "contacts.readonly oauth.write marketplace-installer-details.readonly", Distribution::Location).await;
        let code = crate::oauth::authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = crate::oauth::exchange(s, &app, &code, "Location").await;
        let token = tokens["access_token"].as_str().unwrap();
        let client = sdk_with(s, token, quick());
        let contact = s.contact(json!({"firstName": "Installed"})).await;

        let details = client.marketplace().installer_details(&app.id).await.unwrap();
        let (_, raw) = s.send(s.client.get(format!("{}/marketplace/app/{}/installations", s.base, app.id)).bearer_auth(token).header("Version", "2021-07-28")).await;
        assert_same(&details, &raw["installationDetails"]);
        assert_eq!(details.company_id, s.location.company_id);
        assert_eq!(details.location_id.as_deref(), Some(s.loc()));
        assert!(!details.is_whitelabel_company);
        assert_eq!(api_error(client.marketplace().installer_details("another-app").await).status, 403);

        // A location token names its own location; the uninstall revokes the token at once.
        let wrong = UninstallRequest { location_id: Some(s.other_location.id.clone()), ..UninstallRequest::default() };
        assert_eq!(api_error(client.marketplace().uninstall(&app.id, &wrong).await).status, 403);
        client.contacts().get(&contact).await.unwrap();
        let own = UninstallRequest { location_id: Some(s.loc().to_owned()), reason: Some("done testing".into()), ..UninstallRequest::default() };
        client.marketplace().uninstall(&app.id, &own).await.unwrap();
        assert_eq!(api_error(client.contacts().get(&contact).await).status, 401);
    }

    async fn concurrent_calls_with_an_expired_token_refresh_once(s) {
        let app = crate::oauth::app(s, "contacts.readonly contacts.write", Distribution::Location).await;
        let code = crate::oauth::authorize(s, &app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = crate::oauth::exchange(s, &app, &code, "Location").await;
        let contact = s.contact(json!({"firstName": "Shared"})).await;
        let rotated: Arc<Mutex<Vec<OAuthTokens>>> = Arc::default();
        let sink = rotated.clone();
        let oauth_app = OAuthApp { client_id: app.client_id.clone(), client_secret: app.client_secret.clone() };
        let client = |access: &str, expires_at: u64, refresh: &str| {
            let sink = sink.clone();
            Client::builder(&s.base)
                .oauth(oauth_app.clone(), OAuthTokens {
                    access_token: access.to_owned(),
                    refresh_token: refresh.to_owned(),
                    expires_at,
                    user_type: Some(UserType::Location),
                    scope: None,
                    location_id: Some(s.loc().to_owned()),
                    company_id: None,
                })
                .on_tokens_rotated(move |t: &OAuthTokens| sink.lock().unwrap().push(t.clone()))
                .retry(quick())
                .build()
                .unwrap()
        };
        let calls = |client: Client| {
            let contact = contact.clone();
            async move {
                let handles: Vec<_> = (0..16)
                    .map(|_| {
                        let (client, contact) = (client.clone(), contact.clone());
                        tokio::spawn(async move { client.contacts().get(&contact).await })
                    })
                    .collect();
                for handle in handles {
                    assert_eq!(handle.await.unwrap().unwrap().id, contact);
                }
            }
        };

        // Known to be expired (expires_at in the past): one refresh before the calls go out.
        let first = client(tokens["access_token"].as_str().unwrap(), 1, tokens["refresh_token"].as_str().unwrap());
        calls(first.clone()).await;
        let after_first = rotated.lock().unwrap().clone();
        assert_eq!(after_first.len(), 1, "one refresh for 16 concurrent calls");
        let now = first.oauth_tokens().await.unwrap();
        assert_eq!(now, after_first[0]);
        assert_ne!(now.refresh_token, tokens["refresh_token"].as_str().unwrap(), "the refresh token rotated");
        assert!(now.expires_at > 1);

        // Rejected by the server (a token it no longer takes, believed fresh): every call sees
        // a 401, and still only one refresh happens.
        let second = client("not-a-live-token", u64::MAX / 2, &now.refresh_token);
        calls(second.clone()).await;
        let all = rotated.lock().unwrap().clone();
        assert_eq!(all.len(), 2, "one more refresh after the 401s");
        assert_eq!(second.oauth_tokens().await.unwrap(), all[1]);
        // The old refresh token is spent: a client still holding it cannot refresh.
        let stale = client("not-a-live-token", 1, tokens["refresh_token"].as_str().unwrap());
        assert!(matches!(stale.contacts().get(&contact).await, Err(Error::Refresh(_))));
    }
}

on_each_backend! {
    async fn rate_limited_calls_wait_for_retry_after(backend) {
        let limiter = RateLimiter::in_memory(RateLimits { burst: 2, interval: Duration::from_secs(1), daily: 1_000 });
        let Some(s) = TestServer::start_limited(backend, limiter).await else { return };
        let contact = s.contact(json!({"firstName": "Limited"})).await;
        // Retries off: the third call in a window is refused with 429.
        let strict = Client::builder(&s.base).private_token(&s.token).retry(RetryPolicy::none()).pacing(false).build().unwrap();
        let mut refused = None;
        for _ in 0..3 {
            if let Err(error) = strict.contacts().get(&contact).await {
                refused = Some(error);
            }
        }
        let refused = api_error(refused.map_or(Ok(()), Err));
        assert_eq!(refused.status, 429);
        tokio::time::sleep(Duration::from_millis(1100)).await;

        // Retries on: six calls in a burst of two a second all succeed, waiting as told.
        let patient = Client::builder(&s.base).private_token(&s.token).retry(RetryPolicy { max_retries: 6, base_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(2), max_retry_after: Duration::from_secs(5) }).pacing(false).build().unwrap();
        let started = Instant::now();
        for _ in 0..6 {
            assert_eq!(patient.contacts().get(&contact).await.unwrap().id, contact);
        }
        // Three windows: the backoff alone (6 retries of 2 ms at most) could not have got
        // there, so each 429 was waited out for its Retry-After.
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    }

    async fn injected_5xx_is_retried(backend) {
        const KEY: &str = "hak-sdk-test-key";
        let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await else { return };
        let contact = s.contact(json!({"firstName": "Flaky"})).await;
        let fault = |times: u32| {
            let (s, contact) = (&s, contact.clone());
            async move {
                let (st, body) = s.send(s.client.post(format!("{}/hilo/admin/faults", s.base)).bearer_auth(KEY)
                    .json(&json!({"match": {"method": "GET", "path": format!("/contacts/{contact}")}, "effect": {"type": "status", "status": 503}, "times": times}))).await;
                assert_eq!(st.as_u16(), 201, "{body}");
            }
        };
        // Retries off: the 503 is the answer.
        fault(1).await;
        let strict = sdk_with(&s, &s.token, RetryPolicy::none());
        assert_eq!(api_error(strict.contacts().get(&contact).await).status, 503);
        assert_eq!(strict.contacts().get(&contact).await.unwrap().id, contact, "the rule was spent");
        // Retries on: three 503s, then the contact.
        fault(3).await;
        let patient = sdk(&s);
        let got = patient.contacts().get(&contact).await.unwrap();
        assert_eq!(got.first_name.as_deref(), Some("Flaky"));
        let (_, left) = s.send(s.client.get(format!("{}/hilo/admin/faults", s.base)).bearer_auth(KEY)).await;
        assert_eq!(left["faults"], json!([]), "all three faults were hit: {left}");
        // More faults than retries: the last 503 surfaces.
        fault(10).await;
        let error = api_error(patient.contacts().get(&contact).await);
        assert_eq!(error.status, 503);
    }

    async fn webhook_deliveries_verify(backend) {
        let Some(s) = TestServer::start_webhooks(backend, crate::webhooks::fast(), crate::webhooks::ADMIN_KEY).await else { return };
        let receiver = Receiver::start().await;
        crate::webhooks::install(&s, &receiver.url, &["contacts.readonly", "contacts.write"]).await;
        let client = sdk(&s);
        let contact = client.contacts().create(&new_contact(&s, "Hooked", "hooked@example.com")).await.unwrap();
        let (headers, body) = receiver.first_of("ContactCreate").await;
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((parsed["type"].as_str(), parsed["id"].as_str()), (Some("ContactCreate"), Some(contact.id.as_str())));

        let keys = client.webhook_keys().await.unwrap();
        use hilo_sdk::webhooks::{verify, verify_signature, PublicKeys, VerifyError, ED25519_HEADER, RSA_HEADER};
        assert_eq!(verify(&headers, &body, &keys), Ok(()));
        for name in [ED25519_HEADER, RSA_HEADER] {
            let value = headers[name].to_str().unwrap();
            assert_eq!(verify_signature(name, value, &body, &keys), Ok(()), "{name}");
        }
        // One byte changed, or the body re-serialised with other spacing: rejected.
        let mut tampered = body.clone();
        let at = tampered.iter().position(|b| *b == b'H').unwrap();
        tampered[at] = b'J';
        assert_eq!(verify(&headers, &tampered, &keys), Err(VerifyError::Mismatch("Ed25519")));
        let pretty = serde_json::to_vec_pretty(&parsed).unwrap();
        assert_eq!(verify_signature(RSA_HEADER, headers[RSA_HEADER].to_str().unwrap(), &pretty, &keys), Err(VerifyError::Mismatch("RSA-SHA256")));
        // HighLevel's keys do not take hilo's signatures.
        assert!(verify(&headers, &body, &PublicKeys::highlevel().unwrap()).is_err());
    }
}

/// Each request's headers and raw body.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A webhook receiver on 127.0.0.1 keeping every request's headers and raw body.
struct Receiver {
    url: String,
    got: Received,
    hits: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Received = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let (keep, count) = (got.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (keep, count) = (keep.clone(), count.clone());
                async move {
                    keep.lock().unwrap().push((headers, body.to_vec()));
                    count.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Receiver { url, got, hits }
    }

    /// The first delivery of event `kind`, once it arrives.
    async fn first_of(&self, kind: &str) -> (HeaderMap, Vec<u8>) {
        for _ in 0..200 {
            if self.hits.load(Ordering::SeqCst) > 0 {
                let got = self.got.lock().unwrap();
                let found = got.iter().find(|(_, body)| {
                    serde_json::from_slice::<Value>(body).is_ok_and(|b| b["type"] == kind)
                });
                if let Some(found) = found {
                    return found.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {kind} webhook arrived");
    }
}
