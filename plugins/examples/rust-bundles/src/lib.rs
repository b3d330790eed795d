//! Example per-customer transform in Rust, on the pdk: QuoteWerks quote -> M3 order, where a
//! customer sells *bundles* that M3 knows only as their components.
//!
//! What a mapping file can't do: one quote line becomes several order lines, and the bundle's
//! price is split over them so the order total equals the quote total to the cent.
//!
//! Settings (plugin configuration):
//! - `bundles`: one bundle per line (or `;`-separated): `SKU: PART xQTY SHARE%, PART xQTY SHARE%`,
//!   e.g. `KIT-100: ABC-100 x2 60%, DEF-200 x1 40%`. Shares must add up to 100.
//! - `warehouse` (default `100`), `order_type` (default `A01`): also read from the host context.
//!
//! Kind `quote-to-order`; lines other than selected product rows are skipped as in the default
//! mapping.

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
use ferry_pdk::{Decimal, Document, DocumentBuilder, FieldsExt, Line, LineBuilder, Value};
use rust_decimal::RoundingStrategy;

struct Bundles;

/// One component of a bundle: part, quantity per bundle, share of the bundle's price (percent).
#[derive(Debug, Clone, PartialEq)]
struct Component {
    part: String,
    qty: Decimal,
    share: Decimal,
}

fn issue(field: &str, line: Option<u32>, message: impl Into<String>) -> Issue {
    Issue {
        severity: Severity::Error,
        rule: Some("example-bundles".to_string()),
        field: field.to_string(),
        line,
        message: message.into(),
    }
}

/// Parses the `bundles` setting.
fn parse_bundles(text: &str) -> Result<Vec<(String, Vec<Component>)>, String> {
    let mut out = Vec::new();
    for entry in text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (sku, parts) = entry
            .split_once(':')
            .ok_or_else(|| format!("bundles: '{entry}' needs 'SKU: PART xQTY SHARE%, ...'"))?;
        let mut components = Vec::new();
        for part in parts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let [name, qty, share] = words[..] else {
                return Err(format!("bundles: '{part}' needs 'PART xQTY SHARE%'"));
            };
            let qty = qty
                .strip_prefix('x')
                .and_then(|q| q.parse::<Decimal>().ok())
                .filter(|q| *q > Decimal::ZERO)
                .ok_or_else(|| format!("bundles: '{qty}' in '{part}' is not a quantity like x2"))?;
            let share = share
                .strip_suffix('%')
                .and_then(|s| s.parse::<Decimal>().ok())
                .filter(|s| *s >= Decimal::ZERO)
                .ok_or_else(|| format!("bundles: '{share}' in '{part}' is not a share like 40%"))?;
            components.push(Component {
                part: name.to_string(),
                qty,
                share,
            });
        }
        let total: Decimal = components.iter().map(|c| c.share).sum();
        if components.is_empty() || total != Decimal::ONE_HUNDRED {
            return Err(format!(
                "bundles: the shares of {} add up to {total}%, not 100%",
                sku.trim()
            ));
        }
        out.push((sku.trim().to_string(), components));
    }
    Ok(out)
}

fn setting(context: &Context, key: &str, default: &str) -> String {
    context
        .settings
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .or_else(|| ferry_pdk::config::get(key))
        .unwrap_or_else(|| default.to_string())
}

fn flag(line: &Line, name: &str) -> i64 {
    match line.get(name) {
        Some(Value::Integer(i)) => *i,
        Some(Value::Text(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Selected product rows (LineType 1, not excluded, not an unselected option).
fn is_ordered(line: &Line) -> bool {
    let attrs = flag(line, "LineAttributes");
    flag(line, "LineType") == 1 && attrs & 1 == 0 && (attrs & 16 == 0 || attrs & 256 != 0)
}

fn decimal(line: &Line, name: &str, index: u32) -> Result<Option<Decimal>, Issue> {
    line.decimal(name).map_err(|e| {
        let message = match e {
            ferry_pdk::Error::Invalid(f) => {
                f.into_iter().next().map(|f| f.message).unwrap_or_default()
            }
            other => format!("{other:?}"),
        };
        issue(name, Some(index), message)
    })
}

fn order_line(part: &str, qty: Decimal, price: Decimal, discount: Decimal, text: &str) -> Line {
    let mut line = LineBuilder::new()
        .text("ITNO", part)
        .decimal("ORQT", qty)
        .decimal("SAPR", price);
    if discount > Decimal::ZERO {
        line = line.decimal("DIA1", discount);
    }
    line.text("ITDS", text.chars().take(30).collect::<String>())
        .build()
}

/// Splits `total` over the components by share: each share rounded to cents, the last one
/// taking the remainder, so the parts add up to `total` exactly. Each component line gets a
/// unit price (4 decimals, rounded up) and a discount amount that brings M3's line amount
/// (price x quantity, to cents, minus discount) to its share exactly.
fn explode(
    components: &[Component],
    bundle_qty: Decimal,
    total: Decimal,
    description: &str,
) -> Vec<Line> {
    let mut lines = Vec::with_capacity(components.len());
    let mut allocated = Decimal::ZERO;
    for (i, c) in components.iter().enumerate() {
        let amount = if i + 1 == components.len() {
            total - allocated
        } else {
            (total * c.share / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        };
        allocated += amount;
        let qty = bundle_qty * c.qty;
        let price = (amount / qty).round_dp_with_strategy(4, RoundingStrategy::AwayFromZero);
        let gross = (price * qty).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        lines.push(order_line(
            &c.part,
            qty,
            price,
            gross - amount,
            &format!("{} (of {description})", c.part),
        ));
    }
    lines
}

impl Guest for Bundles {
    fn map_document(kind: String, input: Document, context: Context) -> Result<Mapped, Vec<Issue>> {
        if kind != "quote-to-order" {
            return Err(vec![issue(
                "kind",
                None,
                format!("example-bundles maps quote-to-order, not '{kind}'"),
            )]);
        }
        let bundles = parse_bundles(&ferry_pdk::config::get("bundles").unwrap_or_default())
            .map_err(|m| vec![issue("bundles", None, m)])?;
        let doc_no = input
            .require_text("DocNo")
            .map_err(|_| vec![issue("CUOR", None, "DocNo is required")])?;
        let customer = context
            .ids
            .iter()
            .find(|(k, _)| k == "customer")
            .map(|(_, v)| v.clone())
            .or_else(|| input.text("SoldToCMAccountNo"))
            .ok_or_else(|| vec![issue("CUNO", None, "no customer was resolved")])?;
        let date = input.text("DocDate").unwrap_or_default().replace('-', "");

        let mut order = DocumentBuilder::new("order")
            .id(doc_no.clone())
            .text("CUNO", customer)
            .text("CUOR", doc_no)
            .text("ORTP", setting(&context, "order_type", "A01"))
            .text("WHLO", setting(&context, "warehouse", "100"))
            .text("RLDT", date);
        let mut errors = Vec::new();
        let mut exploded = 0;
        for (i, line) in input.lines.iter().enumerate() {
            let index = i as u32;
            if !is_ordered(line) {
                continue;
            }
            let part = line.text("ManufacturerPartNumber").unwrap_or_default();
            let description = line.text("Description").unwrap_or_default();
            let qty = match decimal(line, "QtyTotal", index) {
                Ok(Some(q)) if q > Decimal::ZERO => q,
                Ok(_) => {
                    errors.push(issue(
                        "ORQT",
                        Some(index),
                        "the quantity must be more than 0",
                    ));
                    continue;
                }
                Err(e) => {
                    errors.push(Issue {
                        field: "ORQT".to_string(),
                        ..e
                    });
                    continue;
                }
            };
            let price = match decimal(line, "UnitPrice", index) {
                Ok(p) => p.unwrap_or_default(),
                Err(e) => {
                    errors.push(Issue {
                        field: "SAPR".to_string(),
                        ..e
                    });
                    continue;
                }
            };
            match bundles.iter().find(|(sku, _)| *sku == part) {
                Some((_, components)) => {
                    exploded += 1;
                    let total = (qty * price)
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    for l in explode(components, qty, total, &part) {
                        order = order.line(l);
                    }
                }
                None => {
                    order = order.line(order_line(&part, qty, price, Decimal::ZERO, &description));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if exploded > 0 {
            ferry_pdk::info!("exploded {exploded} bundle line(s)");
        }
        Ok(Mapped {
            document: order.build(),
            warnings: Vec::new(),
        })
    }

    fn describe() -> Vec<FieldUsage> {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        vec![FieldUsage {
            kind: "quote-to-order".to_string(),
            reads: s(&[
                "DocNo",
                "DocDate",
                "SoldToCMAccountNo",
                "lines.LineType",
                "lines.LineAttributes",
                "lines.ManufacturerPartNumber",
                "lines.Description",
                "lines.QtyTotal",
                "lines.UnitPrice",
            ]),
            writes: s(&[
                "CUNO",
                "CUOR",
                "ORTP",
                "WHLO",
                "RLDT",
                "lines.ITNO",
                "lines.ORQT",
                "lines.SAPR",
                "lines.DIA1",
                "lines.ITDS",
            ]),
        }]
    }
}

export!(Bundles);
