//! `hilo admin …`: agencies, locations, users, tokens, marketplace apps, headless OAuth
//! installs, campaigns and workflows, straight on the database (so it works while the server runs, and in CI scripts).
//! `--json` prints machine-readable output.

use anyhow::Context;
use clap::{Args, Subcommand};
use hilo_server::api::{campaigns, workflows};
use hilo_server::oauth::apps::{self, Distribution, NewApp};
use hilo_server::oauth::grants::{self, AuthorizeRequest, InstallTarget};
use hilo_server::oauth::{OAuth, OAuthSettings};
use hilo_server::reset::{self, ResetTo};
use hilo_server::tenancy::{self, ContactIdentifier, TokenOwner};
use hilo_server::webhooks::inspect;
use hilo_server::webhooks::signing::SigningKeys;
use hilo_server::{control, fixtures, users, Db};
use serde_json::json;

#[derive(Args)]
pub struct AdminArgs {
    /// sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "HILO_DATABASE_URL", default_value = crate::DEFAULT_DATABASE)]
    database: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Agencies (companies).
    #[command(subcommand)]
    Agency(AgencyCommand),
    /// Locations (sub-accounts).
    #[command(subcommand)]
    Location(LocationCommand),
    /// Private integration tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Users: agency users (they approve OAuth installs) and location users.
    #[command(subcommand)]
    User(UserCommand),
    /// A location's campaigns (HighLevel's API only lists them).
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// A location's workflows (HighLevel's API only lists them).
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Marketplace apps (OAuth clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Headless OAuth installs, for scripts and CI.
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Rate limits as a running server counts them (asks the server, not the database).
    #[command(subcommand)]
    Limits(crate::remote::LimitsCommand),
    /// Fault rules of a running server (asks the server): make HighLevel routes fail on purpose.
    #[command(subcommand)]
    Faults(crate::remote::FaultsCommand),
    /// The request journal of a running server (asks the server): what clients sent.
    #[command(subcommand)]
    Journal(crate::remote::JournalCommand),
    /// The clock of a running server (asks the server): freeze, set, advance, back to real.
    #[command(subcommand)]
    Clock(crate::remote::ClockCommand),
    /// The control-plane admin key.
    #[command(subcommand)]
    AdminKey(AdminKeyCommand),
    /// Empty a location: its contacts (with their tasks, notes, tags, followers, enrolments),
    /// businesses, custom fields, campaigns and workflows go; the location, its users, tokens
    /// and app installs stay. Or, with --all, remove everything (every agency, location, user,
    /// app, install and token) and replace the token signing key.
    Reset {
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        location: Option<String>,
        #[arg(long)]
        all: bool,
        /// Back to the demo seed (with --all: a new demo agency, location, user and token;
        /// for a location: empty, with a new location's contact settings).
        #[arg(long)]
        demo: bool,
    },
    /// Fixtures: a JSON document of agencies, locations, users, apps, tokens and location data,
    /// with their ids (docs/sandbox.md).
    #[command(subcommand)]
    Fixtures(FixturesCommand),
    /// Generated data for demos and benchmarks.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Webhook deliveries: list, inspect, send again; pause an app; the public keys.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// The newest deliveries that match, newest first.
    Deliveries {
        /// An app id or client id.
        #[arg(long)]
        app: Option<String>,
        /// pending, sending, delivered, failed or skipped.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        location: Option<String>,
        /// An event name, e.g. ContactCreate.
        #[arg(long)]
        event: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One delivery: its payload and every attempt.
    Show { id: String },
    /// Send a delivery again (same webhookId), due now.
    Redeliver { id: String },
    /// Hold an app's deliveries until it is resumed.
    Pause {
        /// An app id or client id.
        #[arg(long)]
        app: String,
    },
    /// Send what a paused app's deliveries held back, and what comes next.
    Resume {
        #[arg(long)]
        app: String,
    },
    /// The public keys that verify x-wh-signature (RSA) and x-ghl-signature (Ed25519).
    Keys,
}

#[derive(Subcommand)]
enum FixturesCommand {
    /// Write the whole database, or one location, as a fixtures document (to stdout unless
    /// --out is given). Credentials appear only as the digests hilo stores.
    Dump {
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Load a fixtures document, all of it or nothing. Rows that exist already are a conflict
    /// unless --replace: then the document's agencies, users, apps, tokens and locations are
    /// updated in place and its locations' data replaced.
    Load {
        file: std::path::PathBuf,
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Add realistic contacts (names, emails, phones, tags, addresses, birthdays, dates over two
    /// years) to a location, in large batches; a progress bar shows on a terminal.
    Contacts {
        #[arg(long)]
        location: String,
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// The same seed generates the same contacts.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum AdminKeyCommand {
    /// Replace the stored admin key with a new one, printed once; running servers take it at
    /// once (unless they were started with --admin-key).
    Reset,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an agency user (in the only agency unless --agency is given), or with --location
    /// a user of that location.
    Create {
        #[arg(long)]
        agency: Option<String>,
        /// A location user: belongs to this location only (and its agency); cannot sign in.
        #[arg(long, conflicts_with_all = ["agency", "password"])]
        location: Option<String>,
        #[arg(long)]
        email: String,
        /// At least 8 characters; stored as an Argon2id hash. Without it the user cannot sign in.
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    /// List users: all, an agency's, or a location's (its own and its agency's agency users).
    List {
        #[arg(long, conflicts_with = "location")]
        agency: Option<String>,
        #[arg(long)]
        location: Option<String>,
    },
}

#[derive(Subcommand)]
enum CampaignCommand {
    /// Create a campaign in a location.
    Create {
        #[arg(long)]
        location: String,
        #[arg(long)]
        name: String,
        /// draft or published.
        #[arg(long, default_value = "published")]
        status: String,
    },
    /// List a location's campaigns.
    List {
        #[arg(long)]
        location: String,
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Create a workflow (version 1) in a location; its id is a UUID.
    Create {
        #[arg(long)]
        location: String,
        #[arg(long)]
        name: String,
        /// draft or published.
        #[arg(long, default_value = "published")]
        status: String,
    },
    /// List a location's workflows.
    List {
        #[arg(long)]
        location: String,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app; its client secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Where the consent page may send the code (exact match); repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// The scopes installs may grant, e.g. "contacts.readonly contacts.write".
        #[arg(long)]
        scopes: String,
        #[arg(long)]
        webhook_url: Option<String>,
        /// location (installed on sub-accounts) or agency (installed on an agency).
        #[arg(long, default_value = "location")]
        distribution: String,
        /// The developer's agency (the only agency unless given).
        #[arg(long)]
        agency: Option<String>,
    },
    /// List apps.
    List,
    /// Delete an app (by id or client id); its tokens stop working.
    Delete { app: String },
}

#[derive(Subcommand)]
enum OauthCommand {
    /// Approve an install as a user on the consent page would, and print the code and the
    /// redirect URL.
    Authorize {
        #[arg(long)]
        client_id: String,
        /// Install on this location (a Location token).
        #[arg(long, conflicts_with = "agency")]
        location: Option<String>,
        /// Install on this agency (a Company token; agency-distribution apps).
        #[arg(long)]
        agency: Option<String>,
        /// With --agency: the approved locations, comma-separated (default: all).
        #[arg(long, requires = "agency")]
        locations: Option<String>,
        /// A subset of the app's scopes (default: all of them).
        #[arg(long)]
        scopes: Option<String>,
        /// One of the app's redirect URIs (default: the first).
        #[arg(long)]
        redirect_uri: Option<String>,
        /// The approving agency user id (default: the agency's first user).
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        state: Option<String>,
    },
    /// Uninstall an app from a location, or from an agency and all its locations; what the
    /// installs granted is revoked.
    Uninstall {
        #[arg(long)]
        client_id: String,
        #[arg(long, conflicts_with = "agency")]
        location: Option<String>,
        #[arg(long)]
        agency: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgencyCommand {
    /// Create an agency.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum LocationCommand {
    /// Create a location (in the only agency unless --agency is given).
    Create {
        #[arg(long)]
        agency: Option<String>,
        #[arg(long)]
        name: String,
    },
    /// List locations.
    List,
    /// Change a location's settings.
    Settings {
        #[arg(long)]
        location: String,
        /// Whether contacts with the same email or phone may be created.
        #[arg(long, action = clap::ArgAction::Set, required_unless_present = "contact_unique_identifiers")]
        allow_duplicate_contact: Option<bool>,
        /// The fields that identify a contact, in priority order: `email,phone`, `phone,email`,
        /// `email` or `phone` (duplicate rule, duplicate lookup, upsert).
        #[arg(long, value_delimiter = ',', value_parser = parse_identifier)]
        contact_unique_identifiers: Option<Vec<ContactIdentifier>>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a private integration token for a location or an agency; it is printed once.
    Create {
        #[arg(long, required_unless_present = "agency", conflicts_with = "agency")]
        location: Option<String>,
        #[arg(long)]
        agency: Option<String>,
        /// Space-separated scopes, e.g. "contacts.readonly contacts.write".
        #[arg(long)]
        scopes: String,
    },
    /// Revoke a token.
    Revoke { token: String },
}

fn parse_identifier(s: &str) -> Result<ContactIdentifier, String> {
    ContactIdentifier::parse(s.trim()).ok_or_else(|| format!("{s:?} is not email or phone"))
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let (value, text) = match args.command {
        AdminCommand::Limits(command) => crate::remote::limits(command).await?,
        AdminCommand::Faults(command) => crate::remote::faults(command).await?,
        AdminCommand::Journal(command) => crate::remote::journal(command).await?,
        AdminCommand::Clock(command) => crate::remote::clock(command).await?,
        command => {
            let db = Db::connect(&args.database).await?;
            let result = execute(&db, command).await;
            db.close().await;
            result?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

/// What a command did, as JSON and as text.
async fn execute(db: &Db, command: AdminCommand) -> anyhow::Result<(serde_json::Value, String)> {
    Ok(match command {
        AdminCommand::Agency(AgencyCommand::Create { name }) => {
            let company = tenancy::create_company(db, &name).await?;
            let text = format!("agency {} ({})", company.id, company.name);
            (json!(company), text)
        }
        AdminCommand::Location(LocationCommand::Create { agency, name }) => {
            let location = tenancy::create_location(db, agency.as_deref(), &name).await?;
            let text = format!("location {} ({})", location.id, location.name);
            (json!(location), text)
        }
        AdminCommand::Location(LocationCommand::List) => {
            let locations = tenancy::list_locations(db).await?;
            let text = locations
                .iter()
                .map(|l| {
                    format!(
                        "{}  {}  agency {}  allowDuplicateContact={}",
                        l.id, l.name, l.company_id, l.allow_duplicate_contact.0
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (json!(locations), text)
        }
        AdminCommand::Location(LocationCommand::Settings {
            location,
            allow_duplicate_contact,
            contact_unique_identifiers,
        }) => {
            let location = tenancy::update_contact_settings(
                db,
                &location,
                allow_duplicate_contact,
                contact_unique_identifiers.as_deref(),
            )
            .await?;
            let text = format!(
                "location {}: allowDuplicateContact={} contactUniqueIdentifiers={}",
                location.id,
                location.allow_duplicate_contact.0,
                location.contact_unique_identifiers.replace(' ', ",")
            );
            (json!(location), text)
        }
        AdminCommand::Token(TokenCommand::Create {
            location,
            agency,
            scopes,
        }) => {
            let scopes = tenancy::parse_scopes(&scopes)?;
            let owner = match (&location, &agency) {
                (Some(location), _) => TokenOwner::Location(location),
                (None, Some(agency)) => TokenOwner::Agency(agency),
                (None, None) => anyhow::bail!("give --location or --agency"),
            };
            let issued = tenancy::create_token(db, owner, &scopes).await?;
            let text = format!("{}\n(printed once; hilo keeps only its hash)", issued.token);
            (json!(issued), text)
        }
        AdminCommand::Token(TokenCommand::Revoke { token }) => {
            if !tenancy::revoke_token(db, &token).await? {
                anyhow::bail!("no live token matches");
            }
            (json!({ "revoked": true }), "revoked".to_owned())
        }
        AdminCommand::User(UserCommand::Create {
            agency,
            location: Some(location),
            email,
            password: _,
            name,
        }) => {
            debug_assert!(agency.is_none(), "clap refuses --agency with --location");
            let user = users::create_location_user(db, &location, &email, name.as_deref()).await?;
            let text = format!("user {} ({}) in location {location}", user.id, user.email);
            (json!(user), text)
        }
        AdminCommand::User(UserCommand::Create {
            agency,
            location: None,
            email,
            password,
            name,
        }) => {
            let agency = agency_or_default(db, agency).await?;
            let user = users::create_agency_user(
                db,
                &agency,
                &email,
                name.as_deref(),
                password.as_deref(),
            )
            .await?;
            let text = format!(
                "user {} ({}) in agency {}",
                user.id, user.email, user.company_id
            );
            (json!(user), text)
        }
        AdminCommand::User(UserCommand::List { agency, location }) => {
            let users = users::list_users(db, agency.as_deref(), location.as_deref()).await?;
            let text = users
                .iter()
                .map(|u| match &u.location_id {
                    Some(location) => {
                        format!("{}  {}  {}  location {location}", u.id, u.email, u.name)
                    }
                    None => format!("{}  {}  {}  agency {}", u.id, u.email, u.name, u.company_id),
                })
                .collect::<Vec<_>>()
                .join("\n");
            (json!(users), text)
        }
        AdminCommand::Campaign(CampaignCommand::Create {
            location,
            name,
            status,
        }) => {
            let campaign = campaigns::create_campaign(db, &location, &name, &status).await?;
            let text = format!(
                "campaign {} ({}, {}) in location {}",
                campaign.id, campaign.name, campaign.status, campaign.location_id
            );
            (json!(campaign), text)
        }
        AdminCommand::Campaign(CampaignCommand::List { location, status }) => {
            require_location(db, &location).await?;
            let list = campaigns::list_location_campaigns(db, &location, status.as_deref()).await?;
            let text = list
                .iter()
                .map(|c| format!("{}  {}  {}", c.id, c.name, c.status))
                .collect::<Vec<_>>()
                .join("\n");
            (json!(list), text)
        }
        AdminCommand::Workflow(WorkflowCommand::Create {
            location,
            name,
            status,
        }) => {
            let workflow = workflows::create_workflow(db, &location, &name, &status).await?;
            let text = format!(
                "workflow {} ({}, {}) in location {}",
                workflow.id, workflow.name, workflow.status, workflow.location_id
            );
            (json!(workflow), text)
        }
        AdminCommand::Workflow(WorkflowCommand::List { location }) => {
            require_location(db, &location).await?;
            let list = workflows::list_location_workflows(db, &location).await?;
            let text = list
                .iter()
                .map(|w| format!("{}  {}  {}  version {}", w.id, w.name, w.status, w.version))
                .collect::<Vec<_>>()
                .join("\n");
            (json!(list), text)
        }
        AdminCommand::App(AppCommand::Create {
            name,
            redirect_uris,
            scopes,
            webhook_url,
            distribution,
            agency,
        }) => {
            let created = apps::create_app(
                db,
                NewApp {
                    company_id: agency_or_default(db, agency).await?,
                    name,
                    redirect_uris,
                    scopes: apps::parse_scope_list(&scopes)?,
                    webhook_url,
                    distribution: Distribution::parse(&distribution)?,
                },
            )
            .await?;
            let text = format!(
                "app {} ({})\n  client_id:     {}\n  client_secret: {}\n  (the secret is printed once; hilo keeps only its hash)",
                created.app.id, created.app.name, created.app.client_id, created.client_secret
            );
            (json!(created), text)
        }
        AdminCommand::App(AppCommand::List) => {
            let apps = apps::list_apps(db).await?;
            let text = apps
                .iter()
                .map(|a| {
                    format!(
                        "{}  {}  client_id {}  {}  scopes: {}",
                        a.id,
                        a.name,
                        a.client_id,
                        a.distribution.as_str(),
                        a.scopes.join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (json!(apps), text)
        }
        AdminCommand::App(AppCommand::Delete { app }) => {
            if !apps::delete_app(db, &app).await? {
                anyhow::bail!("no app with id or client id {app}");
            }
            (json!({ "deleted": true }), "deleted".to_owned())
        }
        AdminCommand::Oauth(OauthCommand::Authorize {
            client_id,
            location,
            agency,
            locations,
            scopes,
            redirect_uri,
            user,
            state,
        }) => {
            let app = find_app(db, &client_id).await?;
            let target = match (location, agency) {
                (Some(location), _) => InstallTarget::Location(location),
                (None, Some(company_id)) => InstallTarget::Agency {
                    company_id,
                    locations: locations
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect(),
                },
                (None, None) => anyhow::bail!("give --location or --agency"),
            };
            let scopes = scopes.as_deref().map(apps::parse_scope_list).transpose()?;
            let oauth = OAuth::load(db, OAuthSettings::default()).await?;
            let authorization = grants::authorize(
                db,
                &oauth,
                AuthorizeRequest {
                    app,
                    target,
                    scopes,
                    redirect_uri,
                    user_id: user,
                    state,
                },
            )
            .await?;
            let text = format!(
                "code:         {}\nredirect_url: {}",
                authorization.code, authorization.redirect_url
            );
            (json!(authorization), text)
        }
        AdminCommand::Oauth(OauthCommand::Uninstall {
            client_id,
            location,
            agency,
        }) => {
            let app = find_app(db, &client_id).await?;
            let (company_id, location_id) = match (location, agency) {
                (Some(location), _) => {
                    let found = tenancy::find_location(db, &location)
                        .await?
                        .with_context(|| format!("no location with id {location}"))?;
                    (found.company_id, Some(location))
                }
                (None, Some(agency)) => (agency, None),
                (None, None) => anyhow::bail!("give --location or --agency"),
            };
            let oauth = OAuth::load(db, OAuthSettings::default()).await?;
            if !grants::uninstall(db, &oauth, &app.id, &company_id, location_id.as_deref()).await? {
                anyhow::bail!("the app is not installed there");
            }
            (json!({ "uninstalled": true }), "uninstalled".to_owned())
        }
        AdminCommand::Reset {
            location,
            all,
            demo,
        } => {
            let to = if demo { ResetTo::Demo } else { ResetTo::Empty };
            match location {
                Some(location) => {
                    let reset = reset::reset_location(db, &location, to)
                        .await?
                        .with_context(|| format!("no location with id {location}"))?;
                    let text =
                        format!("location {location} emptied: {}", rows_text(&reset.removed));
                    (json!(reset), text)
                }
                None if all => {
                    let reset = reset::reset_everything(db, to).await?;
                    let mut text = format!("everything removed: {}", rows_text(&reset.removed));
                    if let Some(demo) = &reset.demo {
                        text.push_str(&format!(
                            "\ndemo location {}\ntoken: {}\n(printed once; hilo keeps only its hash)",
                            demo.location_id, demo.token
                        ));
                    }
                    (json!(reset), text)
                }
                None => anyhow::bail!("give --location ID or --all"),
            }
        }
        AdminCommand::Fixtures(FixturesCommand::Dump { location, out }) => {
            let doc = fixtures::dump(db, location.as_deref())
                .await?
                .with_context(|| format!("no location with id {}", location.unwrap_or_default()))?;
            let text = serde_json::to_string_pretty(&doc)?;
            match out {
                None => (json!(doc), text),
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    let locations: usize = doc.agencies.iter().map(|a| a.locations.len()).sum();
                    let summary = format!(
                        "wrote {} agencies and {locations} locations to {}",
                        doc.agencies.len(),
                        path.display()
                    );
                    (
                        json!({ "out": path, "agencies": doc.agencies.len(), "locations": locations }),
                        summary,
                    )
                }
            }
        }
        AdminCommand::Fixtures(FixturesCommand::Load { file, replace }) => {
            let loaded = load_fixtures_file(db, &file, replace).await?;
            let text = format!("loaded {}: {}", file.display(), rows_text(&loaded.loaded));
            (json!(loaded), text)
        }
        AdminCommand::Seed(SeedCommand::Contacts {
            location,
            count,
            seed,
        }) => {
            let bar = indicatif::ProgressBar::new(count).with_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} contacts  {per_sec}  eta {eta}",
                )?,
            );
            let started = std::time::Instant::now();
            let written = hilo_server::seed::seed_contacts(db, &location, count, seed, |n| {
                bar.set_position(n)
            })
            .await?;
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            let rate = written as f64 / seconds.max(f64::EPSILON);
            let text =
                format!("seeded {written} contacts in {seconds:.1} s ({rate:.0} contacts/s)");
            (
                json!({ "contacts": written, "seconds": seconds, "contactsPerSecond": rate }),
                text,
            )
        }
        AdminCommand::Webhooks(command) => webhooks(db, command).await?,
        AdminCommand::AdminKey(AdminKeyCommand::Reset) => {
            let key = control::reset_admin_key(db).await?;
            let text = format!("admin key: {key}\n(printed once; hilo keeps only its hash)");
            (json!({ "adminKey": key }), text)
        }
        AdminCommand::Limits(_)
        | AdminCommand::Faults(_)
        | AdminCommand::Journal(_)
        | AdminCommand::Clock(_) => {
            unreachable!("answered by the server, not the database")
        }
    })
}

/// `12 contacts, 3 tasks, …`: rows per table.
fn rows_text(rows: &std::collections::BTreeMap<String, u64>) -> String {
    rows.iter()
        .map(|(table, n)| format!("{n} {table}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads, checks and loads a fixtures file (`hilo admin fixtures load`, `hilo serve --fixtures`).
pub async fn load_fixtures_file(
    db: &Db,
    file: &std::path::Path,
    replace: bool,
) -> anyhow::Result<fixtures::Loaded> {
    let json = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let doc = fixtures::parse(&json).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(fixtures::load(db, doc, replace).await?)
}

async fn webhooks(
    db: &Db,
    command: WebhooksCommand,
) -> anyhow::Result<(serde_json::Value, String)> {
    Ok(match command {
        WebhooksCommand::Deliveries {
            app,
            status,
            location,
            event,
            limit,
        } => {
            let filter = inspect::Filter {
                app,
                status,
                location_id: location,
                event_type: event,
                limit,
            };
            let list = inspect::list(db, &filter).await?;
            let text = list
                .iter()
                .map(|d| {
                    format!(
                        "{}  {}  {}  app {}  {}  attempts {}{}",
                        d.id,
                        hilo_server::time::format_ms(d.created_at),
                        d.event_type,
                        d.app_id,
                        d.status,
                        d.attempts,
                        d.last_status
                            .map(|s| format!("  last {s}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            (json!(list), text)
        }
        WebhooksCommand::Show { id } => {
            let detail = inspect::detail(db, &id)
                .await?
                .with_context(|| format!("no webhook delivery with id {id}"))?;
            let text = serde_json::to_string_pretty(&detail)?;
            (json!(detail), text)
        }
        WebhooksCommand::Redeliver { id } => {
            let delivery = match inspect::redeliver(db, &id, hilo_server::time::now_ms()).await? {
                inspect::Redelivery::Queued(delivery) => *delivery,
                inspect::Redelivery::Sending => {
                    anyhow::bail!("delivery {id} is being sent right now; try again shortly")
                }
                inspect::Redelivery::Missing => anyhow::bail!("no webhook delivery with id {id}"),
            };
            let text = format!("delivery {} queued again", delivery.id);
            (json!(delivery), text)
        }
        WebhooksCommand::Pause { app } | WebhooksCommand::Resume { app }
            if apps::find_app(db, &app).await?.is_none() =>
        {
            anyhow::bail!("no app with id or client id {app}")
        }
        WebhooksCommand::Pause { app } => {
            inspect::set_paused(db, &app, true, hilo_server::time::now_ms()).await?;
            (
                json!({ "app": app, "paused": true }),
                format!("app {app}: webhooks paused"),
            )
        }
        WebhooksCommand::Resume { app } => {
            inspect::set_paused(db, &app, false, hilo_server::time::now_ms()).await?;
            (
                json!({ "app": app, "paused": false }),
                format!("app {app}: webhooks resumed"),
            )
        }
        WebhooksCommand::Keys => {
            let keys = SigningKeys::load_or_create(db).await?;
            let public = keys.public();
            let text = format!(
                "{} ({}):\n{}\n{} ({}):\n{}",
                public.rsa.header,
                public.rsa.algorithm,
                public.rsa.public_key_pem.trim_end(),
                public.ed25519.header,
                public.ed25519.algorithm,
                public.ed25519.public_key_pem.trim_end()
            );
            (json!(public), text)
        }
    })
}

async fn find_app(db: &Db, client_id: &str) -> anyhow::Result<apps::App> {
    apps::find_app(db, client_id)
        .await?
        .with_context(|| format!("no app with client id {client_id}"))
}

async fn require_location(db: &Db, id: &str) -> anyhow::Result<()> {
    tenancy::find_location(db, id)
        .await?
        .with_context(|| format!("no location with id {id}"))
        .map(drop)
}

async fn agency_or_default(db: &Db, agency: Option<String>) -> anyhow::Result<String> {
    match agency {
        Some(id) => Ok(id),
        None => Ok(tenancy::default_company(db).await?.id),
    }
}
