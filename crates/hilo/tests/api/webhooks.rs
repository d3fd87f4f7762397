//! Webhook delivery, end to end: a real server with its dispatcher, and a local receiver that
//! checks both signatures against the published keys and the payloads against the event docs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hilo_server::oauth::apps::{self, Distribution, NewApp};
use hilo_server::oauth::grants::{self, AuthorizeRequest, InstallTarget};
use hilo_server::oauth::{OAuth, OAuthSettings};
use hilo_server::webhooks::retry::RetryPolicy;
use hilo_server::webhooks::WebhookSettings;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};
use crate::on_each_backend;

pub(crate) const ADMIN_KEY: &str = "hak-webhook-tests";

/// Fast retries, so that tests see several attempts in a second or two.
pub(crate) fn fast() -> WebhookSettings {
    WebhookSettings {
        retry: RetryPolicy {
            base: Duration::from_millis(150),
            max_interval: Duration::from_millis(400),
            horizon: Duration::from_secs(60),
            ..RetryPolicy::standard()
        },
        timeout: Duration::from_secs(3),
        poll: Duration::from_millis(50),
        ..WebhookSettings::default()
    }
}

/// A webhook receiver on 127.0.0.1: keeps what it gets, answers `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<Mutex<u16>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener).await
    }

    async fn on(listener: tokio::net::TcpListener) -> Receiver {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let status = Arc::new(Mutex::new(200));
        let (keep, answer) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (keep, answer) = (keep.clone(), answer.clone());
                async move {
                    let status = *answer.lock().unwrap();
                    if status == 200 {
                        keep.lock().unwrap().push((headers, body));
                    }
                    AxumStatus::from_u16(status).unwrap()
                }
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    stopped.await.ok();
                })
                .await
                .ok();
        });
        Receiver {
            url,
            got,
            status,
            stop: Some(stop),
        }
    }

    fn answer(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    /// The bodies accepted so far, parsed.
    fn bodies(&self) -> Vec<Value> {
        let got = self.got.lock().unwrap();
        got.iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }

    fn of_type(&self, kind: &str) -> Vec<Value> {
        self.bodies()
            .into_iter()
            .filter(|b| b["type"] == kind)
            .collect()
    }

    /// Waits until `n` accepted bodies satisfy `pick`.
    async fn wait_for(&self, n: usize, pick: impl Fn(&Value) -> bool) -> Vec<Value> {
        for _ in 0..200 {
            let found: Vec<Value> = self.bodies().into_iter().filter(|b| pick(b)).collect();
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("waited for {n} webhooks; got {:#?}", self.bodies());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
    }
}

async fn start(backend: Backend, settings: WebhookSettings) -> Option<TestServer> {
    TestServer::start_webhooks(backend, settings, ADMIN_KEY).await
}

/// An app with `webhook_url` and `scopes`, installed on the main location; its id.
pub(crate) async fn install(s: &TestServer, webhook_url: &str, scopes: &[&str]) -> apps::App {
    let created = apps::create_app(
        &s.db,
        NewApp {
            company_id: s.location.company_id.clone(),
            name: "Webhook receiver".into(),
            redirect_uris: vec!["https://receiver.example/cb".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            webhook_url: Some(webhook_url.to_owned()),
            distribution: Distribution::Location,
        },
    )
    .await
    .unwrap();
    let oauth = OAuth::load(&s.db, OAuthSettings::default()).await.unwrap();
    grants::authorize(
        &s.db,
        &oauth,
        AuthorizeRequest {
            app: created.app.clone(),
            target: InstallTarget::Location(s.loc().to_owned()),
            scopes: None,
            redirect_uri: None,
            user_id: Some("installer".into()),
            state: None,
        },
    )
    .await
    .unwrap();
    created.app
}

async fn uninstall(s: &TestServer, app: &apps::App) {
    let oauth = OAuth::load(&s.db, OAuthSettings::default()).await.unwrap();
    assert!(grants::uninstall(
        &s.db,
        &oauth,
        &app.id,
        &s.location.company_id,
        Some(s.loc())
    )
    .await
    .unwrap());
}

async fn admin(s: &TestServer, method: Method, path: &str) -> (StatusCode, Value) {
    let response = s
        .client
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Checks both signature headers of every accepted request against the published keys.
async fn verify_signatures(s: &TestServer, receiver: &Receiver) {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let keys: Value = s
        .client
        .get(format!("{}/hilo/webhooks/keys", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rsa_key =
        rsa::RsaPublicKey::from_public_key_pem(keys["rsa"]["publicKeyPem"].as_str().unwrap())
            .unwrap();
    let rsa_verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(rsa_key);
    let ed_key = <ed25519_dalek::VerifyingKey as ed25519_dalek::pkcs8::DecodePublicKey>::from_public_key_pem(
        keys["ed25519"]["publicKeyPem"].as_str().unwrap(),
    )
    .unwrap();
    let got = receiver.got.lock().unwrap().clone();
    assert!(!got.is_empty());
    for (headers, body) in got {
        let header = |name: &str| BASE64.decode(headers[name].to_str().unwrap()).unwrap();
        let rsa_signature =
            rsa::pkcs1v15::Signature::try_from(header("x-wh-signature").as_slice()).unwrap();
        assert!(
            rsa_verifier.verify(&body, &rsa_signature).is_ok(),
            "RSA over {body:?}"
        );
        let ed_signature =
            ed25519_dalek::Signature::from_slice(&header("x-ghl-signature")).unwrap();
        assert!(
            ed_key.verify_strict(&body, &ed_signature).is_ok(),
            "Ed25519 over {body:?}"
        );
        // Compact JSON: what `JSON.stringify(JSON.parse(body))` gives back.
        let reparsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(serde_json::to_vec(&reparsed).unwrap(), body.to_vec());
        assert_eq!(headers["content-type"], "application/json");
    }
}

/// The delivery once its attempt that reached the receiver is recorded (the receiver sees the
/// request a moment before the dispatcher writes down the answer).
async fn recorded(s: &TestServer, id: &str) -> Value {
    for _ in 0..100 {
        let (_, detail) = admin(
            s,
            Method::GET,
            &format!("/hilo/admin/webhooks/deliveries/{id}"),
        )
        .await;
        if detail["status"] == "delivered" {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {id} was never recorded as delivered");
}

fn keys_of(body: &Value) -> Vec<&str> {
    body.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

on_each_backend! {
    async fn every_event_is_signed_and_shaped_as_documented(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let receiver = Receiver::start().await;
        let app = install(&s, &receiver.url, &["contacts.readonly", "contacts.write"]).await;
        let loc = s.loc().to_owned();

        let contact = s
            .contact(json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                             "tags": ["VIP"], "customFields": [] }))
            .await;
        let (status, _) = s.put(&format!("/contacts/{contact}"), json!({ "city": "London" })).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.post(&format!("/contacts/{contact}/tags"), json!({ "tags": ["new"] })).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = s
            .put(&format!("/contacts/{contact}"), json!({ "dnd": true,
                "dndSettings": { "SMS": { "status": "active", "message": "m", "code": "101" } } }))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, note) = s
            .post(&format!("/contacts/{contact}/notes"), json!({ "body": "hello", "userId": "u1" }))
            .await;
        let note_id = note["note"]["id"].as_str().unwrap().to_owned();
        s.put(&format!("/contacts/{contact}/notes/{note_id}"), json!({ "body": "bye" })).await;
        s.delete(&format!("/contacts/{contact}/notes/{note_id}")).await;
        let (_, task) = s
            .post(&format!("/contacts/{contact}/tasks"), json!({ "title": "Call", "body": "soon",
                "dueDate": "2030-01-01T10:00:00.000Z", "completed": false, "assignedTo": "u2" }))
            .await;
        let task_id = task["task"]["id"].as_str().unwrap().to_owned();
        s.put(&format!("/contacts/{contact}/tasks/{task_id}/completed"), json!({ "completed": true })).await;
        s.delete(&format!("/contacts/{contact}/tasks/{task_id}")).await;
        let (status, _) = s.delete(&format!("/contacts/{contact}")).await;
        assert_eq!(status, StatusCode::OK);
        // Delivered before the uninstall, which would hold back what is still queued.
        receiver.wait_for(12, |_| true).await;
        uninstall(&s, &app).await;

        let all = receiver.wait_for(13, |_| true).await;
        // In order per resource: the contact's, the note's and the task's own events.
        let of = |id: &str| -> Vec<&str> {
            all.iter()
                .filter(|b| b["id"] == id)
                .map(|b| b["type"].as_str().unwrap())
                .collect()
        };
        assert_eq!(
            of(&contact),
            ["ContactCreate", "ContactUpdate", "ContactTagUpdate", "ContactDndUpdate", "ContactDelete"]
        );
        assert_eq!(of(&note_id), ["NoteCreate", "NoteUpdate", "NoteDelete"]);
        assert_eq!(of(&task_id), ["TaskCreate", "TaskComplete", "TaskDelete"]);
        assert_eq!(all[12]["type"], "UNINSTALL");
        let find = |kind: &str| all.iter().find(|b| b["type"] == kind).unwrap();
        verify_signatures(&s, &receiver).await;
        for body in &all {
            assert_eq!(body["appId"], app.id.as_str());
            assert!(body["webhookId"].as_str().is_some_and(|id| id.len() == 20));
            assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        }

        let install = find("INSTALL");
        assert_eq!(keys_of(install), ["type", "appId", "locationId", "companyId", "userId",
            "isWhitelabelCompany", "companyName", "timestamp", "webhookId"]);
        assert_eq!(install["locationId"], loc.as_str());
        assert_eq!(install["companyName"], "Test Agency");

        let created = find("ContactCreate");
        assert_eq!(&keys_of(created)[..3], ["type", "locationId", "id"]);
        assert_eq!(created["id"], contact.as_str());
        assert_eq!(created["locationId"], loc.as_str());
        assert_eq!(created["name"], "Ada Lovelace");
        assert_eq!(created["email"], "ada@example.com");
        assert_eq!(created["tags"], json!(["vip"]));
        assert_eq!(created["attachments"], json!([]));
        assert_eq!(created["customFields"], json!([]));
        assert_eq!(created["dnd"], false);
        assert!(created.get("dndSettings").is_none() && created.get("inboundDndSettings").is_none());
        assert_eq!(find("ContactUpdate")["city"], "London");
        assert_eq!(find("ContactTagUpdate")["tags"], json!(["vip", "new"]));
        let dnd = find("ContactDndUpdate");
        assert_eq!(dnd["dnd"], true);
        assert_eq!(dnd["dndSettings"]["SMS"]["status"], "active");

        let note = find("NoteCreate");
        assert_eq!(keys_of(note), ["type", "locationId", "id", "body", "contactId", "dateAdded",
            "appId", "timestamp", "webhookId"]);
        assert_eq!(note["body"], "hello");
        assert_eq!(find("NoteUpdate")["body"], "bye");

        let task = find("TaskCreate");
        assert_eq!(keys_of(task), ["type", "locationId", "id", "assignedTo", "body", "contactId",
            "title", "dateAdded", "dueDate", "appId", "timestamp", "webhookId"]);
        assert_eq!(task["dueDate"], "2030-01-01T10:00:00.000Z");

        let uninstalled = find("UNINSTALL");
        assert_eq!(keys_of(uninstalled), ["type", "appId", "locationId", "timestamp", "webhookId"]);
    }

    async fn a_receiver_that_is_down_gets_its_events_when_it_is_back(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        // A port nobody listens on yet.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        install(&s, &format!("http://{addr}/hook"), &["contacts.readonly"]).await;
        let contact = s.contact(json!({ "firstName": "Late" })).await;
        // Wait for at least two refused attempts.
        let mut failed = 0;
        for _ in 0..100 {
            let (_, list) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries?status=pending").await;
            failed = list["deliveries"].as_array().unwrap().iter()
                .filter(|d| d["eventType"] == "ContactCreate")
                .map(|d| d["attempts"].as_i64().unwrap())
                .max()
                .unwrap_or(0);
            if failed >= 2 { break }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(failed >= 2, "the delivery was not retried");
        let receiver = Receiver::on(tokio::net::TcpListener::bind(addr).await.unwrap()).await;
        let got = receiver.wait_for(1, |b| b["type"] == "ContactCreate").await;
        assert_eq!(got[0]["id"], contact.as_str());
        let detail = recorded(&s, got[0]["webhookId"].as_str().unwrap()).await;
        assert_eq!(detail["eventType"], "ContactCreate");
        let log = detail["attemptLog"].as_array().unwrap();
        assert!(log.len() >= 3, "{detail:#}");
        assert!(log[0]["statusCode"].is_null() && log[0]["error"].is_string());
        assert_eq!(log.last().unwrap()["statusCode"], 200);
        assert_eq!(detail["payload"]["id"], contact.as_str());
    }

    async fn events_go_only_to_apps_whose_scopes_cover_them(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let contacts = Receiver::start().await;
        let businesses = Receiver::start().await;
        install(&s, &contacts.url, &["contacts.readonly"]).await;
        install(&s, &businesses.url, &["businesses.readonly", "contacts.write"]).await;
        let id = s.contact(json!({ "firstName": "Scoped" })).await;
        contacts.wait_for(1, |b| b["type"] == "ContactCreate" && b["id"] == id.as_str()).await;
        businesses.wait_for(1, |b| b["type"] == "INSTALL").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(businesses.of_type("ContactCreate").is_empty(), "{:?}", businesses.bodies());
        // Another location's change reaches neither.
        let (status, _) = s.send(s.request_as(&s.other_token, Method::POST, "/contacts/")
            .json(&json!({ "locationId": s.other_location.id, "firstName": "Elsewhere" }))).await;
        assert_eq!(status, StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(contacts.of_type("ContactCreate").len(), 1);
    }

    async fn uninstalling_and_pausing_hold_deliveries_back(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let receiver = Receiver::start().await;
        let app = install(&s, &receiver.url, &["contacts.readonly"]).await;
        receiver.wait_for(1, |b| b["type"] == "INSTALL").await;
        let (status, _) = admin(&s, Method::POST, &format!("/hilo/admin/webhooks/apps/{}/pause", app.client_id)).await;
        assert_eq!(status, StatusCode::OK);
        let held = s.contact(json!({ "firstName": "Held" })).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(receiver.of_type("ContactCreate").is_empty());
        admin(&s, Method::POST, &format!("/hilo/admin/webhooks/apps/{}/resume", app.id)).await;
        receiver.wait_for(1, |b| b["type"] == "ContactCreate" && b["id"] == held.as_str()).await;

        // Queued while installed, sent after the uninstall: skipped, not sent.
        admin(&s, Method::POST, &format!("/hilo/admin/webhooks/apps/{}/pause", app.id)).await;
        let late = s.contact(json!({ "firstName": "Late" })).await;
        uninstall(&s, &app).await;
        admin(&s, Method::POST, &format!("/hilo/admin/webhooks/apps/{}/resume", app.id)).await;
        receiver.wait_for(1, |b| b["type"] == "UNINSTALL").await;
        let after = s.contact(json!({ "firstName": "After" })).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let sent: Vec<Value> = receiver.of_type("ContactCreate");
        assert_eq!(sent.len(), 1, "{sent:?}");
        let (_, skipped) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries?status=skipped").await;
        let skipped = skipped["deliveries"].as_array().unwrap();
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        let (_, detail) = admin(&s, Method::GET, &format!("/hilo/admin/webhooks/deliveries/{}", skipped[0]["id"].as_str().unwrap())).await;
        assert_eq!(detail["payload"]["id"], late.as_str());
        // Nothing was even queued for the contact created after the uninstall.
        let (_, all) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries?eventType=ContactCreate").await;
        assert_eq!(all["deliveries"].as_array().unwrap().len(), 2);
        let _ = after;
    }

    async fn a_delivery_can_be_sent_again(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let receiver = Receiver::start().await;
        install(&s, &receiver.url, &["contacts.readonly"]).await;
        s.contact(json!({ "firstName": "Again" })).await;
        let first = receiver.wait_for(1, |b| b["type"] == "ContactCreate").await;
        let id = first[0]["webhookId"].as_str().unwrap().to_owned();
        // Until the attempt is recorded the delivery is "being sent right now".
        recorded(&s, &id).await;
        let (status, body) = admin(&s, Method::POST, &format!("/hilo/admin/webhooks/deliveries/{id}/redeliver")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let both = receiver.wait_for(2, |b| b["type"] == "ContactCreate").await;
        assert_eq!(both[1]["webhookId"], id.as_str());
        let (status, body) = admin(&s, Method::POST, "/hilo/admin/webhooks/deliveries/nope/redeliver").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["message"], "Webhook delivery not found for id:nope", "{body}");
        let (status, body) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries/nope").await;
        assert_eq!((status, body["statusCode"].clone()), (StatusCode::BAD_REQUEST, json!(400)));
        let (status, body) = admin(&s, Method::POST, "/hilo/admin/webhooks/apps/nope/pause").await;
        assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("App not found for id:nope")));
        // The admin API wants the admin key; the public keys do not.
        let response = s.client.get(format!("{}/hilo/admin/webhooks/deliveries", s.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (status, _) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries?status=lost").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn highlevel_mode_retries_only_429(backend) {
        let settings = WebhookSettings {
            retry: RetryPolicy { base: Duration::from_millis(100), ..RetryPolicy::highlevel() },
            ..fast()
        };
        let Some(s) = start(backend, settings).await else { return };
        let receiver = Receiver::start().await;
        receiver.answer(500);
        install(&s, &receiver.url, &["contacts.readonly"]).await;
        let mut failed = Vec::new();
        for _ in 0..100 {
            let (_, list) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries?status=failed").await;
            failed = list["deliveries"].as_array().unwrap().clone();
            if !failed.is_empty() { break }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["attempts"], 1, "a 500 is final");
        receiver.answer(429);
        s.contact(json!({ "firstName": "Throttled" })).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        receiver.answer(200);
        let got = receiver.wait_for(1, |b| b["type"] == "ContactCreate").await;
        let detail = recorded(&s, got[0]["webhookId"].as_str().unwrap()).await;
        let log = detail["attemptLog"].as_array().unwrap();
        assert!(log.len() >= 2 && log[0]["statusCode"] == 429, "{detail:#}");
    }

    async fn private_targets_can_be_refused(backend) {
        let settings = WebhookSettings { block_private: true, ..fast() };
        let Some(s) = start(backend, settings).await else { return };
        let receiver = Receiver::start().await;
        install(&s, &receiver.url, &["contacts.readonly"]).await;
        let mut attempts = Vec::new();
        for _ in 0..100 {
            let (_, list) = admin(&s, Method::GET, "/hilo/admin/webhooks/deliveries").await;
            let id = list["deliveries"][0]["id"].as_str().unwrap().to_owned();
            let (_, detail) = admin(&s, Method::GET, &format!("/hilo/admin/webhooks/deliveries/{id}")).await;
            attempts = detail["attemptLog"].as_array().unwrap().clone();
            if !attempts.is_empty() { break }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(attempts[0]["error"].as_str().unwrap().contains("not a public address"), "{attempts:?}");
        assert!(receiver.bodies().is_empty());
    }

    async fn two_dispatchers_on_one_database_never_send_an_attempt_twice(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        // A second process's worth of state on the same database, with its own dispatcher.
        let db = hilo_server::Db::connect(&s.database_url).await.unwrap();
        let other = hilo_server::AppState::new(db, OAuthSettings::default()).await.unwrap()
            .with_webhook_settings(fast());
        let second = hilo_server::webhooks::dispatch::Dispatcher::start(other).unwrap();
        let receiver = Receiver::start().await;
        install(&s, &receiver.url, &["contacts.readonly"]).await;
        let n = 60;
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(s.contact(json!({ "firstName": format!("Many{i}") })).await);
        }
        receiver.wait_for(n, |b| b["type"] == "ContactCreate").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got: Vec<Value> = receiver.of_type("ContactCreate");
        let mut webhook_ids: Vec<&str> = got.iter().map(|b| b["webhookId"].as_str().unwrap()).collect();
        webhook_ids.sort_unstable();
        webhook_ids.dedup();
        assert_eq!(webhook_ids.len(), n, "each delivery once");
        assert_eq!(got.len(), n, "no attempt sent twice");
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts")
            .fetch_one(s.db.read()).await.unwrap();
        assert_eq!(attempts, i64::try_from(n).unwrap() + 1);
        second.shutdown().await;
    }

    async fn location_events_reach_agency_apps(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let receiver = Receiver::start().await;
        let created = apps::create_app(&s.db, NewApp {
            company_id: s.location.company_id.clone(),
            name: "Agency receiver".into(),
            redirect_uris: vec!["https://receiver.example/cb".into()],
            scopes: vec!["locations.readonly".into(), "contacts.readonly".into()],
            webhook_url: Some(receiver.url.clone()),
            distribution: Distribution::Agency,
        }).await.unwrap();
        let oauth = OAuth::load(&s.db, OAuthSettings::default()).await.unwrap();
        grants::authorize(&s.db, &oauth, AuthorizeRequest {
            app: created.app.clone(),
            target: InstallTarget::Agency { company_id: s.location.company_id.clone(), locations: vec![] },
            scopes: None, redirect_uri: None, user_id: Some("installer".into()), state: None,
        }).await.unwrap();
        let new = hilo_server::tenancy::create_location(&s.db, Some(&s.location.company_id), "Branch").await.unwrap();
        hilo_server::tenancy::update_contact_settings(&s.db, &new.id, Some(true), None).await.unwrap();
        let got = receiver.wait_for(1, |b| b["type"] == "LocationUpdate").await;
        let create = receiver.wait_for(1, |b| b["type"] == "LocationCreate").await;
        assert_eq!(keys_of(&create[0]), ["type", "id", "companyId", "name", "appId", "timestamp", "webhookId"]);
        assert_eq!(create[0]["id"], new.id.as_str());
        assert_eq!(got[0]["name"], "Branch");
        // The agency install: one INSTALL naming the agency, one per location approved.
        let installs = receiver.of_type("INSTALL");
        assert!(installs.iter().any(|b| b.get("locationId").is_none() && b["companyId"] == s.location.company_id.as_str()));
        assert!(installs.iter().any(|b| b["locationId"] == s.loc()));
    }

    async fn a_full_reset_empties_the_outbox(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        let receiver = Receiver::start().await;
        let app = install(&s, &receiver.url, &["contacts.readonly"]).await;
        s.contact(json!({ "firstName": "Ada" })).await;
        receiver.wait_for(1, |b| b["type"] == "ContactCreate").await;
        let (status, deliveries) = admin(&s, Method::GET, &format!("/hilo/admin/webhooks/deliveries?appId={}", app.id)).await;
        assert_eq!(status, StatusCode::OK, "{deliveries}");
        let request = s.client.post(format!("{}/hilo/admin/reset", s.base)).bearer_auth(ADMIN_KEY).json(&json!({ "all": true }));
        let (status, reset) = s.send(request).await;
        assert_eq!(status, StatusCode::OK, "{reset}");
        assert!(reset["removed"]["webhook_deliveries"].as_u64().unwrap() >= 1, "{reset}");
        for table in ["webhook_events", "webhook_deliveries", "webhook_attempts"] {
            let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(s.db.read()).await.unwrap();
            assert_eq!(left, 0, "{table}");
        }
    }
}

/// Serves `app` on 127.0.0.1 for the rest of the test; its base URL.
async fn serve_on_loopback(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

/// The one delivery of the first ContactCreate, once it has an attempt recorded.
async fn first_attempt(s: &TestServer) -> (Value, Value) {
    for _ in 0..200 {
        let (_, list) = admin(
            s,
            Method::GET,
            "/hilo/admin/webhooks/deliveries?eventType=ContactCreate",
        )
        .await;
        if let Some(id) = list["deliveries"][0]["id"].as_str() {
            let (_, detail) = admin(
                s,
                Method::GET,
                &format!("/hilo/admin/webhooks/deliveries/{id}"),
            )
            .await;
            if let Some(first) = detail["attemptLog"].get(0).cloned() {
                return (detail, first);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no ContactCreate delivery was attempted");
}

on_each_backend! {
    async fn an_endless_answer_is_read_only_up_to_the_cap(backend) {
        // A receiver that accepts and then never stops sending: without the cap the attempt
        // would run into the timeout and record its error.
        let endless = axum::Router::new().route("/hook", axum::routing::post(|| async {
            let chunk = Bytes::from(vec![b'x'; 8 * 1024]);
            let stream = futures::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(chunk.clone()));
            axum::body::Body::from_stream(stream)
        }));
        let url = format!("{}/hook", serve_on_loopback(endless).await);
        let settings = WebhookSettings { max_response_bytes: 64 * 1024, ..fast() };
        let Some(s) = start(backend, settings).await else { return };
        install(&s, &url, &["contacts.readonly"]).await;
        s.contact(json!({ "firstName": "Endless" })).await;

        let (detail, attempt) = first_attempt(&s).await;
        assert_eq!(attempt["statusCode"], 200, "{detail:#}");
        assert!(attempt["error"].is_null(), "the answer was cut at the cap, not timed out: {detail:#}");
        let snippet = attempt["responseSnippet"].as_str().unwrap();
        assert_eq!(snippet, "x".repeat(512), "the snippet keeps the first 512 bytes");
        assert_eq!(recorded(&s, detail["id"].as_str().unwrap()).await["attempts"], 1);
    }

    async fn redirects_are_followed_only_within_the_webhook_hosts(backend) {
        let Some(s) = start(backend, fast()).await else { return };
        // Another host (by name: `localhost` is not the `127.0.0.1` of the webhook URL).
        let elsewhere = Receiver::start().await;
        let elsewhere_url = elsewhere.url.replace("127.0.0.1", "localhost");
        let kept: Arc<Mutex<Vec<Value>>> = Arc::default();
        let keep = kept.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let same_host_target = format!("{base}/final");
        let app = axum::Router::new()
            .route("/moved", axum::routing::post(move || {
                let to = same_host_target.clone();
                async move { (AxumStatus::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, to)]) }
            }))
            .route("/away", axum::routing::post(move || {
                let to = elsewhere_url.clone();
                async move { (AxumStatus::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, to)]) }
            }))
            .route("/final", axum::routing::post(move |body: Bytes| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                    AxumStatus::OK
                }
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });

        // Same host: the 307 is followed with the same signed body.
        install(&s, &format!("{base}/moved"), &["contacts.readonly"]).await;
        let contact = s.contact(json!({ "firstName": "Moved" })).await;
        let (detail, attempt) = first_attempt(&s).await;
        assert_eq!(attempt["statusCode"], 200, "{detail:#}");
        let of_contacts = |kept: &Mutex<Vec<Value>>| -> Vec<Value> {
            kept.lock().unwrap().iter().filter(|b| b["type"] == "ContactCreate").cloned().collect()
        };
        let got = of_contacts(&kept);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!((got[0]["type"].as_str(), got[0]["id"].as_str()), (Some("ContactCreate"), Some(contact.as_str())));

        // Another host: not followed; the attempt records the redirect itself. (A new server:
        // its first ContactCreate is this one.)
        let Some(s) = start(backend, fast()).await else { return };
        install(&s, &format!("{base}/away"), &["contacts.readonly"]).await;
        s.contact(json!({ "firstName": "Away" })).await;
        let (detail, attempt) = first_attempt(&s).await;
        assert_eq!(attempt["statusCode"], 307, "{detail:#}");
        assert_ne!(detail["status"], "delivered");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(elsewhere.bodies().is_empty(), "nothing reached the other host");
        assert_eq!(of_contacts(&kept).len(), 1, "nor the same-host target");
    }
}
