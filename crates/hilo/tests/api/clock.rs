//! The server clock over HTTP (`/hilo/admin/clock`): frozen, set, advanced or real, and what
//! follows it: `dateAdded`, OAuth access-token expiry, the daily rate-limit quota.

use std::time::Duration;

use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};
use crate::oauth::{app, authorize, exchange};

const KEY: &str = "hak-clock-test-key";

async fn clock(s: &TestServer, change: Option<Value>) -> (StatusCode, Value) {
    let url = format!("{}/hilo/admin/clock", s.base);
    let request = match change {
        Some(body) => s.client.post(url).json(&body),
        None => s.client.get(url),
    };
    s.send(request.bearer_auth(KEY)).await
}

async fn run(s: TestServer) {
    let s = &s;
    let (st, real) = clock(s, None).await;
    assert_eq!((st, real["mode"].clone()), (StatusCode::OK, json!("real")));

    // Frozen: what is written carries the frozen time, however long the test takes.
    let (st, frozen) = clock(
        s,
        Some(json!({"set": "2030-01-01T00:00:00Z", "freeze": true})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{frozen}");
    assert_eq!(
        (frozen["mode"].clone(), frozen["now"].clone()),
        (json!("frozen"), json!("2030-01-01T00:00:00.000Z"))
    );
    let contact = s.contact(json!({"firstName": "Future"})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, got) = s.get(&format!("/contacts/{contact}")).await;
    assert_eq!(got["contact"]["dateAdded"], "2030-01-01T00:00:00.000Z");
    let (_, moved) = clock(s, Some(json!({"advanceMs": 90_000}))).await;
    assert_eq!(moved["now"], "2030-01-01T00:01:30.000Z");
    let (_, updated) = s
        .put(
            &format!("/contacts/{contact}"),
            json!({"lastName": "Later"}),
        )
        .await;
    assert_eq!(
        updated["contact"]["dateUpdated"],
        "2030-01-01T00:01:30.000Z"
    );

    // Access tokens expire by the server's clock: a day later, the token is refused.
    let now = hilo_server::time::now_ms();
    clock(s, Some(json!({"set": now, "freeze": true}))).await;
    let test_app = app(s, "contacts.readonly", Distribution::Location).await;
    let code = authorize(s, &test_app, InstallTarget::Location(s.loc().to_owned())).await;
    let tokens = exchange(s, &test_app, &code, "Location").await;
    let access = tokens["access_token"].as_str().unwrap();
    let path = format!("/contacts/{contact}");
    assert_eq!(
        s.send(s.request_as(access, Method::GET, &path)).await.0,
        StatusCode::OK
    );
    clock(s, Some(json!({"advanceMs": 86_400_000}))).await;
    let (st, body) = s.send(s.request_as(access, Method::GET, &path)).await;
    assert_eq!(
        (st.as_u16(), body["message"].clone()),
        (401, json!("Invalid JWT"))
    );

    // Back to real time; bad changes are refused.
    let (_, back) = clock(s, Some(json!({"real": true}))).await;
    assert_eq!(back["mode"], "real");
    for bad in [
        json!({}),
        json!({"set": "tomorrow"}),
        json!({"advanceMs": 5, "real": true}),
        json!({"real": true, "freeze": true}),
        json!({"warp": 1}),
    ] {
        let (st, body) = clock(s, Some(bad.clone())).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (st, _) = s
        .send(
            s.client
                .get(format!("{}/hilo/admin/clock", s.base))
                .bearer_auth(&s.token),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_moves_what_is_written_and_token_expiry() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await {
            run(s).await;
        }
    }
}

/// The daily quota rolls over at the server's midnight (UTC), not the machine's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_follows_the_clock() {
    let limits = RateLimits {
        burst: 100,
        interval: Duration::from_secs(10),
        daily: 2,
    };
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(s) = TestServer::start_admin(backend, RateLimiter::in_memory(limits), KEY).await
        else {
            continue;
        };
        clock(
            &s,
            Some(json!({"set": "2030-06-01T23:59:00Z", "freeze": true})),
        )
        .await;
        let list = format!("/contacts/?locationId={}", s.loc());
        assert_eq!(s.get(&list).await.0, StatusCode::OK);
        assert_eq!(s.get(&list).await.0, StatusCode::OK);
        assert_eq!(s.get(&list).await.0, StatusCode::TOO_MANY_REQUESTS);
        clock(&s, Some(json!({"advanceMs": 120_000}))).await;
        let response = s.request(Method::GET, &list).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "a new day");
        assert_eq!(response.headers()["x-ratelimit-daily-remaining"], "1");
    }
}
