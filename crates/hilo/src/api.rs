//! `hilo login` stores a profile (base URL + token); `hilo api METHOD PATH` makes an
//! authenticated request with it, like curl, and prints the JSON answer pretty. Both work
//! against hilo or HighLevel itself.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use hilo_sdk::{Client, Method, OAuthTokens, RetryPolicy, UserType};
use serde_json::Value;

use crate::profile::{self, Config, OAuthProfile, Profile};

#[derive(Args)]
pub struct ProfileArgs {
    /// The profile to use.
    #[arg(long, env = "HILO_PROFILE", default_value = profile::DEFAULT_PROFILE)]
    profile: String,
    /// The profile file (default: $HILO_CONFIG, else ~/.config/hilo/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl ProfileArgs {
    fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.config {
            Some(path) => Ok(path.clone()),
            None => profile::default_path(),
        }
    }

    /// A client for the stored profile; OAuth profiles keep each rotated pair in the file.
    pub fn client(&self, retry: bool) -> anyhow::Result<Client> {
        let path = self.path()?;
        let config = Config::load(&path)?;
        let name = &self.profile;
        let profile = config.profile(name, &path)?;
        let mut builder = Client::builder(&profile.base_url);
        if !retry {
            builder = builder.retry(RetryPolicy::none());
        }
        builder = match (&profile.token, &profile.oauth) {
            (Some(token), _) => builder.private_token(token),
            (None, Some(oauth)) => {
                let (path, name) = (path.clone(), name.clone());
                builder
                    .oauth(oauth.app(), oauth.tokens.clone())
                    .on_tokens_rotated(move |tokens: &OAuthTokens| {
                        if let Err(error) = store_rotated(&path, &name, tokens) {
                            eprintln!(
                                "warning: the rotated OAuth tokens were not saved: {error:#}"
                            );
                        }
                    })
            }
            (None, None) => bail!("profile {name:?} has neither a token nor OAuth credentials"),
        };
        Ok(builder.build()?)
    }
}

#[derive(Args)]
pub struct LoginArgs {
    /// The server: hilo's address, or https://services.leadconnectorhq.com.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// A private integration token (`pit-…`); `-` reads it from standard input.
    #[arg(
        long,
        required_unless_present = "client_id",
        conflicts_with = "client_id"
    )]
    token: Option<String>,
    /// An OAuth app's client id (with --client-secret and --refresh-token): the profile then
    /// refreshes its tokens itself and keeps each rotated pair.
    #[arg(long, requires_all = ["client_secret", "refresh_token"])]
    client_id: Option<String>,
    #[arg(long)]
    client_secret: Option<String>,
    #[arg(long)]
    refresh_token: Option<String>,
    /// Whose refresh token it is.
    #[arg(long, value_enum, default_value_t = UserTypeArg::Location)]
    user_type: UserTypeArg,
    #[command(flatten)]
    profile: ProfileArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum UserTypeArg {
    Location,
    Company,
}

#[derive(Args)]
pub struct ApiArgs {
    /// GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// The path, with its query string if any: `/contacts/?locationId=…&limit=5`.
    path: String,
    /// The JSON body: inline, `@FILE`, or `-` for standard input.
    #[arg(long, short = 'd')]
    data: Option<String>,
    /// Send once: no retries on 429, 5xx or connection errors.
    #[arg(long)]
    no_retry: bool,
    /// Also print the status and rate-limit headers (to standard error).
    #[arg(long, short = 'i')]
    include: bool,
    #[command(flatten)]
    profile: ProfileArgs,
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let path = args.profile.path()?;
    let base_url = args.base_url.trim_end_matches('/').to_owned();
    let profile = match (args.token, args.client_id) {
        (Some(token), _) => Profile {
            base_url,
            token: Some(read_secret(&token)?),
            oauth: None,
        },
        (None, Some(client_id)) => {
            let oauth = OAuthProfile {
                client_id,
                client_secret: args.client_secret.context("--client-secret is required")?,
                // Nothing is known of an access token yet: the first use refreshes.
                tokens: OAuthTokens {
                    access_token: String::new(),
                    refresh_token: args.refresh_token.context("--refresh-token is required")?,
                    expires_at: 0,
                    user_type: Some(match args.user_type {
                        UserTypeArg::Location => UserType::Location,
                        UserTypeArg::Company => UserType::Company,
                    }),
                    scope: None,
                    location_id: None,
                    company_id: None,
                },
            };
            // Refresh now: a wrong secret or a spent refresh token shows at once, and the
            // rotated pair is what gets stored.
            let client = Client::builder(&base_url)
                .oauth(oauth.app(), oauth.tokens.clone())
                .build()?;
            client.access_token().await?;
            let tokens = client
                .oauth_tokens()
                .await
                .context("an OAuth client has tokens")?;
            Profile {
                base_url,
                token: None,
                oauth: Some(OAuthProfile { tokens, ..oauth }),
            }
        }
        (None, None) => bail!("give --token or --client-id"),
    };
    let mut config = Config::load(&path)?;
    let name = args.profile.profile;
    let base = profile.base_url.clone();
    config.profiles.insert(name.clone(), profile);
    config.save(&path)?;
    eprintln!("profile {name:?} ({base}) saved to {}", path.display());
    Ok(())
}

pub async fn api(args: ApiArgs) -> anyhow::Result<()> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("{:?} is not an HTTP method", args.method))?;
    if !args.path.starts_with('/') {
        bail!("the path must start with /, e.g. /contacts/CONTACT_ID");
    }
    let body = args.data.as_deref().map(read_body).transpose()?;
    let client = args.profile.client(!args.no_retry)?;
    let mut request = client.request(method, &args.path);
    if let Some(body) = &body {
        request = request.json(body)?;
    }
    match request.send_full().await {
        Ok(response) => {
            if args.include {
                eprintln!("HTTP {}", response.status);
                print_rate_limits(&response.headers);
            }
            if !response.body.is_null() {
                println!("{}", serde_json::to_string_pretty(&response.body)?);
            }
            Ok(())
        }
        Err(hilo_sdk::Error::Api(refusal)) => {
            // Like `curl --fail-with-body`: the body for the reader, the status for scripts.
            println!("{}", serde_json::to_string_pretty(&refusal.body)?);
            eprintln!("HTTP {}: {}", refusal.status, refusal.message);
            std::process::exit(1)
        }
        Err(error) => Err(error.into()),
    }
}

/// Keeps a rotated OAuth pair in the profile, re-reading the file so other profiles written
/// meanwhile survive.
fn store_rotated(path: &Path, name: &str, tokens: &OAuthTokens) -> anyhow::Result<()> {
    let mut config = Config::load(path)?;
    let oauth = config
        .profiles
        .get_mut(name)
        .and_then(|profile| profile.oauth.as_mut())
        .context("the profile is gone")?;
    oauth.tokens = tokens.clone();
    config.save(path)
}

fn print_rate_limits(headers: &reqwest::header::HeaderMap) {
    for (name, value) in headers {
        if name.as_str().starts_with("x-ratelimit-") {
            eprintln!("{name}: {}", value.to_str().unwrap_or("?"));
        }
    }
}

/// A secret given as `-` is read from standard input, so it stays out of shell history.
fn read_secret(value: &str) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let secret = text.trim();
    if secret.is_empty() {
        bail!("no token on standard input");
    }
    Ok(secret.to_owned())
}

fn read_body(data: &str) -> anyhow::Result<Value> {
    let text = if data == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else if let Some(file) = data.strip_prefix('@') {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
    } else {
        data.to_owned()
    };
    serde_json::from_str(&text).context("--data is not JSON")
}
