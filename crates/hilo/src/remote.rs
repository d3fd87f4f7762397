//! `hilo admin` commands that ask a running server rather than the database: what only the
//! serving process knows or holds, such as its live rate-limit counters and its fault rules.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

#[derive(Args)]
pub struct ServerArgs {
    /// The running server's base URL.
    #[arg(long, env = "HILO_SERVER_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The admin key `hilo serve` printed on first start (or was given with --admin-key).
    #[arg(long, env = "HILO_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
}

#[derive(Subcommand)]
pub enum LimitsCommand {
    /// The live rate-limit counters of every app and private token on a location or agency.
    Show {
        /// The location whose counters to show (Sub-Account tokens count per location).
        #[arg(long, required_unless_present = "agency", conflicts_with = "agency")]
        location: Option<String>,
        /// The agency whose counters to show (agency tokens count per agency).
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
pub enum FaultsCommand {
    /// Add a fault rule, given as JSON: `{"match": {"method", "path", "locationId", "clientId"},
    /// "effect": {"type": "status", "status": 429} | {"type": "latency", "ms": 500} |
    /// {"type": "drop"} | …, "times", "nth", "probability", "ttlMs"}` (docs/sandbox.md).
    Add {
        #[arg(long)]
        rule: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The rules in force, with how often each matched and faulted.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove one rule.
    Remove {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove every rule.
    Clear {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Which journaled requests a command is about; every condition given must hold.
#[derive(Args)]
pub struct JournalFilter {
    #[arg(long)]
    method: Option<String>,
    /// A path pattern: `*` within one segment, a final `/**` for any rest.
    #[arg(long)]
    path: Option<String>,
    #[arg(long)]
    status: Option<u16>,
    /// An ISO 8601 date-time or epoch milliseconds.
    #[arg(long)]
    since: Option<String>,
    /// The caller's location (or agency).
    #[arg(long)]
    location: Option<String>,
    /// The app's client id, or the private token's id.
    #[arg(long)]
    client: Option<String>,
    /// Text the request body contains.
    #[arg(long)]
    body_contains: Option<String>,
}

impl JournalFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        [
            ("method", self.method.clone()),
            ("path", self.path.clone()),
            ("status", self.status.map(|s| s.to_string())),
            ("since", self.since.clone()),
            ("locationId", self.location.clone()),
            ("clientId", self.client.clone()),
            ("bodyContains", self.body_contains.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

#[derive(Subcommand)]
pub enum JournalCommand {
    /// The newest journaled requests that match, newest first.
    List {
        #[command(flatten)]
        filter: JournalFilter,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// How many journaled requests match.
    Count {
        #[command(flatten)]
        filter: JournalFilter,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Forget every journaled request.
    Clear {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs `command` against the server; returns its answer as JSON and as text.
pub async fn journal(command: JournalCommand) -> anyhow::Result<(Value, String)> {
    let path = "/hilo/admin/journal";
    Ok(match command {
        JournalCommand::List {
            filter,
            limit,
            server,
        } => {
            let mut query = filter.query();
            query.push(("limit", limit.to_string()));
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = call(&server, Method::GET, path, &pairs, None).await?;
            let text = answer["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    format!(
                        "{}  {} {}  {}  {:.1} ms",
                        r["at"].as_str().unwrap_or_default(),
                        r["method"].as_str().unwrap_or_default(),
                        r["path"].as_str().unwrap_or_default(),
                        r["status"],
                        r["latencyMs"].as_f64().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (answer, text)
        }
        JournalCommand::Count { filter, server } => {
            let query = filter.query();
            let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = call(&server, Method::GET, &format!("{path}/count"), &pairs, None).await?;
            let text = answer["count"].to_string();
            (answer, text)
        }
        JournalCommand::Clear { server } => {
            let answer = call(&server, Method::DELETE, path, &[], None).await?;
            let text = format!("forgot {} requests", answer["cleared"]);
            (answer, text)
        }
    })
}

#[derive(Subcommand)]
pub enum ClockCommand {
    /// The server's time and how its clock runs.
    Show {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set the time (an ISO 8601 date-time or epoch milliseconds), running on from there or
    /// frozen with --freeze.
    Set {
        time: String,
        #[arg(long)]
        freeze: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Move the time by a duration: `90s`, `15m`, `25h`, `1d`, or milliseconds (`-` goes back).
    Advance {
        #[arg(allow_hyphen_values = true, value_parser = parse_duration_ms)]
        by: i64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Back to real time.
    Real {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `90s`, `15m`, `25h`, `1d`, `500ms` or plain milliseconds, optionally negative.
fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration"))?;
    let unit_ms = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{s:?}: the unit must be ms, s, m, h or d")),
    };
    n.checked_mul(unit_ms)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// Runs `command` against the server; returns its answer as JSON and as text.
pub async fn clock(command: ClockCommand) -> anyhow::Result<(Value, String)> {
    let path = "/hilo/admin/clock";
    let answer = match command {
        ClockCommand::Show { server } => call(&server, Method::GET, path, &[], None).await?,
        ClockCommand::Set {
            time,
            freeze,
            server,
        } => {
            let at = time
                .parse::<i64>()
                .map_or_else(|_| Value::from(time.clone()), Value::from);
            let body = serde_json::json!({ "set": at, "freeze": freeze });
            call(&server, Method::POST, path, &[], Some(body)).await?
        }
        ClockCommand::Advance { by, server } => {
            let body = serde_json::json!({ "advanceMs": by });
            call(&server, Method::POST, path, &[], Some(body)).await?
        }
        ClockCommand::Real { server } => {
            let body = serde_json::json!({ "real": true });
            call(&server, Method::POST, path, &[], Some(body)).await?
        }
    };
    let text = format!(
        "{} ({})",
        answer["now"].as_str().unwrap_or_default(),
        answer["mode"].as_str().unwrap_or_default()
    );
    Ok((answer, text))
}

/// Runs `command` against the server; returns its answer as JSON and as text.
pub async fn faults(command: FaultsCommand) -> anyhow::Result<(Value, String)> {
    let path = "/hilo/admin/faults";
    let (answer, text) = match command {
        FaultsCommand::Add { rule, server } => {
            let rule: Value = serde_json::from_str(&rule).context("--rule is not JSON")?;
            let answer = call(&server, Method::POST, path, &[], Some(rule)).await?;
            let text = format!(
                "fault rule {}",
                answer["fault"]["id"].as_str().unwrap_or_default()
            );
            (answer, text)
        }
        FaultsCommand::List { server } => {
            let answer = call(&server, Method::GET, path, &[], None).await?;
            let text = answer["faults"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}  match {}  effect {}  matched {} faulted {}",
                        f["id"].as_str().unwrap_or_default(),
                        f["match"],
                        f["effect"],
                        f["matched"],
                        f["hits"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (answer, text)
        }
        FaultsCommand::Remove { id, server } => {
            let answer = call(&server, Method::DELETE, &format!("{path}/{id}"), &[], None).await?;
            (answer, format!("removed fault rule {id}"))
        }
        FaultsCommand::Clear { server } => {
            let answer = call(&server, Method::DELETE, path, &[], None).await?;
            let text = format!("removed {} fault rules", answer["removed"]);
            (answer, text)
        }
    };
    Ok((answer, text))
}

/// Runs `command` against the server; returns its answer as JSON and as text.
pub async fn limits(command: LimitsCommand) -> anyhow::Result<(Value, String)> {
    let LimitsCommand::Show {
        location,
        agency,
        server,
    } = command;
    let (param, id) = match (location, agency) {
        (Some(location), _) => ("locationId", location),
        (None, Some(agency)) => ("companyId", agency),
        (None, None) => anyhow::bail!("--location or --agency is required"),
    };
    let report = call(
        &server,
        Method::GET,
        "/hilo/admin/limits",
        &[(param, &id)],
        None,
    )
    .await?;
    Ok((report.clone(), limits_text(&report)))
}

/// How long to wait for the server: an inspection should fail fast, not hang a script.
const TIMEOUT: Duration = Duration::from_secs(10);

async fn call(
    server: &ServerArgs,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let key = server
        .admin_key
        .as_deref()
        .context("the admin key is needed: --admin-key or HILO_ADMIN_KEY")?;
    let url = format!("{}{path}", server.server.trim_end_matches('/'));
    let mut request = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()?
        .request(method, &url)
        .query(query)
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {}", server.server))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        // HighLevel-shaped errors carry a message, or a list of them (422).
        let message = match body.as_ref().map(|b| &b["message"]) {
            Some(Value::String(message)) => message.clone(),
            Some(Value::Array(messages)) => messages
                .iter()
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
            _ => "no HighLevel error body".to_owned(),
        };
        anyhow::bail!("the server answered {status}: {message}");
    }
    body.with_context(|| format!("{url} did not answer JSON"))
}

fn limits_text(report: &Value) -> String {
    let limits = &report["limits"];
    if limits.is_null() {
        return "rate limits are off".to_owned();
    }
    let mut lines = vec![format!(
        "limits: {} requests per {} ms, {} per day; {} on {}",
        limits["burst"],
        limits["intervalMilliseconds"],
        limits["daily"],
        match report["counters"].as_array().map_or(0, Vec::len) {
            1 => "1 caller".to_owned(),
            n => format!("{n} callers"),
        },
        report["resourceId"].as_str().unwrap_or_default(),
    )];
    for c in report["counters"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}  window {} used, {} left{}  today {} used, {} left",
            c["client"].as_str().unwrap_or_default(),
            c["windowUsed"],
            c["windowRemaining"],
            c["windowResetsAt"]
                .as_str()
                .map(|at| format!(" (resets {at})"))
                .unwrap_or_default(),
            c["dailyUsed"],
            c["dailyRemaining"],
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("-2h"), Ok(-7_200_000));
        assert_eq!(parse_duration_ms("250"), Ok(250));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("5y").is_err());
    }
}
