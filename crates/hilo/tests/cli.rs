//! The `hilo` binary as a new user runs it: `hilo serve` on an empty database prints a working
//! token and curl line, `hilo admin …` changes what the running server allows, SIGTERM stops it
//! cleanly, and a restart keeps the data, also the webhook events of a server killed before it
//! delivered them. On SQLite, and on PostgreSQL when configured.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{json, Value};
use sqlx::Connection;

const HILO: &str = env!("CARGO_BIN_EXE_hilo");

struct Served {
    child: Child,
    base: String,
    banner: Vec<String>,
}

impl Served {
    fn start(database: &str) -> Served {
        Served::start_with(database, &[], &[])
    }

    /// `hilo serve` with more arguments and environment variables.
    fn start_with(database: &str, args: &[&str], env: &[(&str, &str)]) -> Served {
        let mut child = Command::new(HILO)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(args)
            .env_remove("HILO_ADMIN_KEY")
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The banner ends with the curl line (new database) or the token hint (existing one).
        let mut banner = Vec::new();
        while !banner.last().is_some_and(|l: &String| {
            l.contains("curl -s") || l.contains("hilo admin token create")
        }) {
            banner.push(rx.recv_timeout(Duration::from_secs(30)).expect("banner"));
        }
        let base = banner[0]
            .strip_prefix("hilo is ready at ")
            .expect("first line names the URL")
            .to_owned();
        Served {
            child,
            base,
            banner,
        }
    }

    fn field(&self, label: &str) -> String {
        let line = self
            .banner
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {:?}", self.banner));
        line.split_whitespace().last().unwrap().to_owned()
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "hilo serve exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "hilo serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails midway must not leave its server running.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

fn admin(database: &str, args: &[&str]) -> Result<Value, String> {
    let output = Command::new(HILO)
        .arg("admin")
        .args(args)
        .args(["--database", database, "--json"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("Version", "2021-07-28")
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn new_user_journey(database: &str) {
    let served = Served::start(database);
    let location = served.field("location id:");
    let token = served.field("token:");
    assert!(token.starts_with("pit-"), "{token}");
    let health = reqwest::get(format!("{}/healthz", served.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // The printed curl line, run as printed, creates a contact that reads back the same.
    let curl = served
        .banner
        .iter()
        .find(|l| l.contains("curl -s"))
        .unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(curl.trim())
        .output()
        .unwrap();
    let created: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stdout)));
    let contact = &created["contact"];
    let id = contact["id"].as_str().unwrap();
    let (status, fetched) = call(
        &served.base,
        &token,
        reqwest::Method::GET,
        &format!("/contacts/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    for key in [
        "firstName",
        "lastName",
        "email",
        "phone",
        "locationId",
        "dateAdded",
    ] {
        assert_eq!(fetched["contact"][key], contact[key], "{key}");
    }
    assert_eq!(fetched["contact"]["phone"], "+12025550143");

    // Admin commands work on the same database while the server runs.
    let agency = admin(database, &["agency", "create", "--name", "Second Agency"]).unwrap();
    assert!(agency["id"].is_string());
    let second = admin(
        database,
        &[
            "location",
            "create",
            "--agency",
            agency["id"].as_str().unwrap(),
            "--name",
            "Branch",
        ],
    )
    .unwrap();
    let second_id = second["id"].as_str().unwrap();
    let locations = admin(database, &["location", "list"]).unwrap();
    assert_eq!(locations.as_array().unwrap().len(), 2);
    let issued = admin(
        database,
        &[
            "token",
            "create",
            "--location",
            second_id,
            "--scopes",
            "contacts.readonly",
        ],
    )
    .unwrap();
    let readonly = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(issued["scopes"], json!(["contacts.readonly"]));
    let (status, listed) = call(
        &served.base,
        &readonly,
        reqwest::Method::GET,
        &format!("/contacts/?locationId={second_id}"),
        None,
    )
    .await;
    assert_eq!((status, listed["contacts"].clone()), (200, json!([])));
    let (status, body) = call(
        &served.base,
        &readonly,
        reqwest::Method::POST,
        "/contacts/",
        Some(json!({"locationId": second_id})),
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (401, json!("The token is not authorized for this scope."))
    );
    let (status, _) = call(
        &served.base,
        &readonly,
        reqwest::Method::GET,
        &format!("/contacts/{id}"),
        None,
    )
    .await;
    assert_eq!(
        status, 403,
        "a token never reaches another location's contacts"
    );
    admin(database, &["token", "revoke", &readonly]).unwrap();
    let (status, body) = call(
        &served.base,
        &readonly,
        reqwest::Method::GET,
        &format!("/contacts/?locationId={second_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (401, json!("Invalid JWT"))
    );
    assert!(
        admin(database, &["token", "revoke", &readonly]).is_err(),
        "revoking twice is an error"
    );

    let duplicate = json!({"locationId": location, "email": "ada@example.com"});
    let (status, _) = call(
        &served.base,
        &token,
        reqwest::Method::POST,
        "/contacts/",
        Some(duplicate.clone()),
    )
    .await;
    assert_eq!(status, 400);
    let settings = admin(
        database,
        &[
            "location",
            "settings",
            "--location",
            &location,
            "--allow-duplicate-contact",
            "true",
        ],
    )
    .unwrap();
    assert_eq!(settings["allowDuplicateContact"], true);
    let (status, _) = call(
        &served.base,
        &token,
        reqwest::Method::POST,
        "/contacts/",
        Some(duplicate),
    )
    .await;
    assert_eq!(status, 201);

    for bad in [
        vec![
            "token",
            "create",
            "--location",
            &location,
            "--scopes",
            "contacts.everything",
        ],
        vec![
            "token",
            "create",
            "--location",
            "NoSuchLocation",
            "--scopes",
            "contacts.readonly",
        ],
        vec!["location", "create", "--name", "Ambiguous"],
        vec!["agency", "create", "--name", "  "],
    ] {
        let err = admin(database, &bad).expect_err("must fail");
        assert!(err.contains("Error"), "{bad:?}: {err}");
    }
    served.stop();

    // A restart keeps everything, prints no token, and the old token still works.
    let served = Served::start(database);
    assert!(served.banner.iter().any(|l| l.contains(&location)));
    assert!(!served.banner.iter().any(|l| l.contains("pit-")));
    let (status, _) = call(
        &served.base,
        &token,
        reqwest::Method::GET,
        &format!("/contacts/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_journey_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    new_user_journey(&format!("sqlite://{}", dir.join("nested.db").display())).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_user_journey_on_postgres() {
    if let Some(database) = PostgresDatabase::create("hilo_cli").await {
        new_user_journey(&database.url).await;
        database.drop().await;
    }
}

/// A fresh database on the server `HILO_TEST_POSTGRES_URL` names; `None` when it is not set.
struct PostgresDatabase {
    url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl PostgresDatabase {
    async fn create(prefix: &str) -> Option<PostgresDatabase> {
        let Ok(admin_url) = std::env::var("HILO_TEST_POSTGRES_URL") else {
            eprintln!("HILO_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
            return None;
        };
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("HILO_TEST_POSTGRES_URL is set but unreachable");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        Some(PostgresDatabase {
            url: format!("{base}/{name}"),
            name,
            admin,
        })
    }

    async fn drop(mut self) {
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let output = Command::new(HILO)
        .args([
            "serve",
            "--database",
            "mysql://x@y/z",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown database URL"), "{stderr}");
}

/// `hilo serve` takes the rate limits from its flags or environment, says so in its banner, and
/// enforces them; out-of-range values are refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sets_the_rate_limits() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("limits.db").display());
    let limits = [
        "--rate-limit-burst",
        "3",
        "--rate-limit-interval-ms",
        "60000",
    ];
    let served = Served::start_with(&database, &limits, &[("HILO_RATE_LIMIT_DAILY", "50")]);
    assert!(
        served.banner.iter().any(|l| l
            == "  rate limits: 3 requests per 60000 ms and 50 per day, per app or token per location"),
        "{:?}",
        served.banner
    );
    let token = served.field("token:");
    let location = served.field("location id:");
    let list = || {
        reqwest::Client::new()
            .get(format!("{}/contacts/?locationId={location}", served.base))
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .send()
    };
    for remaining in ["2", "1", "0"] {
        let response = list().await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["x-ratelimit-max"], "3");
        assert_eq!(headers["x-ratelimit-interval-milliseconds"], "60000");
        assert_eq!(headers["x-ratelimit-limit-daily"], "50");
        assert_eq!(headers["x-ratelimit-remaining"], remaining);
    }
    let refused = list().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    served.stop();

    let served = Served::start_with(&database, &[], &[("HILO_RATE_LIMITS", "off")]);
    assert!(served.banner.iter().any(|l| l == "  rate limits: off"));
    let token = admin(
        &database,
        &[
            "token",
            "create",
            "--location",
            &location,
            "--scopes",
            "contacts.readonly",
        ],
    )
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let response = reqwest::Client::new()
            .get(format!("{}/contacts/?locationId={location}", served.base))
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("x-ratelimit-remaining"));
    }
    served.stop();

    for bad in [
        ["--rate-limit-burst", "0"],
        ["--rate-limit-interval-ms", "0"],
        ["--rate-limit-daily", "lots"],
        ["--rate-limits", "maybe"],
    ] {
        let output = Command::new(HILO)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
            .args(bad)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{bad:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(bad[0]), "{bad:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `hilo serve` searches from its in-memory index unless `--search-index off`, says which in its
/// banner, and answers the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_searches_with_or_without_the_index() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("search.db").display());
    let served = Served::start(&database);
    assert!(
        served
            .banner
            .iter()
            .any(|l| l == "  search:      in-memory index, a location loaded on its first search"),
        "{:?}",
        served.banner
    );
    let (token, location) = (served.field("token:"), served.field("location id:"));
    let call = |base: &str, path: &str, body: serde_json::Value| {
        reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("Version", "2021-07-28")
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    for name in ["Ada", "Alan", "Grace"] {
        let response = call(
            &served.base,
            "/contacts/",
            json!({"locationId": location, "firstName": name, "tags": ["cli"]}),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 201);
    }
    let search = json!({"locationId": location, "pageLimit": 2, "query": "a", "filters": [{"field": "tags", "operator": "eq", "value": "cli"}]});
    let answer = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200);
        let mut body: serde_json::Value = response.json().await.unwrap();
        body.as_object_mut().unwrap().remove("traceId");
        body
    };
    let indexed = answer(
        call(&served.base, "/contacts/search", search.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(indexed["total"], 3);
    served.stop();

    let served = Served::start_with(&database, &[], &[("HILO_SEARCH_INDEX", "off")]);
    assert!(
        served
            .banner
            .iter()
            .any(|l| l == "  search:      SQL only (--search-index off)"),
        "{:?}",
        served.banner
    );
    let plain = answer(
        call(&served.base, "/contacts/search", search)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(plain, indexed);
    served.stop();

    let output = Command::new(HILO)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
            "--search-index",
            "maybe",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--search-index"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `hilo admin limits show` against the server at `base`: its stdout (JSON with `--json`), or
/// its stderr when it fails.
fn limits_show(base: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let output = Command::new(HILO)
        .args(["admin", "limits", "show", "--server", base])
        .args(args)
        .env_remove("HILO_ADMIN_KEY")
        .env_remove("HILO_SERVER_URL")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn limits_json(base: &str, key: &str, args: &[&str]) -> Value {
    let mut all = vec!["--admin-key", key, "--json"];
    all.extend_from_slice(args);
    let out = limits_show(base, &all, &[]).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}"))
}

/// The first start prints an admin key, `hilo admin limits show` reads the live counters with
/// it, `hilo admin admin-key reset` replaces it on the running server, and `--admin-key`
/// overrides the stored one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_limits_show_asks_the_running_server() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("control.db").display());
    let limits = [
        "--rate-limit-burst",
        "7",
        "--rate-limit-interval-ms",
        "3600000",
    ];
    let served = Served::start_with(&database, &limits, &[]);
    let key = served.field("admin key:");
    assert!(key.starts_with("hak-"), "{:?}", served.banner);
    let token = served.field("token:");
    let location = served.field("location id:");
    for _ in 0..3 {
        let (status, body) = call(
            &served.base,
            &token,
            reqwest::Method::GET,
            &format!("/contacts/?locationId={location}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    let shown = limits_json(&served.base, &key, &["--location", &location]);
    assert_eq!(
        shown["limits"],
        json!({"burst": 7, "intervalMilliseconds": 3_600_000, "daily": 200_000})
    );
    assert_eq!(shown["resourceId"], location.as_str());
    let counters = shown["counters"].as_array().unwrap();
    assert_eq!(counters.len(), 1, "{shown}");
    assert_eq!(
        (
            &counters[0]["windowUsed"],
            &counters[0]["windowRemaining"],
            &counters[0]["dailyUsed"],
            &counters[0]["dailyRemaining"],
        ),
        (&json!(3), &json!(4), &json!(3), &json!(199_997)),
        "{shown}"
    );
    assert!(!shown.to_string().contains(&token), "{shown}");
    let text = limits_show(
        &served.base,
        &["--admin-key", &key, "--location", &location],
        &[],
    )
    .unwrap();
    assert!(
        text.starts_with(&format!(
            "limits: 7 requests per 3600000 ms, 200000 per day; 1 caller on {location}\n"
        )),
        "{text}"
    );
    assert!(text.contains("window 3 used, 4 left"), "{text}");
    // The key from the environment, and an agency where nothing was counted.
    let agency = admin(&database, &["location", "list"]).unwrap()[0]["companyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = limits_show(
        &served.base,
        &["--agency", &agency, "--json"],
        &[("HILO_ADMIN_KEY", &key)],
    )
    .unwrap();
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&shown["resourceId"], &shown["counters"]),
        (&json!(agency), &json!([]))
    );

    // Refusals are clear errors that never echo the key.
    let wrong = format!("{key}0");
    let err = limits_show(
        &served.base,
        &["--admin-key", &wrong, "--location", &location],
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("401") && err.contains("Invalid admin key"),
        "{err}"
    );
    assert!(!err.contains(&key[4..]), "{err}");
    let err = limits_show(&served.base, &["--location", &location], &[]).unwrap_err();
    assert!(err.contains("the admin key is needed"), "{err}");
    let err = limits_show(
        &served.base,
        &[
            "--admin-key",
            &key,
            "--location",
            &location,
            "--agency",
            &agency,
        ],
        &[],
    )
    .unwrap_err();
    assert!(err.contains("cannot be used with"), "{err}");
    let err = limits_show(&served.base, &["--admin-key", &key], &[]).unwrap_err();
    assert!(err.contains("--location"), "{err}");

    // A reset: the printed key works at once on the running server, the old one no longer.
    let reset = admin(&database, &["admin-key", "reset"]).unwrap();
    let new = reset["adminKey"].as_str().unwrap().to_owned();
    assert!(new.starts_with("hak-") && new != key, "{reset}");
    let shown = limits_json(&served.base, &new, &["--location", &location]);
    assert_eq!(shown["counters"][0]["windowUsed"], 3, "{shown}");
    let err = limits_show(
        &served.base,
        &["--admin-key", &key, "--location", &location],
        &[],
    )
    .unwrap_err();
    assert!(err.contains("Invalid admin key"), "{err}");
    served.stop();

    // A restart prints no key and keeps the reset one; counters start afresh.
    let served = Served::start(&database);
    assert!(
        !served.banner.iter().any(|l| l.contains("admin key")),
        "{:?}",
        served.banner
    );
    let shown = limits_json(&served.base, &new, &["--location", &location]);
    assert_eq!(shown["counters"], json!([]), "{shown}");
    served.stop();

    // --admin-key takes the place of the stored key.
    let served = Served::start_with(&database, &["--admin-key", "hak-given-at-start"], &[]);
    assert!(!served.banner.iter().any(|l| l.contains("admin key")));
    limits_json(
        &served.base,
        "hak-given-at-start",
        &["--location", &location],
    );
    let err = limits_show(
        &served.base,
        &["--admin-key", &new, "--location", &location],
        &[],
    )
    .unwrap_err();
    assert!(err.contains("Invalid admin key"), "{err}");
    served.stop();
    std::fs::remove_dir_all(&dir).ok();
}

/// Location users, campaigns and workflows made with `hilo admin` are what the running server
/// lists and enrols contacts in; bad arguments are clear errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_makes_location_users_campaigns_and_workflows() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("automation.db").display());
    let served = Served::start(&database);
    let location = served.field("location id:");
    let token = served.field("token:");
    let base = served.base.clone();

    let user = admin(
        &database,
        &[
            "user",
            "create",
            "--location",
            &location,
            "--email",
            "Rep@Example.com",
            "--name",
            "Rep",
        ],
    )
    .unwrap();
    assert_eq!(
        (user["email"].clone(), user["locationId"].clone()),
        (json!("rep@example.com"), json!(location))
    );
    let user_id = user["id"].as_str().unwrap().to_owned();
    let listed = admin(&database, &["user", "list", "--location", &location]).unwrap();
    let emails: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["admin@demo.hilo.local", "rep@example.com"]);

    let campaign = admin(
        &database,
        &[
            "campaign",
            "create",
            "--location",
            &location,
            "--name",
            "Welcome",
        ],
    )
    .unwrap();
    assert_eq!(campaign["status"], "published");
    let draft = admin(
        &database,
        &[
            "campaign",
            "create",
            "--location",
            &location,
            "--name",
            "Later",
            "--status",
            "draft",
        ],
    )
    .unwrap();
    let workflow = admin(
        &database,
        &[
            "workflow",
            "create",
            "--location",
            &location,
            "--name",
            "Nurture",
        ],
    )
    .unwrap();
    assert_eq!(workflow["version"], 1);
    let drafts = admin(
        &database,
        &[
            "campaign",
            "list",
            "--location",
            &location,
            "--status",
            "draft",
        ],
    )
    .unwrap();
    assert_eq!(drafts, json!([draft]));
    let workflows = admin(&database, &["workflow", "list", "--location", &location]).unwrap();
    assert_eq!(workflows, json!([workflow]));

    let (status, body) = call(
        &base,
        &token,
        reqwest::Method::GET,
        &format!("/campaigns/?locationId={location}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["campaigns"], json!([campaign, draft]));
    let (status, body) = call(
        &base,
        &token,
        reqwest::Method::GET,
        &format!("/workflows/?locationId={location}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["workflows"].clone()),
        (200, json!([workflow]))
    );

    let (status, created) = call(
        &base,
        &token,
        reqwest::Method::POST,
        "/contacts/",
        Some(json!({"locationId": location, "firstName": "Lead"})),
    )
    .await;
    assert_eq!(status, 201);
    let contact = created["contact"]["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &base,
        &token,
        reqwest::Method::POST,
        &format!("/contacts/{contact}/followers"),
        Some(json!({"followers": [user_id]})),
    )
    .await;
    assert_eq!((status, body["followers"].clone()), (201, json!([user_id])));
    for path in [
        format!(
            "/contacts/{contact}/campaigns/{}",
            campaign["id"].as_str().unwrap()
        ),
        format!(
            "/contacts/{contact}/workflow/{}",
            workflow["id"].as_str().unwrap()
        ),
    ] {
        let (status, body) =
            call(&base, &token, reqwest::Method::POST, &path, Some(json!({}))).await;
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
        assert_eq!(body["succeded"], true);
    }

    for bad in [
        vec![
            "user",
            "create",
            "--location",
            &location,
            "--email",
            "x@example.com",
            "--password",
            "longenough",
        ],
        vec![
            "user",
            "create",
            "--location",
            "NoSuchLocation",
            "--email",
            "y@example.com",
        ],
        vec![
            "user",
            "create",
            "--location",
            &location,
            "--email",
            "rep@example.com",
        ],
        vec![
            "campaign",
            "create",
            "--location",
            &location,
            "--name",
            "  ",
        ],
        vec![
            "campaign",
            "create",
            "--location",
            &location,
            "--name",
            "X",
            "--status",
            "paused",
        ],
        vec![
            "campaign",
            "create",
            "--location",
            "NoSuchLocation",
            "--name",
            "X",
        ],
        vec!["campaign", "list", "--location", "NoSuchLocation"],
        vec![
            "workflow",
            "create",
            "--location",
            &location,
            "--name",
            "X",
            "--status",
            "live",
        ],
        vec!["workflow", "list", "--location", "NoSuchLocation"],
    ] {
        let err = admin(&database, &bad).expect_err("must fail");
        assert!(err.contains("rror"), "{bad:?}: {err}");
    }
    served.stop();
    std::fs::remove_dir_all(&dir).ok();
}

/// `hilo admin faults …` against the server at `base` with the admin key: its JSON answer.
fn faults(base: &str, key: &str, args: &[&str]) -> Value {
    let output = Command::new(HILO)
        .args(["admin", "faults"])
        .args(args)
        .args(["--server", base, "--admin-key", key, "--json"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `hilo admin faults add` makes the next two `POST /contacts/` answer 429, then they succeed;
/// `list` shows the rule's count, `clear` removes what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_faults_make_requests_fail_on_purpose() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("faults.db").display());
    let served = Served::start_with(&database, &[], &[]);
    let key = served.field("admin key:");
    let token = served.field("token:");
    let location = served.field("location id:");
    let rule = r#"{"match": {"method": "POST", "path": "/contacts"}, "effect": {"type": "status", "status": 429}, "times": 2}"#;
    let added = faults(&served.base, &key, &["add", "--rule", rule]);
    assert!(added["fault"]["id"].is_string(), "{added}");
    add_other_rule(&served.base, &key);
    let body = json!({"locationId": location, "firstName": "Faulted"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            call(
                &served.base,
                &token,
                reqwest::Method::POST,
                "/contacts/",
                Some(body.clone()),
            )
            .await
            .0,
        );
    }
    assert_eq!(statuses, [429, 429, 201]);
    let listed = faults(&served.base, &key, &["list"]);
    assert_eq!(
        listed["faults"].as_array().unwrap().len(),
        1,
        "the spent rule retired: {listed}"
    );
    assert_eq!(faults(&served.base, &key, &["clear"])["removed"], 1);
    assert_eq!(faults(&served.base, &key, &["list"])["faults"], json!([]));
    served.stop();
    std::fs::remove_dir_all(&dir).ok();
}

/// A rule that never matches the test's requests, to show that `list` and `clear` count it.
fn add_other_rule(base: &str, key: &str) {
    let rule = r#"{"match": {"path": "/businesses/**"}, "effect": {"type": "drop"}}"#;
    faults(base, key, &["add", "--rule", rule]);
}

/// A hand-written fixture: credentials in clear (hashed on load), a contact with what hangs
/// under it.
const FIXTURE: &str = r#"{"hiloFixtures": 1, "agencies": [{"id": "agency-fixture", "name": "Fixture Agency",
  "users": [{"id": "user-fixture", "email": "Owner@Fixture.example", "password": "a long password"}],
  "apps": [{"id": "app-fixture", "name": "Fixture App", "clientId": "fixture-client",
            "clientSecret": "fixture-secret", "redirectUris": ["https://app.example/cb"],
            "scopes": ["contacts.readonly"]}],
  "locations": [{"id": "loc-fixture", "name": "Fixture Location",
    "tokens": [{"id": "token-fixture", "token": "pit-fixture-0123456789",
                "scopes": ["contacts.readonly", "contacts.write"]}],
    "customFields": [{"id": "field-fixture", "name": "Size", "fieldKey": "contact.size",
                      "dataType": "SINGLE_OPTIONS", "picklistOptions": ["S", "M"]}],
    "contacts": [{"id": "contact-fixture", "firstName": "Grace", "lastName": "Hopper",
                  "email": "grace@example.com", "phone": "202-555-0100", "tags": ["Navy"],
                  "customFields": [{"id": "field-fixture", "value": "M"}],
                  "followers": ["user-fixture"],
                  "tasks": [{"id": "task-fixture", "title": "Find the bug",
                             "dueDate": "2030-01-01T00:00:00.000Z"}]}]}]}]}"#;

const FIXTURE_TOKEN: &str = "pit-fixture-0123456789";

/// `hilo serve --fixtures FILE` starts with the file's data (and again on every start, from
/// `HILO_FIXTURES`); `hilo admin fixtures dump|load` and `hilo admin reset --all --demo` work on
/// the database beside it.
async fn fixtures_journey(database: &str) {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fixture.json");
    std::fs::write(&file, FIXTURE).unwrap();
    let file_arg = file.display().to_string();
    let served = Served::start_with(database, &["--fixtures", &file_arg], &[]);
    assert!(
        served
            .banner
            .iter()
            .any(|l| l.trim() == "location id: loc-fixture (Fixture Location)"),
        "{:?}",
        served.banner
    );
    let get = |path: &'static str| {
        call(
            &served.base,
            FIXTURE_TOKEN,
            reqwest::Method::GET,
            path,
            None,
        )
    };
    let (status, contact) = get("/contacts/contact-fixture").await;
    assert_eq!(status, 200, "{contact}");
    assert_eq!(contact["contact"]["phone"], "+12025550100");
    assert_eq!(contact["contact"]["tags"], json!(["navy"]));
    assert_eq!(contact["contact"]["followers"], json!(["user-fixture"]));
    assert_eq!(
        contact["contact"]["customFields"],
        json!([{"id": "field-fixture", "value": "M"}])
    );
    assert_eq!(
        get("/contacts/contact-fixture/tasks").await.1["tasks"][0]["title"],
        "Find the bug"
    );

    let dumped = admin(database, &["fixtures", "dump", "--location", "loc-fixture"]).unwrap();
    let location = &dumped["agencies"][0]["locations"][0];
    assert_eq!(location["contacts"][0]["id"], "contact-fixture");
    assert!(location["tokens"][0]["tokenSha256"].is_string(), "{dumped}");
    assert_eq!(
        dumped["agencies"][0]["users"][0]["email"],
        "owner@fixture.example"
    );
    let text = dumped.to_string();
    assert!(
        !text.contains(FIXTURE_TOKEN)
            && !text.contains("a long password")
            && !text.contains("fixture-secret")
    );
    let out = dir.join("dump.json");
    let out_arg = out.display().to_string();
    let wrote = admin(database, &["fixtures", "dump", "--out", &out_arg]).unwrap();
    assert_eq!(
        (wrote["agencies"].clone(), wrote["locations"].clone()),
        (json!(1), json!(1)),
        "{wrote}"
    );
    let whole: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        whole["agencies"][0]["apps"][0]["clientId"],
        "fixture-client"
    );

    let refused = admin(database, &["fixtures", "load", &out_arg]).unwrap_err();
    assert!(
        refused.contains("contact contact-fixture already exists"),
        "{refused}"
    );
    let body = json!({"locationId": "loc-fixture", "firstName": "Added"});
    let (status, added) = call(
        &served.base,
        FIXTURE_TOKEN,
        reqwest::Method::POST,
        "/contacts/",
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    let loaded = admin(database, &["fixtures", "load", &out_arg, "--replace"]).unwrap();
    assert_eq!(loaded["loaded"]["contacts"], 1, "{loaded}");
    let added_path = format!("/contacts/{}", added["contact"]["id"].as_str().unwrap());
    let (status, _) = call(
        &served.base,
        FIXTURE_TOKEN,
        reqwest::Method::GET,
        &added_path,
        None,
    )
    .await;
    assert_eq!(
        status, 400,
        "the replaced location holds only the file's contacts"
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"hiloFixtures": 1, "agencies": [{"id": "x", "name": "X", "locations": [{"id": "y", "name": "Y", "contacts": [{"id": "z", "businessId": "nowhere"}]}]}]}"#).unwrap();
    let refused = admin(database, &["fixtures", "load", &bad.display().to_string()]).unwrap_err();
    assert!(
        refused.contains("businessId nowhere is no business of this location"),
        "{refused}"
    );

    let reset = admin(database, &["reset", "--all", "--demo"]).unwrap();
    let demo_token = reset["demo"]["token"].as_str().unwrap().to_owned();
    assert_eq!(
        get("/contacts/contact-fixture").await.0,
        401,
        "the fixture's token went with the reset"
    );
    let demo_list = format!(
        "/contacts/?locationId={}",
        reset["demo"]["locationId"].as_str().unwrap()
    );
    assert_eq!(
        call(
            &served.base,
            &demo_token,
            reqwest::Method::GET,
            &demo_list,
            None
        )
        .await
        .0,
        200
    );
    served.stop();

    // HILO_FIXTURES loads the file again at the next start (replacing what it names).
    let served = Served::start_with(database, &[], &[("HILO_FIXTURES", &file_arg)]);
    let (status, contact) = call(
        &served.base,
        FIXTURE_TOKEN,
        reqwest::Method::GET,
        "/contacts/contact-fixture",
        None,
    )
    .await;
    assert_eq!(
        (status, contact["contact"]["firstName"].clone()),
        (200, json!("Grace"))
    );
    served.stop();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_loads_fixtures_and_admin_dumps_and_loads_them_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    fixtures_journey(&format!("sqlite://{}", dir.join("fixtures.db").display())).await;
    std::fs::remove_dir_all(&dir).ok();
}

/// Short delivery timeouts, so that the lease of a delivery cut short by a kill runs out soon.
const WEBHOOK_FLAGS: &[&str] = &[
    "--webhook-timeout-ms",
    "1000",
    "--webhook-retry-base-ms",
    "200",
    "--webhook-poll-ms",
    "100",
];

/// A receiver that holds every request unanswered while `hang` is set, and otherwise answers
/// 200 and keeps the body.
async fn receiver(hang: Arc<AtomicBool>, got: Arc<Mutex<Vec<Value>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let (hang, got) = (hang.clone(), got.clone());
            async move {
                if hang.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                got.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    url
}

async fn crash_between_commit_and_delivery(database: &str) {
    let hang = Arc::new(AtomicBool::new(true));
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let url = receiver(hang.clone(), got.clone()).await;

    let mut first = Served::start_with(database, WEBHOOK_FLAGS, &[]);
    let (base, location, token) = (
        first.base.clone(),
        first.field("location id:"),
        first.field("token:"),
    );
    let app = admin(
        database,
        &[
            "app",
            "create",
            "--name",
            "Crash receiver",
            "--redirect-uri",
            "https://r.example/cb",
            "--scopes",
            "contacts.readonly",
            "--webhook-url",
            &url,
        ],
    )
    .unwrap();
    let client_id = app["clientId"].as_str().unwrap();
    admin(
        database,
        &[
            "oauth",
            "authorize",
            "--client-id",
            client_id,
            "--location",
            &location,
            "--user",
            "u",
        ],
    )
    .unwrap();
    let client = reqwest::Client::new();
    let mut committed = BTreeSet::new();
    for i in 0..8 {
        let response = client
            .post(format!("{base}/contacts/"))
            .bearer_auth(&token)
            .header("Version", "2021-07-28")
            .json(&json!({ "locationId": location, "firstName": format!("Crash{i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        committed.insert(body["contact"]["id"].as_str().unwrap().to_owned());
    }
    // SIGKILL: no shutdown, deliveries in flight or still queued.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing was answered before the kill"
    );

    hang.store(false, Ordering::SeqCst);
    let second = Served::start_with(database, WEBHOOK_FLAGS, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let bodies = got.lock().unwrap().clone();
        let created: Vec<String> = bodies
            .iter()
            .filter(|b| b["type"] == "ContactCreate")
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect();
        if created.len() >= committed.len() && bodies.iter().any(|b| b["type"] == "INSTALL") {
            // A moment more: nothing may come twice.
            tokio::time::sleep(Duration::from_millis(500)).await;
            break got.lock().unwrap().clone();
        }
        assert!(Instant::now() < deadline, "delivered only {bodies:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let created: Vec<String> = delivered
        .iter()
        .filter(|b| b["type"] == "ContactCreate")
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created.len(), committed.len(), "each once: {created:?}");
    assert_eq!(created.into_iter().collect::<BTreeSet<_>>(), committed);
    let webhook_ids: BTreeSet<&str> = delivered
        .iter()
        .map(|b| b["webhookId"].as_str().unwrap())
        .collect();
    assert_eq!(webhook_ids.len(), delivered.len());

    // What `hilo admin webhooks` says of it, on the database.
    let listed = admin(
        database,
        &[
            "webhooks",
            "deliveries",
            "--status",
            "delivered",
            "--event",
            "ContactCreate",
        ],
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), committed.len());
    let id = listed[0]["id"].as_str().unwrap();
    let shown = admin(database, &["webhooks", "show", id]).unwrap();
    assert_eq!(
        shown["attemptLog"].as_array().unwrap().last().unwrap()["statusCode"],
        200
    );
    admin(database, &["webhooks", "pause", "--app", client_id]).unwrap();
    admin(database, &["webhooks", "redeliver", id]).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        got.lock().unwrap().len(),
        delivered.len(),
        "paused: held back"
    );
    admin(database, &["webhooks", "resume", "--app", client_id]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() == delivered.len() {
        assert!(Instant::now() < deadline, "the redelivery never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.lock().unwrap().last().unwrap()["webhookId"], id);
    let keys = admin(database, &["webhooks", "keys"]).unwrap();
    assert!(keys["ed25519"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));

    second.stop();
}

/// `kill -9` of a real `hilo serve` between committing events and delivering them: after a
/// restart on the same database, exactly the committed events are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_delivers_exactly_the_committed_events_after_restart_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("hilo-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    crash_between_commit_and_delivery(&format!("sqlite://{}", dir.join("hilo.db").display())).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_loads_fixtures_and_admin_dumps_and_loads_them_on_postgres() {
    if let Some(database) = PostgresDatabase::create("hilo_cli_fixtures").await {
        fixtures_journey(&database.url).await;
        database.drop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_delivers_exactly_the_committed_events_after_restart_on_postgres() {
    if let Some(database) = PostgresDatabase::create("hilo_crash").await {
        crash_between_commit_and_delivery(&database.url).await;
        database.drop().await;
    }
}

/// `hilo api` with a profile file: the profile's arguments, then the request's.
fn hilo_api(config: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let output = Command::new(HILO)
        .arg("api")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let body = if output.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), body, stderr)
}

fn stored_profiles(config: &std::path::Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap()
}

/// A client of the server, not of its database: one engine shows what the commands do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_profiles_and_api_calls_with_them() {
    let dir = std::env::temp_dir().join(format!("hilo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("hilo.db").display());
    let config = dir.join("profiles").join("config.toml");
    let served = Served::start(&database);
    let (base, location, token) = (
        served.base.clone(),
        served.field("location id:"),
        served.field("token:"),
    );

    // A private token, given on standard input so it stays out of the shell's history.
    let mut login = Command::new(HILO)
        .args(["login", "--base-url", &base, "--token", "-", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    writeln!(login.stdin.take().unwrap(), "{token}").unwrap();
    assert!(login.wait().unwrap().success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the profile file holds secrets");
    }
    assert_eq!(
        stored_profiles(&config)["profiles"]["default"]["token"].as_str(),
        Some(token.as_str())
    );

    let data = json!({ "locationId": location, "firstName": "Ada", "email": "ada@example.com" });
    let (ok, created, stderr) = hilo_api(
        &config,
        &["POST", "/contacts/", "--data", &data.to_string()],
    );
    assert!(ok, "{stderr}");
    let id = created["contact"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["contact"]["email"], "ada@example.com");
    let (ok, got, _) = hilo_api(&config, &["get", &format!("/contacts/{id}")]);
    assert!(ok);
    assert_eq!(got["contact"]["id"], id.as_str());
    assert_eq!(got["contact"]["firstName"], "Ada");
    let listed = format!("/contacts/?locationId={location}&query=ada");
    let (ok, list, _) = hilo_api(&config, &["GET", &listed, "--include"]);
    assert!(ok);
    assert_eq!(list["contacts"][0]["id"], id.as_str());

    // A refusal: HighLevel's body on standard output, the status on standard error, exit 1.
    let (ok, refused, stderr) = hilo_api(&config, &["GET", "/contacts/no-such-contact"]);
    assert!(!ok);
    assert_eq!(refused["statusCode"], 400);
    assert!(stderr.contains("HTTP 400"), "{stderr}");
    let (ok, _, stderr) = hilo_api(&config, &["GET", "/contacts/x", "--profile", "nobody"]);
    assert!(!ok);
    assert!(stderr.contains("hilo login --profile nobody"), "{stderr}");
    let (ok, _, stderr) = hilo_api(&config, &["POST", "/contacts/", "--data", "{not json"]);
    assert!(!ok);
    assert!(stderr.contains("--data is not JSON"), "{stderr}");

    // An OAuth profile: login refreshes at once, and each rotated pair is written back.
    let app = admin(
        &database,
        &[
            "app",
            "create",
            "--name",
            "CLI",
            "--redirect-uri",
            "https://cli.example/cb",
            "--scopes",
            "contacts.readonly contacts.write",
        ],
    )
    .unwrap();
    let (client_id, secret) = (
        app["clientId"].as_str().unwrap(),
        app["clientSecret"].as_str().unwrap(),
    );
    let code = admin(
        &database,
        &[
            "oauth",
            "authorize",
            "--client-id",
            client_id,
            "--location",
            &location,
        ],
    )
    .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let exchange: Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("user_type", "Location"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first_refresh = exchange["refresh_token"].as_str().unwrap();
    let status = Command::new(HILO)
        .args(["login", "--profile", "app", "--base-url", &base])
        .args(["--client-id", client_id, "--client-secret", secret])
        .args(["--refresh-token", first_refresh, "--config"])
        .arg(&config)
        .status()
        .unwrap();
    assert!(status.success());
    let stored = stored_profiles(&config);
    let tokens = &stored["profiles"]["app"]["oauth"]["tokens"];
    let rotated = tokens["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(rotated, first_refresh, "login stored the rotated pair");
    assert!(!tokens["accessToken"].as_str().unwrap().is_empty());
    assert_eq!(
        stored["profiles"]["default"]["token"].as_str(),
        Some(token.as_str()),
        "other profiles are kept"
    );
    let (ok, got, stderr) = hilo_api(
        &config,
        &["GET", &format!("/contacts/{id}"), "--profile", "app"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(got["contact"]["id"], id.as_str());

    // An access token the server no longer takes: the 401 makes the client refresh, and the
    // new pair reaches the file.
    let text = std::fs::read_to_string(&config).unwrap();
    let access = tokens["accessToken"].as_str().unwrap();
    std::fs::write(&config, text.replace(access, "not-a-valid-jwt")).unwrap();
    let (ok, got, stderr) = hilo_api(
        &config,
        &["GET", &format!("/contacts/{id}"), "--profile", "app"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(got["contact"]["id"], id.as_str());
    let after = stored_profiles(&config);
    let refreshed = after["profiles"]["app"]["oauth"]["tokens"]["refreshToken"]
        .as_str()
        .unwrap();
    assert_ne!(refreshed, rotated);

    served.stop();
    std::fs::remove_dir_all(&dir).ok();
}
