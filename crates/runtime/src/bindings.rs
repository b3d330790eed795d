//! Host-side bindings for the contract's packages (`wit/`): `ferry:types`, `ferry:host` and one
//! package per role (`ferry:erp`, `ferry:quoting`, `ferry:transform`), each role package holding
//! the role's interface and its `plugin` world.
//!
//! The host imports and shared types are generated once (world `ferry:host/imports`); each role's
//! world reuses them through `with`, so a `Document` is one Rust type whichever plugin it came
//! from. wasmtime's `bindgen!` enables every WIT feature, so functions marked
//! `@unstable(feature = sync)` (no flow calls them yet) are bound too and a role plugin must
//! export them: both connectors do (`features: ["sync"]` in their `generate!`), and their tests
//! call them.

pub mod imports {
    wasmtime::component::bindgen!({
        world: "imports",
        path: "../../wit/host",
        // Documents are compared in tests and (later) persisted as JSON by the store.
        additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
        imports: {
            "ferry:host/http.send": async | trappable,
            "ferry:host/http.send-idempotent": async | trappable,
            "ferry:host/sql.get-dialect": async | trappable,
            "ferry:host/sql.query": async | trappable,
            "ferry:host/sql.execute": async | trappable,
            "ferry:host/sql.transaction": async | trappable,
        },
    });
}

pub use imports::ferry::host::{config, diagnostics, http, log, secrets, sql};

/// `wasi:logging/logging@0.1.0-draft` (`wit/wasi-logging`), accepted beside `ferry:host/log`
/// for guests whose toolchains emit it.
pub mod wasi_logging {
    wasmtime::component::bindgen!({
        path: "../../wit/wasi-logging",
        world: "wasi:logging/imports",
    });

    pub use self::wasi::logging::logging;
}
pub use imports::ferry::types::types;

macro_rules! role_world {
    ($module:ident, $path:literal, $world:ident, $pre:ident, { $($iface:literal => $target:ident),* $(,)? }) => {
        pub mod $module {
            /// The role's world under the name the runtime uses for it.
            pub type $world = Plugin;
            pub type $pre<T> = PluginPre<T>;

            wasmtime::component::bindgen!({
                world: "plugin",
                path: $path,
                exports: { default: async },
                additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
                with: { $($iface: super::$target,)* },
            });
        }
    };
}

role_world!(erp_world, "../../wit/erp", ErpConnector, ErpConnectorPre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/diagnostics" => diagnostics,
});
role_world!(quoting_world, "../../wit/quoting", QuotingConnector, QuotingConnectorPre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/sql" => sql,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/secrets" => secrets,
    "ferry:host/diagnostics" => diagnostics,
});
// The role versions whose exports differ from the newest (`roles/mod.rs` has the steps): a
// plugin built against them is served through these, with the same shared types.
role_world!(erp_world_1_3, "../../wit/frozen/erp@1.3.0", ErpConnectorV1_3, ErpConnectorV1_3Pre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/diagnostics" => diagnostics,
});
role_world!(erp_world_1_2, "../../wit/frozen/erp@1.2.0", ErpConnectorV1_2, ErpConnectorV1_2Pre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/diagnostics" => diagnostics,
});
role_world!(erp_world_1_1, "../../wit/frozen/erp@1.1.0", ErpConnectorV1_1, ErpConnectorV1_1Pre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/diagnostics" => diagnostics,
});
role_world!(quoting_world_1_1, "../../wit/frozen/quoting@1.1.0", QuotingConnectorV1_1, QuotingConnectorV1_1Pre, {
    "ferry:types/types" => types,
    "ferry:host/http" => http,
    "ferry:host/sql" => sql,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
    "ferry:host/secrets" => secrets,
    "ferry:host/diagnostics" => diagnostics,
});
role_world!(transform_world, "../../wit/transform", Transform, TransformPre, {
    "ferry:types/types" => types,
    "ferry:host/log" => log,
    "ferry:host/config" => config,
});

pub use erp_world::ErpConnector;
pub use erp_world::exports::ferry::erp::erp;
pub use erp_world_1_1::ErpConnectorV1_1;
pub use erp_world_1_1::exports::ferry::erp::erp as erp_1_1;
pub use erp_world_1_2::ErpConnectorV1_2;
pub use erp_world_1_2::exports::ferry::erp::erp as erp_1_2;
pub use erp_world_1_3::ErpConnectorV1_3;
pub use erp_world_1_3::exports::ferry::erp::erp as erp_1_3;
pub use quoting_world::QuotingConnector;
pub use quoting_world::exports::ferry::quoting::quoting;
pub use quoting_world_1_1::QuotingConnectorV1_1;
pub use quoting_world_1_1::exports::ferry::quoting::quoting as quoting_1_1;
pub use transform_world::Transform;
pub use transform_world::exports::ferry::transform::transform;
