//! `ferry plugin …`: arguments and printing over [`crate::services::plugins`]: install,
//! activate, rollback, list (the registry; the tenant must be configured), check and run (for
//! plugin authors, no tenant needed).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::{Cli, exit, out, role_parser};
use crate::runtime::Role;
use crate::services::packages;
use crate::services::plugins::{self, RunOutcome, RunRequest};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Store a component or a plugin package (.ferry) and bind it to a tenant's role (checked
    /// against the tenant's trust policy and the contract; not yet active).
    Install {
        #[arg(required_unless_present = "url")]
        file: Option<PathBuf>,
        /// Download it instead (https; at most 64 MiB); needs --sha256.
        #[arg(long, conflicts_with = "file", requires = "sha256")]
        url: Option<String>,
        /// The SHA-256 (hex) the downloaded bytes must have; nothing is stored otherwise.
        #[arg(long, value_name = "HEX", requires = "url")]
        sha256: Option<String>,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = role_parser())]
        role: Role,
        /// Activate it right away.
        #[arg(long)]
        activate: bool,
    },
    /// Make an installed component (digest or unique prefix) serve the tenant's role.
    Activate {
        digest: String,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = role_parser())]
        role: Role,
    },
    /// Go back to the previously active component of the tenant's role.
    Rollback {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = role_parser())]
        role: Role,
    },
    /// Installed components, and which are active.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check a component against the contract: world, version, exports, imports.
    Check {
        file: PathBuf,
        /// Judge it for this role (default: the role its export implies).
        #[arg(long, value_parser = role_parser())]
        role: Option<Role>,
        #[arg(long)]
        json: bool,
    },
    /// A new plugin project (Rust or Python) for a world: builds with one command, has a
    /// passing test and a README, and carries the contract in its wit/.
    New(super::authoring::NewArgs),
    /// Run a transform against recorded fixtures (NAME.input.json, NAME.expected.json); a
    /// difference is printed field by field and the exit code is 1.
    Test(super::authoring::TestArgs),
    /// Build a plugin package (NAME-VERSION.ferry) of a manifest and a component, checked
    /// against each other.
    Pack {
        /// The manifest (name, version, vendor, contract, connections, settings, secrets).
        #[arg(long, default_value = "ferry-plugin.toml")]
        manifest: PathBuf,
        #[arg(long)]
        component: PathBuf,
        /// The package file, or a folder for NAME-VERSION.ferry (default: that name here).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Sign a plugin package (in place) with a vendor's ed25519 secret key.
    Sign {
        package: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// A new vendor keypair: BASE.key (secret) and BASE.pub (for tenants' vendor_keys).
    Keygen {
        /// Where to write them, without extension (e.g. keys/acme).
        base: PathBuf,
    },
    /// Shadow runs: `shadow DIGEST` runs an installed component beside the active one on live
    /// events (its answers recorded, never sent); `shadow report|promote|stop`.
    Shadow(super::plugin_shadow::ShadowArgs),
    /// Call one export of a component under the normal limits and print what came back.
    Run {
        file: PathBuf,
        /// The world (or role): erp-connector, quoting-connector, transform.
        #[arg(long)]
        world: String,
        /// The function, as named in the WIT (e.g. map-document, get-item).
        #[arg(long)]
        call: String,
        /// JSON object of the call's parameters by name ("-" for stdin).
        #[arg(long)]
        input: PathBuf,
        /// Use this configured tenant's connections, secrets and plugin settings.
        #[arg(long)]
        tenant: Option<String>,
        /// A plugin setting, KEY=VALUE (repeatable).
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// An HTTP connection without credentials, NAME=BASE_URL (repeatable).
        #[arg(long = "http", value_name = "NAME=URL")]
        http: Vec<String>,
        /// A SQLite connection, NAME=PATH (repeatable).
        #[arg(long = "sqlite", value_name = "NAME=PATH")]
        sqlite: Vec<String>,
        /// Override the call deadline.
        #[arg(long)]
        deadline_ms: Option<u64>,
        /// Override the memory cap.
        #[arg(long)]
        memory_mib: Option<u64>,
    },
}

pub async fn run(cli: &Cli, cmd: &PluginCommand) -> anyhow::Result<i32> {
    // For plugin authors: no tenant, store or registry to open.
    match cmd {
        PluginCommand::New(args) => return super::authoring::new(args),
        PluginCommand::Test(args) => return super::authoring::test(cli, args).await,
        PluginCommand::Shadow(args) => return super::plugin_shadow::run(cli, args).await,
        PluginCommand::Sign { package, key } => {
            let (signer, signed) = packages::sign(package, key)?;
            out!(
                "signed {} ({}) with key {signer}; package digest sha256:{}",
                package.display(),
                signed.manifest.label(),
                signed.digest()
            )?;
            return Ok(exit::OK);
        }
        PluginCommand::Keygen { base } => {
            let public = packages::keygen(base)?;
            out!(
                "wrote {} (secret: keep it) and {}",
                base.with_extension("key").display(),
                base.with_extension("pub").display()
            )?;
            out!("public key (for a tenant's [trust] vendor_keys): {public}")?;
            return Ok(exit::OK);
        }
        _ => {}
    }
    let ctx = cli.context()?;
    match cmd {
        PluginCommand::New(_)
        | PluginCommand::Test(_)
        | PluginCommand::Shadow(_)
        | PluginCommand::Sign { .. }
        | PluginCommand::Keygen { .. } => {}
        PluginCommand::Pack {
            manifest,
            component,
            out,
        } => {
            let (path, package) = packages::pack(&ctx, manifest, component, out.as_deref()).await?;
            let contract = package
                .manifest
                .contract
                .as_ref()
                .map(|c| format!("{}@{}", c.world, c.version))
                .unwrap_or_default();
            out!(
                "packed {} ({contract}) into {}; package digest sha256:{} (unsigned)",
                package.manifest.label(),
                path.display(),
                package.digest()
            )?;
        }
        PluginCommand::Install {
            file,
            url,
            sha256,
            tenant,
            role,
            activate,
        } => {
            let done = match (file, url, sha256) {
                (Some(file), _, _) => {
                    plugins::install(&ctx, file, tenant, *role, *activate).await?
                }
                (None, Some(url), Some(pin)) => {
                    ctx.tenant(tenant)?;
                    let bytes = packages::fetch(url, pin).await?;
                    out!("downloaded {url} ({} bytes, sha256 as pinned)", bytes.len())?;
                    plugins::install_bytes(&ctx, bytes, tenant, *role, *activate).await?
                }
                // clap requires a file or both --url and --sha256.
                _ => anyhow::bail!("give a FILE, or --url URL --sha256 HEX"),
            };
            let installed = &done.installed;
            out!(
                "installed {} for tenant '{tenant}' role {role} (world {}, {}@{})",
                installed.digest,
                role.world(),
                role.package().name,
                installed.report.version.as_deref().unwrap_or("?"),
            )?;
            if done.activated {
                out!("activated {}", installed.digest)?;
            }
        }
        PluginCommand::Activate {
            digest,
            tenant,
            role,
        } => {
            let plugin = plugins::activate(&ctx, tenant, *role, digest).await?;
            out!(
                "activated {} for tenant '{tenant}' role {role}",
                plugin.digest
            )?;
        }
        PluginCommand::Rollback { tenant, role } => {
            let plugin = plugins::rollback(&ctx, tenant, *role).await?;
            out!(
                "rolled back tenant '{tenant}' role {role}; active again: {}",
                plugin.digest
            )?;
        }
        PluginCommand::List { tenant, json } => {
            let rows = plugins::list(&ctx, tenant.as_deref()).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&rows)?)?;
            } else if rows.is_empty() {
                out!("no plugins installed")?;
            } else {
                out!(
                    "{:<12} {:<10} {:<6} {:<20} {:<10} {:<22} {:<64} INSTALLED",
                    "TENANT",
                    "ROLE",
                    "ACTIVE",
                    "NAME",
                    "VERSION",
                    "CONTRACT",
                    "DIGEST"
                )?;
                for r in rows {
                    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                    out!(
                        "{:<12} {:<10} {:<6} {:<20} {:<10} {:<22} {:<64} {}",
                        r.tenant,
                        r.role,
                        if r.active { "yes" } else { "" },
                        or_dash(r.name),
                        or_dash(r.version),
                        or_dash(r.contract),
                        r.digest,
                        r.installed_at
                    )?;
                }
            }
        }
        PluginCommand::Check { file, role, json } => {
            let report = plugins::check(&ctx, file, *role).await?;
            let package = packages::open(file)?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                print_report(file, &report)?;
                if let Some((p, verdict)) = &package {
                    print_package(p, verdict)?;
                }
            }
            let bad_signature = package.is_some_and(|(_, v)| v.is_err());
            if !report.problems.is_empty() || bad_signature {
                return Ok(exit::NO);
            }
        }
        PluginCommand::Run {
            file,
            world,
            call,
            input,
            tenant,
            settings,
            http,
            sqlite,
            deadline_ms,
            memory_mib,
        } => {
            let role = Role::parse(world)
                .with_context(|| format!("unknown world '{world}' (erp, quoting, transform)"))?;
            let req = RunRequest {
                file: file.clone(),
                role,
                call: call.clone(),
                input: read_input(input)?,
                tenant: tenant.clone(),
                settings: pairs("setting", settings)?,
                http: pairs("http", http)?,
                sqlite: pairs("sqlite", sqlite)?
                    .into_iter()
                    .map(|(k, v)| (k, PathBuf::from(v)))
                    .collect(),
                deadline_ms: *deadline_ms,
                memory_mib: *memory_mib,
            };
            match plugins::run(&ctx, req).await? {
                RunOutcome::Answered(output) => {
                    out!("{}", serde_json::to_string_pretty(&output)?)?;
                    if output.as_object().is_some_and(|o| o.contains_key("err")) {
                        return Ok(exit::NO);
                    }
                }
                RunOutcome::Stopped(why) => {
                    eprintln!("{why}");
                    return Ok(exit::STOPPED);
                }
            }
        }
    }
    Ok(exit::OK)
}

fn read_input(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    anyhow::ensure!(
        value.is_object(),
        "the input must be a JSON object of parameters by name"
    );
    Ok(value)
}

/// `NAME=VALUE` flags, split.
fn pairs(flag: &str, values: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--{flag} expects NAME=VALUE, got '{s}'"))
        })
        .collect()
}

fn print_report(file: &Path, report: &crate::runtime::ContractReport) -> std::io::Result<()> {
    out!("{}", file.display())?;
    out!(
        "  world:   {}",
        report.world.unwrap_or("(none of ferry's role worlds)")
    )?;
    out!("  version: {}", report.version.as_deref().unwrap_or("?"))?;
    out!("  exports:")?;
    for e in &report.exports {
        out!("    {}: {}", e.name, e.functions.join(", "))?;
    }
    out!("  imports:")?;
    for i in &report.imports {
        out!("    {i}")?;
    }
    if report.problems.is_empty() {
        let served: Vec<String> = crate::runtime::contract::PACKAGES
            .iter()
            .map(ToString::to_string)
            .collect();
        out!("  ok: compatible with this host's {}", served.join(", "))?;
    } else {
        out!("  refused:")?;
        for p in &report.problems {
            out!("    - {p}")?;
        }
    }
    Ok(())
}

/// A package's manifest and signature, after its component's report.
fn print_package(
    package: &crate::authoring::package::Package,
    verdict: &packages::Verdict,
) -> std::io::Result<()> {
    let m = &package.manifest;
    out!("  package: {} by {}", m.label(), m.vendor)?;
    for (name, need) in &m.connections {
        out!("    connection {name} ({})", need.kind.as_str())?;
    }
    for name in &m.secrets {
        out!("    secret {name}")?;
    }
    for (name, spec) in &m.settings {
        let default = spec
            .default
            .as_ref()
            .map(|d| format!(", default {d}"))
            .unwrap_or_else(|| ", required".into());
        out!("    setting {name} ({}{default})", spec.ty.as_str())?;
    }
    match verdict {
        Ok(Some(key)) => out!(
            "  signed by {key} (verifies; digest sha256:{})",
            package.digest()
        ),
        Ok(None) => out!("  unsigned (digest sha256:{})", package.digest()),
        Err(refusal) => out!("  signature refused: {refusal}"),
    }
}
