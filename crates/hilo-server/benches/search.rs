//! Latency of `POST /contacts/search` over HTTP on a location with many contacts, for a mix of
//! realistic searches: a tag with a name fragment, a custom field range sorted by date, free
//! text, and deep `searchAfter` pages. Prints p50/p95/p99 per kind and over the whole mix.
//!
//! ```sh
//! cargo bench -p hilo-server --bench search -- --count 1000000 --requests 200
//! cargo bench -p hilo-server --bench search -- --database postgres://postgres@127.0.0.1/bench
//! ```
//!
//! The database keeps the seeded location between runs (`target/search-bench.db` by default),
//! so only the first run pays for seeding; a run tops the location up to `--count` contacts.

// A failed unwrap in set-up stops the bench with its location, as in tests.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hilo_server::endpoints::Scope;
use hilo_server::oauth::OAuthSettings;
use hilo_server::ratelimit::RateLimiter;
use hilo_server::tenancy::{self, TokenOwner};
use hilo_server::{AppState, Db};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const LOCATION_NAME: &str = "Search bench";
const TAGS: &[&str] = &[
    "vip",
    "customer",
    "newsletter",
    "booked call",
    "hot",
    "referral",
];
const NAME_FRAGMENTS: &[&str] = &["son", "mar", "lee", "ill", "ez", "tin", "hop"];
const QUERIES: &[&str] = &[
    "smith", "lovelace", "maria", "turing", "acme", "garcia.", "202",
];
const TWO_YEARS_MS: i64 = 730 * 86_400_000;

struct Options {
    database: String,
    count: u64,
    requests: usize,
}

fn options() -> Options {
    let mut options = Options {
        // The workspace's `target/` (a bench runs in its package's directory).
        database: format!(
            "sqlite://{}/../../target/search-bench.db",
            env!("CARGO_MANIFEST_DIR")
        ),
        count: 1_000_000,
        requests: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match arg.as_str() {
            "--database" => options.database = value(),
            "--count" => options.count = value().parse().expect("--count N"),
            "--requests" => options.requests = value().parse().expect("--requests N"),
            // `cargo bench` passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    options
}

/// The bench location, created on first use, topped up to `count` contacts.
async fn prepare(db: &Db, count: u64) -> String {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM locations WHERE name = $1 ORDER BY id LIMIT 1")
            .bind(LOCATION_NAME)
            .fetch_optional(db.read())
            .await
            .unwrap();
    let location_id = match existing {
        Some(id) => id,
        None => {
            let company = tenancy::create_company(db, LOCATION_NAME).await.unwrap();
            tenancy::create_location(db, Some(&company.id), LOCATION_NAME)
                .await
                .unwrap()
                .id
        }
    };
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE location_id = $1")
        .bind(&location_id)
        .fetch_one(db.read())
        .await
        .unwrap();
    let missing = count.saturating_sub(u64::try_from(have).unwrap());
    if missing > 0 {
        let started = Instant::now();
        // A seed of its own each top-up keeps the generated emails distinct.
        let seed = u64::try_from(have).unwrap();
        hilo_server::seed::seed_contacts(db, &location_id, missing, seed, |_| {})
            .await
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "seeded {missing} contacts in {seconds:.1} s ({:.0} contacts/s)",
            missing as f64 / seconds
        );
    }
    location_id
}

/// The search bodies of one kind of search.
#[derive(Clone, Copy)]
enum Kind {
    TagAndName,
    CustomRangeByDate,
    Text,
    DeepCursor,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::TagAndName,
        Kind::CustomRangeByDate,
        Kind::Text,
        Kind::DeepCursor,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::TagAndName => "tag eq + lastName contains",
            Kind::CustomRangeByDate => "custom field range, sort dateAdded",
            Kind::Text => "query text",
            Kind::DeepCursor => "deep searchAfter page",
        }
    }

    fn body(self, rng: &mut StdRng, location_id: &str, score_field: &str, now: i64) -> Value {
        let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.gen_range(0..list.len())];
        match self {
            Kind::TagAndName => json!({
                "locationId": location_id, "pageLimit": 20,
                "filters": [
                    {"field": "tags", "operator": "eq", "value": pick(rng, TAGS)},
                    {"field": "lastNameLowerCase", "operator": "contains",
                     "value": pick(rng, NAME_FRAGMENTS)}]
            }),
            Kind::CustomRangeByDate => {
                let low = rng.gen_range(0..90);
                json!({
                    "locationId": location_id, "pageLimit": 20,
                    "filters": [{"field": format!("customFields.{score_field}"),
                                 "operator": "range",
                                 "value": {"gte": low, "lte": low + 5}}],
                    "sort": [{"field": "dateAdded", "direction": "desc"}]
                })
            }
            Kind::Text => json!({
                "locationId": location_id, "pageLimit": 20, "query": pick(rng, QUERIES)
            }),
            Kind::DeepCursor => json!({
                "locationId": location_id, "pageLimit": 100,
                "searchAfter": [now - rng.gen_range(0..TWO_YEARS_MS), ""]
            }),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank].as_secs_f64() * 1000.0
}

fn summary(name: &str, latencies: &mut [Duration]) {
    latencies.sort();
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} |",
        latencies.len(),
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99)
    );
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(options));
}

async fn run(options: Options) {
    let db = Db::connect(&options.database).await.unwrap();
    let location_id = prepare(&db, options.count).await;
    let score_field: String = sqlx::query_scalar(
        "SELECT id FROM custom_fields WHERE location_id = $1 AND field_key = 'contact.lead_score'",
    )
    .bind(&location_id)
    .fetch_one(db.read())
    .await
    .unwrap();
    let token = tenancy::create_token(
        &db,
        TokenOwner::Location(&location_id),
        &[Scope::ContactsReadonly],
    )
    .await
    .unwrap()
    .token;
    let state = AppState::new(db, OAuthSettings::default())
        .await
        .unwrap()
        .with_rate_limiter(RateLimiter::off());
    let started = Instant::now();
    if let Some(indexes) = &state.contact_indexes {
        indexes.preload(&state.db, &location_id).await.unwrap();
    }
    eprintln!(
        "loaded the location into the contact index in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/contacts/search", listener.local_addr().unwrap());
    let app = hilo_server::app(state, hilo_server::DEFAULT_BODY_LIMIT);
    tokio::spawn(hilo_server::serve(listener, app, std::future::pending()));

    let client = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(7);
    let now = hilo_server::time::now_ms();
    let mut by_kind: Vec<Vec<Duration>> = vec![Vec::new(); Kind::ALL.len()];
    // Round-robin over the kinds, so that a slow phase of the machine touches them all alike.
    for i in 0..options.requests * Kind::ALL.len() {
        let k = i % Kind::ALL.len();
        let body = Kind::ALL[k].body(&mut rng, &location_id, &score_field, now);
        let started = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .header("Version", "2021-07-28")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        let elapsed = started.elapsed();
        assert!(status.is_success(), "{body} → {status} {answer}");
        // The first round warms caches and prepared statements.
        if i >= Kind::ALL.len() {
            by_kind[k].push(elapsed);
        }
    }

    println!("\n{} on {}\n", options.count, options.database);
    println!("| search | requests | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    let mut all = Vec::new();
    for (kind, latencies) in Kind::ALL.iter().zip(by_kind.iter_mut()) {
        all.extend_from_slice(latencies);
        summary(kind.name(), latencies);
    }
    summary("**the mix**", &mut all);
    // The process holds the server, its index and the client.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:")) {
            println!(
                "\nmemory of the bench process after the run: {}",
                rss[6..].trim()
            );
        }
    }
}
