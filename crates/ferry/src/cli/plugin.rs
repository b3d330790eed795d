//! `ferry plugin …`: install, activate, rollback, list (the registry), check and run (for
//! plugin authors, no tenant needed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use url::Url;

use super::Cli;
use crate::config::FerryConfig;
use crate::runtime::connections::http::{HttpConnection, HttpSettings};
use crate::runtime::connections::sql::{SqlConnection, SqliteSettings};
use crate::runtime::dynamic::DynamicError;
use crate::runtime::{Grants, Registry, Role, Runtime};
use ferry_store::SqliteStore;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Store a component and bind it to a tenant's role (checked; not yet active).
    Install {
        file: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
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
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Go back to the previously active component of the tenant's role.
    Rollback {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum)]
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
        #[arg(long, value_enum)]
        role: Option<Role>,
        #[arg(long)]
        json: bool,
    },
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

/// Exit codes of `plugin run`: the plugin answered an error; the call was stopped.
const EXIT_PLUGIN_ERROR: i32 = 1;
const EXIT_STOPPED: i32 = 2;

pub async fn run(cli: &Cli, cmd: &PluginCommand) -> anyhow::Result<i32> {
    let config = cli.load_config()?;
    let data_dir = cli.data_dir(&config);
    match cmd {
        PluginCommand::Install {
            file,
            tenant,
            role,
            activate,
        } => {
            let registry = open_registry(&config, &data_dir).await?;
            let bytes = read_component(file)?;
            check_grants(&config, &registry, tenant, *role, &bytes).await?;
            let installed = registry.install(bytes, tenant, *role).await?;
            println!(
                "installed {} for tenant '{tenant}' role {role} (world {}, {}@{})",
                installed.digest,
                role.world(),
                role.package().name,
                installed.report.version.as_deref().unwrap_or("?"),
            );
            if *activate {
                registry.activate(tenant, *role, &installed.digest).await?;
                println!("activated {}", installed.digest);
            }
            Ok(0)
        }
        PluginCommand::Activate {
            digest,
            tenant,
            role,
        } => {
            let registry = open_registry(&config, &data_dir).await?;
            let mut candidates = registry
                .list(Some(tenant))
                .await?
                .into_iter()
                .filter(|r| r.role == role.as_str() && r.digest.starts_with(digest.as_str()));
            // None or several: `activate` says why.
            if let (Some(row), None) = (candidates.next(), candidates.next()) {
                let bytes = registry.blob(&row.digest)?;
                check_grants(&config, &registry, tenant, *role, &bytes).await?;
            }
            let plugin = registry.activate(tenant, *role, digest).await?;
            println!(
                "activated {} for tenant '{tenant}' role {role}",
                plugin.digest
            );
            Ok(0)
        }
        PluginCommand::Rollback { tenant, role } => {
            let registry = open_registry(&config, &data_dir).await?;
            let plugin = registry.rollback(tenant, *role).await?;
            println!(
                "rolled back tenant '{tenant}' role {role}; active again: {}",
                plugin.digest
            );
            Ok(0)
        }
        PluginCommand::List { tenant, json } => {
            let registry = open_registry(&config, &data_dir).await?;
            let rows = registry.list(tenant.as_deref()).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no plugins installed");
            } else {
                println!(
                    "{:<12} {:<10} {:<8} {:<66} INSTALLED",
                    "TENANT", "ROLE", "ACTIVE", "DIGEST"
                );
                for r in rows {
                    println!(
                        "{:<12} {:<10} {:<8} {:<66} {}",
                        r.tenant,
                        r.role,
                        if r.active { "yes" } else { "" },
                        r.digest,
                        r.installed_at
                    );
                }
            }
            Ok(0)
        }
        PluginCommand::Check { file, role, json } => {
            let runtime = Runtime::new(config.runtime_settings(&data_dir))?;
            let bytes = read_component(file)?;
            let role = *role;
            let report =
                tokio::task::spawn_blocking(move || runtime.inspect(&bytes, role)).await??;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(file, &report);
            }
            Ok(if report.problems.is_empty() {
                0
            } else {
                EXIT_PLUGIN_ERROR
            })
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
            let mut rs = config.runtime_settings(&data_dir);
            if let Some(ms) = deadline_ms {
                rs.call_deadline_ms = *ms;
            }
            if let Some(mib) = memory_mib {
                rs.memory_limit_mib = *mib;
            }
            let runtime = Runtime::new(rs)?;
            let input = read_input(input)?;
            let bytes = read_component(file)?;
            let loader = runtime.clone();
            let plugin =
                tokio::task::spawn_blocking(move || loader.load(&bytes, Some(role))).await??;
            let grants = run_grants(
                &config,
                tenant.as_deref(),
                role,
                settings,
                http,
                sqlite,
                &plugin.label(),
            )?;
            match runtime
                .call_json(&plugin, Arc::new(grants), call, &input)
                .await
            {
                Ok(output) => {
                    println!("{}", serde_json::to_string_pretty(&output)?);
                    let failed = output.as_object().is_some_and(|o| o.contains_key("err"));
                    Ok(if failed { EXIT_PLUGIN_ERROR } else { 0 })
                }
                Err(DynamicError::Call(stopped)) => {
                    eprintln!("{stopped}");
                    Ok(EXIT_STOPPED)
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}

/// Refuses a component that needs a connection the configured tenant does not grant its role
/// (a tenant this config doesn't know is checked when a server builds it).
async fn check_grants(
    config: &FerryConfig,
    registry: &Registry,
    tenant: &str,
    role: Role,
    bytes: &[u8],
) -> anyhow::Result<()> {
    if !config.tenants.contains_key(tenant) {
        return Ok(());
    }
    let (runtime, bytes) = (registry.runtime().clone(), bytes.to_vec());
    let report = tokio::task::spawn_blocking(move || runtime.inspect(&bytes, Some(role))).await??;
    config.check_plugin(tenant, role, Some(&report.imports))?;
    Ok(())
}

async fn open_registry(config: &FerryConfig, data_dir: &Path) -> anyhow::Result<Arc<Registry>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let runtime = Runtime::new(config.runtime_settings(data_dir))?;
    let files = ferry_layout::DataDir::new(data_dir);
    let store = Arc::new(SqliteStore::open(&files.db()).await?);
    Ok(Registry::open(runtime, store, &files.plugins()).await?)
}

fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
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

fn split_pair<'a>(flag: &str, s: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .with_context(|| format!("--{flag} expects NAME=VALUE, got '{s}'"))
}

fn run_grants(
    config: &FerryConfig,
    tenant: Option<&str>,
    role: Role,
    settings: &[String],
    http: &[String],
    sqlite: &[String],
    label: &str,
) -> anyhow::Result<Grants> {
    let (base, mut plugin_settings) = match tenant {
        Some(t) => (
            config.plugin_grants(t, role)?,
            config.plugin_settings(t, role),
        ),
        None => (Arc::new(Grants::for_tenant("cli")), Default::default()),
    };
    for s in settings {
        let (k, v) = split_pair("setting", s)?;
        plugin_settings.insert(k.to_string(), v.to_string());
    }
    let mut grants = base.with_plugin(label, plugin_settings);
    for h in http {
        let (name, url) = split_pair("http", h)?;
        let url = Url::parse(url).with_context(|| format!("--http {name}: bad URL"))?;
        let conn = HttpConnection::new(&grants.tenant, name, HttpSettings::new(url), None)?;
        grants.http.insert(name.to_string(), Arc::new(conn));
    }
    for s in sqlite {
        let (name, path) = split_pair("sqlite", s)?;
        let conn = SqlConnection::sqlite(
            name,
            &SqliteSettings {
                path: PathBuf::from(path),
                max_rows: 10_000,
                busy_timeout_ms: 5_000,
            },
        )?;
        grants.sql.insert(name.to_string(), Arc::new(conn));
    }
    Ok(grants)
}

fn print_report(file: &Path, report: &crate::runtime::ContractReport) {
    println!("{}", file.display());
    println!(
        "  world:   {}",
        report.world.unwrap_or("(none of ferry's role worlds)")
    );
    println!("  version: {}", report.version.as_deref().unwrap_or("?"));
    println!("  exports:");
    for e in &report.exports {
        println!("    {}: {}", e.name, e.functions.join(", "));
    }
    println!("  imports:");
    for i in &report.imports {
        println!("    {i}");
    }
    if report.problems.is_empty() {
        let served: Vec<String> = crate::runtime::contract::PACKAGES
            .iter()
            .map(ToString::to_string)
            .collect();
        println!("  ok: compatible with this host's {}", served.join(", "));
    } else {
        println!("  refused:");
        for p in &report.problems {
            println!("    - {p}");
        }
    }
}
