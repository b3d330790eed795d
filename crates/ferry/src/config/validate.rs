//! Refuses nonsense in `ferry.toml` at parse, each problem with its reason: tenant names that
//! could escape a path or a URL, limits of zero (a call that can never finish, a server that
//! can never answer), limits so large that they are no limit, plugin grants naming what the
//! tenant doesn't have, settings naming a connection the plugin isn't granted, and keys that
//! moved (with where to). Pure: reads nothing but the parsed config.
//!
//! The memory cap holds in both allocation modes: `pooling = "auto"` may fall back to
//! on-demand allocation, but every store still gets the `StoreLimits` cap
//! (`runtime::state::CallLimiter`), so the fallback needs no refusal; a cap the pool could
//! never reserve is refused here instead.

use super::{FerryConfig, ServerConfig, TenantConfig};
use crate::runtime::grants::Ungranted;
use crate::runtime::{Role, RuntimeSettings};

/// Linear memory of a 32-bit wasm instance can't exceed 4 GiB: a larger cap caps nothing.
pub const MAX_MEMORY_MIB: u64 = 4096;
/// More live instances than this is a typo, not a deployment (each reserves pool slots).
pub const MAX_INSTANCES: u32 = 10_000;
/// An hour: a longer call deadline is no deadline.
pub const MAX_CALL_DEADLINE_MS: u64 = 3_600_000;
/// Address space the pooling allocator may reserve for linear memories (x86-64 user space is
/// 128 TiB); beyond it the pool can't be reserved.
pub const MAX_POOL_RESERVATION_MIB: u64 = 64 << 20;
/// Memories per instance the pool reserves (`engine.rs`: `total_memories = 4 × instances`).
const POOL_MEMORIES_PER_INSTANCE: u64 = 4;

/// One thing wrong with the configuration, and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error(
        "tenant name '{0}' is refused: use 1 to 64 of A-Z a-z 0-9 _ - (names appear in URL paths, file names and logs)"
    )]
    TenantName(String),
    #[error("runtime.call_deadline_ms = 0: every plugin call would be stopped before it starts")]
    ZeroDeadline,
    #[error(
        "runtime.call_deadline_ms = {0}: more than an hour ({MAX_CALL_DEADLINE_MS} ms) is no deadline"
    )]
    HugeDeadline(u64),
    #[error("runtime.memory_limit_mib = 0: no plugin could even be instantiated")]
    ZeroMemory,
    #[error(
        "runtime.memory_limit_mib = {0}: a wasm32 memory can't exceed {MAX_MEMORY_MIB} MiB, so this caps nothing"
    )]
    HugeMemory(u64),
    #[error("runtime.max_instances = 0: no plugin call could ever run")]
    ZeroInstances,
    #[error(
        "runtime.max_instances = {0}: more than {MAX_INSTANCES} live instances is not a real deployment"
    )]
    HugeInstances(u32),
    #[error(
        "runtime.max_instances × memory_limit_mib reserves {0} MiB of address space for the pooling allocator, more than {MAX_POOL_RESERVATION_MIB} MiB: lower one of them"
    )]
    HugePool(u64),
    #[error("server.{0} = 0: {1}")]
    ZeroServer(&'static str, &'static str),
    #[error(
        "tenant '{0}': plugins.erp settings api = \"v1\" with order_entry = \"bulk\": bulk entry is a v2 endpoint, so every order would fail; use api = \"v2\" or order_entry = \"batch\""
    )]
    BulkNeedsV2(String),
    #[error(
        "tenant '{tenant}', plugin {role}: {kind}s = [\"{name}\"] names a {kind} the tenant doesn't have (define it under [tenants.{tenant}.{kind}s])"
    )]
    UnknownGrant {
        tenant: String,
        role: Role,
        kind: &'static str,
        name: String,
    },
    #[error(transparent)]
    Ungranted(#[from] Ungranted),
    #[error(
        "tenant '{tenant}': quote_to_order.{old} has moved: the host's credentials live in [tenants.{tenant}.host], as {new}"
    )]
    Moved {
        tenant: String,
        old: &'static str,
        new: &'static str,
    },
    #[error(
        "tenant '{tenant}': secrets.quotewerks_webhook used to be the webhook secret by default; the host's credentials now live apart from plugin secrets: move it to [tenants.{tenant}.host] as webhook_secret = {reference}"
    )]
    OldWebhookSecret { tenant: String, reference: String },
    #[error("tenant '{0}': host.webhook_header = '{1}' is not an HTTP header name")]
    WebhookHeader(String, String),
    #[error("tenant '{0}': sync.catalog.{1}")]
    SyncCatalog(String, String),
    /// `[tenants.T.sync.prices]` or `.stock`: which, and what is wrong.
    #[error("tenant '{0}': sync.{1}.{2}")]
    SyncValues(String, &'static str, String),
}

/// Every problem in `config`, or `Ok` when there is none.
pub fn check(config: &FerryConfig) -> Result<(), Vec<Invalid>> {
    let mut problems: Vec<Invalid> = config
        .tenants
        .keys()
        .filter(|name| !tenant_name_ok(name))
        .map(|name| Invalid::TenantName(name.clone()))
        .collect();
    runtime(&config.runtime, &mut problems);
    server(&config.server, &mut problems);
    for (name, tenant) in &config.tenants {
        grants(config, name, tenant, &mut problems);
        host(name, tenant, &mut problems);
        if let Err(e) = tenant.sync.catalog.interval() {
            problems.push(Invalid::SyncCatalog(name.clone(), e));
        }
        if let Err(e) = ferry_flows::slots::interval(tenant.sync.prices.every.as_deref()) {
            problems.push(Invalid::SyncValues(name.clone(), "prices", e));
        }
        if let Err(e) = ferry_flows::slots::interval(tenant.sync.stock.every.as_deref()) {
            problems.push(Invalid::SyncValues(name.clone(), "stock", e));
        }
        let erp = tenant.plugins.get(&Role::Erp);
        let setting = |key: &str| {
            erp.and_then(|p| p.settings.get(key))
                .map(|v| v.trim().to_ascii_lowercase())
        };
        // The M3 connector's settings (plugins/m3/src/mi.rs refuses the pair too, but only
        // when an order is already on its way).
        if setting("api").as_deref() == Some("v1")
            && setting("order_entry").as_deref() == Some("bulk")
        {
            problems.push(Invalid::BulkNeedsV2(name.clone()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Each plugin's grants name what its tenant has, and its settings name only connections it
/// is granted (the component's imports are checked when it is loaded).
fn grants(config: &FerryConfig, name: &str, tenant: &TenantConfig, problems: &mut Vec<Invalid>) {
    for (role, plugin) in &tenant.plugins {
        let unknown = |kind: &'static str, names: &[String], known: &dyn Fn(&str) -> bool| {
            names
                .iter()
                .filter(|n| !known(n))
                .map(|n| Invalid::UnknownGrant {
                    tenant: name.to_string(),
                    role: *role,
                    kind,
                    name: n.clone(),
                })
                .collect::<Vec<_>>()
        };
        problems.extend(unknown("connection", &plugin.connections, &|n| {
            tenant.connections.contains_key(n)
        }));
        problems.extend(unknown("secret", &plugin.secrets, &|n| {
            tenant.secrets.contains_key(n)
        }));
        if let Err(super::ConfigError::Ungranted(u)) = config.check_plugin(name, *role, None) {
            problems.push(Invalid::Ungranted(u));
        }
    }
}

/// The host's table, and the keys that moved into it.
fn host(name: &str, tenant: &TenantConfig, problems: &mut Vec<Invalid>) {
    let q = &tenant.quote_to_order;
    let moved = [
        (
            "ion_token_secret",
            q.moved_ion_token_secret.is_some(),
            "ion_token = { env = \"VAR\" } or { file = \"PATH\" }",
        ),
        (
            "webhook_secret",
            q.moved_webhook_secret.is_some(),
            "webhook_secret = { env = \"VAR\" } or { file = \"PATH\" }",
        ),
        (
            "webhook_header",
            q.moved_webhook_header.is_some(),
            "webhook_header = \"HEADER\"",
        ),
    ];
    problems.extend(
        moved
            .into_iter()
            .filter(|(_, set, _)| *set)
            .map(|(old, _, new)| Invalid::Moved {
                tenant: name.to_string(),
                old,
                new,
            }),
    );
    // An old config's webhook secret, granted to no plugin: left alone, every webhook would
    // be refused with no hint why.
    if tenant.host.webhook_secret.is_none()
        && q.moved_webhook_secret.is_none()
        && let Some(r) = tenant.secrets.get("quotewerks_webhook")
        && !tenant
            .plugins
            .values()
            .any(|p| p.secrets.iter().any(|s| s == "quotewerks_webhook"))
    {
        problems.push(Invalid::OldWebhookSecret {
            tenant: name.to_string(),
            reference: r.to_string(),
        });
    }
    if axum::http::HeaderName::from_bytes(tenant.host.webhook_header.as_bytes()).is_err() {
        problems.push(Invalid::WebhookHeader(
            name.to_string(),
            tenant.host.webhook_header.clone(),
        ));
    }
}

/// `[A-Za-z0-9_-]{1,64}`.
pub fn tenant_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn runtime(r: &RuntimeSettings, problems: &mut Vec<Invalid>) {
    match r.call_deadline_ms {
        0 => problems.push(Invalid::ZeroDeadline),
        ms if ms > MAX_CALL_DEADLINE_MS => problems.push(Invalid::HugeDeadline(ms)),
        _ => {}
    }
    match r.memory_limit_mib {
        0 => problems.push(Invalid::ZeroMemory),
        mib if mib > MAX_MEMORY_MIB => problems.push(Invalid::HugeMemory(mib)),
        _ => {}
    }
    match r.max_instances {
        0 => problems.push(Invalid::ZeroInstances),
        n if n > MAX_INSTANCES => problems.push(Invalid::HugeInstances(n)),
        n => {
            let reserved = u64::from(n)
                .saturating_mul(POOL_MEMORIES_PER_INSTANCE)
                .saturating_mul(r.memory_limit_mib);
            if reserved > MAX_POOL_RESERVATION_MIB {
                problems.push(Invalid::HugePool(reserved));
            }
        }
    }
}

fn server(s: &ServerConfig, problems: &mut Vec<Invalid>) {
    let zeros: [(&'static str, bool, &'static str); 9] = [
        (
            "lease_ms",
            s.lease_ms == 0,
            "a job's claim would lapse as soon as it was made",
        ),
        ("workers", s.workers == 0, "no job would ever run"),
        (
            "max_body_bytes",
            s.max_body_bytes == 0,
            "every webhook and ION event would be refused",
        ),
        (
            "header_timeout_ms",
            s.header_timeout_ms == 0,
            "every request would be cut off before its headers",
        ),
        (
            "body_timeout_ms",
            s.body_timeout_ms == 0,
            "every request body would time out",
        ),
        (
            "idle_timeout_ms",
            s.idle_timeout_ms == 0,
            "every connection would be closed before its first request",
        ),
        (
            "max_connections",
            s.max_connections == 0,
            "no connection would be accepted",
        ),
        (
            "tenant_burst",
            s.tenant_burst == 0 && s.tenant_rate_per_sec > 0,
            "no intake request would pass the rate limit (set tenant_rate_per_sec = 0 for no limit)",
        ),
        (
            "ready_timeout_ms",
            s.ready_timeout_ms == 0,
            "/readyz would always answer 503",
        ),
    ];
    problems.extend(
        zeros
            .into_iter()
            .filter(|(_, zero, _)| *zero)
            .map(|(field, _, why)| Invalid::ZeroServer(field, why)),
    );
}

/// The problems as one line, for `ConfigError`'s message.
pub(super) fn joined(problems: &[Invalid]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    /// Loads `text` as a config file the way `ferry` does.
    fn load(text: &str) -> Result<FerryConfig, ConfigError> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ferry.toml");
        std::fs::write(&path, text).expect("write");
        FerryConfig::load(&path)
    }

    fn refused(text: &str) -> Vec<Invalid> {
        match load(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("accepted:\n{text}"),
        }
    }

    #[test]
    fn m3_bulk_entry_on_the_v1_api_is_refused_at_load() {
        let problems = refused(
            "[tenants.acme.plugins.erp]\nsettings = { api = \"v1\", order_entry = \"bulk\" }\n",
        );
        assert_eq!(problems, vec![Invalid::BulkNeedsV2("acme".into())]);
        assert!(
            load(
                "[tenants.acme.plugins.erp]\nsettings = { api = \"v2\", order_entry = \"bulk\" }\n"
            )
            .is_ok()
        );
        assert!(load("[tenants.acme.plugins.erp]\nsettings = { api = \"v1\" }\n").is_ok());
    }

    #[test]
    fn a_sensible_config_loads() {
        load("[tenants.acme]\n[tenants.Big_Co-2]\n[runtime]\nmemory_limit_mib = 4096\n")
            .expect("loads");
        load("").expect("defaults load");
    }

    #[test]
    fn tenant_names_that_could_escape_a_path_are_refused() {
        for name in ["../evil", "a/b", "", "a b", "é", "x.y", &"a".repeat(65)] {
            let problems = refused(&format!("[tenants.\"{name}\"]\n"));
            assert_eq!(problems, vec![Invalid::TenantName(name.to_string())]);
        }
    }

    #[test]
    fn zero_or_unbounded_runtime_limits_are_refused_with_the_reason() {
        let cases = [
            ("call_deadline_ms = 0", Invalid::ZeroDeadline),
            (
                "call_deadline_ms = 3600001",
                Invalid::HugeDeadline(3_600_001),
            ),
            ("memory_limit_mib = 0", Invalid::ZeroMemory),
            ("memory_limit_mib = 4097", Invalid::HugeMemory(4097)),
            ("max_instances = 0", Invalid::ZeroInstances),
            ("max_instances = 1000000", Invalid::HugeInstances(1_000_000)),
            (
                "max_instances = 10000\nmemory_limit_mib = 4096",
                Invalid::HugePool(10_000 * 4 * 4096),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                refused(&format!("[runtime]\n{line}\n")),
                vec![want],
                "{line}"
            );
        }
    }

    #[test]
    fn zero_server_limits_are_refused_and_every_problem_is_reported() {
        let problems = refused(
            "[server]\nmax_connections = 0\nheader_timeout_ms = 0\n[runtime]\ncall_deadline_ms = 0\n",
        );
        assert_eq!(
            problems,
            vec![
                Invalid::ZeroDeadline,
                Invalid::ZeroServer(
                    "header_timeout_ms",
                    "every request would be cut off before its headers"
                ),
                Invalid::ZeroServer("max_connections", "no connection would be accepted"),
            ]
        );
        // The message a user sees names the field and says why.
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ferry.toml");
        std::fs::write(&path, "[tenants.\"../evil\"]\n").expect("write");
        let message = FerryConfig::load(&path).err().map(|e| e.to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("'../evil' is refused")),
            "{message:?}"
        );
        // No rate limit is a choice, not a mistake.
        load("[server]\ntenant_rate_per_sec = 0\ntenant_burst = 0\n").expect("loads");
    }

    #[test]
    fn a_misspelled_plugin_role_is_a_parse_error_naming_the_key() {
        let err = load("[tenants.acme.plugins.quotin]\nfile = \"q.wasm\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tenants.acme.plugins"), "{err}");
        assert!(err.contains("quotin"), "{err}");
        assert!(err.contains("quoting"), "the roles there are: {err}");
    }

    #[test]
    fn a_parse_error_names_the_key_and_never_echoes_an_inline_secret() {
        let err = load("[tenants.acme.host]\nion_token = \"t0ken-value\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tenants.acme.host.ion_token"), "{err}");
        assert!(err.contains("by reference"), "{err}");
        assert!(!err.contains("t0ken-value"), "{err}");
        let err = load("[tenants.acme.plugins.erp]\nconnection = [\"m3\"]\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tenants.acme.plugins.erp"), "{err}");
        assert!(err.contains("unknown field `connection`"), "{err}");
    }

    #[test]
    fn parsing_reads_no_file_and_no_environment() {
        let dir = tempfile::tempdir().expect("tmp");
        let text = "[tenants.acme.connections.qw]\nkind = \"sqlite\"\npath = \"qw.db\"\n\
                    [tenants.acme.connections.m3]\nkind = \"http\"\nionapi = { file = \"missing.ionapi\" }\n\
                    [tenants.acme.secrets]\ns = { env = \"FERRY_TEST_NEVER_SET_4711\" }\n\
                    [tenants.acme.host]\nion_token = { file = \"missing.token\" }\n\
                    [tenants.acme.plugins.quoting]\nconnections = [\"qw\"]\nsecrets = [\"s\"]\n";
        let config = FerryConfig::parse(text, dir.path()).expect("parses without reading");
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "nothing was created (the SQLite file is opened by resolve)"
        );
        // Resolving is the stage that reads, and it names what it could not read.
        let err = config
            .resolve_tenant("acme")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("tenant 'acme'") && err.contains("missing"),
            "{err}"
        );
    }

    #[test]
    fn a_grant_of_something_the_tenant_lacks_is_refused_naming_tenant_plugin_and_name() {
        let problems = refused(
            "[tenants.acme.connections.m3]\nkind = \"http\"\nbase_url = \"https://m3.example/\"\n\
             [tenants.acme.plugins.erp]\nconnections = [\"m3\", \"m4\"]\nsecrets = [\"nope\"]\n",
        );
        assert_eq!(
            problems,
            vec![
                Invalid::UnknownGrant {
                    tenant: "acme".into(),
                    role: Role::Erp,
                    kind: "connection",
                    name: "m4".into()
                },
                Invalid::UnknownGrant {
                    tenant: "acme".into(),
                    role: Role::Erp,
                    kind: "secret",
                    name: "nope".into()
                },
            ]
        );
        assert!(
            problems[0].to_string().contains("plugin erp"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_setting_naming_an_ungranted_connection_is_refused_at_parse() {
        // The tenant has both connections; the plugin is granted one and its setting names
        // the other.
        let problems = refused(
            "[tenants.acme.connections.qw]\nkind = \"sqlite\"\npath = \"qw.db\"\n\
             [tenants.acme.connections.qw2]\nkind = \"sqlite\"\npath = \"qw2.db\"\n\
             [tenants.acme.plugins.quoting]\nconnections = [\"qw\"]\nsettings = { connection = \"qw2\" }\n",
        );
        let [Invalid::Ungranted(u)] = problems.as_slice() else {
            panic!("{problems:?}");
        };
        assert_eq!((u.tenant.as_str(), u.role), ("acme", Role::Quoting));
        let message = u.to_string();
        assert!(message.contains("connection = \"qw2\""), "{message}");
        assert!(message.contains("not granted"), "{message}");
    }

    #[test]
    fn keys_that_moved_to_the_host_table_say_where_they_went() {
        let problems = refused(
            "[tenants.acme.quote_to_order]\nion_token_secret = \"ion\"\nwebhook_secret = \"w\"\n",
        );
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![
                "tenant 'acme': quote_to_order.ion_token_secret has moved: the host's credentials live in [tenants.acme.host], as ion_token = { env = \"VAR\" } or { file = \"PATH\" }",
                "tenant 'acme': quote_to_order.webhook_secret has moved: the host's credentials live in [tenants.acme.host], as webhook_secret = { env = \"VAR\" } or { file = \"PATH\" }",
            ]
        );
        // The old default name for the webhook secret, given to no plugin: move it, and how.
        let problems =
            refused("[tenants.acme.secrets]\nquotewerks_webhook = { file = \"webhook.secret\" }\n");
        assert_eq!(
            problems,
            vec![Invalid::OldWebhookSecret {
                tenant: "acme".into(),
                reference: "{ file = \"webhook.secret\" }".into()
            }]
        );
        load("[tenants.acme.host]\nwebhook_secret = { file = \"webhook.secret\" }\nwebhook_header = \"X-Secret\"\n")
            .expect("the new place loads");
        assert_eq!(
            refused("[tenants.acme.host]\nwebhook_header = \"bad header\"\n"),
            vec![Invalid::WebhookHeader("acme".into(), "bad header".into())]
        );
    }
}
