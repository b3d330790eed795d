//! Pricing the way QuoteWerks does it: product database prices, PriceModifier codes, group
//! multipliers, % discount and charge lines, subtotals and the document's totals (the rules
//! are in the module's doc).

use super::*;
use rusqlite::{Connection, OptionalExtension};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::quotewerks::schema::{self, attr, line_type};

/// Apply a PriceModifier: `D50\5` = 50 % then 5 % off list; `P20` = 20 % margin on cost;
/// `R<x>` rounds up to a multiple of x. Other codes leave the price alone (grammar UNVERIFIED).
pub fn apply_price_modifier(code: &str, list: Decimal, cost: Decimal, price: Decimal) -> Decimal {
    let code = code.trim();
    let (body, round) = match code.find('R') {
        Some(i) => (&code[..i], code[i + 1..].parse::<Decimal>().ok()),
        None => (code, None),
    };
    let mut out = price;
    if let Some(d) = body.strip_prefix('D') {
        out = list;
        for step in d.split('\\') {
            if let Ok(p) = step.trim().parse::<Decimal>() {
                out = out * (Decimal::ONE_HUNDRED - p) / Decimal::ONE_HUNDRED;
            }
        }
    } else if let Some(p) = body
        .strip_prefix('P')
        .and_then(|p| p.trim().parse::<Decimal>().ok())
        && p < Decimal::ONE_HUNDRED
    {
        out = cost * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED - p);
    }
    match round {
        Some(step) if step > Decimal::ZERO => {
            (out / step).round_dp_with_strategy(0, RoundingStrategy::AwayFromZero) * step
        }
        _ => out.round_dp(2),
    }
}

pub(super) struct Product {
    description: String,
    price: Decimal,
    cost: Decimal,
    list: Decimal,
    manufacturer: String,
    unit: String,
}

pub(super) fn product(
    conn: &Connection,
    table: &str,
    mpn: &str,
) -> rusqlite::Result<Option<Product>> {
    conn.query_row(
        &format!(
            "SELECT Description, Price, Cost, List, Manufacturer, UnitOfPricing FROM [{table}] WHERE ManufacturerPartNumber = ?1"
        ),
        [mpn],
        |r| {
            let d = |i: usize| r.get::<_, String>(i).map(|s| s.parse::<Decimal>().unwrap_or_default());
            Ok(Product {
                description: r.get(0)?,
                price: d(1)?,
                cost: d(2)?,
                list: d(3)?,
                manufacturer: r.get(4)?,
                unit: r.get(5)?,
            })
        },
    )
    .optional()
}

pub(super) struct Priced {
    pub(super) row: Vec<(String, String)>,
    pub(super) ext: Decimal,
    pub(super) taxable: bool,
    pub(super) counted: bool,
}

pub(super) fn allowed_custom(name: &str, allowed: &[String]) -> bool {
    name.starts_with("Custom") && allowed.iter().any(|c| c == name)
}

pub(super) fn price_line(
    conn: &Connection,
    table: &str,
    l: &NewLine,
    group_qty: Option<Decimal>,
) -> rusqlite::Result<(Vec<(String, String)>, Decimal)> {
    let p = if l.mpn.is_empty() {
        None
    } else {
        product(conn, table, &l.mpn)?
    };
    let (list, cost, base_price) = p
        .as_ref()
        .map(|p| (p.list, p.cost, p.price))
        .unwrap_or_default();
    let unit = match l.unit_price {
        Some(u) => u,
        None if !l.price_modifier.is_empty() => {
            apply_price_modifier(&l.price_modifier, list, cost, base_price)
        }
        None => base_price,
    };
    let ext = (unit * l.qty).round_dp(2);
    let description = if l.description.is_empty() {
        p.as_ref()
            .map(|p| p.description.clone())
            .unwrap_or_default()
    } else {
        l.description.clone()
    };
    let mut attributes = l.attributes;
    if group_qty.is_some() {
        attributes |= attr::GROUP_MEMBER;
    }
    let row = vec![
        ("LineType".into(), l.line_type.to_string()),
        ("LineAttributes".into(), attributes.to_string()),
        ("ItemType".into(), l.item_type.clone()),
        ("ManufacturerPartNumber".into(), l.mpn.clone()),
        (
            "VendorPartNumber".into(),
            if l.mpn.is_empty() {
                String::new()
            } else {
                format!("V-{}", l.mpn)
            },
        ),
        ("Description".into(), description),
        (
            "Manufacturer".into(),
            p.as_ref()
                .map(|p| p.manufacturer.clone())
                .unwrap_or_default(),
        ),
        (
            "Vendor".into(),
            if p.is_some() {
                "M3 Distribution".into()
            } else {
                String::new()
            },
        ),
        ("QtyBase".into(), l.qty.to_string()),
        ("QtyMultiplier1".into(), "1".into()),
        ("QtyTotal".into(), l.qty.to_string()),
        (
            "QtyGroupMultiplier".into(),
            group_qty.unwrap_or(Decimal::ONE).to_string(),
        ),
        (
            "UnitOfMeasure".into(),
            p.as_ref()
                .map(|p| p.unit.clone())
                .unwrap_or_else(|| "EA".into()),
        ),
        (
            "UnitOfPricing".into(),
            p.as_ref()
                .map(|p| p.unit.clone())
                .unwrap_or_else(|| "EA".into()),
        ),
        ("UnitOfPricingFactor".into(), "1".into()),
        ("UnitPrice".into(), unit.to_string()),
        ("UnitCost".into(), cost.to_string()),
        ("UnitList".into(), list.to_string()),
        ("ExtendedPrice".into(), ext.to_string()),
        (
            "ExtendedCost".into(),
            (cost * l.qty).round_dp(2).to_string(),
        ),
        (
            "ExtendedList".into(),
            (list * l.qty).round_dp(2).to_string(),
        ),
        ("PriceModifier".into(), l.price_modifier.clone()),
        (
            "TaxCode".into(),
            if l.taxable.unwrap_or(true) {
                "Y".into()
            } else {
                "N".into()
            },
        ),
    ];
    Ok((row, ext))
}

/// Price every line and compute totals; returns rows in document order.
pub(super) fn price_document(
    conn: &Connection,
    table: &str,
    lines: &[NewLine],
) -> rusqlite::Result<Vec<Priced>> {
    let item_cols = schema::item_columns();
    let mut out: Vec<Priced> = Vec::new();
    let mut since_subtotal = Decimal::ZERO;
    let mut running = Decimal::ZERO;
    let mut above = Decimal::ZERO;
    let with_custom = |mut row: Vec<(String, String)>, l: &NewLine| {
        for (k, v) in &l.custom {
            if allowed_custom(k, &item_cols) {
                row.push((k.clone(), v.clone()));
            }
        }
        row
    };
    for l in lines {
        match l.line_type {
            line_type::PRODUCT => {
                let (row, ext) = price_line(conn, table, l, None)?;
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                    above = ext;
                }
                out.push(Priced {
                    row: with_custom(row, l),
                    ext,
                    taxable: l.taxable.unwrap_or(true),
                    counted,
                });
            }
            line_type::GROUP_HEADER => {
                let mut members = Vec::new();
                let mut unit = Decimal::ZERO;
                for m in &l.members {
                    let (row, ext) = price_line(conn, table, m, Some(l.qty))?;
                    if m.counts() {
                        unit += ext;
                    }
                    members.push(Priced {
                        row: with_custom(row, m),
                        ext,
                        taxable: false,
                        counted: false,
                    });
                }
                let ext = (unit * l.qty).round_dp(2);
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                    above = ext;
                }
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("ItemType".into(), l.item_type.clone()),
                    ("ManufacturerPartNumber".into(), l.mpn.clone()),
                    ("Description".into(), l.description.clone()),
                    ("QtyBase".into(), l.qty.to_string()),
                    ("QtyMultiplier1".into(), "1".into()),
                    ("QtyTotal".into(), l.qty.to_string()),
                    ("QtyGroupMultiplier".into(), "1".into()),
                    ("UnitPrice".into(), unit.to_string()),
                    ("ExtendedPrice".into(), ext.to_string()),
                    ("PriceModifier".into(), l.price_modifier.clone()),
                    ("TaxCode".into(), "Y".into()),
                ];
                out.push(Priced {
                    row: with_custom(row, l),
                    ext,
                    taxable: true,
                    counted,
                });
                out.extend(members);
            }
            line_type::SUBTOTAL | line_type::RUNNING_SUBTOTAL => {
                let amount = if l.line_type == line_type::SUBTOTAL {
                    since_subtotal
                } else {
                    running
                };
                if l.line_type == line_type::SUBTOTAL {
                    since_subtotal = Decimal::ZERO;
                }
                above = amount;
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("Description".into(), l.description.clone()),
                    ("UnitPrice".into(), amount.to_string()),
                    ("ExtendedPrice".into(), amount.to_string()),
                ];
                out.push(Priced {
                    row,
                    ext: amount,
                    taxable: false,
                    counted: false,
                });
            }
            line_type::PERCENT_DISCOUNT | line_type::PERCENT_CHARGE => {
                let pct = l.percent.unwrap_or_default();
                let sign = if l.line_type == line_type::PERCENT_DISCOUNT {
                    -Decimal::ONE
                } else {
                    Decimal::ONE
                };
                let ext = (sign * above * pct / Decimal::ONE_HUNDRED).round_dp(2);
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                }
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    (
                        "ItemType".into(),
                        if sign.is_sign_negative() {
                            "Discount".into()
                        } else {
                            "Charge".into()
                        },
                    ),
                    ("Description".into(), l.description.clone()),
                    ("QtyBase".into(), "1".into()),
                    ("QtyTotal".into(), "1".into()),
                    ("QtyGroupMultiplier".into(), "1".into()),
                    ("UnitPrice".into(), ext.to_string()),
                    ("ExtendedPrice".into(), ext.to_string()),
                    (
                        "TaxCode".into(),
                        if l.taxable.unwrap_or(true) {
                            "Y".into()
                        } else {
                            "N".into()
                        },
                    ),
                ];
                out.push(Priced {
                    row,
                    ext,
                    taxable: l.taxable.unwrap_or(true),
                    counted,
                });
            }
            _ => {
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("Description".into(), l.description.clone()),
                ];
                out.push(Priced {
                    row: with_custom(row, l),
                    ext: Decimal::ZERO,
                    taxable: false,
                    counted: false,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn price_modifiers() {
        assert_eq!(
            apply_price_modifier("D50\\5", dec!(100), dec!(40), dec!(90)),
            dec!(47.50)
        );
        assert_eq!(
            apply_price_modifier("D10", dec!(19.99), dec!(10), dec!(19.99)),
            dec!(17.99)
        );
        assert_eq!(
            apply_price_modifier("P20R1", dec!(0), dec!(80), dec!(0)),
            dec!(100)
        );
        assert_eq!(
            apply_price_modifier("P20R5", dec!(0), dec!(81), dec!(0)),
            dec!(105)
        );
        assert_eq!(
            apply_price_modifier("X", dec!(1), dec!(1), dec!(7.5)),
            dec!(7.5)
        );
    }
}
