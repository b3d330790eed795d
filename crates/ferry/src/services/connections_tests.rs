//! A tenant whose QuoteWerks database answers and whose M3 doesn't, for the health tests; and
//! a round of checks that a silent host does not hold back.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{Checker, Context};
use crate::config::FerryConfig;

/// Secrets in acme's `.ionapi` file: never to be shown.
pub const SECRETS: [&str; 2] = ["cs-s3cret-value", "sask-s3cret-value"];

/// acme: `quotewerks`, a SQLite file (answers `SELECT 1`); `m3`, an ION API whose token
/// URL is a closed loopback port. globex: no connections.
pub fn config(dir: &Path) -> FerryConfig {
    std::fs::write(dir.join("qw.db"), b"").expect("sqlite file");
    // A port just bound and released: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let ionapi = serde_json::json!({
        "ti": "ACME_TST", "cn": "ferry", "dt": "12",
        "ci": "ACME_TST~client", "cs": SECRETS[0],
        "iu": format!("http://127.0.0.1:{closed}"),
        "pu": format!("http://127.0.0.1:{closed}/ACME_TST/as/"), "oa": "authorization.oauth2",
        "ot": "token.oauth2", "or": "revoke_token.oauth2", "ev": "U1",
        "v": "1.1", "saak": "ACME_TST#service", "sask": SECRETS[1],
    });
    std::fs::write(dir.join("m3.ionapi"), ionapi.to_string()).expect("ionapi");
    let text = "[tenants.acme.connections.quotewerks]\nkind = \"sqlite\"\npath = \"qw.db\"\n\
                [tenants.acme.connections.m3]\nkind = \"http\"\nionapi = { file = \"m3.ionapi\" }\n\
                [tenants.globex]\n";
    FerryConfig::parse(text, dir).expect("config")
}

/// Tenant `aaa`'s M3 token URL accepts connections and never answers (each try waits for
/// doctor's timeout); tenant `zzz`'s SQLite file answers at once. `zzz` is checked while
/// `aaa`'s check still waits: one tenant's silent host holds back no other tenant's row.
#[tokio::test]
async fn a_silent_host_does_not_hold_back_another_tenants_check() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("qw.db"), b"").expect("sqlite file");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let ionapi = serde_json::json!({
        "ti": "T", "cn": "ferry", "dt": "12", "ci": "T~c", "cs": "cs",
        "iu": format!("http://127.0.0.1:{port}"),
        "pu": format!("http://127.0.0.1:{port}/T/as/"), "oa": "authorization.oauth2",
        "ot": "token.oauth2", "or": "revoke_token.oauth2", "ev": "U1",
        "v": "1.1", "saak": "T#s", "sask": "sk",
    });
    std::fs::write(dir.path().join("m3.ionapi"), ionapi.to_string()).expect("ionapi");
    let text = "[tenants.aaa.connections.m3]\nkind = \"http\"\nionapi = { file = \"m3.ionapi\" }\n\
                [tenants.zzz.connections.quotewerks]\nkind = \"sqlite\"\npath = \"qw.db\"\n";
    let config = FerryConfig::parse(text, dir.path()).expect("config");
    let ctx = Arc::new(Context::from_config(config, dir.path()));
    let round = tokio::spawn({
        let ctx = ctx.clone();
        async move { Checker::default().check_all(&ctx).await }
    });
    while ctx.connections.get("zzz", "quotewerks").is_none() {
        assert!(!round.is_finished(), "the round ended without zzz's row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        ctx.connections.get("aaa", "m3").and_then(|s| s.ok),
        None,
        "zzz was checked only after aaa's silent host gave up"
    );
    round.abort();
}
