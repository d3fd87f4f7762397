//! A real hilo server for each test: its own database (a temporary SQLite file, or a fresh
//! PostgreSQL database when `HILO_TEST_POSTGRES_URL` is set), on an ephemeral port, spoken to
//! over HTTP. Two locations of one agency, and tokens of every kind the tests need.

use std::path::PathBuf;

use hilo_server::endpoints::Scope;
use hilo_server::oauth::OAuthSettings;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::tenancy::{self, Location, TokenOwner};
use hilo_server::webhooks::dispatch::Dispatcher;
use hilo_server::webhooks::WebhookSettings;
use hilo_server::{AppState, Db};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;

pub const VERSION: &str = "2021-07-28";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    /// The location most tests work in, and a token with every scope for it.
    pub location: Location,
    pub token: String,
    /// Another location of the same agency, with its own full token.
    pub other_location: Location,
    pub other_token: String,
    pub readonly_token: String,
    pub write_only_token: String,
    pub businesses_only_token: String,
    pub contacts_only_token: String,
    pub revoked_token: String,
    /// The database URL, for a second process's worth of state on the same database.
    pub database_url: String,
    /// The webhook dispatcher of servers started with one: it runs as long as the server.
    _dispatcher: Option<Dispatcher>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Dropped after the server is told to stop.
    _database: FreshDatabase,
}

/// An empty database of its own for one test (a temporary SQLite file, or a new PostgreSQL
/// database), removed when dropped. `None` only for PostgreSQL when no URL is configured.
pub struct FreshDatabase {
    pub url: String,
    cleanup: Cleanup,
}

impl FreshDatabase {
    pub async fn create(backend: Backend) -> Option<FreshDatabase> {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir()
                    .join(format!("hilo-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                (
                    format!("sqlite://{}", dir.join("hilo.db").display()),
                    Cleanup::SqliteDir(dir),
                )
            }
            Backend::Postgres => {
                let admin_url = match std::env::var(POSTGRES_ENV) {
                    Ok(url) if !url.is_empty() => url,
                    _ => {
                        eprintln!("{POSTGRES_ENV} is not set: PostgreSQL variant not run");
                        return None;
                    }
                };
                let name = format!("hilo_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                (
                    with_database(&admin_url, &name),
                    Cleanup::PostgresDatabase { admin_url, name },
                )
            }
        };
        Some(FreshDatabase { url, cleanup })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime, which cannot be blocked on: use another.
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await
                                .ok();
                        }
                    });
                })
                .join()
                .ok();
            }
        }
    }
}

enum Cleanup {
    SqliteDir(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

pub const POSTGRES_ENV: &str = "HILO_TEST_POSTGRES_URL";

/// Limits counted and reported as HighLevel's are, but wide enough for the generated matrices,
/// which send hundreds of requests with one token; `ratelimit.rs` tests HighLevel's numbers.
fn roomy_limits() -> RateLimiter {
    RateLimiter::in_memory(RateLimits {
        burst: 1_000_000,
        ..RateLimits::default()
    })
}

impl TestServer {
    /// A server on `backend`; `None` only for PostgreSQL when no URL is configured.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        TestServer::start_with(backend, OAuthSettings::default()).await
    }

    /// The same, with other OAuth lifetimes.
    pub async fn start_with(backend: Backend, oauth: OAuthSettings) -> Option<TestServer> {
        TestServer::start_configured(backend, oauth, roomy_limits(), None, None).await
    }

    /// The same, counting requests with `limiter`.
    pub async fn start_limited(backend: Backend, limiter: RateLimiter) -> Option<TestServer> {
        TestServer::start_configured(backend, OAuthSettings::default(), limiter, None, None).await
    }

    /// A server delivering webhooks as `settings` say, its control plane taking `admin_key`.
    pub async fn start_webhooks(
        backend: Backend,
        settings: WebhookSettings,
        admin_key: &str,
    ) -> Option<TestServer> {
        let limiter = roomy_limits();
        let oauth = OAuthSettings::default();
        TestServer::start_configured(backend, oauth, limiter, Some(admin_key), Some(settings)).await
    }

    async fn start_configured(
        backend: Backend,
        oauth: OAuthSettings,
        limiter: RateLimiter,
        admin_key: Option<&str>,
        webhooks: Option<WebhookSettings>,
    ) -> Option<TestServer> {
        let database = FreshDatabase::create(backend).await?;
        let url = database.url.clone();
        let db = Db::connect(&url).await.expect("connect and migrate");
        let agency = tenancy::create_company(&db, "Test Agency").await.unwrap();
        let location = tenancy::create_location(&db, Some(&agency.id), "Main")
            .await
            .unwrap();
        let other_location = tenancy::create_location(&db, Some(&agency.id), "Other")
            .await
            .unwrap();
        let token_for = |location: &Location, scopes: &'static [Scope]| {
            let db = db.clone();
            let id = location.id.clone();
            async move {
                tenancy::create_token(&db, TokenOwner::Location(&id), scopes)
                    .await
                    .unwrap()
                    .token
            }
        };
        let token = token_for(&location, &Scope::ALL).await;
        let other_token = token_for(&other_location, &Scope::ALL).await;
        let readonly_token = token_for(
            &location,
            &[
                Scope::ContactsReadonly,
                Scope::BusinessesReadonly,
                Scope::LocationsCustomFieldsReadonly,
            ],
        )
        .await;
        let write_only_token = token_for(
            &location,
            &[
                Scope::ContactsWrite,
                Scope::BusinessesWrite,
                Scope::LocationsCustomFieldsWrite,
            ],
        )
        .await;
        let businesses_only_token = token_for(
            &location,
            &[Scope::BusinessesReadonly, Scope::BusinessesWrite],
        )
        .await;
        let contacts_only_token =
            token_for(&location, &[Scope::ContactsReadonly, Scope::ContactsWrite]).await;
        let revoked_token = token_for(&location, &Scope::ALL).await;
        assert!(tenancy::revoke_token(&db, &revoked_token).await.unwrap());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut state = AppState::new(db.clone(), oauth)
            .await
            .unwrap()
            .with_rate_limiter(limiter);
        if let Some(key) = admin_key {
            state = state.with_admin_key(key);
        }
        let dispatcher = webhooks.map(|settings| {
            state = state.clone().with_webhook_settings(settings);
            Dispatcher::start(state.clone()).unwrap()
        });
        let app = hilo_server::app(state, 64 * 1024);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(hilo_server::serve(listener, app, async {
            rx.await.ok();
        }));
        Some(TestServer {
            base,
            client: reqwest::Client::new(),
            db,
            location,
            token,
            other_location,
            other_token,
            readonly_token,
            write_only_token,
            businesses_only_token,
            contacts_only_token,
            revoked_token,
            database_url: url,
            _dispatcher: dispatcher,
            shutdown: Some(tx),
            _database: database,
        })
    }

    pub fn loc(&self) -> &str {
        &self.location.id
    }

    /// A request with HighLevel's headers and the full token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request_as(&self.token, method, path)
    }

    /// A request with HighLevel's headers and the given token.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("Version", VERSION)
            .bearer_auth(token)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
        (status, body)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn delete_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(body)).await
    }

    /// Creates a contact in the main location and returns its id.
    pub async fn contact(&self, body: Value) -> String {
        let mut body = body;
        body["locationId"] = Value::from(self.loc());
        let (status, created) = self.post("/contacts/", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["contact"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a custom field definition in the main location and returns it.
    pub async fn custom_field(&self, body: Value) -> Value {
        let path = format!("/locations/{}/customFields", self.loc());
        let (status, created) = self.post(&path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["customField"].clone()
    }

    /// Row counts of every table holding location data: a write anywhere changes them.
    pub async fn counts(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for table in [
            "contacts",
            "contact_tags",
            "contact_followers",
            "contact_campaigns",
            "contact_workflows",
            "deleted_contacts",
            "campaigns",
            "workflows",
            "tasks",
            "notes",
            "businesses",
            "custom_fields",
            "api_tokens",
            "locations",
            "users",
            "apps",
            "app_installations",
            "oauth_codes",
            "oauth_grants",
            "oauth_refresh_tokens",
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(self.db.read())
                .await
                .unwrap();
            out.push((table.to_owned(), n));
        }
        out
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
    }
}

/// Defines each test once and runs it against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($(async fn $name:ident($s:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($s: &$crate::harness::TestServer) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let server = $crate::harness::TestServer::start($crate::harness::Backend::Sqlite).await.unwrap();
                    run(&server).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(server) = $crate::harness::TestServer::start($crate::harness::Backend::Postgres).await {
                        run(&server).await;
                    }
                }
            }
        )*
    };
}

/// Like `on_both!`, for tests that start their own server: each gets the `Backend` to start it
/// on, PostgreSQL only when its URL is set.
#[macro_export]
macro_rules! on_each_backend {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($backend: $crate::harness::Backend) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if std::env::var($crate::harness::POSTGRES_ENV).is_ok_and(|u| !u.is_empty()) {
                        run($crate::harness::Backend::Postgres).await;
                    }
                }
            }
        )*
    };
}

#[test]
fn database_urls_swap_their_database() {
    assert_eq!(
        with_database("postgres://u@h:5432/test", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

impl TestServer {
    /// A server counting requests with `limiter` whose control plane (`/hilo/admin/…`) takes
    /// only `admin_key`, as `hilo serve --admin-key` starts it.
    pub async fn start_admin(
        backend: Backend,
        limiter: RateLimiter,
        admin_key: &str,
    ) -> Option<TestServer> {
        let oauth = OAuthSettings::default();
        TestServer::start_configured(backend, oauth, limiter, Some(admin_key), None).await
    }
}

/// The property names of schema `name` in spec file `file` (`contacts.json`, …): what a body
/// of that schema may carry, in the spec's spelling.
pub fn spec_properties(file: &str, name: &str) -> std::collections::BTreeSet<String> {
    let path = format!(
        "{}/../../../shared/spec/highlevel/apps/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    spec["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{file} has no schema {name}"))
        .keys()
        .cloned()
        .collect()
}

/// The keys of a JSON object, without the `traceId` every success body adds.
pub fn keys_without_trace(body: &Value) -> std::collections::BTreeSet<String> {
    body.as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "traceId")
        .cloned()
        .collect()
}

impl TestServer {
    /// Rows of `table` for the contact (enrolments, followers).
    pub async fn rows_of(&self, table: &str, contact_id: &str) -> i64 {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE contact_id = $1"
        ))
        .bind(contact_id)
        .fetch_one(self.db.read())
        .await
        .unwrap()
    }
}
