//! What a tenant decides about the customer sync (`[tenants.T.sync.customers]`): the fields
//! kept in step, how a conflict on each is settled, the schedule.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a conflicting field is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    M3Wins,
    QuotewerksWins,
    /// The side that changed the customer last (M3's change date, the quoting system's
    /// modification time); when that cannot be told, as `review`.
    NewestWins,
    /// Neither side is written for that field; the conflict is recorded for a person.
    Review,
}

/// One of the fields kept in step: Ferry's name for it and each side's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    pub name: String,
    pub m3: String,
    pub quotewerks: String,
}

fn field(name: &str, m3: &str, quotewerks: &str) -> FieldMap {
    FieldMap {
        name: name.into(),
        m3: m3.into(),
        quotewerks: quotewerks.into(),
    }
}

/// What a tenant decides about the customer sync (`[tenants.T.sync.customers]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerPolicy {
    /// Run this often (`"15m"`); none: only when asked.
    pub every: Option<String>,
    pub page_size: u32,
    /// Per field (Ferry's name, e.g. `EMAIL`): how a conflict on it is settled.
    pub conflicts: BTreeMap<String, Resolution>,
    /// For the fields not in `conflicts`.
    pub default: Resolution,
    /// The fields kept in step (defaults: M3 CRS610MI names, QuoteWerks Sold-to columns).
    pub fields: Vec<FieldMap>,
    /// The QuoteWerks field that carries the M3 customer number (matched on first, written
    /// after a link), if the tenant keeps one.
    pub quotewerks_xref_field: Option<String>,
    /// When each side last changed a customer (for `newest-wins`).
    pub m3_changed_field: String,
    pub quotewerks_changed_field: String,
    /// Create an M3 customer for a QuoteWerks company that matches none.
    pub create_in_m3: bool,
}

impl Default for CustomerPolicy {
    fn default() -> Self {
        Self {
            every: None,
            page_size: 200,
            conflicts: BTreeMap::new(),
            default: Resolution::M3Wins,
            fields: vec![
                field("NAME", "CUNM", "SoldToCompany"),
                field("CONTACT", "YREF", "SoldToContact"),
                field("EMAIL", "MAIL", "SoldToEmail"),
                field("PHONE", "PHNO", "SoldToPhone"),
                field("ADDRESS1", "CUA1", "SoldToAddress1"),
                field("ADDRESS2", "CUA2", "SoldToAddress2"),
                field("CITY", "TOWN", "SoldToCity"),
                field("STATE", "ECAR", "SoldToState"),
                field("POSTAL_CODE", "PONO", "SoldToPostalCode"),
                field("COUNTRY", "CSCD", "SoldToCountry"),
            ],
            quotewerks_xref_field: None,
            m3_changed_field: "LMDT".into(),
            quotewerks_changed_field: "LastModified".into(),
            create_in_m3: true,
        }
    }
}

impl CustomerPolicy {
    pub fn resolution(&self, field: &str) -> Resolution {
        self.conflicts.get(field).copied().unwrap_or(self.default)
    }

    /// The schedule's interval (`every`).
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        crate::slots::interval(self.every.as_deref())
    }

    /// Refuses a policy naming a field it does not map.
    pub fn check(&self) -> Result<(), String> {
        for name in self.conflicts.keys() {
            if !self.fields.iter().any(|f| f.name == *name) {
                let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(format!(
                    "conflicts names field '{name}', which is not synced (fields: {})",
                    known.join(", ")
                ));
            }
        }
        self.interval().map(|_| ())
    }
}
