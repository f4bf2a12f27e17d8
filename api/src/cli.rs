//! The `coplane` command line.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::auth::{Authenticator, Claims};
use crate::db::{self, OnPending};
use crate::settings::Settings;
use crate::startup::{Application, Components};

/// coplane, the control plane of a hosting platform co-op.
#[derive(Debug, Parser)]
#[command(name = "coplane", version, about)]
pub struct Cli {
    /// A TOML configuration file (default: `coplane.toml` if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// API and worker in one process; applies pending migrations first.
    Up,
    /// The API alone.
    Serve,
    /// The worker alone (with /healthz, /readyz and /metrics).
    Work,
    /// Applies pending migrations and exits.
    Migrate,
    /// Prints a JWT signed with the configured HS256 key.
    Token(TokenArgs),
    /// The Kubernetes operator alone, for running inside a cluster.
    Operator,
    /// Prints the custom resource definitions as YAML.
    Crdgen,
    /// Prints the GraphQL schema (SDL); `schema.graphql` is its output.
    Schema,
}

/// `coplane token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// A role (repeatable): steward, member, reseller, tenant_admin, integration.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The subject.
    #[arg(long)]
    pub sub: String,
    /// The reseller the token acts for (its global id or UUID).
    #[arg(long, value_parser = reseller_id)]
    pub reseller: Option<uuid::Uuid>,
    /// The member the token is (global id or UUID).
    #[arg(long, value_parser = member_id)]
    pub member: Option<uuid::Uuid>,
    /// The customer the token acts for (global id or UUID).
    #[arg(long, value_parser = customer_id)]
    pub customer: Option<uuid::Uuid>,
    /// A tenant administered, repeatable (global id or UUID).
    #[arg(long = "tenant", value_parser = tenant_id)]
    pub tenants: Vec<uuid::Uuid>,
    /// A scope (repeatable), for integrations.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// An integration for every reseller's world (the `coop_wide` claim).
    #[arg(long)]
    pub coop_wide: bool,
    /// Lifetime: 30m, 1h, 7d…
    #[arg(long, default_value = "1h")]
    pub ttl: String,
}

/// A UUID, or the UUID inside a GraphQL global id of `kind`.
fn object_id(s: &str, kind: &str) -> Result<uuid::Uuid, String> {
    if let Ok(id) = s.parse() {
        return Ok(id);
    }
    match coplane_graphql::node::decode(s) {
        Some((k, id)) if k == kind => Ok(id),
        Some((k, _)) => Err(format!("`{s}` is a {k} id, not a {kind} id")),
        None => Err(format!("`{s}` is neither a UUID nor a global id")),
    }
}

fn reseller_id(s: &str) -> Result<uuid::Uuid, String> {
    object_id(s, "Reseller")
}

fn member_id(s: &str) -> Result<uuid::Uuid, String> {
    object_id(s, "Member")
}

fn customer_id(s: &str) -> Result<uuid::Uuid, String> {
    object_id(s, "Customer")
}

fn tenant_id(s: &str) -> Result<uuid::Uuid, String> {
    object_id(s, "Tenant")
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crdgen => {
            print!("{}", coplane_worker::kube::crd::crds_yaml()?);
            return Ok(());
        }
        Command::Schema => {
            print!("{}", coplane_graphql::sdl());
            return Ok(());
        }
        _ => {}
    }
    // A token must be signed with the key the server verifies with: it
    // never creates a development key of its own.
    let settings = match cli.command {
        Command::Token(_) => Settings::load_for_token(cli.config.as_deref())?,
        _ => Settings::load(cli.config.as_deref())?,
    };
    if !matches!(cli.command, Command::Token(_)) {
        crate::telemetry::init(settings.log_format);
        for warning in &settings.warnings {
            tracing::warn!("{warning}");
        }
    }
    match cli.command {
        Command::Up => {
            Application::build(settings, Components::Up)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Serve => {
            Application::build(settings, Components::Serve)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Work => {
            Application::build(settings, Components::Work)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate => {
            let conn = db::connect(&settings.database).await?;
            db::prepare(&conn, OnPending::Apply).await?;
            tracing::info!("migrations are current");
            Ok(())
        }
        Command::Operator => {
            let client = kube::Client::try_default()
                .await
                .context("cannot reach Kubernetes")?;
            let ctx = std::sync::Arc::new(coplane_worker::kube::operator::Context {
                client,
                config: crate::startup::operator_config(&settings),
                clock: std::sync::Arc::new(coplane_domain::SystemClock),
                metrics: None,
            });
            let shutdown = tokio_util::sync::CancellationToken::new();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                crate::startup::wait_for_signal().await;
                stop.cancel();
            });
            coplane_worker::kube::operator::run(ctx, shutdown).await;
            Ok(())
        }
        Command::Crdgen | Command::Schema => Ok(()),
        Command::Token(args) => {
            println!("{}", mint(&settings, &args)?);
            Ok(())
        }
    }
}

/// Mints the token `args` describe.
pub fn mint(settings: &Settings, args: &TokenArgs) -> anyhow::Result<String> {
    for role in &args.roles {
        role.parse::<coplane_domain::auth::Role>()?;
    }
    if args.roles.iter().any(|r| r == "reseller") && args.reseller.is_none() {
        anyhow::bail!("--role reseller needs --reseller ID");
    }
    let ttl = crate::settings::parse_duration(&args.ttl)
        .map_err(anyhow::Error::msg)
        .context("--ttl")?;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: args.sub.clone(),
        roles: args.roles.clone(),
        reseller_id: args.reseller,
        member_id: args.member,
        customer_id: args.customer,
        tenant_ids: args.tenants.clone(),
        scopes: args.scopes.clone(),
        coop_wide: args.coop_wide,
        exp: now.saturating_add(ttl.as_secs()),
        iat: now,
        iss: None,
        aud: None,
    };
    Authenticator::new(&settings.jwt).mint(&claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_taken_as_uuids_or_global_ids() {
        let id = uuid::Uuid::now_v7();
        let global = coplane_graphql::node::global_id("Reseller", id);
        assert_eq!(reseller_id(&id.to_string()), Ok(id));
        assert_eq!(reseller_id(global.as_str()), Ok(id));
        assert!(reseller_id("nope").is_err());
        let member = coplane_graphql::node::global_id("Member", id);
        assert_eq!(
            reseller_id(member.as_str()),
            Err(format!(
                "`{}` is a Member id, not a Reseller id",
                member.as_str()
            ))
        );
    }
}
