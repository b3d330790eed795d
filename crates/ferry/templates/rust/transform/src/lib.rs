//! {{name}}: a Ferry transform. It maps an approved QuoteWerks quote to an M3 sales order
//! (kind `quote-to-order`); every other kind a flow asks for (`quote-to-customer`,
//! `item-to-product`, ...) is left to Ferry's default mappings, because `describe` names only
//! this one.
//!
//! Change `map_quote` to the customer's rules; the unit tests below and the fixtures in
//! `fixtures/` (`ferry plugin test`) say what it must do.
//!
//! Settings (the tenant's `[tenants.T.plugins.transform] settings`): `order_type` (default
//! `A01`), `warehouse` (default `100`).

wit_bindgen::generate!({
    world: "plugin",
    path: "wit/transform",
    with: {
        "ferry:types/types@{{types_version}}": ferry_pdk::types,
        "ferry:host/log@{{host_version}}": ferry_pdk::log,
        "ferry:host/config@{{host_version}}": ferry_pdk::config,
    },
});

use exports::ferry::transform::transform::{Context, FieldUsage, Guest, Issue, Mapped, Severity};
use ferry_pdk::{Decimal, Document, DocumentBuilder, FieldsExt, Line, LineBuilder, Value};
use rust_decimal::RoundingStrategy;

const KIND: &str = "quote-to-order";

struct Plugin;

fn issue(field: &str, line: Option<u32>, message: impl Into<String>) -> Issue {
    Issue {
        severity: Severity::Error,
        rule: Some("{{name}}".to_string()),
        field: field.to_string(),
        line,
        message: message.into(),
    }
}

/// A setting from the call's context (the host passes the tenant's settings there).
fn setting(context: &Context, key: &str, default: &str) -> String {
    context
        .settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| default.to_string())
}

fn integer(line: &Line, name: &str) -> i64 {
    match line.get(name) {
        Some(Value::Integer(i)) => *i,
        Some(Value::Text(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Selected product rows: QuoteWerks' comments, headings and unselected options are not ordered.
fn is_ordered(line: &Line) -> bool {
    let attrs = integer(line, "LineAttributes");
    integer(line, "LineType") == 1 && attrs & 1 == 0 && (attrs & 16 == 0 || attrs & 256 != 0)
}

/// The quote as an M3 order: the head (customer, reference, order type, warehouse) and one
/// line per ordered row, prices rounded half-up to cents. Every problem is reported at once.
fn map_quote(input: &Document, context: &Context) -> Result<Document, Vec<Issue>> {
    let mut issues = Vec::new();
    let reference = input.text("DocNo").unwrap_or_default();
    if reference.trim().is_empty() {
        issues.push(issue("CUOR", None, "the quote has no DocNo"));
    }
    let customer = context
        .ids
        .iter()
        .find(|(k, _)| k == "customer")
        .map(|(_, v)| v.clone())
        .or_else(|| input.text("SoldToCMAccountNo"))
        .unwrap_or_default();
    if customer.trim().is_empty() {
        issues.push(issue("CUNO", None, "no customer was resolved"));
    }
    let mut order = DocumentBuilder::new("order")
        .id(reference.clone())
        .text("CUNO", customer)
        .text("CUOR", reference)
        .text("ORTP", setting(context, "order_type", "A01"))
        .text("WHLO", setting(context, "warehouse", "100"));
    for (i, line) in input.lines.iter().enumerate() {
        if !is_ordered(line) {
            continue;
        }
        let at = Some(i as u32);
        let (qty, price) = match (line.decimal("QtyTotal"), line.decimal("UnitPrice")) {
            (Ok(q), Ok(p)) => (q.unwrap_or_default(), p.unwrap_or_default()),
            _ => {
                issues.push(issue("ORQT", at, "the quantity or price is not a number"));
                continue;
            }
        };
        if qty <= Decimal::ZERO {
            issues.push(issue("ORQT", at, "the quantity must be more than 0"));
            continue;
        }
        let price = price.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        order = order.line(
            LineBuilder::new()
                .text(
                    "ITNO",
                    line.text("ManufacturerPartNumber").unwrap_or_default(),
                )
                .decimal("ORQT", qty)
                .decimal("SAPR", price)
                .build(),
        );
    }
    if issues.is_empty() {
        Ok(order.build())
    } else {
        Err(issues)
    }
}

impl Guest for Plugin {
    fn map_document(kind: String, input: Document, context: Context) -> Result<Mapped, Vec<Issue>> {
        if kind != KIND {
            return Err(vec![issue(
                "kind",
                None,
                format!("{{name}} maps {KIND}, not '{kind}'"),
            )]);
        }
        let document = map_quote(&input, &context)?;
        ferry_pdk::info!(
            "mapped quote {} to {} order line(s)",
            document.id.clone().unwrap_or_default(),
            document.lines.len()
        );
        Ok(Mapped {
            document,
            warnings: Vec::new(),
        })
    }

    fn describe() -> Vec<FieldUsage> {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        vec![FieldUsage {
            kind: KIND.to_string(),
            reads: names(&[
                "DocNo",
                "SoldToCMAccountNo",
                "lines.LineType",
                "lines.LineAttributes",
                "lines.ManufacturerPartNumber",
                "lines.QtyTotal",
                "lines.UnitPrice",
            ]),
            writes: names(&[
                "CUNO",
                "CUOR",
                "ORTP",
                "WHLO",
                "lines.ITNO",
                "lines.ORQT",
                "lines.SAPR",
            ]),
        }]
    }
}

export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(lines: Vec<Line>) -> Document {
        let mut quote = DocumentBuilder::new("quote")
            .id("17")
            .text("DocNo", "Q1001")
            .text("SoldToCMAccountNo", "C100");
        for line in lines {
            quote = quote.line(line);
        }
        quote.build()
    }

    fn row(part: &str, qty: &str, price: &str) -> Line {
        LineBuilder::new()
            .integer("LineType", 1)
            .integer("LineAttributes", 0)
            .text("ManufacturerPartNumber", part)
            .value("QtyTotal", Value::Decimal(qty.into()))
            .value("UnitPrice", Value::Decimal(price.into()))
            .build()
    }

    fn context() -> Context {
        Context {
            tenant: "test".into(),
            settings: vec![("warehouse".into(), "200".into())],
            ids: vec![("customer".into(), "M3-C100".into())],
        }
    }

    #[test]
    fn a_quote_becomes_an_order_with_prices_in_cents() {
        let order = map_quote(&quote(vec![row("ABC-100", "2", "10.005")]), &context()).unwrap();
        assert_eq!(order.text("CUNO").as_deref(), Some("M3-C100"));
        assert_eq!(order.text("CUOR").as_deref(), Some("Q1001"));
        assert_eq!(order.text("WHLO").as_deref(), Some("200"));
        assert_eq!(order.lines.len(), 1);
        assert_eq!(order.lines[0].text("SAPR").as_deref(), Some("10.01"));
    }

    #[test]
    fn a_zero_quantity_is_refused_naming_the_line() {
        let issues = map_quote(&quote(vec![row("ABC-100", "0", "1")]), &context()).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(
            (issues[0].field.as_str(), issues[0].line),
            ("ORQT", Some(0))
        );
    }
}
