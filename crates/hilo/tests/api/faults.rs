//! Fault injection over HTTP: rules set through `/hilo/admin/faults` and the per-request
//! `X-Hilo-Fault` header make HighLevel routes answer 429s, 5xx, malformed bodies, expired-token
//! 401s or dropped connections, and a faulted request writes nothing.

use hilo_server::ratelimit::RateLimiter;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};

const KEY: &str = "hak-faults-test-key";

async fn admin(
    s: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = s
        .client
        .request(method, format!("{}/hilo/admin/faults{path}", s.base))
        .bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    s.send(request).await
}

async fn add(s: &TestServer, rule: Value) -> Value {
    let (st, body) = admin(s, Method::POST, "", Some(rule)).await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    body["fault"].clone()
}

async fn contacts(s: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM contacts")
        .fetch_one(s.db.read())
        .await
        .unwrap()
}

async fn run(s: TestServer) {
    let s = &s;
    // The integrator's scenario: the next POST /contacts/ answers 429 twice, then succeeds.
    let rule = add(s, json!({"match": {"method": "POST", "path": "/contacts"}, "effect": {"type": "status", "status": 429, "retryAfterSecs": 3}, "times": 2})).await;
    let create = json!({"locationId": s.loc(), "firstName": "Retry"});
    for _ in 0..2 {
        let response = s
            .request(Method::POST, "/contacts/")
            .json(&create)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"statusCode": 429, "message": "Too Many Requests"})
        );
    }
    assert_eq!(contacts(s).await, 0, "a faulted request writes nothing");
    let (st, created) = s.post("/contacts/", create.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let contact = created["contact"]["id"].as_str().unwrap().to_owned();
    let (_, listed) = admin(s, Method::GET, "", None).await;
    assert_eq!(listed["faults"], json!([]), "a spent rule retires");
    assert!(rule["id"].is_string());

    // One request, one fault, by header; an unknown fault is refused.
    for (fault, status, body) in [
        (
            "503",
            503,
            json!({"statusCode": 503, "message": "Service Unavailable"}),
        ),
        (
            "500",
            500,
            json!({"statusCode": 500, "message": "Internal server error"}),
        ),
        (
            "expired_token",
            401,
            json!({"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}),
        ),
    ] {
        let (st, got) = s
            .send(
                s.request(Method::GET, &format!("/contacts/{contact}"))
                    .header("X-Hilo-Fault", fault),
            )
            .await;
        assert_eq!((st.as_u16(), got), (status, body), "{fault}");
    }
    let (st, got) = s
        .send(
            s.request(Method::GET, &format!("/contacts/{contact}"))
                .header("X-Hilo-Fault", "latency=5"),
        )
        .await;
    assert_eq!(
        (st, got["contact"]["id"].clone()),
        (StatusCode::OK, json!(contact)),
        "latency lets the request through"
    );
    let (st, got) = s
        .send(
            s.request(Method::GET, &format!("/contacts/{contact}"))
                .header("X-Hilo-Fault", "explode"),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{got}");
    let before = contacts(s).await;
    let (st, _) = s
        .send(
            s.request(Method::POST, "/contacts/")
                .header("X-Hilo-Fault", "502")
                .json(&json!({"locationId": s.loc(), "firstName": "Never"})),
        )
        .await;
    assert_eq!(st.as_u16(), 502);
    assert_eq!(contacts(s).await, before);

    // The Nth matching request of a path pattern; a malformed body; a dropped connection.
    add(
        s,
        json!({"match": {"path": "/contacts/*"}, "effect": {"type": "malformed"}, "nth": 2}),
    )
    .await;
    let path = format!("/contacts/{contact}");
    assert_eq!(s.get(&path).await.0, StatusCode::OK);
    let text = s
        .request(Method::GET, &path)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(s.get(&path).await.0, StatusCode::OK);
    let dropped = s
        .request(Method::GET, &path)
        .header("X-Hilo-Fault", "drop")
        .send()
        .await;
    let failed = match dropped {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "the connection breaks");

    // Rules matched by the caller's location: the other location's token only.
    let rule = add(s, json!({"match": {"locationId": s.other_location.id}, "effect": {"type": "status", "status": 500}})).await;
    assert_eq!(s.get(&path).await.0, StatusCode::OK);
    let r = s.request_as(
        &s.other_token,
        Method::GET,
        &format!("/contacts/?locationId={}", s.other_location.id),
    );
    assert_eq!(s.send(r).await.0.as_u16(), 500);
    let (_, listed) = admin(s, Method::GET, "", None).await;
    assert_eq!(listed["faults"][0]["hits"], 1, "{listed}");
    let id = rule["id"].as_str().unwrap();
    let (st, removed) = admin(s, Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!((st, removed["removed"].clone()), (StatusCode::OK, json!(1)));
    let (st, body) = admin(s, Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(
        (st.as_u16(), body["message"].clone()),
        (400, json!(format!("Fault rule not found for id:{id}")))
    );
    let r = s.request_as(
        &s.other_token,
        Method::GET,
        &format!("/contacts/?locationId={}", s.other_location.id),
    );
    assert_eq!(s.send(r).await.0, StatusCode::OK);

    // Bad rules, and callers without the admin key.
    for bad in [
        json!({"effect": {"type": "status", "status": 404}}),
        json!({"effect": {"type": "teleport"}}),
        json!({"effect": {"type": "drop"}, "probability": 2}),
        json!({"effect": {"type": "drop"}, "surprise": true}),
    ] {
        let (st, body) = admin(s, Method::POST, "", Some(bad.clone())).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (st, _) = s
        .send(s.client.get(format!("{}/hilo/admin/faults", s.base)))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .send(
            s.client
                .post(format!("{}/hilo/admin/faults", s.base))
                .bearer_auth(&s.token)
                .json(&json!({"effect": {"type": "drop"}})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a HighLevel token is no admin key"
    );
    add(s, json!({"effect": {"type": "drop"}})).await;
    let (_, cleared) = admin(s, Method::DELETE, "", None).await;
    assert_eq!(cleared["removed"], 1);
    assert_eq!(s.get(&path).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_headers_fault_requests() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_admin(backend, RateLimiter::off(), KEY).await {
            run(s).await;
        }
    }
}
