//! HighLevel's rate limits over HTTP: per app (or private token) per location, a burst per
//! interval and a daily quota, the five `X-RateLimit-*` headers on every authenticated response,
//! and the 429 with `Retry-After` when a limit is spent.

use std::time::Duration;

use hilo_server::endpoints::Scope;
use hilo_server::oauth::apps::Distribution;
use hilo_server::oauth::grants::InstallTarget;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::tenancy::{self, TokenOwner};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Backend, TestServer};
use crate::oauth::{app, authorize, exchange};

/// A private token with every scope for `location`, counted apart from the harness's tokens.
async fn fresh_token(s: &TestServer, location: &str) -> String {
    tenancy::create_token(&s.db, TokenOwner::Location(location), &Scope::ALL)
        .await
        .unwrap()
        .token
}

/// One cheap authenticated call: list the location's contacts.
async fn list(s: &TestServer, token: &str, location: &str) -> (StatusCode, HeaderMap, String) {
    let response = s
        .request_as(
            token,
            reqwest::Method::GET,
            &format!("/contacts/?locationId={location}"),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

const RATE_HEADERS: [&str; 5] = [
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
];

fn assert_no_rate_headers(headers: &HeaderMap) {
    for name in RATE_HEADERS {
        assert!(headers.get(name).is_none(), "{name} should be absent");
    }
}

fn limits(burst: u32, interval: Duration, daily: u32) -> RateLimiter {
    RateLimiter::in_memory(RateLimits {
        burst,
        interval,
        daily,
    })
}

/// Runs `test` on a server with `limiter`, on SQLite and (when configured) PostgreSQL.
async fn on_both_limited<F, Fut>(limiter: impl Fn() -> RateLimiter, test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(s) = TestServer::start_limited(backend, limiter()).await {
            test(s).await;
        }
    }
}

/// HighLevel's defaults: 101 quick requests from one token to one location.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_and_first_request_is_refused() {
    on_both_limited(RateLimiter::default, |s| async move {
        let s = &s;
        let token = fresh_token(s, s.loc()).await;
        for i in 0..100u64 {
            let (status, headers, body) = list(s, &token, s.loc()).await;
            assert_eq!(status, StatusCode::OK, "request {i}: {body}");
            assert_eq!(header(&headers, "x-ratelimit-max"), Some(100));
            assert_eq!(
                header(&headers, "x-ratelimit-interval-milliseconds"),
                Some(10_000)
            );
            assert_eq!(header(&headers, "x-ratelimit-limit-daily"), Some(200_000));
            assert_eq!(
                header(&headers, "x-ratelimit-remaining"),
                Some(99 - i),
                "request {i}"
            );
            assert_eq!(
                header(&headers, "x-ratelimit-daily-remaining"),
                Some(199_999 - i),
                "request {i}"
            );
            assert!(headers.get("retry-after").is_none());
        }
        let (status, headers, body) = list(s, &token, s.loc()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"statusCode": 429, "message": "Too Many Requests"})
        );
        let retry_after = header(&headers, "retry-after").expect("Retry-After");
        assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(0));
        // A refused request consumes nothing.
        assert_eq!(
            header(&headers, "x-ratelimit-daily-remaining"),
            Some(199_900)
        );

        // Other tokens, and the same token's other callers, count apart.
        let (status, headers, _) = list(s, &fresh_token(s, s.loc()).await, s.loc()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(99));
        let other = s.other_location.id.clone();
        let (status, _, _) = list(s, &s.other_token, &other).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

/// Only a caller whose token is valid is counted; errors after that carry the headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_on_authenticated_responses_only() {
    on_both_limited(RateLimiter::default, |s| async move {
        let s = &s;
        let token = fresh_token(s, s.loc()).await;
        let (status, headers, _) = list(s, "pit-not-a-token", s.loc()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_no_rate_headers(&headers);

        let response = s
            .client
            .get(format!("{}/contacts/?locationId={}", s.base, s.loc()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "no Version header"
        );
        assert_no_rate_headers(response.headers());

        // Authenticated but refused afterwards: a 422 and a 403 are counted and say so.
        let response = s
            .request_as(&token, reqwest::Method::POST, "/contacts/")
            .json(&json!({"locationId": s.loc(), "bogus": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            header(response.headers(), "x-ratelimit-remaining"),
            Some(99)
        );
        let (status, headers, _) = list(s, &token, &s.other_location.id).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(98));

        // The token endpoint authenticates apps, not API calls: no headers.
        let response = s
            .client
            .post(format!("{}/oauth/token", s.base))
            .form(&[("grant_type", "refresh_token")])
            .send()
            .await
            .unwrap();
        assert_no_rate_headers(response.headers());
    })
    .await;
}

/// OAuth tokens count per app: two grants of one app on one location share a counter,
/// the same app on another location has its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_count_per_app_and_location() {
    on_both_limited(RateLimiter::default, |s| async move {
        let s = &s;
        let test_app = app(s, "contacts.readonly", Distribution::Location).await;
        let mut tokens = Vec::new();
        for location in [s.loc(), s.loc(), &s.other_location.id] {
            let code = authorize(s, &test_app, InstallTarget::Location(location.to_owned())).await;
            let grant = exchange(s, &test_app, &code, "Location").await;
            tokens.push(grant["access_token"].as_str().unwrap().to_owned());
        }
        let (_, first, _) = list(s, &tokens[0], s.loc()).await;
        let (_, second, _) = list(s, &tokens[1], s.loc()).await;
        let (_, elsewhere, _) = list(s, &tokens[2], &s.other_location.id).await;
        assert_eq!(header(&first, "x-ratelimit-remaining"), Some(99));
        assert_eq!(header(&second, "x-ratelimit-remaining"), Some(98));
        assert_eq!(header(&elsewhere, "x-ratelimit-remaining"), Some(99));
    })
    .await;
}

/// However many requests arrive at once, exactly `burst` pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_pass_exactly_the_burst() {
    on_both_limited(
        || limits(20, Duration::from_secs(3600), 1000),
        |s| async move {
            let token = fresh_token(&s, s.loc()).await;
            let calls = (0..50).map(|_| list(&s, &token, s.loc()));
            let results = futures::future::join_all(calls).await;
            let mut remaining: Vec<u64> = results
                .iter()
                .filter(|(status, _, _)| *status == StatusCode::OK)
                .map(|(_, headers, _)| header(headers, "x-ratelimit-remaining").unwrap())
                .collect();
            remaining.sort_unstable();
            assert_eq!(remaining, (0..20).collect::<Vec<u64>>());
            let refused = results
                .iter()
                .filter(|(status, _, _)| *status == StatusCode::TOO_MANY_REQUESTS)
                .count();
            assert_eq!(refused, 30);
        },
    )
    .await;
}

/// A new window opens once the interval has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_burst_window_resets() {
    on_both_limited(
        || limits(2, Duration::from_millis(300), 1000),
        |s| async move {
            let token = fresh_token(&s, s.loc()).await;
            for _ in 0..2 {
                assert_eq!(list(&s, &token, s.loc()).await.0, StatusCode::OK);
            }
            let (status, headers, _) = list(&s, &token, s.loc()).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(header(&headers, "retry-after"), Some(1));
            tokio::time::sleep(Duration::from_millis(350)).await;
            let (status, headers, _) = list(&s, &token, s.loc()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(1));
            assert_eq!(header(&headers, "x-ratelimit-daily-remaining"), Some(997));
        },
    )
    .await;
}

/// The daily quota refuses until the next UTC midnight, whatever the burst allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_is_enforced() {
    on_both_limited(
        || limits(100, Duration::from_secs(10), 3),
        |s| async move {
            let token = fresh_token(&s, s.loc()).await;
            for left in [2, 1, 0] {
                let (status, headers, _) = list(&s, &token, s.loc()).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(header(&headers, "x-ratelimit-daily-remaining"), Some(left));
            }
            let (status, headers, _) = list(&s, &token, s.loc()).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(header(&headers, "x-ratelimit-daily-remaining"), Some(0));
            assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(97));
            let retry_after = header(&headers, "retry-after").unwrap();
            assert!(
                (1..=86_400).contains(&retry_after),
                "Retry-After {retry_after}"
            );
        },
    )
    .await;
}

/// `--rate-limits off`: nothing is counted and no headers are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_off_lets_everything_through() {
    on_both_limited(RateLimiter::off, |s| async move {
        let token = fresh_token(&s, s.loc()).await;
        for _ in 0..120 {
            let (status, headers, body) = list(&s, &token, s.loc()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_no_rate_headers(&headers);
        }
    })
    .await;
}
