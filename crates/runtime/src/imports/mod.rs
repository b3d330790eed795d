//! The host side of the contract's imports. Each file implements one interface over the
//! calling tenant's grants; `linker_for` links only what a role's world may import.

mod config;
mod diagnostics;
mod http;
mod log;
mod secrets;
mod sql;

pub(crate) use diagnostics::Details;

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

use super::bindings::imports::ferry::host as iface;
use super::bindings::types;
use super::contract::Role;
use super::engine::RuntimeError;
use super::state::PluginState;

impl types::Host for PluginState {}

/// A linker with WASI (nothing granted), `wasi:logging` and exactly the role's host interfaces.
pub(crate) fn linker_for(engine: &Engine, role: Role) -> Result<Linker<PluginState>, RuntimeError> {
    let link_err = |e: wasmtime::Error| RuntimeError::Link {
        role,
        message: format!("{e:#}"),
    };
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_err)?;
    for name in role.granted_imports() {
        let linked = match *name {
            "ferry:types/types" => {
                types::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/http" => {
                iface::http::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/sql" => {
                iface::sql::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/log" => {
                iface::log::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/config" => {
                iface::config::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/secrets" => {
                iface::secrets::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            "ferry:host/diagnostics" => {
                iface::diagnostics::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            }
            other => Err(wasmtime::Error::msg(format!("unknown interface {other}"))),
        };
        linked.map_err(link_err)?;
    }
    // Every role may log, through `ferry:host/log` or the WASI draft some toolchains emit.
    crate::bindings::wasi_logging::logging::add_to_linker::<_, HasSelf<PluginState>>(
        &mut linker,
        |s| s,
    )
    .map_err(link_err)?;
    Ok(linker)
}
