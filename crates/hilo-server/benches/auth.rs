//! What authentication and rate limiting cost per request, apart from the handler: an OAuth
//! access token (signature, expiry, revocation set; no database read), a private integration
//! token (one indexed read), and the rate-limit count. `cargo bench -p hilo-server --bench auth`.

// A failed unwrap in set-up stops the bench with its location, as in tests.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hilo_server::auth::authenticate;
use hilo_server::endpoints::{Operation, Scope};
use hilo_server::oauth::jwt::{AccessClaims, OAuthMeta};
use hilo_server::oauth::OAuthSettings;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::tenancy::{self, TokenOwner};
use hilo_server::time::now_ms;
use hilo_server::{AppState, Db};
use tokio::runtime::Runtime;

/// Limits that count every request but never refuse one, so the loop measures the allowed path.
fn counting_limits() -> RateLimiter {
    RateLimiter::in_memory(RateLimits {
        burst: u32::MAX,
        interval: Duration::from_secs(10),
        daily: u32::MAX,
    })
}

struct Fixture {
    state: AppState,
    location: String,
    private_token: String,
    access_token: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    let company = tenancy::create_company(&db, "Bench").await.unwrap();
    let location = tenancy::create_location(&db, Some(&company.id), "Bench")
        .await
        .unwrap();
    let private_token = tenancy::create_token(&db, TokenOwner::Location(&location.id), &Scope::ALL)
        .await
        .unwrap()
        .token;
    let state = AppState::new(db, OAuthSettings::default()).await.unwrap();
    // A realistic revocation set: many revoked grants, none of them this token's.
    state
        .oauth
        .revocations
        .insert((0..10_000).map(|i| format!("revoked-{i}")), now_ms());
    let now_s = now_ms() / 1000;
    let claims = AccessClaims {
        auth_class: "Location".to_owned(),
        auth_class_id: location.id.clone(),
        primary_auth_class_id: location.id.clone(),
        source: "INTEGRATION".to_owned(),
        source_id: "bench-client".to_owned(),
        channel: "OAUTH".to_owned(),
        oauth_meta: OAuthMeta {
            scopes: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
            client: "bench-app".to_owned(),
            version_id: "bench-app".to_owned(),
            client_key: "bench-client".to_owned(),
        },
        company_id: company.id.clone(),
        grant_id: "live-grant".to_owned(),
        iat: now_s,
        exp: now_s + 86_399,
    };
    let access_token = state.oauth.signer.sign(&claims).unwrap();
    Fixture {
        state,
        location: location.id,
        private_token,
        access_token,
        _dir: dir,
    }
}

/// The request parts of `GET /contacts/{id}` with `token`, as the router hands them over.
fn parts(token: &str) -> Parts {
    Request::builder()
        .uri("/contacts/abc")
        .header("version", "2021-07-28")
        .header("authorization", format!("Bearer {token}"))
        .extension(Operation::GetContact.endpoint())
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn bench_auth(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let fixture = runtime.block_on(fixture());
    let unlimited = fixture.state.clone().with_rate_limiter(RateLimiter::off());
    let limited = fixture.state.clone().with_rate_limiter(counting_limits());

    let mut group = c.benchmark_group("authenticate");
    for (name, state, token) in [
        ("oauth jwt", &unlimited, &fixture.access_token),
        ("oauth jwt + limits", &limited, &fixture.access_token),
        ("private token", &unlimited, &fixture.private_token),
        ("private token + limits", &limited, &fixture.private_token),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_batched(
                || parts(token),
                |parts| async move { black_box(authenticate(&parts, state).await.unwrap()) },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rate limit check");
    let limiter = counting_limits();
    let one_key = RateLimiter::key("bench-client", &fixture.location);
    group.bench_function("one key", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(limiter.check(&one_key, now_ms()).await.unwrap()) });
    });
    let keys: Vec<String> = (0..10_000)
        .map(|i| RateLimiter::key(&format!("client-{i}"), &fixture.location))
        .collect();
    let mut next = keys.iter().cycle();
    group.bench_function("10k keys", |b| {
        b.to_async(&runtime).iter(|| {
            let key = next.next().unwrap();
            let limiter = &limiter;
            async move { black_box(limiter.check(key, now_ms()).await.unwrap()) }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_auth);
criterion_main!(benches);
