//! The one `ferry.toml` of the stack: a tenant wired to both simulators, the host's credentials
//! in files beside it. Written as text so the demo's reader gets comments; every value goes
//! through `toml`'s own encoder. Nothing here parses Ferry's config: `ferry serve` does, so a key
//! this file gets wrong fails the demo, the end-to-end tests and the bench alike.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// QuoteWerks' status that makes a quote an order, and the one Ferry writes back.
pub const READY: &str = "3-Manager Approved";
pub const TRANSFERRED: &str = "5-Order Created in M3";
/// M3 order status → QuoteWerks status, pushed back as M3 moves an order on.
pub const STATUS_NAMES: [(&str, &str); 4] = [
    ("33", "6-M3 Allocated"),
    ("44", "7-M3 Picked"),
    ("66", "8-M3 Delivered"),
    ("77", "9-M3 Invoiced"),
];

/// The stack's files, relative to its directory (the config names them relative to itself).
pub const CONFIG_FILE: &str = "ferry.toml";
pub const DATA_DIR: &str = "data";
pub const IONAPI_FILE: &str = "m3.ionapi";
pub const QUOTEWERKS_DB: &str = "qw.db";
pub const WEBHOOK_SECRET_FILE: &str = "webhook.secret";
pub const ION_TOKEN_FILE: &str = "ion.secret";
/// M3's state directory (`ferry sim m3 --state`).
pub const M3_STATE_DIR: &str = "m3";

/// How Ferry runs in the stack: what the demo, the tests and the bench choose differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FerrySettings {
    /// `[server] workers`.
    pub workers: usize,
    /// `[runtime] call_deadline_ms`; `None` keeps Ferry's default.
    pub call_deadline_ms: Option<u64>,
    /// The M3 connection's `timeout_ms`; `None` keeps Ferry's default.
    pub m3_timeout_ms: Option<u64>,
    /// `quote_to_order.poll_interval_secs`: how often QuoteWerks is polled beside its webhooks.
    pub poll_interval_secs: u64,
    /// `quote_to_order.status_poll_secs`; `None` leaves M3 status polling off (BODs only).
    pub status_poll_secs: Option<u64>,
    /// `quote_to_order.create_customers`.
    pub create_customers: bool,
    /// `[retry]`.
    pub retry: Retry,
    /// The M3 connector's settings (`customer_template`, `order_entry`…), in this order.
    pub erp_settings: Vec<(String, String)>,
}

/// A tenant's `[retry]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub initial_interval_ms: u64,
    pub maximum_interval_ms: u64,
    pub maximum_attempts: u32,
}

impl FerrySettings {
    /// The demo's: a relaxed poll (webhooks and BODs carry the story), quick retries.
    pub fn demo() -> Self {
        Self {
            workers: 2,
            call_deadline_ms: None,
            m3_timeout_ms: None,
            poll_interval_secs: 30,
            status_poll_secs: None,
            create_customers: false,
            retry: Retry {
                initial_interval_ms: 200,
                maximum_interval_ms: 5000,
                maximum_attempts: 8,
            },
            erp_settings: Vec::new(),
        }
    }
}

/// What the config wires together: filled in by [`super::SimStack::start`].
pub(crate) struct Wiring<'a> {
    pub tenant: &'a str,
    pub listen: SocketAddr,
    /// The components, by role (absolute paths).
    pub erp: PathBuf,
    pub quoting: PathBuf,
    pub transform: PathBuf,
    /// The header QuoteWerks sends its webhook secret in.
    pub secret_header: &'a str,
    /// QuoteWerks' product database (`<name>_Products`).
    pub product_db: &'a str,
    pub ferry: &'a FerrySettings,
}

/// A TOML value (string, number, array…) as it is written in a file.
fn v(value: impl Into<toml::Value>) -> String {
    value.into().to_string()
}

/// A key: bare when TOML allows it, else quoted.
fn k(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { v(key) }
}

fn path(p: &std::path::Path) -> String {
    v(p.to_string_lossy().into_owned())
}

/// An inline table `{ a = "x", b = "y" }`.
fn inline<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let body: Vec<String> = pairs
        .into_iter()
        .map(|(key, value)| format!("{} = {}", k(key), v(value)))
        .collect();
    format!("{{ {} }}", body.join(", "))
}

pub(crate) fn render(w: &Wiring<'_>) -> String {
    let t = format!("tenants.{}", k(w.tenant));
    let f = w.ferry;
    let mut out = String::new();
    // `writeln!` into a String cannot fail.
    let mut line = |text: String| {
        let _ = writeln!(out, "{text}");
    };
    line(format!(
        "# Written by the stack harness (ferry-sim): tenant '{}' wired to the M3 and QuoteWerks\n\
         # simulators. Secrets are files next to this one; relative paths are from here.",
        w.tenant
    ));
    line(format!("data_dir = {}", v(DATA_DIR)));
    line(String::new());
    line("[server]".into());
    line(format!("listen = {}", v(w.listen.to_string())));
    line(format!("workers = {}", v(w.ferry.workers as i64)));
    if let Some(ms) = f.call_deadline_ms {
        line(String::new());
        line("[runtime]".into());
        line(format!("call_deadline_ms = {}", v(ms as i64)));
    }
    line(String::new());
    line(format!("[{t}.connections.m3]"));
    line(format!("kind = {}", v("http")));
    line(format!("ionapi = {}", inline([("file", IONAPI_FILE)])));
    if let Some(ms) = f.m3_timeout_ms {
        line(format!("timeout_ms = {}", v(ms as i64)));
    }
    line(String::new());
    line(format!("[{t}.connections.quotewerks]"));
    line(format!("kind = {}", v("sqlite")));
    line(format!("path = {}", v(QUOTEWERKS_DB)));
    line(String::new());
    line(
        "# The host's own credentials: checked (constant time) before any plugin runs; no plugin sees them."
            .into(),
    );
    line(format!("[{t}.host]"));
    line(format!(
        "webhook_secret = {}",
        inline([("file", WEBHOOK_SECRET_FILE)])
    ));
    line(format!("webhook_header = {}", v(w.secret_header)));
    line(format!(
        "ion_token = {}",
        inline([("file", ION_TOKEN_FILE)])
    ));
    line(String::new());
    line(format!("[{t}.quote_to_order]"));
    line(format!("ready_status = {}", v(READY)));
    line(format!(
        "poll_interval_secs = {}",
        v(f.poll_interval_secs as i64)
    ));
    line(format!("create_customers = {}", v(f.create_customers)));
    line(format!("transferred_status = {}", v(TRANSFERRED)));
    if let Some(secs) = f.status_poll_secs {
        line(format!("status_poll_secs = {}", v(secs as i64)));
    }
    line(format!("status_names = {}", inline(STATUS_NAMES)));
    line(String::new());
    line(format!("[{t}.retry]"));
    line(format!(
        "initial_interval_ms = {}",
        v(f.retry.initial_interval_ms as i64)
    ));
    line(format!(
        "maximum_interval_ms = {}",
        v(f.retry.maximum_interval_ms as i64)
    ));
    line(format!(
        "maximum_attempts = {}",
        v(i64::from(f.retry.maximum_attempts))
    ));
    line(String::new());
    line("# Each plugin gets only the connections it is granted.".into());
    line(format!("[{t}.plugins.erp]"));
    line(format!("file = {}", path(&w.erp)));
    line(format!("connections = {}", v(vec!["m3"])));
    if !f.erp_settings.is_empty() {
        line(format!(
            "settings = {}",
            inline(f.erp_settings.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        ));
    }
    line(String::new());
    line(format!("[{t}.plugins.quoting]"));
    line(format!("file = {}", path(&w.quoting)));
    line(format!("connections = {}", v(vec!["quotewerks"])));
    line(format!(
        "settings = {}",
        inline([
            ("ready_status", READY),
            ("transferred_status", TRANSFERRED),
            ("product_db", w.product_db),
        ])
    ));
    line(String::new());
    line(format!("[{t}.plugins.transform]"));
    line(format!("file = {}", path(&w.transform)));
    line(format!("prepare = {}", v(true)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring<'a>(tenant: &'a str, ferry: &'a FerrySettings) -> Wiring<'a> {
        Wiring {
            tenant,
            listen: "127.0.0.1:4100".parse().expect("addr"),
            erp: PathBuf::from("/p/m3_connector.wasm"),
            quoting: PathBuf::from(r"C:\plugins\quote \x22werks\x22.wasm"),
            transform: PathBuf::from("/p/ferry_mapping.wasm"),
            secret_header: "X-QuoteWerks-Secret",
            product_db: "M3",
            ferry,
        }
    }

    #[test]
    fn the_config_is_toml_with_every_value_where_ferry_reads_it() {
        let mut ferry = FerrySettings::demo();
        ferry.status_poll_secs = Some(1);
        ferry.call_deadline_ms = Some(20_000);
        ferry.erp_settings = vec![("order_entry".into(), "bulk".into())];
        let text = render(&wiring("acme", &ferry));
        let doc: toml::Table = toml::from_str(&text).expect("valid TOML");
        let tenant = &doc["tenants"]["acme"];
        assert_eq!(doc["server"]["listen"].as_str(), Some("127.0.0.1:4100"));
        assert_eq!(
            doc["runtime"]["call_deadline_ms"].as_integer(),
            Some(20_000)
        );
        assert_eq!(
            tenant["quote_to_order"]["status_poll_secs"].as_integer(),
            Some(1)
        );
        assert_eq!(
            tenant["quote_to_order"]["status_names"]["66"].as_str(),
            Some("8-M3 Delivered")
        );
        assert_eq!(
            tenant["plugins"]["erp"]["settings"]["order_entry"].as_str(),
            Some("bulk")
        );
        // Backslashes and quotes in a path survive (a Windows checkout, an odd folder name).
        assert_eq!(
            tenant["plugins"]["quoting"]["file"].as_str(),
            Some(r"C:\plugins\quote \x22werks\x22.wasm")
        );
        assert_eq!(
            tenant["host"]["ion_token"]["file"].as_str(),
            Some(ION_TOKEN_FILE)
        );
    }

    #[test]
    fn optional_settings_are_left_out_and_odd_tenant_names_are_quoted() {
        let ferry = FerrySettings::demo();
        let text = render(&wiring("east coast", &ferry));
        let doc: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert!(doc.get("runtime").is_none(), "{text}");
        let tenant = &doc["tenants"]["east coast"];
        assert!(tenant["quote_to_order"].get("status_poll_secs").is_none());
        assert!(tenant["plugins"]["erp"].get("settings").is_none());
        assert_eq!(tenant["retry"]["maximum_attempts"].as_integer(), Some(8));
    }
}
