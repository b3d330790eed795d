//! QuoteWerks line semantics → orderable lines (pure; unit-tested natively).
//!
//! - Only product/service lines (LineType 1) become order lines. Comments (2), subtotals (4),
//!   running subtotals (16), headings (256), summaries (512) and group headers (8) do not; TAX
//!   lines (a product line with `ItemType` TAX, as Avalara's connector writes them) do not.
//! - Excluded lines (attribute 1) and unselected options (16 without 256) are skipped; so are
//!   the members of an excluded or unselected group.
//! - A group member's quantity is `QtyTotal × QtyGroupMultiplier` (ExtendedPrice does not carry
//!   the group multiplier).
//! - A `D` PriceModifier (`D10`, `D10\5`) is a discount from list: the line is sent at list
//!   price (`UnitList`) with the combined percentage (10 then 5 = 14.5 %). A group header's `D`
//!   applies to its members too (combined `x + y − xy`, as QuoteLink does).
//! - A % Discount line (64) discounts "the line item above it": a product line, a whole group,
//!   everything since the previous SubTotal, or everything since the top for a Running SubTotal.
//!   Its percentage is read from its description ("5% Discount") or, failing that, from its
//!   amount over the lines it applies to (QuoteWerks' column for it is UNVERIFIED).
//! - % Charge lines (128) are not order lines; their total is reported on the quote.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

pub const PRODUCT: i64 = 1;
pub const SUBTOTAL: i64 = 4;
pub const GROUP_HEADER: i64 = 8;
pub const RUNNING_SUBTOTAL: i64 = 16;
pub const PERCENT_DISCOUNT: i64 = 64;
pub const PERCENT_CHARGE: i64 = 128;

pub const EXCLUDE: i64 = 1;
pub const GROUP_MEMBER: i64 = 8;
pub const OPTION: i64 = 16;
pub const OPTION_SELECTED: i64 = 256;

#[derive(Debug, Clone, Default)]
pub struct RawLine {
    pub line_type: i64,
    pub attributes: i64,
    pub item_type: String,
    pub description: String,
    pub qty_total: Decimal,
    pub qty_group_multiplier: Decimal,
    pub unit_price: Decimal,
    pub unit_list: Decimal,
    pub extended_price: Decimal,
    pub price_modifier: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    /// Index of the source row.
    pub source: usize,
    pub quantity: Decimal,
    /// Gross unit price the discount applies to (list price under a `D` modifier).
    pub gross_unit: Decimal,
    /// Combined discount, percent.
    pub discount_percent: Decimal,
    /// Index of the group header row for a member.
    pub group: Option<usize>,
}

impl OrderLine {
    pub fn net_unit(&self) -> Decimal {
        (self.gross_unit * (Decimal::ONE_HUNDRED - self.discount_percent) / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    }

    pub fn net_amount(&self) -> Decimal {
        (self.net_unit() * self.quantity)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    }

    /// The whole line's discount as an amount (gross × qty − net amount).
    pub fn discount_amount(&self) -> Decimal {
        ((self.gross_unit * self.quantity)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            - self.net_amount())
        .normalize()
    }
}

#[derive(Debug, Default)]
pub struct Lines {
    pub lines: Vec<OrderLine>,
    /// Sum of counted % charge lines' ExtendedPrice.
    pub charges: Decimal,
    /// What could not be applied, for the log.
    pub warnings: Vec<String>,
}

/// `D10` → 10; `D10\5` → 14.5 (combined); anything else none. Rounding suffixes (`R1`) only
/// round the result and are ignored.
pub fn modifier_discount(code: &str) -> Option<Decimal> {
    let code = code.trim();
    let body = code.strip_prefix('D').or_else(|| code.strip_prefix('d'))?;
    let body = body.split(['R', 'r']).next().unwrap_or("");
    let mut remaining = Decimal::ONE;
    let mut any = false;
    for step in body.split('\\') {
        let p = Decimal::from_str(step.trim()).ok()?;
        remaining *= (Decimal::ONE_HUNDRED - p) / Decimal::ONE_HUNDRED;
        any = true;
    }
    any.then(|| ((Decimal::ONE - remaining) * Decimal::ONE_HUNDRED).normalize())
}

pub fn combine(a: Decimal, b: Decimal) -> Decimal {
    let h = Decimal::ONE_HUNDRED;
    ((Decimal::ONE - (h - a) / h * ((h - b) / h)) * h).normalize()
}

/// "5% Discount", "Discount 7.5 %" → the percentage.
fn percent_in(text: &str) -> Option<Decimal> {
    let i = text.find('%')?;
    let before = text[..i].trim_end();
    let start = before
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|p| p + 1)
        .unwrap_or(0);
    Decimal::from_str(&before[start..])
        .ok()
        .filter(|d| *d > Decimal::ZERO)
}

fn counted(attrs: i64) -> bool {
    attrs & EXCLUDE == 0 && !(attrs & OPTION != 0 && attrs & OPTION_SELECTED == 0)
}

/// Orderable lines from a document's rows, in document order.
pub fn order_lines(rows: &[RawLine], tax_item_types: &[String]) -> Lines {
    let mut out = Lines::default();
    // The current group: (header row, counted, header discount).
    let mut group: Option<(usize, bool, Decimal)> = None;
    let mut since_subtotal: Vec<usize> = Vec::new();
    let mut all: Vec<usize> = Vec::new();
    let mut above: Vec<usize> = Vec::new();
    let mut above_is_group = false;

    for (i, row) in rows.iter().enumerate() {
        let member = row.attributes & GROUP_MEMBER != 0;
        if !member && row.line_type != GROUP_HEADER {
            group = None;
        }
        match row.line_type {
            GROUP_HEADER => {
                let d = modifier_discount(&row.price_modifier).unwrap_or_default();
                group = Some((i, counted(row.attributes), d));
                above = Vec::new();
                above_is_group = true;
            }
            PRODUCT => {
                let is_tax = tax_item_types
                    .iter()
                    .any(|t| row.item_type.trim().eq_ignore_ascii_case(t));
                if is_tax || !counted(row.attributes) {
                    continue;
                }
                let (group_row, group_discount) = match (member, group) {
                    (true, Some((g, true, d))) => (Some(g), d),
                    // A member of an excluded or unselected group.
                    (true, Some((_, false, _))) => continue,
                    _ => (None, Decimal::ZERO),
                };
                let multiplier = if member && row.qty_group_multiplier > Decimal::ZERO {
                    row.qty_group_multiplier
                } else {
                    Decimal::ONE
                };
                let (gross, discount) = match modifier_discount(&row.price_modifier) {
                    Some(d) if row.unit_list > Decimal::ZERO => (row.unit_list, d),
                    _ => (row.unit_price, Decimal::ZERO),
                };
                let idx = out.lines.len();
                out.lines.push(OrderLine {
                    source: i,
                    quantity: (row.qty_total * multiplier).normalize(),
                    gross_unit: gross.normalize(),
                    discount_percent: combine(discount, group_discount),
                    group: group_row,
                });
                since_subtotal.push(idx);
                all.push(idx);
                if member && above_is_group {
                    above.push(idx);
                } else {
                    above = vec![idx];
                    above_is_group = false;
                }
            }
            SUBTOTAL => {
                above = std::mem::take(&mut since_subtotal);
                above_is_group = false;
            }
            RUNNING_SUBTOTAL => {
                above = all.clone();
                above_is_group = false;
            }
            PERCENT_DISCOUNT => {
                if !counted(row.attributes) {
                    continue;
                }
                let base: Decimal = above.iter().map(|&j| out.lines[j].net_amount()).sum();
                let pct = percent_in(&row.description).or_else(|| {
                    (!base.is_zero()).then(|| {
                        (row.extended_price.abs() / base.abs() * Decimal::ONE_HUNDRED)
                            .round_dp(4)
                            .normalize()
                    })
                });
                match pct {
                    Some(p) if !above.is_empty() => {
                        for &j in &above {
                            let l = &mut out.lines[j];
                            l.discount_percent = combine(l.discount_percent, p);
                        }
                    }
                    _ => out.warnings.push(format!(
                        "% discount line {} ('{}') has no line above it to apply to",
                        i + 1,
                        row.description
                    )),
                }
            }
            PERCENT_CHARGE if counted(row.attributes) => {
                out.charges += row.extended_price;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn product(qty: &str, price: &str) -> RawLine {
        RawLine {
            line_type: PRODUCT,
            qty_total: d(qty),
            qty_group_multiplier: Decimal::ONE,
            unit_price: d(price),
            unit_list: d(price),
            extended_price: d(qty) * d(price),
            ..RawLine::default()
        }
    }

    fn of(line_type: i64, description: &str) -> RawLine {
        RawLine {
            line_type,
            description: description.into(),
            ..RawLine::default()
        }
    }

    fn tax() -> Vec<String> {
        vec!["TAX".into()]
    }

    #[test]
    fn price_modifiers_combine_their_steps() {
        assert_eq!(modifier_discount("D10"), Some(d("10")));
        assert_eq!(modifier_discount("D10\\5"), Some(d("14.5")));
        assert_eq!(modifier_discount("D50\\5R1"), Some(d("52.5")));
        assert_eq!(modifier_discount("P25R1"), None);
        assert_eq!(modifier_discount(""), None);
    }

    #[test]
    fn comments_headings_subtotals_tax_excluded_and_unselected_options_are_not_ordered() {
        let mut tax_line = product("1", "42.13");
        tax_line.item_type = "TAX".into();
        let mut excluded = product("1", "5");
        excluded.attributes = EXCLUDE;
        let mut unselected = product("1", "6");
        unselected.attributes = OPTION;
        let mut selected = product("2", "7");
        selected.attributes = OPTION | OPTION_SELECTED;
        let rows = vec![
            of(256, "Heading"),
            product("2", "10"),
            of(2, "a comment"),
            excluded,
            unselected,
            selected,
            of(SUBTOTAL, "Subtotal"),
            of(RUNNING_SUBTOTAL, "Running"),
            of(512, "Summary"),
            tax_line,
        ];
        let out = order_lines(&rows, &tax());
        let sources: Vec<usize> = out.lines.iter().map(|l| l.source).collect();
        assert_eq!(sources, vec![1, 5]);
    }

    #[test]
    fn group_members_multiply_by_the_group_quantity_and_skip_with_their_group() {
        let mut m1 = product("2", "10");
        m1.attributes = GROUP_MEMBER;
        m1.qty_group_multiplier = d("3");
        let mut m2 = product("4", "1");
        m2.attributes = GROUP_MEMBER;
        m2.qty_group_multiplier = d("3");
        let mut header = of(GROUP_HEADER, "Kit");
        header.qty_total = d("3");
        let mut dead_header = of(GROUP_HEADER, "Optional kit");
        dead_header.attributes = OPTION;
        let mut m3 = product("1", "9");
        m3.attributes = GROUP_MEMBER;
        m3.qty_group_multiplier = d("2");
        let rows = vec![header, m1, m2, dead_header, m3, product("1", "1")];
        let out = order_lines(&rows, &tax());
        let q: Vec<(usize, Decimal, Option<usize>)> = out
            .lines
            .iter()
            .map(|l| (l.source, l.quantity, l.group))
            .collect();
        assert_eq!(
            q,
            vec![
                (1, d("6"), Some(0)),
                (2, d("12"), Some(0)),
                (5, d("1"), None)
            ]
        );
    }

    #[test]
    fn d_modifiers_send_list_price_with_the_discount() {
        let mut l = product("10", "90");
        l.unit_list = d("100");
        l.price_modifier = "D10".into();
        let mut l2 = product("4", "85.5");
        l2.unit_list = d("100");
        l2.price_modifier = "D10\\5".into();
        let out = order_lines(&[l, l2], &tax());
        assert_eq!(out.lines[0].gross_unit, d("100"));
        assert_eq!(out.lines[0].discount_percent, d("10"));
        assert_eq!(out.lines[0].net_unit(), d("90"));
        assert_eq!(out.lines[1].net_unit(), d("85.5"));
        assert_eq!(out.lines[1].discount_amount(), d("58"));
    }

    #[test]
    fn a_percent_discount_after_a_subtotal_discounts_every_line_it_sums() {
        let mut l = product("10", "90");
        l.unit_list = d("100");
        l.price_modifier = "D10".into();
        let rows = vec![
            l,
            product("1", "50"),
            of(SUBTOTAL, "Subtotal"),
            RawLine {
                extended_price: d("-47.5"),
                ..of(PERCENT_DISCOUNT, "5% Discount")
            },
        ];
        let out = order_lines(&rows, &tax());
        assert_eq!(out.lines[0].discount_percent, d("14.5"));
        assert_eq!(out.lines[1].discount_percent, d("5"));
        assert_eq!(out.lines[1].net_unit(), d("47.5"));
    }

    #[test]
    fn a_percent_discount_applies_to_the_line_or_group_just_above() {
        let mut header = of(GROUP_HEADER, "Kit");
        header.qty_total = d("2");
        let mut m = product("1", "10");
        m.attributes = GROUP_MEMBER;
        m.qty_group_multiplier = d("2");
        let rows = vec![
            product("1", "100"),
            RawLine {
                extended_price: d("-10"),
                // No percentage in the text: read from the amount.
                ..of(PERCENT_DISCOUNT, "Loyalty discount")
            },
            header,
            m,
            of(PERCENT_DISCOUNT, "20% off the kit"),
            of(PERCENT_CHARGE, "2% Fuel"),
        ];
        let out = order_lines(&rows, &tax());
        assert_eq!(out.lines[0].discount_percent, d("10"));
        assert_eq!(out.lines[1].discount_percent, d("20"));
        assert_eq!(out.lines[1].quantity, d("2"));
    }
}
