//! The request journal over HTTP: what clients sent and what hilo answered, queried and counted
//! through `/hilo/admin/journal`, with secrets redacted.

use hilo_server::ratelimit::RateLimiter;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

const KEY: &str = "hak-journal-test-key";

async fn journal(s: &TestServer, path_and_query: &str) -> (StatusCode, Value) {
    s.send(
        s.client
            .get(format!("{}/hilo/admin/journal{path_and_query}", s.base))
            .bearer_auth(KEY),
    )
    .await
}

async fn count(s: &TestServer, query: &str) -> u64 {
    let (st, body) = journal(s, &format!("/count?{query}")).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["count"].as_u64().unwrap()
}

async fn run(s: TestServer) {
    let s = &s;
    let started = hilo_server::time::now_ms();
    let (st, created) = s
        .post(
            "/contacts/",
            json!({"locationId": s.loc(), "firstName": "Ada", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let contact = created["contact"]["id"].as_str().unwrap().to_owned();
    s.post(
        "/contacts/",
        json!({"locationId": s.loc(), "firstName": "Grace", "email": "grace@example.com"}),
    )
    .await;
    let (st, _) = s
        .send(
            s.client
                .get(format!("{}/contacts/{contact}", s.base))
                .header("Version", "2021-07-28"),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .send(
            s.request(Method::GET, &format!("/contacts/{contact}"))
                .header("X-Hilo-Fault", "429"),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);

    // "How many POST /contacts/ with this email since the test began?"
    assert_eq!(
        count(
            s,
            &format!("method=POST&path=/contacts&bodyContains=ada%40example.com&since={started}")
        )
        .await,
        1
    );
    assert_eq!(count(s, "method=POST&path=/contacts").await, 2);
    assert_eq!(count(s, "status=429").await, 1);
    assert_eq!(count(s, &format!("since={}", started + 3_600_000)).await, 0);
    // The anonymous request and the faulted one never reached authentication: no caller.
    assert_eq!(count(s, &format!("locationId={}", s.loc())).await, 2);

    // The newest first, with the caller, the headers less secrets, and both bodies.
    let (_, page) = journal(s, "?method=POST&limit=1").await;
    let entries = page["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let grace = &entries[0];
    assert_eq!(
        (
            grace["method"].clone(),
            grace["path"].clone(),
            grace["status"].clone()
        ),
        (json!("POST"), json!("/contacts"), json!(201)),
        "paths as routed, without a trailing slash"
    );
    assert_eq!(grace["tokenKind"], "LocationPrivate");
    assert_eq!(grace["locationId"], s.loc());
    assert!(grace["clientId"].is_string());
    assert_eq!(grace["requestHeaders"]["authorization"], "[redacted]");
    assert_eq!(grace["requestHeaders"]["version"], "2021-07-28");
    assert!(grace["requestBody"]
        .as_str()
        .unwrap()
        .contains("grace@example.com"));
    assert!(grace["responseBody"]
        .as_str()
        .unwrap()
        .contains("\"contact\""));
    assert!(grace["latencyMs"].as_f64().unwrap() >= 0.0);
    assert!(!page.to_string().contains(&s.token), "no token anywhere");
    assert_eq!(page["capacity"], hilo_server::journal::DEFAULT_CAPACITY);

    // The OAuth token endpoint is journaled with its secrets redacted.
    let form = [
        ("client_id", "nobody"),
        ("client_secret", "very-secret-value"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "rt-secret"),
    ];
    let (st, _) = s
        .send(s.client.post(format!("{}/oauth/token", s.base)).form(&form))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (_, page) = journal(s, "?path=/oauth/token").await;
    let text = page.to_string();
    assert!(text.contains("client_id=nobody"), "{text}");
    assert!(
        !text.contains("very-secret-value") && !text.contains("rt-secret"),
        "{text}"
    );

    // Refusals, and clearing.
    let (st, body) = journal(s, "?since=yesterday").await;
    assert_eq!(
        (st, body["message"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["since must be an ISO 8601 date-time or epoch milliseconds"])
        )
    );
    let (st, _) = journal(s, "?surprise=1").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = s
        .send(
            s.client
                .get(format!("{}/hilo/admin/journal", s.base))
                .bearer_auth(&s.token),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, cleared) = s
        .send(
            s.client
                .delete(format!("{}/hilo/admin/journal", s.base))
                .bearer_auth(KEY),
        )
        .await;
    assert_eq!((st, cleared["cleared"].clone()), (StatusCode::OK, json!(5)));
    assert_eq!(count(s, "").await, 0, "the control plane is not journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_records_what_clients_sent() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await {
            run(s).await;
        }
    }
}
