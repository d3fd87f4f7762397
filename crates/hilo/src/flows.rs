//! `hilo flows`: run, dry-run, check and look back at automations (see docs/flows.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use clap::{Args, Subcommand};
use hilo_flows::{catalog, flow, Catalog, Flow, Runner, Store};
use serde_json::Value;

use crate::api::ProfileArgs;

#[derive(Args)]
pub struct FlowsArgs {
    #[command(subcommand)]
    command: FlowsCommand,
}

#[derive(Args)]
struct StoreArgs {
    /// Where cursors, runs and step logs are kept: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "HILO_FLOWS_DATABASE",
        default_value = "sqlite://hilo-flows.db"
    )]
    database: String,
}

#[derive(Subcommand)]
enum FlowsCommand {
    /// Run flows until stopped (Ctrl-C or SIGTERM ends them after the item at hand).
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where webhook flows take their posts.
        #[arg(long, env = "HILO_FLOWS_LISTEN", default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// One dry run against the live API: reads are made, writes are only printed.
    Test {
        file: PathBuf,
        /// A JSON file to use as the trigger's item (required for webhook flows).
        #[arg(long)]
        sample: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Past runs, newest first, with each step's outcome.
    History {
        #[arg(long)]
        flow: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check flow files: format, catalog ids and parameters, and the token's scopes.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Skip the check of the profile token's scopes.
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Print the JSON Schema of flow files.
    Schema,
    /// List the catalog's triggers and actions.
    Catalog {
        /// Only this category (`Contacts`, `Opportunities`…).
        #[arg(long)]
        category: Option<String>,
    },
}

pub async fn run(args: FlowsArgs) -> anyhow::Result<()> {
    match args.command {
        FlowsCommand::Run {
            files,
            listen,
            store,
            profile,
        } => {
            let flows = load_all(&files)?;
            let store = Store::connect(&store.database).await?;
            let runner = Arc::new(Runner::new(profile.client(true)?, store));
            let stopper = runner.clone();
            tokio::spawn(async move {
                crate::shutdown_signal().await;
                tracing::info!("stopping after the items at hand");
                stopper.stop();
            });
            let takes_webhooks = flows
                .iter()
                .any(|f| matches!(f.trigger, hilo_flows::flow::Trigger::Webhook { .. }));
            let listener = match takes_webhooks {
                true => Some(
                    tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("listening on {listen}"))?,
                ),
                false => None,
            };
            eprintln!("running {} flow(s)", flows.len());
            if let Some(listener) = &listener {
                eprintln!("webhooks at http://{}", listener.local_addr()?);
            }
            runner.serve(flows, listener).await
        }
        FlowsCommand::Test {
            file,
            sample,
            store,
            profile,
        } => {
            let flow = flow::load(&file, &flow::process_env())?;
            let sample = sample
                .map(|path| -> anyhow::Result<Value> {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str(&text).context("the sample is not JSON")
                })
                .transpose()?;
            let store = Store::connect(&store.database).await?;
            let runner = Runner::new(profile.client(true)?, store);
            let report = runner.test(&flow, sample).await?;
            for line in &report.lines {
                println!("{line}");
            }
            println!(
                "{} item(s): {} would finish, {} filtered out, {} would fail; nothing was written",
                report.items, report.done, report.filtered, report.failed
            );
            Ok(())
        }
        FlowsCommand::History { flow, limit, store } => {
            let store = Store::connect(&store.database).await?;
            for run in store.history(flow.as_deref(), limit).await? {
                let when = chrono::DateTime::from_timestamp_millis(run.started_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default();
                println!(
                    "{when}  {:<20} {:<8} {}",
                    run.flow, run.status, run.item_key
                );
                for step in store.steps(&run.id).await? {
                    let error = step.error.map(|e| format!("  {e}")).unwrap_or_default();
                    println!(
                        "    {:<16} {:<8} tries {}{error}",
                        step.step, step.status, step.attempts
                    );
                }
            }
            Ok(())
        }
        FlowsCommand::Validate {
            files,
            offline,
            profile,
        } => {
            let flows = load_all(&files)?;
            let granted = if offline {
                None
            } else {
                token_scopes(&profile).await?
            };
            let mut missing_any = false;
            for flow in &flows {
                let needed = flow.scopes();
                match &granted {
                    Some(granted) => {
                        let missing: Vec<_> =
                            needed.iter().filter(|s| !granted.contains(*s)).collect();
                        if missing.is_empty() {
                            println!("{}: ok (scopes {})", flow.name, join(&needed));
                        } else {
                            missing_any = true;
                            println!(
                                "{}: the token lacks {}",
                                flow.name,
                                missing
                                    .iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            );
                        }
                    }
                    None => println!("{}: ok (needs scopes {})", flow.name, join(&needed)),
                }
            }
            if missing_any {
                std::process::exit(1);
            }
            Ok(())
        }
        FlowsCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&flow::json_schema())?);
            Ok(())
        }
        FlowsCommand::Catalog { category } => {
            for item in Catalog::builtin().items() {
                if category.as_deref().is_some_and(|c| c != item.category) {
                    continue;
                }
                let kind = match item.kind {
                    catalog::Kind::Trigger => "trigger",
                    catalog::Kind::Action => "action",
                };
                println!("{:<44} {kind:<8} {} {}", item.id, item.method, item.path);
            }
            Ok(())
        }
    }
}

/// Every file loaded, or every problem of every file.
fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<Flow>> {
    let mut flows = Vec::new();
    let mut problems = Vec::new();
    let env = flow::process_env();
    for file in files {
        match flow::load(file, &env) {
            Ok(flow) => flows.push(flow),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    let mut names = std::collections::BTreeSet::new();
    if let Some(flow) = flows.iter().find(|f| !names.insert(f.name.clone())) {
        anyhow::bail!("two flows are named {:?}", flow.name);
    }
    Ok(flows)
}

/// The scopes the profile's token carries: from the OAuth token answer, or from the claims
/// of a JWT access token. `None` for an opaque private token, whose scopes no API tells.
async fn token_scopes(
    profile: &ProfileArgs,
) -> anyhow::Result<Option<std::collections::BTreeSet<String>>> {
    let client = profile.client(true)?;
    if let Some(tokens) = client.oauth_tokens().await {
        if let Some(scope) = tokens.scope {
            return Ok(Some(scope.split_whitespace().map(str::to_owned).collect()));
        }
    }
    let token = client.access_token().await?;
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let scopes = claims
        .as_ref()
        .and_then(|c| c["oauthMeta"]["scopes"].as_array())
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    if scopes.is_none() {
        eprintln!(
            "note: the scopes of a private token cannot be read; only the files were checked"
        );
    }
    Ok(scopes)
}

fn join(scopes: &std::collections::BTreeSet<String>) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
