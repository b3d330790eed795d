//! A tenant whose QuoteWerks database answers and whose M3 doesn't, for the health tests.

use std::path::Path;

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
