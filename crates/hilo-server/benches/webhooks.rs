//! Webhook delivery throughput and latency (not a test), one dispatcher and a local receiver,
//! events enqueued as handlers do (one transaction each, then a wake-up):
//! - throughput: a backlog of events queued first, then drained: deliveries per second;
//! - latency: events enqueued at a steady rate while the dispatcher runs: enqueue-to-delivered
//!   p50 and p99.
//!
//! ```sh
//! cargo bench -p hilo-server --bench webhooks      # SQLite
//! HILO_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench \
//!     cargo bench -p hilo-server --bench webhooks  # PostgreSQL too (an empty database)
//! ```

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

const BACKLOG: usize = 5_000;
const STREAM: usize = 500;
const PACE: Duration = Duration::from_millis(10);

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

    // Throughput: the backlog (and the install event) drained by a dispatcher started after.
    for i in 0..BACKLOG {
        enqueue_note(&state, &location.id, i).await?;
    }
    let started = Instant::now();
    let dispatcher = Dispatcher::start(state.clone())?;
    wait_for(&count, BACKLOG + 1).await;
    let drained = started.elapsed();

    // Latency: one event every PACE, as a steady stream of writes would queue them.
    let since = state.clock.now_ms();
    for i in 0..STREAM {
        enqueue_note(&state, &location.id, BACKLOG + i).await?;
        tokio::time::sleep(PACE).await;
    }
    wait_for(&count, BACKLOG + 1 + STREAM).await;
    dispatcher.shutdown().await;
    let mut latencies: Vec<i64> = sqlx::query_scalar(
        "SELECT delivered_at - created_at FROM webhook_deliveries WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_all(db.read())
    .await?;
    latencies.sort_unstable();
    let at = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "{name}: backlog of {BACKLOG} drained in {:.2} s: {:.0} deliveries/s; \
         {STREAM} events one every {} ms: enqueue-to-delivered p50 {} ms, p99 {} ms",
        drained.as_secs_f64(),
        BACKLOG as f64 / drained.as_secs_f64(),
        PACE.as_millis(),
        at(50),
        at(99)
    );
    db.close().await;
    Ok(())
}

async fn enqueue_note(state: &AppState, location_id: &str, i: usize) -> anyhow::Result<()> {
    let note = NoteFields {
        id: format!("note{i:016}"),
        body: "a note".into(),
        contact_id: "contact0000000000000".into(),
        date_added: "2021-11-26T12:41:02.193Z".into(),
    };
    let mut tx = state.db.write().begin().await?;
    webhooks::enqueue(
        &mut tx,
        Event::of_location(EventKind::NoteCreate, location_id, &note),
    )
    .await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(())
}

async fn wait_for(count: &AtomicUsize, n: usize) {
    while count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
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
