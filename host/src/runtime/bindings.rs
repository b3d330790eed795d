//! Host-side bindings for the `ferry:plugin` contract.
//!
//! The host imports and shared types are generated once (world `imports`); each role's world
//! reuses them through `with`, so a `Document` is one Rust type whichever plugin it came from.

pub mod imports {
    wasmtime::component::bindgen!({
        world: "imports",
        path: "../wit",
        // Documents are compared in tests and (later) persisted as JSON by the store.
        additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
        imports: {
            "ferry:plugin/http.send": async | trappable,
            "ferry:plugin/http.send-idempotent": async | trappable,
            "ferry:plugin/sql.get-dialect": async | trappable,
            "ferry:plugin/sql.query": async | trappable,
            "ferry:plugin/sql.execute": async | trappable,
            "ferry:plugin/sql.transaction": async | trappable,
        },
    });
}

pub use imports::ferry::plugin::{config, http, log, secrets, sql, types};

macro_rules! role_world {
    ($module:ident, $world:literal, { $($iface:literal => $path:ident),* $(,)? }) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                exports: { default: async },
                additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
                with: { $($iface: super::$path,)* },
            });
        }
    };
}

role_world!(erp_world, "erp-connector", {
    "ferry:plugin/types@0.1.0" => types,
    "ferry:plugin/http@0.1.0" => http,
    "ferry:plugin/log@0.1.0" => log,
    "ferry:plugin/config@0.1.0" => config,
});
role_world!(quoting_world, "quoting-connector", {
    "ferry:plugin/types@0.1.0" => types,
    "ferry:plugin/http@0.1.0" => http,
    "ferry:plugin/sql@0.1.0" => sql,
    "ferry:plugin/log@0.1.0" => log,
    "ferry:plugin/config@0.1.0" => config,
    "ferry:plugin/secrets@0.1.0" => secrets,
});
role_world!(transform_world, "transform", {
    "ferry:plugin/types@0.1.0" => types,
    "ferry:plugin/log@0.1.0" => log,
    "ferry:plugin/config@0.1.0" => config,
});

pub use erp_world::ErpConnector;
pub use erp_world::exports::ferry::plugin::erp;
pub use quoting_world::QuotingConnector;
pub use quoting_world::exports::ferry::plugin::quoting;
pub use transform_world::Transform;
pub use transform_world::exports::ferry::plugin::mapping;
