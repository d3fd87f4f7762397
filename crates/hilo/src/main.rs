//! The `hilo` command: `hilo serve` runs the HighLevel-compatible server; `hilo admin …`
//! manages agencies, locations and tokens in the same database, also while the server runs.

mod admin;
mod api;
mod flows;
mod profile;
mod remote;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hilo_server::oauth::OAuthSettings;
use hilo_server::ratelimit::{RateLimiter, RateLimits};
use hilo_server::tenancy::{self, DemoSeed};
use hilo_server::webhooks::dispatch::Dispatcher;
use hilo_server::webhooks::retry::{RetryMode, RetryPolicy};
use hilo_server::webhooks::WebhookSettings;
use hilo_server::{AppState, Db};
use tracing_subscriber::EnvFilter;

pub const DEFAULT_DATABASE: &str = "sqlite://hilo.db";

#[derive(Parser)]
#[command(
    name = "hilo",
    version,
    about = "A self-hostable HighLevel API v2 server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database, seeds a demo location if empty).
    Serve(ServeArgs),
    /// Manage agencies, locations and tokens.
    Admin(admin::AdminArgs),
    /// Store a profile (base URL + token) for `hilo api`.
    Login(api::LoginArgs),
    /// An authenticated request with a stored profile, like curl: `hilo api GET /contacts/ID`.
    Api(api::ApiArgs),
    /// Automations: polling triggers and webhooks, then catalog actions and HTTP calls.
    Flows(flows::FlowsArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HILO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "HILO_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HILO_BODY_LIMIT", default_value_t = hilo_server::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// Lifetime of OAuth access tokens, in seconds (HighLevel: 86399).
    #[arg(long, env = "HILO_ACCESS_TOKEN_TTL", default_value_t = 86_399)]
    access_token_ttl: u64,
    /// Lifetime of OAuth refresh tokens, in seconds (HighLevel: a year).
    #[arg(long, env = "HILO_REFRESH_TOKEN_TTL", default_value_t = 365 * 24 * 3600)]
    refresh_token_ttl: u64,
    /// Lifetime of OAuth authorization codes, in seconds.
    #[arg(long, env = "HILO_CODE_TTL", default_value_t = 600)]
    code_ttl: u64,
    /// Requests allowed per app (or private token) per location in one interval (HighLevel: 100).
    #[arg(long, env = "HILO_RATE_LIMIT_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: u32,
    /// Length of the burst interval, in milliseconds (HighLevel: 10000).
    #[arg(long, env = "HILO_RATE_LIMIT_INTERVAL_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    rate_limit_interval_ms: u64,
    /// Requests allowed per app (or private token) per location per UTC day (HighLevel: 200000).
    #[arg(long, env = "HILO_RATE_LIMIT_DAILY", default_value_t = 200_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_daily: u32,
    /// The key of the control plane (`/hilo/admin/…`, `hilo admin limits`); without it, hilo
    /// creates one on first start, prints it once and keeps its hash.
    #[arg(long, env = "HILO_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// How many of the last requests the journal keeps (`/hilo/admin/journal`); 0 turns it off.
    #[arg(long, env = "HILO_JOURNAL_SIZE", default_value_t = hilo_server::journal::DEFAULT_CAPACITY)]
    journal_size: usize,
    /// A fixtures document (docs/sandbox.md) loaded at start instead of the demo seed, with
    /// replace: its agencies and locations are exactly the file's on every start.
    #[arg(long, env = "HILO_FIXTURES")]
    fixtures: Option<std::path::PathBuf>,
    /// `off` lets every request through without rate-limit headers (load tests, sandboxes).
    #[arg(long, env = "HILO_RATE_LIMITS", value_enum, default_value_t = Switch::On)]
    rate_limits: Switch,
    /// `off`: every contact search runs as SQL, and no location is held in memory (an index
    /// of 1,000,000 contacts takes some 550 MB; docs/search.md#large-locations).
    #[arg(long, env = "HILO_SEARCH_INDEX", value_enum, default_value_t = Switch::On)]
    search_index: Switch,
    /// `off`: this process queues webhook events but sends none (another process does).
    #[arg(long, env = "HILO_WEBHOOK_DISPATCH", value_enum, default_value_t = Switch::On)]
    webhook_dispatch: Switch,
    /// `standard`: every failure is retried with exponential backoff until the horizon;
    /// `highlevel`: only a 429 is retried, every 10 minutes, six times (as HighLevel does).
    #[arg(long, env = "HILO_WEBHOOK_RETRY_MODE", value_enum, default_value_t = RetryModeArg::Standard)]
    webhook_retry_mode: RetryModeArg,
    /// The first retry's delay (standard; it doubles each time) or every retry's (highlevel),
    /// in milliseconds. Default: 5000 (standard), 600000 (highlevel).
    #[arg(long, env = "HILO_WEBHOOK_RETRY_BASE_MS")]
    webhook_retry_base_ms: Option<u64>,
    /// The longest wait between two attempts, in milliseconds (standard).
    #[arg(
        long,
        env = "HILO_WEBHOOK_RETRY_MAX_INTERVAL_MS",
        default_value_t = 3_600_000
    )]
    webhook_retry_max_interval_ms: u64,
    /// No retry later than this after an event was queued, in seconds (default: a day
    /// (standard), two hours (highlevel)).
    #[arg(long, env = "HILO_WEBHOOK_RETRY_HORIZON_SECS")]
    webhook_retry_horizon_secs: Option<u64>,
    /// Timeout of one delivery (connecting, sending, reading the answer), in milliseconds.
    #[arg(long, env = "HILO_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    webhook_timeout_ms: u64,
    /// How many bytes of a receiver's answer are read at most.
    #[arg(long, env = "HILO_WEBHOOK_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024)]
    webhook_max_response_bytes: usize,
    /// Refuse webhook URLs that are (or resolve to) private, loopback or link-local addresses.
    #[arg(long, env = "HILO_WEBHOOK_BLOCK_PRIVATE")]
    webhook_block_private: bool,
    /// Deliveries in flight at once in this process.
    #[arg(long, env = "HILO_WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..1025))]
    webhook_concurrency: u64,
    /// How often the outbox is looked at for other processes' events and due retries, in
    /// milliseconds (this process's own writes wake the dispatcher at once).
    #[arg(long, env = "HILO_WEBHOOK_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    webhook_poll_ms: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RetryModeArg {
    Standard,
    Highlevel,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

impl ServeArgs {
    fn webhook_settings(&self) -> WebhookSettings {
        let mode = match self.webhook_retry_mode {
            RetryModeArg::Standard => RetryMode::Standard,
            RetryModeArg::Highlevel => RetryMode::HighLevel,
        };
        let defaults = RetryPolicy::for_mode(mode);
        let mut retry = RetryPolicy {
            max_interval: Duration::from_millis(self.webhook_retry_max_interval_ms),
            ..defaults
        };
        if let Some(ms) = self.webhook_retry_base_ms {
            retry.base = Duration::from_millis(ms);
        }
        if let Some(secs) = self.webhook_retry_horizon_secs {
            retry.horizon = Duration::from_secs(secs);
        }
        WebhookSettings {
            retry,
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            max_response_bytes: self.webhook_max_response_bytes,
            block_private: self.webhook_block_private,
            concurrency: usize::try_from(self.webhook_concurrency).unwrap_or(16),
            poll: Duration::from_millis(self.webhook_poll_ms),
        }
    }

    fn rate_limiter(&self) -> RateLimiter {
        match self.rate_limits {
            Switch::Off => RateLimiter::off(),
            Switch::On => RateLimiter::in_memory(RateLimits {
                burst: self.rate_limit_burst,
                interval: Duration::from_millis(self.rate_limit_interval_ms),
                daily: self.rate_limit_daily,
            }),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Admin(args) => admin::run(args).await,
        Command::Login(args) => api::login(args).await,
        Command::Api(args) => api::api(args).await,
        Command::Flows(args) => flows::run(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = Db::connect(&args.database).await?;
    let seed = match &args.fixtures {
        Some(file) => {
            let loaded = admin::load_fixtures_file(&db, file, true).await?;
            let contacts = loaded.loaded.get("contacts").copied().unwrap_or_default();
            tracing::info!(file = %file.display(), contacts, "fixtures loaded");
            None
        }
        None => tenancy::seed_demo(&db).await?,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let limiter = args.rate_limiter();
    let new_admin_key = match &args.admin_key {
        Some(_) => None,
        None => hilo_server::control::ensure_admin_key(&db).await?,
    };
    let banner = Banner {
        seed: seed.as_ref(),
        limiter: &limiter,
        search_index: args.search_index,
        new_admin_key: new_admin_key.as_deref(),
    };
    print_banner(addr, &db, banner).await?;
    let oauth = OAuthSettings {
        access_token_ttl: Duration::from_secs(args.access_token_ttl),
        refresh_token_ttl: Duration::from_secs(args.refresh_token_ttl),
        code_ttl: Duration::from_secs(args.code_ttl),
    };
    let mut state = AppState::new(db.clone(), oauth)
        .await?
        .with_rate_limiter(limiter)
        .with_journal_size(args.journal_size)
        .with_webhook_settings(args.webhook_settings());
    if let Some(key) = &args.admin_key {
        state = state.with_admin_key(key);
    }
    if args.search_index == Switch::Off {
        state = state.without_contact_index();
    }
    // The signing keys are made on first start, not in the first delivery's way.
    state.webhooks.keys(&db).await?;
    let dispatcher = (args.webhook_dispatch == Switch::On)
        .then(|| Dispatcher::start(state.clone()))
        .transpose()?;
    let app = hilo_server::app(state, args.body_limit);
    // Fresh planner statistics for data that changed since the last start, without delaying it.
    let analyzed = db.clone();
    tokio::spawn(async move {
        if let Err(e) = analyzed.analyze().await {
            tracing::warn!(error = %e, "ANALYZE failed; searches may choose slower plans");
        }
    });
    hilo_server::serve(listener, app, shutdown_signal()).await?;
    if let Some(dispatcher) = dispatcher {
        dispatcher.shutdown().await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// What the start banner tells besides the address.
struct Banner<'a> {
    seed: Option<&'a DemoSeed>,
    limiter: &'a RateLimiter,
    search_index: Switch,
    new_admin_key: Option<&'a str>,
}

async fn print_banner(addr: SocketAddr, db: &Db, banner: Banner<'_>) -> anyhow::Result<()> {
    let Banner {
        seed,
        limiter,
        search_index,
        new_admin_key,
    } = banner;
    let base = format!("http://{addr}");
    println!("hilo is ready at {base}");
    match limiter.limits() {
        Some(l) => println!(
            "  rate limits: {} requests per {} ms and {} per day, per app or token per location",
            l.burst,
            l.interval_ms(),
            l.daily
        ),
        None => println!("  rate limits: off"),
    }
    match search_index {
        Switch::On => {
            println!("  search:      in-memory index, a location loaded on its first search")
        }
        Switch::Off => println!("  search:      SQL only (--search-index off)"),
    }
    if let Some(key) = new_admin_key {
        println!("  admin key:   {key}");
        println!("               (for hilo admin limits; printed once, hilo keeps only its hash)");
    }
    match seed {
        Some(seed) => {
            let location = &seed.location.id;
            let token = &seed.token.token;
            println!("  location id: {location}");
            println!("  token:       {token}");
            println!("               (printed once; hilo keeps only its hash)");
            println!("  scopes:      {}", seed.token.scopes.join(" "));
            println!();
            println!("Create a contact:");
            println!(
                "  curl -s -X POST {base}/contacts/ -H 'Authorization: Bearer {token}' \
                 -H 'Version: 2021-07-28' -H 'Content-Type: application/json' \
                 -d '{{\"locationId\":\"{location}\",\"firstName\":\"Ada\",\"lastName\":\"Lovelace\",\"email\":\"ada@example.com\",\"phone\":\"+1 202-555-0143\"}}'"
            );
        }
        None => {
            for location in tenancy::list_locations(db).await? {
                println!("  location id: {} ({})", location.id, location.name);
            }
            println!("  tokens are printed only when created; make one with:");
            println!(
                "  hilo admin token create --location ID --scopes \"contacts.readonly contacts.write\""
            );
        }
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
