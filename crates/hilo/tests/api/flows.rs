//! The automation runner against a running hilo: the three example flows, a poll cut short,
//! a tiny rate limit, dry runs, and every Contacts item of the catalog.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use hilo_flows::catalog::Kind;
use hilo_flows::{flow, poll, request, Catalog, Flow, Runner, Store};
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::sync::Notify;

use crate::harness::{Backend, TestServer};
use crate::on_both;

/// One post an `http` step made.
#[derive(Debug, Clone)]
struct Hit {
    key: String,
    body: Value,
}

/// Another system's endpoint: answers `answer`, records each post, and can hold one post
/// (by its number, from 1) without answering, to cut a run short in the middle of a step.
struct Sink {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    reached: Arc<Notify>,
}

impl Sink {
    async fn start(answer: Value, hold: Option<usize>) -> Sink {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let reached = Arc::new(Notify::new());
        let (recorded, signal) = (hits.clone(), reached.clone());
        let app = axum::Router::new().route(
            "/in",
            axum::routing::post(move |headers: HeaderMap, body: axum::Json<Value>| {
                let (recorded, signal, answer) = (recorded.clone(), signal.clone(), answer.clone());
                async move {
                    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                    let n = {
                        let mut hits = recorded.lock().unwrap();
                        hits.push(Hit { key, body: body.0 });
                        hits.len()
                    };
                    if Some(n) == hold {
                        signal.notify_one();
                        std::future::pending::<()>().await;
                    }
                    axum::Json(answer)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/in", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { url, hits, reached }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flows")
        .join(name)
}

fn client(s: &TestServer, token: &str) -> hilo_sdk::Client {
    hilo_sdk::Client::builder(&s.base)
        .private_token(token)
        .build()
        .unwrap()
}

/// A runner for `s`. Its store is the server's own PostgreSQL database (tables of their own),
/// or a SQLite file beside the server's: a schema change from another connection costs a
/// serving SQLite connection one failed statement.
async fn runner(s: &TestServer) -> Runner {
    Runner::new(
        client(s, &s.token),
        Store::connect(&store_url(s)).await.unwrap(),
    )
}

/// A flow over every contact of `location` in the order they were added, then `steps`.
fn backfilling_search(name: &str, location: &str, steps: &str) -> String {
    format!(
        r#"
        name = "{name}"
        location = "{location}"
        [trigger]
        poll = "contacts.search_contacts"
        every = "1m"
        since = "dateAdded"
        backfill = true
        "#
    ) + steps
}

fn store_url(s: &TestServer) -> String {
    s.database_url.replace("/hilo.db", "/hilo-flows.db")
}

/// The runner serving `flows` in the background, its webhook listener's base URL.
async fn serve(
    runner: Runner,
    flows: Vec<Flow>,
) -> (
    Arc<Runner>,
    String,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let runner = Arc::new(runner);
    let task = tokio::spawn(runner.clone().serve(flows, Some(listener)));
    (runner, base, task)
}

async fn wait_for<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited for {what}");
}

async fn finished_runs(store: &Store, flow: &str) -> Vec<hilo_flows::store::RunRecord> {
    let runs = store.history(Some(flow), 100).await.unwrap();
    runs.into_iter().filter(|r| r.status != "running").collect()
}

on_both! {
    async fn example_a_posts_each_new_or_changed_contact_with_its_tasks_and_notes(s) {
        let sink = Sink::start(json!({"ok": true}), None).await;
        let env = json!({"HILO_LOCATION_ID": s.loc(), "DIGEST_URL": sink.url, "DIGEST_TOKEN": "t"});
        let flow = flow::load(&example("contact-digest.toml"), &env).unwrap();
        let older = s.contact(json!({"firstName": "Older"})).await;
        let runner = runner(s).await;
        let first = runner.poll(&flow).await.unwrap();
        assert_eq!(first.items, 0, "the first poll starts from now");

        let ada = s.contact(json!({"firstName": "Ada", "email": "ada@example.com"})).await;
        let (st, _) = s.post(&format!("/contacts/{ada}/tasks"), json!({"title": "Call", "dueDate": "2030-01-01T00:00:00Z", "completed": false})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, _) = s.post(&format!("/contacts/{ada}/notes"), json!({"body": "Met at the fair"})).await;
        assert_eq!(st, StatusCode::CREATED);
        // Tasks and notes leave dateUpdated alone: touch the contact after them.
        let (st, _) = s.put(&format!("/contacts/{ada}"), json!({"lastName": "Lovelace"})).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = s.put(&format!("/contacts/{older}"), json!({"lastName": "Changed"})).await;
        assert_eq!(st, StatusCode::OK);

        let report = runner.poll(&flow).await.unwrap();
        assert_eq!((report.items, report.done, report.failed), (2, 2, 0), "{report:?}");
        let hits = sink.hits();
        let ada_post = hits.iter().find(|h| h.body["contact"]["id"] == ada.as_str()).unwrap();
        assert_eq!(ada_post.body["contact"]["lastName"], "Lovelace");
        assert_eq!(ada_post.body["tasks"][0]["title"], "Call");
        assert_eq!(ada_post.body["notes"][0]["body"], "Met at the fair");
        assert!(hits.iter().any(|h| h.body["contact"]["id"] == older.as_str()));

        assert_eq!(runner.poll(&flow).await.unwrap().items, 0, "nothing changed since");
        let (st, _) = s.put(&format!("/contacts/{ada}"), json!({"firstName": "Augusta"})).await;
        assert_eq!(st, StatusCode::OK);
        let again = runner.poll(&flow).await.unwrap();
        assert_eq!((again.items, again.done), (1, 1));
        assert_eq!(sink.hits().last().unwrap().body["contact"]["firstName"], "Augusta");
        assert_eq!(finished_runs(runner.store(), "contact-digest").await.len(), 3);
    }

    async fn example_b_turns_a_posted_lead_into_a_contact_with_two_tasks(s) {
        let env = json!({"HILO_LOCATION_ID": s.loc()});
        let flow = flow::load(&example("new-lead.toml"), &env).unwrap();
        let (runner, base, task) = serve(runner(s).await, vec![flow]).await;
        let http = reqwest::Client::new();
        let lead = json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "source": "webinar", "webhookId": "lead-1"});
        for body in [lead.clone(), lead, json!({"firstName": "Nobody"})] {
            let answer = http.post(format!("{base}/hooks/leads")).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::OK);
        }
        let bad = http.post(format!("{base}/hooks/leads")).body("not json").send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

        let runs = wait_for("two finished runs", async || {
            let runs = finished_runs(runner.store(), "new-lead").await;
            (runs.len() == 2).then_some(runs)
        }).await;
        let statuses: BTreeSet<_> = runs.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, BTreeSet::from(["done", "filtered"]), "{runs:?}");

        let (_, found) = s.get(&format!("/contacts/search/duplicate?locationId={}&email=ada@example.com", s.loc())).await;
        let contact = &found["contact"];
        assert_eq!((contact["firstName"].as_str(), contact["source"].as_str()), (Some("Ada"), Some("webinar")), "{found}");
        assert_eq!(contact["tags"], json!(["lead"]));
        let id = contact["id"].as_str().unwrap();
        let (_, tasks) = s.get(&format!("/contacts/{id}/tasks")).await;
        let titles: BTreeSet<_> = tasks["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect();
        assert_eq!(titles, BTreeSet::from(["Call Ada within a day".to_owned(), "Send Ada the follow-up email".to_owned()]));
        let (_, all) = s.post("/contacts/search", json!({"locationId": s.loc(), "pageLimit": 10})).await;
        assert_eq!(all["total"], 1, "the repeated post made no second contact");

        runner.stop();
        task.await.unwrap().unwrap();
    }

    async fn dry_runs_read_but_write_nothing(s) {
        let env = json!({"HILO_LOCATION_ID": s.loc()});
        let flow = flow::load(&example("new-lead.toml"), &env).unwrap();
        let runner = runner(s).await;
        let report = runner.test(&flow, Some(json!({"firstName": "Ada", "email": "ada@example.com"}))).await.unwrap();
        let text = report.lines.join("\n");
        assert!(text.contains("contact: would call POST /contacts/ {"), "{text}");
        assert!(text.contains("call: would call POST /contacts/{contactId}/tasks with inputs from `contact`"), "{text}");
        assert!(text.contains("follow-up: would call POST /contacts/{contactId}/tasks with inputs from `contact`"), "{text}");
        let (_, all) = s.post("/contacts/search", json!({"locationId": s.loc(), "pageLimit": 10})).await;
        assert_eq!(all["total"], 0);

        let sink = Sink::start(json!({}), None).await;
        let env = json!({"HILO_LOCATION_ID": s.loc(), "DIGEST_URL": sink.url});
        let digest = flow::load(&example("contact-digest.toml"), &env).unwrap();
        let ada = s.contact(json!({"firstName": "Ada"})).await;
        let report = runner.test(&digest, None).await.unwrap();
        let text = report.lines.join("\n");
        assert!(text.contains(&format!("sample: the newest item, {ada}")), "{text}");
        assert!(text.contains("contact: ok: {\"contact\":"), "reads are made: {text}");
        assert!(text.contains(&format!("post: would send POST {}", sink.url)), "{text}");
        assert!(sink.hits().is_empty());
        assert!(runner.store().history(None, 10).await.unwrap().is_empty(), "a dry run keeps nothing");
    }

    async fn a_poll_cut_short_resumes_without_losing_or_repeating_an_item(s) {
        let mut ids = BTreeSet::new();
        for n in 0..7 {
            ids.insert(s.contact(json!({"firstName": format!("C{n}")})).await);
        }
        let sink = Sink::start(json!({"ok": true}), Some(4)).await;
        let steps = format!(r#"
            [[steps]]
            http = {{ url = "{}", body = {{ id = "{{{{ trigger.id }}}}" }} }}
        "#, sink.url);
        let text = backfilling_search("mirror", s.loc(), &steps);
        let flow = flow::parse(&text, &Value::Null).unwrap();
        // Pages of two: the cut falls in the middle of paging.
        let first = runner(s).await.with_page_size(2);
        let cut = tokio::spawn(async move { first.poll(&flow).await });
        sink.reached.notified().await;
        cut.abort();
        assert!(cut.await.is_err());
        assert_eq!(sink.hits().len(), 4);

        let flow = flow::parse(&text, &Value::Null).unwrap();
        let second = runner(s).await.with_page_size(2);
        let report = second.poll(&flow).await.unwrap();
        assert_eq!((report.done, report.failed), (4, 0), "the rest, from the item cut short: {report:?}");
        let hits = sink.hits();
        assert_eq!(hits.len(), 8, "only the step in flight at the cut was sent again");
        let by_key: BTreeMap<_, _> = hits.iter().map(|h| (h.key.clone(), h.body["id"].as_str().unwrap().to_owned())).collect();
        assert_eq!(by_key.len(), 7, "the repeat carries the same Idempotency-Key");
        assert_eq!(by_key.values().cloned().collect::<BTreeSet<_>>(), ids, "no item lost");
        assert_eq!(hits[3].key, hits[4].key);
        let runs = finished_runs(second.store(), "mirror").await;
        assert_eq!(runs.len(), 7);
        assert!(runs.iter().all(|r| r.status == "done"));

        assert_eq!(second.poll(&flow).await.unwrap().items, 0);
        // Even with its cursor lost, a flow does not run an item twice.
        let mut store = sqlx::AnyConnection::connect(&store_url(s)).await.unwrap();
        sqlx::query("DELETE FROM flow_cursors").execute(&mut store).await.unwrap();
        let replay = second.poll(&flow).await.unwrap();
        assert_eq!((replay.items, replay.done), (7, 0));
        assert_eq!(sink.hits().len(), 8);
    }

    async fn every_contacts_item_of_the_catalog_works_against_hilo(s) {
        let client = client(s, &s.token);
        let location = Some(s.loc());
        let contact = s.contact(json!({"firstName": "Cat", "email": "cat@example.com"})).await;
        let (_, business) = s.post("/businesses", json!({"name": "Acme", "locationId": s.loc()})).await;
        let business = business["buiseness"]["id"].as_str().unwrap().to_owned();
        let (st, _) = s.post("/contacts/bulk/business", json!({"locationId": s.loc(), "ids": [contact], "businessId": business})).await;
        assert_eq!(st, StatusCode::OK);
        let campaign = hilo_server::api::campaigns::create_campaign(&s.db, s.loc(), "Welcome", "published").await.unwrap().id;
        let mut ids: BTreeMap<&str, String> = BTreeMap::from([("contact", contact.clone()), ("business", business), ("campaign", campaign)]);
        // In an order where each item finds what it needs; `task` and `note` are filled in
        // from the answers of the items that make them.
        let calls: Vec<(&str, Value)> = vec![
            ("contacts.create_contact", json!({"body": {"locationId": s.loc(), "firstName": "Made"}})),
            ("contacts.get_contact", json!({"contactId": "{contact}"})),
            ("contacts.update_contact", json!({"contactId": "{contact}", "body": {"lastName": "Updated"}})),
            ("contacts.upsert_contact", json!({"body": {"locationId": s.loc(), "email": "cat@example.com", "city": "Leeds"}})),
            ("contacts.get_duplicate_contact", json!({"email": "cat@example.com"})),
            ("contacts.find_contact", json!({"email": "cat@example.com"})),
            ("contacts.search_contacts", json!({"body": {"locationId": s.loc(), "pageLimit": 10}})),
            ("contacts.list_contacts_deprecated", json!({"limit": 10})),
            ("contacts.get_contacts_by_business", json!({"businessId": "{business}"})),
            ("contacts.add_tags_to_contact", json!({"contactId": "{contact}", "body": {"tags": ["a", "b"]}})),
            ("contacts.remove_tags_from_contact", json!({"contactId": "{contact}", "body": {"tags": ["a"]}})),
            ("contacts.bulk_update_contact_tags", json!({"type": "add", "body": {"locationId": s.loc(), "contacts": ["{contact}"], "tags": ["bulk"]}})),
            ("contacts.create_contact_task", json!({"contactId": "{contact}", "body": {"title": "T", "dueDate": "2030-01-01T00:00:00Z", "completed": false}})),
            ("contacts.get_contact_tasks", json!({"contactId": "{contact}"})),
            ("contacts.get_contact_task_by_id", json!({"contactId": "{contact}", "taskId": "{task}"})),
            ("contacts.update_contact_task", json!({"contactId": "{contact}", "taskId": "{task}", "body": {"title": "T2"}})),
            ("contacts.complete_contact_task", json!({"contactId": "{contact}", "taskId": "{task}", "body": {"completed": true}})),
            ("contacts.create_contact_note", json!({"contactId": "{contact}", "body": {"body": "N"}})),
            ("contacts.get_contact_notes", json!({"contactId": "{contact}"})),
            ("contacts.get_contact_note_by_id", json!({"contactId": "{contact}", "id": "{note}"})),
            ("contacts.update_contact_note", json!({"contactId": "{contact}", "id": "{note}", "body": {"body": "N2"}})),
            ("contacts.get_contact_appointments", json!({"contactId": "{contact}"})),
            ("contacts.add_contact_to_campaign", json!({"contactId": "{contact}", "campaignId": "{campaign}", "body": {}})),
            ("contacts.remove_from_campaign", json!({"contactId": "{contact}", "campaignId": "{campaign}"})),
            ("contacts.remove_from_all_campaigns", json!({"contactId": "{contact}"})),
            ("contacts.delete_contact_note", json!({"contactId": "{contact}", "id": "{note}"})),
            ("contacts.delete_contact_task", json!({"contactId": "{contact}", "taskId": "{task}"})),
            ("contacts.delete_contact", json!({"contactId": "{contact}"})),
        ];
        let catalog = Catalog::builtin();
        let all: BTreeSet<_> = catalog.items().filter(|i| i.category == "Contacts").map(|i| i.id.as_str()).collect();
        assert_eq!(calls.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(), all, "all 28");
        for (id, with) in calls {
            let item = catalog.get(id).unwrap();
            let mut text = with.to_string();
            for (name, value) in &ids {
                text = text.replace(&format!("{{{name}}}"), value);
            }
            let with: Value = serde_json::from_str(&text).unwrap();
            let answer = request::call(&client, item, with.as_object().unwrap(), location)
                .unwrap()
                .send()
                .await
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            if item.kind == Kind::Trigger && id != "contacts.get_contact_appointments" {
                assert!(!poll::items_of(item, &answer).is_empty(), "{id} found no items in {answer}");
            }
            for (name, field) in [("task", "task"), ("note", "note")] {
                if id == format!("contacts.create_contact_{name}") {
                    ids.insert(name, answer[field]["id"].as_str().unwrap().to_owned());
                }
            }
        }
        let (st, _) = s.get(&format!("/contacts/{contact}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "deleted at the end");
    }
}

/// A flow under a tiny rate limit: the SDK waits instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_rate_limit_slows_a_flow_but_fails_no_step() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let limiter = RateLimiter::in_memory(RateLimits {
            burst: 4,
            interval: Duration::from_secs(1),
            ..RateLimits::default()
        });
        let Some(s) = TestServer::start_limited(backend, limiter).await else {
            continue;
        };
        // The seeding spends the location's budget too: the flow starts with little left.
        for n in 0..5 {
            let body = json!({"firstName": format!("R{n}"), "locationId": s.loc()});
            loop {
                let (st, _) = s.post("/contacts/", body.clone()).await;
                if st != StatusCode::TOO_MANY_REQUESTS {
                    assert_eq!(st, StatusCode::CREATED);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        // One attempt per step: only the SDK's waiting stands between a step and a 429.
        let steps = r#"
            [[steps]]
            id = "contact"
            action = "contacts.get_contact"
            with = { contactId = "{{ trigger.id }}" }
            retry = { attempts = 1 }
            [[steps]]
            action = "contacts.get_contact_tasks"
            with = { contactId = "{{ trigger.id }}" }
            retry = { attempts = 1 }
            [[steps]]
            action = "contacts.get_contact_notes"
            with = { contactId = "{{ trigger.id }}" }
            retry = { attempts = 1 }
        "#;
        let text = backfilling_search("busy", s.loc(), steps);
        let flow = flow::parse(&text, &Value::Null).unwrap();
        let runner = runner(&s).await.with_page_size(2);
        let report = runner.poll(&flow).await.unwrap();
        assert_eq!(
            (report.items, report.done, report.failed),
            (5, 5, 0),
            "{backend:?}: {report:?}"
        );
        for run in runner.store().history(Some("busy"), 10).await.unwrap() {
            for step in runner.store().steps(&run.id).await.unwrap() {
                assert_eq!(step.status, "done", "{step:?}");
            }
        }
    }
}

/// Example (c): hilo's TaskComplete webhook reaches the runner, which posts the task to
/// another system and notes its answer on the contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_c_posts_a_completed_task_and_notes_the_answer() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let settings = crate::webhooks::fast();
        let Some(s) =
            TestServer::start_webhooks(backend, settings, crate::webhooks::ADMIN_KEY).await
        else {
            continue;
        };
        let sink = Sink::start(json!({"id": "T-17"}), None).await;
        let env = json!({"HILO_LOCATION_ID": s.loc(), "TICKETS_URL": sink.url});
        let flow = flow::load(&example("task-completed.toml"), &env).unwrap();
        let (runner, base, task) = serve(runner(&s).await, vec![flow]).await;
        crate::webhooks::install(
            &s,
            &format!("{base}/hooks/tasks"),
            &["contacts.readonly", "contacts.write"],
        )
        .await;

        let contact = s.contact(json!({"firstName": "Grace"})).await;
        // Posts not signed by the server are refused and not kept.
        let forged = json!({"type": "TaskComplete", "id": "forged", "title": "Forged", "contactId": contact, "webhookId": "forged-1"});
        let http = reqwest::Client::new();
        for signature in [None, Some("bm90IGEgc2lnbmF0dXJl")] {
            let mut post = http.post(format!("{base}/hooks/tasks")).json(&forged);
            if let Some(signature) = signature {
                post = post.header("x-ghl-signature", signature);
            }
            let answer = post.send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        }
        let (_, created) = s.post(&format!("/contacts/{contact}/tasks"), json!({"title": "Send the contract", "dueDate": "2030-01-01T00:00:00Z", "completed": false})).await;
        let task_id = created["task"]["id"].as_str().unwrap().to_owned();
        let (st, _) = s
            .put(
                &format!("/contacts/{contact}/tasks/{task_id}/completed"),
                json!({"completed": true}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);

        let notes = wait_for("the note", async || {
            let (_, notes) = s.get(&format!("/contacts/{contact}/notes")).await;
            let notes = notes["notes"].as_array().cloned().unwrap_or_default();
            (!notes.is_empty()).then_some(notes)
        })
        .await;
        assert_eq!(notes.len(), 1);
        assert_eq!(
            notes[0]["body"],
            "Task \"Send the contract\" completed; ticket T-17"
        );
        let hits = sink.hits();
        assert_eq!(
            hits.len(),
            1,
            "other events (ContactCreate, TaskCreate) are not this flow's"
        );
        assert_eq!(
            hits[0].body,
            json!({"task": task_id, "title": "Send the contract", "contact": contact})
        );
        // The note is the last step; the run is marked finished just after it.
        let runs = wait_for("the finished run", async || {
            let runs = finished_runs(runner.store(), "task-completed").await;
            (!runs.is_empty()).then_some(runs)
        })
        .await;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, "done");
        runner.stop();
        task.await.unwrap().unwrap();
    }
}

/// A contact stored late, with a time behind one the flow has already handled (a slow commit,
/// a lagging search index): the next poll looks back over the lag and runs it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_stored_late_inside_the_lag_is_not_lost() {
    const KEY: &str = "hak-flows-lag";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await else {
            continue;
        };
        let sink = Sink::start(json!({}), None).await;
        let steps = format!(
            r#"
            [[steps]]
            http = {{ url = "{}", body = {{ id = "{{{{ trigger.id }}}}" }} }}
        "#,
            sink.url
        );
        let flow = flow::parse(&backfilling_search("late", s.loc(), &steps), &Value::Null).unwrap();
        let runner = runner(&s).await;
        s.contact(json!({"firstName": "Early"})).await;
        assert_eq!(runner.poll(&flow).await.unwrap().done, 1);

        // Stored now, but stamped two seconds ago: behind the watermark, inside the lag.
        let clock = format!("{}/hilo/admin/clock", s.base);
        let (st, _) = s
            .send(
                s.client
                    .post(&clock)
                    .bearer_auth(KEY)
                    .json(&json!({"advanceMs": -2_000})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let late = s.contact(json!({"firstName": "Late"})).await;
        let report = runner.poll(&flow).await.unwrap();
        assert_eq!((report.items, report.done), (1, 1), "{report:?}");
        assert_eq!(sink.hits().last().unwrap().body["id"], late.as_str());
        assert_eq!(
            runner.poll(&flow).await.unwrap().items,
            0,
            "seen in the window, not run again"
        );
        assert_eq!(sink.hits().len(), 2);
    }
}
