//! A real `hilo serve`, killed with SIGKILL between committing events and delivering them:
//! after a restart on the same database, exactly the committed events are delivered.

// A failed unwrap is a failed test, with its location.
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

/// `hilo serve` on `database`, delivering with a short timeout (so the lease of a delivery cut
/// short by the kill runs out in seconds); its base URL and banner.
fn serve(database: &str) -> (Child, String, Vec<String>) {
    let mut child = Command::new(HILO)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args([
            "--webhook-timeout-ms",
            "1000",
            "--webhook-retry-base-ms",
            "200",
        ])
        .args(["--webhook-poll-ms", "100"])
        .env_remove("HILO_ADMIN_KEY")
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
    let mut banner: Vec<String> = Vec::new();
    while !banner
        .last()
        .is_some_and(|l| l.contains("curl -s") || l.contains("hilo admin token create"))
    {
        banner.push(rx.recv_timeout(Duration::from_secs(30)).expect("banner"));
    }
    let base = banner[0]
        .strip_prefix("hilo is ready at ")
        .unwrap()
        .to_owned();
    (child, base, banner)
}

fn field(banner: &[String], label: &str) -> String {
    let line = banner
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap();
    line.split_whitespace().last().unwrap().to_owned()
}

fn admin(database: &str, args: &[&str]) -> Value {
    let output = Command::new(HILO)
        .args(["admin", "--database", database, "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

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

    let (mut first, base, banner) = serve(database);
    let (location, token) = (field(&banner, "location id:"), field(&banner, "token:"));
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
    );
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
    );
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
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing was answered before the kill"
    );

    hang.store(false, Ordering::SeqCst);
    let (mut second, _, _) = serve(database);
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

    Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(second.wait().unwrap().success(), "graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_delivers_exactly_the_committed_events_after_restart_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("hilo-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    crash_between_commit_and_delivery(&format!("sqlite://{}", dir.join("hilo.db").display())).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_delivers_exactly_the_committed_events_after_restart_on_postgres() {
    let Ok(admin_url) = std::env::var("HILO_TEST_POSTGRES_URL") else {
        eprintln!("HILO_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
        return;
    };
    let name = format!("hilo_crash_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    crash_between_commit_and_delivery(&format!("{base}/{name}")).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
