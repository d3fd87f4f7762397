//! Webhook delivery throughput and latency (not a test): events enqueued as handlers do (one
//! transaction each, then a wake-up), delivered by one dispatcher to a local receiver.
//! Prints deliveries per second and enqueue-to-delivered p50/p99.
//!
//!     cargo bench -p hilo-server --bench webhooks            # SQLite
//!     HILO_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench \
//!         cargo bench -p hilo-server --bench webhooks        # PostgreSQL too (an empty database)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hilo_server::oauth::apps::{self, Distribution, NewApp};
use hilo_server::oauth::grants::{self, AuthorizeRequest, InstallTarget};
use hilo_server::oauth::{OAuth, OAuthSettings};
use hilo_server::webhooks::dispatch::Dispatcher;
use hilo_server::webhooks::events::NoteFields;
use hilo_server::webhooks::{self, Event, EventKind, WebhookSettings};
use hilo_server::{tenancy, AppState, Db};

const EVENTS: usize = 2_000;

async fn receiver(count: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    url
}

async fn run(name: &str, url: &str) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let company = tenancy::create_company(&db, "Bench").await?;
    let location = tenancy::create_location(&db, Some(&company.id), "Bench").await?;
    let count = Arc::new(AtomicUsize::new(0));
    let app = apps::create_app(
        &db,
        NewApp {
            company_id: company.id.clone(),
            name: "Bench receiver".into(),
            redirect_uris: vec!["https://bench.example/cb".into()],
            scopes: vec!["contacts.readonly".into()],
            webhook_url: Some(receiver(count.clone()).await),
            distribution: Distribution::Location,
        },
    )
    .await?;
    let oauth = OAuth::load(&db, OAuthSettings::default()).await?;
    grants::authorize(
        &db,
        &oauth,
        AuthorizeRequest {
            app: app.app,
            target: InstallTarget::Location(location.id.clone()),
            scopes: None,
            redirect_uri: None,
            user_id: Some("bench".into()),
            state: None,
        },
    )
    .await?;
    let settings = WebhookSettings {
        concurrency: 64,
        ..WebhookSettings::default()
    };
    let state = AppState::new(db.clone(), OAuthSettings::default())
        .await?
        .with_webhook_settings(settings);
    state.webhooks.keys(&db).await?;
    let dispatcher = Dispatcher::start(state.clone());
    // Wait for the install event to go out, so that only the notes are timed.
    while count.load(Ordering::Relaxed) < 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    for i in 0..EVENTS {
        let note = NoteFields {
            id: format!("note{i:016}"),
            body: "a note".into(),
            contact_id: "contact0000000000000".into(),
            date_added: "2021-11-26T12:41:02.193Z".into(),
        };
        let mut tx = db.write().begin().await?;
        webhooks::enqueue(
            &mut tx,
            Event::of_location(EventKind::NoteCreate, &location.id, &note),
        )
        .await?;
        tx.commit().await?;
        state.webhooks.wake();
    }
    let enqueued = started.elapsed();
    while count.load(Ordering::Relaxed) < EVENTS + 1 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    dispatcher.shutdown().await;
    let mut latencies: Vec<i64> = sqlx::query_scalar(
        "SELECT d.delivered_at - d.created_at FROM webhook_deliveries d \
         JOIN webhook_events e ON e.id = d.event_id WHERE e.event_type = 'NoteCreate'",
    )
    .fetch_all(db.read())
    .await?;
    latencies.sort_unstable();
    let at = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "{name}: {EVENTS} events enqueued in {:.2} s ({:.0}/s); all delivered in {:.2} s: \
         {:.0} deliveries/s; enqueue-to-delivered p50 {} ms, p99 {} ms",
        enqueued.as_secs_f64(),
        EVENTS as f64 / enqueued.as_secs_f64(),
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64(),
        at(50),
        at(99)
    );
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("SQLite", &sqlite).await?;
    if let Ok(url) = std::env::var("HILO_BENCH_POSTGRES_URL") {
        run("PostgreSQL", &url).await?;
    }
    Ok(())
}
