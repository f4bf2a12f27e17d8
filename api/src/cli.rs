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
    #[arg(long, value_parser = object_id)]
    pub reseller: Option<uuid::Uuid>,
    /// The member the token is (global id or UUID).
    #[arg(long, value_parser = object_id)]
    pub member: Option<uuid::Uuid>,
    /// The customer the token acts for (global id or UUID).
    #[arg(long, value_parser = object_id)]
    pub customer: Option<uuid::Uuid>,
    /// A tenant administered, repeatable (global id or UUID).
    #[arg(long = "tenant", value_parser = object_id)]
    pub tenants: Vec<uuid::Uuid>,
    /// A scope (repeatable), for integrations.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Lifetime: 30m, 1h, 7d…
    #[arg(long, default_value = "1h")]
    pub ttl: String,
}

/// A UUID, or the UUID inside a GraphQL global id.
fn object_id(s: &str) -> Result<uuid::Uuid, String> {
    s.parse()
        .ok()
        .or_else(|| coplane_graphql::node::decode(s).map(|(_, id)| id))
        .ok_or_else(|| format!("`{s}` is neither a UUID nor a global id"))
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    if let Command::Crdgen = cli.command {
        print!("{}", coplane_worker::kube::crd::crds_yaml()?);
        return Ok(());
    }
    if !matches!(cli.command, Command::Token(_)) {
        crate::telemetry::init(settings.log_format);
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
        Command::Crdgen => Ok(()),
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
        assert_eq!(object_id(&id.to_string()), Ok(id));
        assert_eq!(object_id(global.as_str()), Ok(id));
        assert!(object_id("nope").is_err());
    }
}
