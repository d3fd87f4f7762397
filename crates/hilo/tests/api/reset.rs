//! `POST /hilo/admin/reset`: a location emptied in one step, the rest of the server untouched.

use hilo_server::api::{campaigns, workflows};
use hilo_server::ratelimit::RateLimiter;
use hilo_server::tenancy::{self, ContactIdentifier};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

const KEY: &str = "hak-reset-test-key";

/// Rows of `table` in `location`.
async fn rows(s: &TestServer, table: &str, location: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE location_id = $1"
    ))
    .bind(location)
    .fetch_one(s.db.read())
    .await
    .unwrap()
}

const TABLES: [&str; 10] = [
    "contacts",
    "contact_tags",
    "tasks",
    "notes",
    "businesses",
    "custom_fields",
    "campaigns",
    "workflows",
    "contact_campaigns",
    "contact_workflows",
];

/// A contact with a tag, a task, a note, a business, a custom field value and enrolments.
async fn populate(s: &TestServer, token: &str, location: &str) {
    let call = |method: Method, path: String, body: Value| {
        let request = s.request_as(token, method, &path).json(&body);
        async move {
            let (st, answer) = s.send(request).await;
            assert!(st.is_success(), "{path}: {answer}");
            answer
        }
    };
    let field = call(
        Method::POST,
        format!("/locations/{location}/customFields"),
        json!({"name": "Nick", "dataType": "TEXT"}),
    )
    .await;
    let business = call(
        Method::POST,
        "/businesses/".into(),
        json!({"name": "Acme", "locationId": location}),
    )
    .await;
    let contact = call(
        Method::POST,
        "/contacts/".into(),
        json!({"locationId": location, "firstName": "Reset", "tags": ["t"],
        "customFields": [{"id": field["customField"]["id"], "field_value": "x"}]}),
    )
    .await;
    let contact = contact["contact"]["id"].as_str().unwrap().to_owned();
    call(
        Method::POST,
        format!("/contacts/{contact}/tasks"),
        json!({"title": "t", "dueDate": "2030-01-01T00:00:00Z", "completed": false}),
    )
    .await;
    call(
        Method::POST,
        format!("/contacts/{contact}/notes"),
        json!({"body": "n"}),
    )
    .await;
    call(Method::POST, "/contacts/bulk/business".into(), json!({"locationId": location, "ids": [contact], "businessId": business["buiseness"]["id"]})).await;
    let campaign = campaigns::create_campaign(&s.db, location, "C", "published")
        .await
        .unwrap();
    let workflow = workflows::create_workflow(&s.db, location, "W", "published")
        .await
        .unwrap();
    call(
        Method::POST,
        format!("/contacts/{contact}/campaigns/{}", campaign.id),
        json!({}),
    )
    .await;
    call(
        Method::POST,
        format!("/contacts/{contact}/workflow/{}", workflow.id),
        json!({}),
    )
    .await;
}

async fn run(s: TestServer) {
    let s = &s;
    populate(s, &s.token, s.loc()).await;
    populate(s, &s.other_token, &s.other_location.id).await;
    for table in TABLES {
        assert!(rows(s, table, s.loc()).await > 0, "{table}");
    }
    let reset = |body: Value| {
        s.send(
            s.client
                .post(format!("{}/hilo/admin/reset", s.base))
                .bearer_auth(KEY)
                .json(&body),
        )
    };
    let (st, answer) = reset(json!({"locationId": s.loc()})).await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    assert_eq!(answer["locationId"], s.loc());
    assert_eq!(answer["removed"]["contacts"], 1);
    assert_eq!(answer["removed"]["tasks"], 1);
    for table in TABLES {
        assert_eq!(rows(s, table, s.loc()).await, 0, "{table} emptied");
        assert!(
            rows(s, table, &s.other_location.id).await > 0,
            "{table} of the other location kept"
        );
    }
    // The location and its tokens still work: it is simply empty.
    let (st, listed) = s.get(&format!("/contacts/?locationId={}", s.loc())).await;
    assert_eq!(
        (st, listed["contacts"].clone()),
        (StatusCode::OK, json!([]))
    );
    populate(s, &s.token, s.loc()).await;

    // To the demo: empty too, and the contact settings a new location has.
    tenancy::update_contact_settings(
        &s.db,
        s.loc(),
        Some(true),
        Some(&[ContactIdentifier::Phone]),
    )
    .await
    .unwrap();
    let (st, answer) = reset(json!({"locationId": s.loc(), "to": "demo"})).await;
    assert_eq!(st, StatusCode::OK, "{answer}");
    assert_eq!(rows(s, "contacts", s.loc()).await, 0);
    let location = tenancy::find_location(&s.db, s.loc())
        .await
        .unwrap()
        .unwrap();
    assert!(!location.allow_duplicate_contact.0);
    assert_eq!(location.contact_unique_identifiers, "email phone");
    let (st, _) = reset(json!({"locationId": s.loc(), "to": "sideways"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    populate(s, &s.token, s.loc()).await;

    let (st, answer) = reset(json!({"locationId": "AAAAAAAAAAAAAAAAAAAA"})).await;
    assert_eq!(
        (st.as_u16(), answer["message"].clone()),
        (400, json!("Location not found for id:AAAAAAAAAAAAAAAAAAAA"))
    );
    let (st, _) = reset(json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = s
        .send(
            s.client
                .post(format!("{}/hilo/admin/reset", s.base))
                .bearer_auth(&s.token)
                .json(&json!({"locationId": s.loc()})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(
        rows(s, "contacts", s.loc()).await > 0,
        "a refused reset removes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_resets_to_empty() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await {
            run(s).await;
        }
    }
}

/// Several processes starting together on one empty database: one seeds the demo, the others
/// find it seeded (each has its own connections, as separate `hilo serve` processes would).
async fn first_starts_together_seed_one_demo(backend: Backend) {
    let Some(database) = crate::harness::FreshDatabase::create(backend).await else {
        return;
    };
    let first = hilo_server::Db::connect(&database.url).await.unwrap();
    let mut processes = vec![first];
    for _ in 0..3 {
        processes.push(hilo_server::Db::connect(&database.url).await.unwrap());
    }
    let seeds = futures::future::join_all(processes.iter().map(tenancy::seed_demo)).await;
    let seeded = seeds.into_iter().filter_map(Result::unwrap).count();
    assert_eq!(seeded, 1);
    let companies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM companies")
        .fetch_one(processes[0].read())
        .await
        .unwrap();
    assert_eq!(companies, 1);
    for db in processes {
        db.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_starts_together_seed_one_demo_on_sqlite() {
    first_starts_together_seed_one_demo(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_starts_together_seed_one_demo_on_postgres() {
    first_starts_together_seed_one_demo(Backend::Postgres).await;
}
