//! Test fixture for the `transform` world. Each `kind` exercises one behaviour the host must
//! handle: normal mapping, errors, and hostile plugins (loops, memory hogs, escape attempts).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/transform",
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
    },
});

use exports::ferry::transform::transform::{Context, FieldUsage, Guest, Issue, Mapped, Severity};
use ferry_pdk::{Decimal, Document, DocumentBuilder, DocumentExt, Field, Line, Value};

mod quote_to_order {
    use ferry_pdk::{Decimal, Document, Field, Line, Value};
    include!("quote_to_order.rs");
}

/// Which build this is; the hot-swap tests tell versions apart by it.
const VERSION: &str = if cfg!(feature = "v2") { "v2" } else { "v1" };

struct TestTransform;

fn issue(field: &str, message: String) -> Issue {
    Issue {
        severity: Severity::Error,
        rule: None,
        field: field.to_string(),
        line: None,
        message,
    }
}

fn ok(document: Document) -> Result<Mapped, Vec<Issue>> {
    Ok(Mapped {
        document,
        warnings: Vec::new(),
    })
}

impl Guest for TestTransform {
    fn map_document(kind: String, input: Document, context: Context) -> Result<Mapped, Vec<Issue>> {
        match kind.as_str() {
            // The cheapest possible call: what instantiation + call overhead costs.
            "trivial" => ok(DocumentBuilder::new("trivial").build()),
            // How many calls this instance has served (the host's warm-instance tests).
            "calls" => {
                static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                ok(DocumentBuilder::new("calls")
                    .text("outcome", n.to_string())
                    .build())
            }
            "echo" => {
                let mut out = input;
                out.set("MappedBy", Value::Text(format!("test-transform {VERSION}")));
                out.set("Tenant", Value::Text(context.tenant));
                for (k, v) in context.ids {
                    out.set(&format!("id:{k}"), Value::Text(v));
                }
                if let Some(greeting) = ferry_pdk::config::get("greeting") {
                    out.set("Greeting", Value::Text(greeting));
                }
                ferry_pdk::info!("echoed a {} document", out.kind);
                ok(out)
            }
            "quote-to-order" => {
                let warehouse = context
                    .settings
                    .iter()
                    .find(|(k, _)| k == "warehouse")
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("100");
                quote_to_order::quote_to_order(&input, warehouse)
                    .map(|document| Mapped {
                        document,
                        warnings: Vec::new(),
                    })
                    .map_err(|m| vec![issue("quote", m)])
            }
            "fail" => Err(vec![Issue {
                severity: Severity::Error,
                rule: Some("test-rule".to_string()),
                field: "ORQT".to_string(),
                line: Some(3),
                message: "'abc' is not a decimal".to_string(),
            }]),
            // Hostile behaviours: the host must stop or contain each of them.
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("the test transform panicked on purpose"),
            "read-file" => {
                let outcome = match std::fs::read_to_string("/etc/passwd") {
                    Ok(s) => format!("read {} bytes", s.len()),
                    Err(e) => format!("refused: {e}"),
                };
                ok(DocumentBuilder::new("probe")
                    .text("outcome", outcome)
                    .build())
            }
            "open-socket" => {
                let target = ferry_pdk::setting_or("socket-target", "127.0.0.1:80");
                let outcome = match std::net::TcpStream::connect(target.as_str()) {
                    Ok(_) => "connected".to_string(),
                    Err(e) => format!("refused: {e}"),
                };
                ok(DocumentBuilder::new("probe")
                    .text("outcome", outcome)
                    .build())
            }
            "env" => {
                let vars = std::env::vars().count() as i64;
                let cwd = std::env::current_dir()
                    .map(|p| p.display().to_string())
                    .ok();
                ok(DocumentBuilder::new("probe")
                    .integer("vars", vars)
                    .text("cwd", cwd.unwrap_or_default())
                    .build())
            }
            "sum" => {
                // Decimal arithmetic across the boundary: sums every line's `Amount`.
                let mut total = Decimal::ZERO;
                for (i, line) in input.lines.iter().enumerate() {
                    match ferry_pdk::FieldsExt::decimal(line, "Amount") {
                        Ok(v) => total += v.unwrap_or_default(),
                        Err(e) => {
                            return Err(vec![Issue {
                                severity: Severity::Error,
                                rule: None,
                                field: "Amount".to_string(),
                                line: Some(i as u32),
                                message: e.to_string(),
                            }]);
                        }
                    }
                }
                ok(DocumentBuilder::new("sum").decimal("Total", total).build())
            }
            other => Err(vec![issue("kind", format!("unknown kind '{other}'"))]),
        }
    }

    fn describe() -> Vec<FieldUsage> {
        vec![FieldUsage {
            kind: "quote-to-order".to_string(),
            reads: [
                "DocNo",
                "CustomerNumber",
                "ShipVia",
                "DocDate",
                "SoldToCompany",
            ]
            .map(String::from)
            .to_vec(),
            writes: [
                "CUNO", "CUOR", "ORTP", "WHLO", "MODL", "RLDT", "YREF", "OTAM",
            ]
            .map(String::from)
            .to_vec(),
        }]
    }
}

// Silence "unused" for types only the included mapping uses.
#[allow(dead_code)]
fn _uses(_: Field, _: Line) {}

export!(TestTransform);
