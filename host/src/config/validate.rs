//! Refuses nonsense in `ferry.toml` at load, each problem with its reason: tenant names that
//! could escape a path or a URL, limits of zero (a call that can never finish, a server that
//! can never answer) and limits so large that they are no limit.
//!
//! The memory cap holds in both allocation modes: `pooling = "auto"` may fall back to
//! on-demand allocation, but every store still gets the `StoreLimits` cap
//! (`runtime::state::CallLimiter`), so the fallback needs no refusal; a cap the pool could
//! never reserve is refused here instead.

use super::{FerryConfig, ServerConfig};
use crate::runtime::RuntimeSettings;

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
        let erp = tenant.plugins.get("erp");
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
}
