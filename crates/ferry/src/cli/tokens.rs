//! `ferry tokens create | list | revoke`: the admin API's bearer tokens, over
//! [`crate::services::tokens`]. The secret is printed once, on `create`, and stored nowhere.

use clap::Subcommand;

use super::{exit, out};
use crate::services::Context;
use crate::services::tokens::{self, Scope};

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token and print its secret (once: only its hash is kept).
    Create {
        /// The one tenant it may see.
        #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
        tenant: Option<String>,
        /// Every tenant.
        #[arg(long)]
        admin: bool,
        /// What to call it (shown by `list`).
        #[arg(long)]
        name: Option<String>,
        /// Print `{"id", "secret", ...}` instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Every token with its scope and whether it was revoked (never the secret).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop a token from working, at once, on every node.
    Revoke { id: String },
}

pub async fn run(ctx: &Context, cmd: &TokensCommand) -> anyhow::Result<i32> {
    match cmd {
        TokensCommand::Create {
            tenant,
            admin: _,
            name,
            json,
        } => {
            let scope = match tenant {
                Some(t) => Scope::Tenant(t.clone()),
                None => Scope::Admin,
            };
            let created = tokens::create(ctx, &scope, name.as_deref()).await?;
            if *json {
                let mut value = serde_json::to_value(&created.token)?;
                value["secret"] = created.secret.into();
                out!("{value}")?;
            } else {
                out!("{}", created.secret)?;
                eprintln!(
                    "token {} ({}): the line above is its secret; it is shown only now",
                    created.token.id,
                    scope_text(created.token.tenant.as_deref())
                );
            }
        }
        TokensCommand::List { json } => {
            let all = tokens::list(ctx).await?;
            if *json {
                out!("{}", serde_json::to_string(&all)?)?;
            }
            for t in all.iter().filter(|_| !*json) {
                out!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    scope_text(t.tenant.as_deref()),
                    t.name.as_deref().unwrap_or("-"),
                    t.created_at,
                    t.revoked_at
                        .as_deref()
                        .map_or("live".to_string(), |at| format!("revoked {at}"))
                )?;
            }
        }
        TokensCommand::Revoke { id } => {
            let t = tokens::revoke(ctx, id).await?;
            out!(
                "token {} revoked at {}",
                t.id,
                t.revoked_at.as_deref().unwrap_or("?")
            )?;
        }
    }
    Ok(exit::OK)
}

fn scope_text(tenant: Option<&str>) -> String {
    tenant.map_or("admin".to_string(), |t| format!("tenant {t}"))
}
