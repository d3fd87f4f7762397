//! `hilo admin …`: agencies, locations and tokens, straight on the database (so it works while
//! the server runs, and in CI scripts). `--json` prints machine-readable output.

use clap::{Args, Subcommand};
use hilo_server::tenancy;
use hilo_server::Db;
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
        #[arg(long, action = clap::ArgAction::Set)]
        allow_duplicate_contact: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a private integration token for a location; it is printed once.
    Create {
        #[arg(long)]
        location: String,
        /// Space-separated scopes, e.g. "contacts.readonly contacts.write".
        #[arg(long)]
        scopes: String,
    },
    /// Revoke a token.
    Revoke { token: String },
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let db = Db::connect(&args.database).await?;
    let result = execute(&db, args.command).await;
    db.close().await;
    let (value, text) = result?;
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
        }) => {
            let location =
                tenancy::set_allow_duplicate_contact(db, &location, allow_duplicate_contact)
                    .await?;
            let text = format!(
                "location {}: allowDuplicateContact={}",
                location.id, location.allow_duplicate_contact.0
            );
            (json!(location), text)
        }
        AdminCommand::Token(TokenCommand::Create { location, scopes }) => {
            let scopes = tenancy::parse_scopes(&scopes)?;
            let issued = tenancy::create_token(db, &location, &scopes).await?;
            let text = format!("{}\n(printed once; hilo keeps only its hash)", issued.token);
            (json!(issued), text)
        }
        AdminCommand::Token(TokenCommand::Revoke { token }) => {
            if !tenancy::revoke_token(db, &token).await? {
                anyhow::bail!("no live token matches");
            }
            (json!({ "revoked": true }), "revoked".to_owned())
        }
    })
}
