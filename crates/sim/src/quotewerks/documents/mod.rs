//! Writing and reading QuoteWerks documents: a quote's header and its lines, priced the way
//! QuoteWerks does it (product database price, PriceModifier codes, group multipliers, %
//! discount lines), and totals on the header.
//!
//! Total rules (QuoteWerks' exact arithmetic is UNVERIFIED, these are the sandbox's):
//! - product line: ExtendedPrice = QtyTotal × UnitPrice;
//! - group member: the same, *without* QtyGroupMultiplier (Avalara's note: "Extended price
//!   already takes into account QtyTotal, but not the QtyGroupMultiplier");
//! - group header: UnitPrice = Σ member ExtendedPrice, ExtendedPrice = UnitPrice × group qty;
//! - % discount / % charge: ∓ percent of the line above (product, header or subtotal);
//! - SubTotal sums the counted lines since the previous SubTotal, RunningSubTotal since the top;
//! - excluded lines and unselected options (16 without 256) count for nothing;
//! - document SubTotal = Σ counted lines (headers, not their members); TotalTax = taxable ×
//!   LocalTaxRate; GrandTotal = SubTotal + TotalTax + ShippingAmount.
//!
//! One job a file: this one holds the document model (what a caller builds and reads back);
//! `pricing` prices lines and totals the document; `store` writes and reads the tables.

mod pricing;
mod store;

pub use pricing::apply_price_modifier;
pub use store::{create, find_by_doc_no, header_strings, list, read, set_status};

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{attr, line_type};
use crate::seed::SeedCustomer;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SoldTo {
    pub company: String,
    pub contact: String,
    pub title: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub email: String,
    pub phone: String,
    /// Contact-manager account number (`SoldToCMAccountNo`).
    pub cm_account_no: String,
}

impl SoldTo {
    /// The same company as the M3 simulator's seeded customer.
    pub fn from_seed(c: &SeedCustomer) -> Self {
        Self {
            company: c.name.clone(),
            contact: c.contact_name(),
            title: "Purchasing Manager".into(),
            address1: c.address1.clone(),
            address2: c.address2.clone(),
            city: c.town.clone(),
            state: c.state.clone(),
            postal_code: c.postal_code.clone(),
            country: c.country.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            cm_account_no: format!("CM{:05}", c.index + 1),
        }
    }
}

fn default_status() -> String {
    "1-In Progress".into()
}

fn default_doc_type() -> String {
    "QUOTE".into()
}

/// A document to create (library and `POST /_control/quotes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewQuote {
    pub sold_to: SoldTo,
    /// Ship-to; defaults to the sold-to.
    #[serde(default)]
    pub ship_to: Option<SoldTo>,
    /// Defaults to the next `FRYQ1000`-style number.
    #[serde(default)]
    pub doc_no: Option<String>,
    #[serde(default)]
    pub doc_name: Option<String>,
    #[serde(default = "default_doc_type")]
    pub doc_type: String,
    #[serde(default = "default_status")]
    pub status: String,
    /// yyyy-MM-dd; default today.
    #[serde(default)]
    pub doc_date: Option<String>,
    #[serde(default)]
    pub sales_rep: String,
    #[serde(default)]
    pub po_number: String,
    #[serde(default)]
    pub project_no: Option<String>,
    #[serde(default)]
    pub local_tax_rate: Decimal,
    #[serde(default)]
    pub shipping_amount: Decimal,
    /// Extra header columns, e.g. `{"CustomText01": "1000003"}`.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    pub lines: Vec<NewLine>,
}

fn one_i64() -> i64 {
    line_type::PRODUCT
}

fn dec_one() -> Decimal {
    Decimal::ONE
}

/// A document line. Group headers carry their members.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewLine {
    #[serde(default = "one_i64")]
    pub line_type: i64,
    #[serde(default)]
    pub attributes: i64,
    /// ManufacturerPartNumber = the M3 item number.
    #[serde(default)]
    pub mpn: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "dec_one")]
    pub qty: Decimal,
    /// Explicit unit price; otherwise the product database price after the PriceModifier.
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    #[serde(default)]
    pub price_modifier: String,
    #[serde(default)]
    pub item_type: String,
    /// For % discount / % charge lines.
    #[serde(default)]
    pub percent: Option<Decimal>,
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    #[serde(default)]
    pub members: Vec<NewLine>,
}

impl NewLine {
    fn of(line_type: i64, description: &str) -> Self {
        Self {
            line_type,
            attributes: 0,
            mpn: String::new(),
            description: description.to_string(),
            qty: Decimal::ONE,
            unit_price: None,
            price_modifier: String::new(),
            item_type: String::new(),
            percent: None,
            taxable: None,
            custom: BTreeMap::new(),
            members: Vec::new(),
        }
    }

    pub fn product(mpn: &str, qty: Decimal) -> Self {
        Self {
            mpn: mpn.to_string(),
            qty,
            item_type: "Product".into(),
            ..Self::of(line_type::PRODUCT, "")
        }
    }

    pub fn comment(text: &str) -> Self {
        Self::of(line_type::COMMENT, text)
    }

    pub fn heading(text: &str) -> Self {
        Self::of(line_type::HEADING, text)
    }

    pub fn subtotal() -> Self {
        Self::of(line_type::SUBTOTAL, "Subtotal")
    }

    pub fn running_subtotal() -> Self {
        Self::of(line_type::RUNNING_SUBTOTAL, "Running subtotal")
    }

    pub fn percent_discount(percent: Decimal) -> Self {
        Self {
            percent: Some(percent),
            ..Self::of(line_type::PERCENT_DISCOUNT, &format!("{percent}% Discount"))
        }
    }

    pub fn percent_charge(percent: Decimal, description: &str) -> Self {
        Self {
            percent: Some(percent),
            ..Self::of(line_type::PERCENT_CHARGE, description)
        }
    }

    pub fn group(description: &str, qty: Decimal, members: Vec<NewLine>) -> Self {
        Self {
            qty,
            members,
            item_type: "Bundle".into(),
            ..Self::of(line_type::GROUP_HEADER, description)
        }
    }

    /// A tax line the way Avalara's connector writes it: a product line with ItemType TAX.
    pub fn tax(amount: Decimal) -> Self {
        Self {
            unit_price: Some(amount),
            item_type: "TAX".into(),
            taxable: Some(false),
            custom: BTreeMap::from([("CustomText05".to_string(), "AVATAX".to_string())]),
            ..Self::of(line_type::PRODUCT, "Sales Tax")
        }
    }

    pub fn with_modifier(mut self, code: &str) -> Self {
        self.price_modifier = code.to_string();
        self
    }

    pub fn with_price(mut self, price: Decimal) -> Self {
        self.unit_price = Some(price);
        self
    }

    pub fn optional(mut self, selected: bool) -> Self {
        self.attributes |= attr::OPTION;
        if selected {
            self.attributes |= attr::OPTION_SELECTED;
        }
        self
    }

    pub fn excluded(mut self) -> Self {
        self.attributes |= attr::EXCLUDE;
        self
    }

    fn counts(&self) -> bool {
        let unselected_option =
            self.attributes & attr::OPTION != 0 && self.attributes & attr::OPTION_SELECTED == 0;
        self.attributes & attr::EXCLUDE == 0 && !unselected_option
    }
}

/// A created document: its `ID` and `DocNo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocRef {
    pub id: i64,
    pub doc_no: String,
}

/// A document as JSON: header columns and line columns, exactly as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub header: Map<String, Value>,
    pub items: Vec<Map<String, Value>>,
}

impl Document {
    pub fn text(&self, column: &str) -> String {
        match self.header.get(column) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

/// One line per document, for listings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocSummary {
    pub id: i64,
    pub doc_no: String,
    pub doc_type: String,
    pub status: String,
    pub sold_to_company: String,
    pub grand_total: String,
}
