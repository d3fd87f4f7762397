//! hilo's control plane over HTTP: `GET /hilo/admin/limits` behind the admin key (stored hashed
//! and reset while the server runs, or given at start), showing the live rate-limit counters of
//! each app and private token on one location or agency.

use std::time::Duration;

use hilo_server::control;
use hilo_server::endpoints::Scope;
use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::tenancy::{self, TokenOwner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};
use crate::oauth::{app, authorize, exchange};
use crate::on_both;

/// `GET /hilo/admin/limits{query}` with this `Authorization` header, or none.
async fn limits(
    s: &TestServer,
    authorization: Option<&str>,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = s.client.get(format!("{}/hilo/admin/limits{query}", s.base));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
    (status, headers, body)
}

/// The report of `query` read with the admin key `key`; it must succeed.
async fn report(s: &TestServer, key: &str, query: &str) -> Value {
    let (status, _, body) = limits(s, Some(&format!("Bearer {key}")), query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// `n` successful calls of `path` with `token`.
async fn calls(s: &TestServer, token: &str, path: &str, n: usize) {
    for _ in 0..n {
        let (status, body) = s.send(s.request_as(token, Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

fn list_contacts(location: &str) -> String {
    format!("/contacts/?locationId={location}")
}

/// The counter of `client` in a report, if it has one.
fn counter<'a>(report: &'a Value, client: &str) -> Option<&'a Value> {
    report["counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == client)
}

/// `counter` says `used` requests of the window and the day, the rest of `limits` left.
fn assert_counted(counter: &Value, used: u32, limits: RateLimits) {
    assert_eq!(counter["windowUsed"], used, "{counter}");
    assert_eq!(counter["windowRemaining"], limits.burst - used, "{counter}");
    assert_eq!(counter["dailyUsed"], used, "{counter}");
    assert_eq!(counter["dailyRemaining"], limits.daily - used, "{counter}");
    let resets = counter["windowResetsAt"].as_str().unwrap_or_default();
    assert!(
        resets.starts_with("20") && resets.ends_with('Z'),
        "{counter}"
    );
}

/// The limits a report says are configured.
fn configured(report: &Value) -> RateLimits {
    let limits = &report["limits"];
    let number = |name: &str| limits[name].as_u64().unwrap_or_else(|| panic!("{report}"));
    RateLimits {
        burst: u32::try_from(number("burst")).unwrap(),
        interval: Duration::from_millis(number("intervalMilliseconds")),
        daily: u32::try_from(number("daily")).unwrap(),
    }
}

fn assert_unauthorized(status: StatusCode, body: &Value, message: &str, context: &str) {
    assert_eq!(
        (status.as_u16(), body),
        (
            401,
            &json!({"statusCode": 401, "message": message, "error": "Unauthorized"})
        ),
        "{context}"
    );
}

const INVALID_ADMIN_KEY: &str = "Invalid admin key";

on_both! {
    async fn the_admin_key_guards_the_control_plane(s) {
        let query = format!("?locationId={}", s.loc());
        // No key is stored yet: nothing opens the control plane.
        let (st, _, b) = limits(s, Some("Bearer hak-anything"), &query).await;
        assert_unauthorized(st, &b, INVALID_ADMIN_KEY, "no key stored");

        let key = control::ensure_admin_key(&s.db).await.unwrap().expect("the first key");
        assert!(key.starts_with("hak-"), "{key}");
        assert_eq!(control::ensure_admin_key(&s.db).await.unwrap(), None, "a key is created once");

        let (st, headers, b) = limits(s, None, &query).await;
        assert_unauthorized(st, &b, "No Authorization header found for authentication!", "no header");
        assert!(headers.get("x-ratelimit-remaining").is_none());
        for bad in [
            format!("Bearer {key}x"),
            format!("Bearer {}", &key[..key.len() - 1]),
            "Bearer ".to_owned(),
            format!("Basic {key}"),
            key.clone(),
            // A HighLevel token is not an admin key, whatever its scopes.
            format!("Bearer {}", s.token),
        ] {
            let (st, _, b) = limits(s, Some(&bad), &query).await;
            assert_unauthorized(st, &b, INVALID_ADMIN_KEY, &bad);
            assert!(!b.to_string().contains(&key[4..]), "{b}");
        }
        // The scheme is case-insensitive, as on the HighLevel routes.
        for good in [format!("Bearer {key}"), format!("bearer {key}"), format!("BEARER {key}")] {
            let (st, headers, b) = limits(s, Some(&good), &query).await;
            assert_eq!(st, StatusCode::OK, "{good}: {b}");
            assert!(uuid::Uuid::parse_str(b["traceId"].as_str().unwrap_or_default()).is_ok(), "{b}");
            assert!(!b.to_string().contains(&key), "{b}");
            // The control plane is not a HighLevel route: it is not rate limited.
            assert!(headers.get("x-ratelimit-remaining").is_none());
        }
        // Nor does the admin key open the HighLevel routes.
        let (st, b) = s.send(s.request_as(&key, Method::GET, &list_contacts(s.loc()))).await;
        assert_unauthorized(st, &b, "Invalid JWT", "admin key on a HighLevel route");

        // A reset takes effect on the running server at once: the old key stops working.
        let new = control::reset_admin_key(&s.db).await.unwrap();
        assert_ne!(new, key);
        let (st, _, b) = limits(s, Some(&format!("Bearer {key}")), &query).await;
        assert_unauthorized(st, &b, INVALID_ADMIN_KEY, "the key before the reset");
        report(s, &new, &query).await;
        // Only the hash is stored.
        let stored: Vec<String> = sqlx::query_scalar("SELECT secret FROM server_keys")
            .fetch_all(s.db.read())
            .await
            .unwrap();
        assert!(stored.iter().all(|secret| !secret.contains(&new[4..])), "{stored:?}");
    }

    async fn the_limits_query_names_one_location_or_agency(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        let auth = format!("Bearer {key}");
        let one_of = json!(["exactly one of locationId and companyId must be given"]);
        for query in [
            String::new(),
            "?locationId=".to_owned(),
            "?companyId=%20".to_owned(),
            format!("?locationId={}&companyId={}", s.loc(), s.location.company_id),
        ] {
            let (st, _, b) = limits(s, Some(&auth), &query).await;
            assert_eq!(
                (st.as_u16(), &b),
                (422, &json!({"statusCode": 422, "message": one_of, "error": "Unprocessable Entity"})),
                "{query:?}"
            );
        }
        let (st, _, b) = limits(s, Some(&auth), &format!("?locationId={}&bogus=1", s.loc())).await;
        assert_eq!((st.as_u16(), &b["message"]), (422, &json!(["property bogus should not exist"])));
        // The key is checked before the query.
        let (st, _, b) = limits(s, None, "?bogus=1").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");
        // Trailing slashes are optional here too.
        let (st, _, b) = limits(s, Some(&auth), &format!("/?locationId={}", s.loc())).await;
        assert_eq!(st, StatusCode::OK, "{b}");
    }

    async fn counters_show_what_each_caller_used(s) {
        let key = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
        let (loc, company) = (s.loc().to_owned(), s.location.company_id.clone());
        let issued = tenancy::create_token(&s.db, TokenOwner::Location(&loc), &Scope::ALL).await.unwrap();
        calls(s, &issued.token, &list_contacts(&loc), 5).await;

        let seen = report(s, &key, &format!("?locationId={loc}")).await;
        assert_eq!(seen["resourceId"], loc.as_str());
        let limits = configured(&seen);
        assert_eq!(seen["counters"].as_array().unwrap().len(), 1, "{seen}");
        // Counted by the token's id; the token itself appears nowhere.
        assert_counted(counter(&seen, &issued.id).unwrap_or_else(|| panic!("{seen}")), 5, limits);
        assert!(!seen.to_string().contains(&issued.token), "{seen}");
        // Nothing of it on the other location or the agency.
        for query in [format!("?locationId={}", s.other_location.id), format!("?companyId={company}")] {
            assert_eq!(report(s, &key, &query).await["counters"], json!([]), "{query}");
        }

        // OAuth tokens count by the app's client id: a Location token on its location, the
        // Company token on the agency.
        let test_app = app(s, "contacts.readonly oauth.readonly", Distribution::Agency).await;
        let code = authorize(s, &test_app, InstallTarget::Location(loc.clone())).await;
        let location_oauth = exchange(s, &test_app, &code, "Location").await;
        calls(s, location_oauth["access_token"].as_str().unwrap(), &list_contacts(&loc), 2).await;
        let target = InstallTarget::Agency { company_id: company.clone(), locations: vec![loc.clone()] };
        let code = authorize(s, &test_app, target).await;
        let company_oauth = exchange(s, &test_app, &code, "Company").await;
        let installed = format!("/oauth/installedLocations?companyId={company}&appId={}", test_app.id);
        calls(s, company_oauth["access_token"].as_str().unwrap(), &installed, 3).await;

        let seen = report(s, &key, &format!("?locationId={loc}")).await;
        assert_eq!(seen["counters"].as_array().unwrap().len(), 2, "{seen}");
        assert_counted(counter(&seen, &issued.id).unwrap(), 5, limits);
        assert_counted(counter(&seen, &test_app.client_id).unwrap_or_else(|| panic!("{seen}")), 2, limits);
        let agency = report(s, &key, &format!("?companyId={company}")).await;
        assert_eq!(agency["resourceId"], company.as_str());
        assert_eq!(agency["counters"].as_array().unwrap().len(), 1, "{agency}");
        assert_counted(counter(&agency, &test_app.client_id).unwrap_or_else(|| panic!("{agency}")), 3, limits);
    }
}

/// Runs `test` on a server started with `limiter` and the admin key `key`, on SQLite and (when
/// configured) PostgreSQL.
async fn on_both_with_key<F, Fut>(limiter: impl Fn() -> RateLimiter, key: &str, test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_admin(backend, limiter(), key).await {
            test(s).await;
        }
    }
}

const CONFIGURED_KEY: &str = "hak-configured-for-this-test";

/// `hilo serve --admin-key`: that key and no other, and the configured limits in the report,
/// with N requests as N used and burst - N left, and refused requests not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_given_at_start_and_the_configured_limits() {
    let limits = RateLimits {
        burst: 6,
        interval: Duration::from_secs(3600),
        daily: 50,
    };
    on_both_with_key(
        || RateLimiter::in_memory(limits),
        CONFIGURED_KEY,
        |s| async move {
            let s = &s;
            let query = format!("?locationId={}", s.loc());
            // A stored key does not open a server started with its own.
            let stored = control::ensure_admin_key(&s.db).await.unwrap().unwrap();
            let (st, _, b) = limits_with(s, &stored, &query).await;
            assert_unauthorized(st, &b, INVALID_ADMIN_KEY, "the stored key");

            let issued = tenancy::create_token(&s.db, TokenOwner::Location(s.loc()), &Scope::ALL)
                .await
                .unwrap();
            calls(s, &issued.token, &list_contacts(s.loc()), 4).await;
            let seen = report(s, CONFIGURED_KEY, &query).await;
            assert_eq!(
                seen["limits"],
                json!({"burst": 6, "intervalMilliseconds": 3_600_000, "daily": 50})
            );
            assert_eq!(configured(&seen), limits);
            assert_counted(counter(&seen, &issued.id).unwrap(), 4, limits);

            // Two more pass, the next two are refused and consume nothing.
            calls(s, &issued.token, &list_contacts(s.loc()), 2).await;
            for _ in 0..2 {
                let (st, _) = s
                    .send(s.request_as(&issued.token, Method::GET, &list_contacts(s.loc())))
                    .await;
                assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
            }
            let seen = report(s, CONFIGURED_KEY, &query).await;
            assert_counted(counter(&seen, &issued.id).unwrap(), 6, limits);
        },
    )
    .await;
}

async fn limits_with(
    s: &TestServer,
    key: &str,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    limits(s, Some(&format!("Bearer {key}")), query).await
}

/// `--rate-limits off`: the report says `limits: null` and counts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_off_reports_null() {
    on_both_with_key(RateLimiter::off, CONFIGURED_KEY, |s| async move {
        let s = &s;
        calls(s, &s.token, &list_contacts(s.loc()), 3).await;
        let mut seen = report(s, CONFIGURED_KEY, &format!("?locationId={}", s.loc())).await;
        seen.as_object_mut().unwrap().remove("traceId");
        assert_eq!(
            seen,
            json!({"limits": null, "resourceId": s.loc(), "counters": []})
        );
    })
    .await;
}

/// `GET /hilo/admin/state?locationId=…`: installed apps and live tokens, never their secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_shows_installed_apps_and_live_tokens() {
    const KEY: &str = "hak-state-test-key";
    on_both_with_key(RateLimiter::off, KEY, |s| async move {
        let s = &s;
        let test_app = app(s, "contacts.readonly", Distribution::Location).await;
        let code = authorize(s, &test_app, InstallTarget::Location(s.loc().to_owned())).await;
        let tokens = exchange(s, &test_app, &code, "Location").await;
        let url = |location: &str| format!("{}/hilo/admin/state?locationId={location}", s.base);
        let (st, state) = s.send(s.client.get(url(s.loc())).bearer_auth(KEY)).await;
        assert_eq!(st, StatusCode::OK, "{state}");
        let installed = state["installedApps"].as_array().unwrap();
        assert_eq!(installed.len(), 1, "{state}");
        assert_eq!(installed[0]["clientId"], test_app.client_id.as_str());
        assert_eq!(installed[0]["scopes"], "contacts.readonly");
        let live = state["liveTokens"].as_array().unwrap();
        let kinds: Vec<&str> = live.iter().map(|t| t["kind"].as_str().unwrap()).collect();
        // The harness's five working private tokens (the revoked one is not live), and the grant.
        assert_eq!(
            kinds.iter().filter(|k| **k == "private").count(),
            5,
            "{state}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "oauth").count(),
            1,
            "{state}"
        );
        let text = state.to_string();
        for secret in [
            s.token.as_str(),
            tokens["access_token"].as_str().unwrap(),
            tokens["refresh_token"].as_str().unwrap(),
            test_app.client_secret.as_str(),
        ] {
            assert!(!text.contains(secret), "no secret in {text}");
        }
        let (st, body) = s
            .send(s.client.get(url("AAAAAAAAAAAAAAAAAAAA")).bearer_auth(KEY))
            .await;
        assert_eq!(
            (st.as_u16(), body["message"].clone()),
            (400, json!("Location not found for id:AAAAAAAAAAAAAAAAAAAA"))
        );
        let (st, _) = s
            .send(
                s.client
                    .get(format!("{}/hilo/admin/state", s.base))
                    .bearer_auth(KEY),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}
