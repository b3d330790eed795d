//! The connector's settings (tables, columns, statuses, product database), checked to be
//! plain names before they reach SQL.

use ferry_pdk::Error;

pub(crate) fn setting(key: &str, default: &str) -> String {
    ferry_pdk::config::get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A table or column name from settings: letters, digits and `_` only.
pub(crate) fn ident(setting_name: &str, value: &str) -> Result<String, Error> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::fatal(format!(
            "setting {setting_name} = '{value}' is not a plain table or column name"
        )))
    }
}

pub(crate) struct Settings {
    pub(crate) doc_type: String,
    pub(crate) ready_status: String,
    pub(crate) transferred_status: String,
    pub(crate) order_number_field: String,
    /// Header columns for the ERP's invoice number and date (`set-invoice`).
    pub(crate) invoice_number_field: String,
    pub(crate) invoice_date_field: String,
    pub(crate) product_table: String,
    pub(crate) product_key: String,
    pub(crate) percent_discounts: bool,
    pub(crate) tax_item_types: Vec<String>,
    pub(crate) customer_key: String,
    pub(crate) customer_number_field: Option<String>,
}

impl Settings {
    pub(crate) fn load() -> Result<Self, Error> {
        let product_table =
            match ferry_pdk::config::get("product_table").filter(|v| !v.trim().is_empty()) {
                Some(t) => ident("product_table", t.trim())?,
                None => format!(
                    "{}_Products",
                    ident("product_db", &setting("product_db", "M3"))?
                ),
            };
        let percent_discounts = match setting("discount_mode", "percent").as_str() {
            "percent" => true,
            "amount" => false,
            other => {
                return Err(Error::fatal(format!(
                    "setting discount_mode = '{other}': use \"percent\" or \"amount\""
                )));
            }
        };
        Ok(Self {
            doc_type: setting("doc_type", "QUOTE"),
            ready_status: setting("ready_status", "Approved"),
            transferred_status: setting("transferred_status", "Transferred to ERP"),
            order_number_field: ident(
                "order_number_field",
                &setting("order_number_field", "CustomText24"),
            )?,
            invoice_number_field: ident(
                "invoice_number_field",
                &setting("invoice_number_field", "CustomText23"),
            )?,
            invoice_date_field: ident(
                "invoice_date_field",
                &setting("invoice_date_field", "CustomDate05"),
            )?,
            product_table,
            product_key: ident(
                "product_key",
                &setting("product_key", "ManufacturerPartNumber"),
            )?,
            percent_discounts,
            tax_item_types: setting("tax_item_types", "TAX")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            customer_key: ident(
                "customer_key",
                &setting("customer_key", "SoldToCMAccountNo"),
            )?,
            customer_number_field: match ferry_pdk::config::get("customer_number_field")
                .filter(|v| !v.trim().is_empty())
            {
                Some(f) => Some(ident("customer_number_field", f.trim())?),
                None => None,
            },
        })
    }
}
