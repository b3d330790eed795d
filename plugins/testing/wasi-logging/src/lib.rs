//! A transform whose only import is `wasi:logging/logging@0.1.0-draft`, as a guest built with a
//! toolchain that logs through WASI would have. The host must accept it for any role and send
//! its lines where `ferry:host/log`'s go (crates/ferry/tests/contract_versions.rs).

wit_bindgen::generate!({
    inline: r#"
        package test:wasi-logging;

        world plugin {
            import wasi:logging/logging@0.1.0-draft;
            export ferry:transform/transform@1.1.0;
        }
    "#,
    path: ["../../../wit/transform", "../../../wit/wasi-logging"],
    world: "test:wasi-logging/plugin",
    generate_all,
});

use exports::ferry::transform::transform::{Context, FieldUsage, Guest, Issue, Mapped};
use ferry::types::types::Document;
use wasi::logging::logging::{Level, log};

struct WasiLogging;

impl Guest for WasiLogging {
    /// Echoes the input, logging one line per level it is asked for in `kind`
    /// (`critical`, `info`).
    fn map_document(
        kind: String,
        input: Document,
        _context: Context,
    ) -> Result<Mapped, Vec<Issue>> {
        let level = match kind.as_str() {
            "critical" => Level::Critical,
            _ => Level::Info,
        };
        log(
            level,
            "wasi-fixture",
            &format!("mapped {} as {kind}", input.kind),
        );
        Ok(Mapped {
            document: input,
            warnings: Vec::new(),
        })
    }

    fn describe() -> Vec<FieldUsage> {
        Vec::new()
    }
}

export!(WasiLogging);
