//! The connector's settings, read from the tenant's plugin settings (README "Connectors"). A
//! value that is set but not understood is a fatal error naming the setting: a typo never
//! falls back to the default unnoticed.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use ferry_pdk::Error;

use super::Api;

/// A setting's value; unset or blank is `None`.
pub(crate) fn setting(key: &str) -> Option<String> {
    ferry_pdk::config::get(key).filter(|v| !v.trim().is_empty())
}

/// A whole-number setting: unset is `default`; set, it must be a number within `allowed`.
pub(crate) fn number_setting<T>(
    key: &str,
    default: T,
    allowed: RangeInclusive<T>,
) -> Result<T, Error>
where
    T: FromStr + PartialOrd + Display,
{
    let Some(v) = setting(key) else {
        return Ok(default);
    };
    v.trim()
        .parse::<T>()
        .ok()
        .filter(|n| allowed.contains(n))
        .ok_or_else(|| {
            Error::fatal(format!(
                "setting {key} = '{v}': a whole number in {}..={}",
                allowed.start(),
                allowed.end()
            ))
        })
}

/// An on/off setting: unset is `default`; set, it must be `true` or `false` (any case).
pub(crate) fn switch(key: &str, default: bool) -> Result<bool, Error> {
    let Some(v) = setting(key) else {
        return Ok(default);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::fatal(format!(
            "setting {key} = '{v}': use \"true\" or \"false\""
        ))),
    }
}

/// The connector's settings (from the tenant's plugin settings; see README "Connectors").
#[derive(Debug, Clone)]
pub struct Settings {
    pub connection: String,
    pub api: Api,
    /// Path of the MI REST service below the connection's base URL (`{iu}/{ti}/` for ION API).
    pub base_path: String,
    pub cono: Option<String>,
    pub divi: Option<String>,
    pub page_size: u32,
    /// Send an order's lines in one bulk POST instead of one AddBatchLine GET each.
    pub bulk_orders: bool,
    /// Transactions per bulk POST for the catalog's batched prices and stock (setting
    /// `bulk_size`, 1..=1000, default 500).
    pub bulk_size: usize,
}

impl Settings {
    pub fn load() -> Result<Self, Error> {
        let api = match setting("api").as_deref().map(str::trim) {
            None | Some("v2") => Api::V2,
            Some("v1") => Api::V1,
            Some(other) => {
                return Err(Error::fatal(format!(
                    "setting api = '{other}': use \"v1\" or \"v2\""
                )));
            }
        };
        let page_size = number_setting("page_size", 100, 1..=10_000)?;
        let bulk_orders = match setting("order_entry").as_deref().map(str::trim) {
            None | Some("batch") => false,
            Some("bulk") => true,
            Some(other) => {
                return Err(Error::fatal(format!(
                    "setting order_entry = '{other}': use \"batch\" or \"bulk\""
                )));
            }
        };
        let bulk_size = number_setting("bulk_size", 500, 1..=1000)?;
        if bulk_orders && api == Api::V1 {
            return Err(Error::fatal(
                "order_entry = \"bulk\" needs api = \"v2\" (bulk POST is a v2 endpoint)",
            ));
        }
        Ok(Self {
            connection: setting("connection").unwrap_or_else(|| "m3".into()),
            api,
            base_path: setting("base_path")
                .unwrap_or_else(|| "M3/m3api-rest".into())
                .trim_matches('/')
                .to_string(),
            cono: setting("cono"),
            divi: setting("divi"),
            page_size,
            bulk_orders,
            bulk_size,
        })
    }
}
