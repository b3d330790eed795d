//! Seed data: the product database from the M3 simulator's items (ManufacturerPartNumber =
//! M3 ITNO), the status lookup lists, and quotes for the M3 simulator's customers that together
//! exercise every line type, PriceModifier codes, custom fields, DocNo formats and statuses.

use rusqlite::{Connection, params};
use rust_decimal::Decimal;

use super::documents::{self, NewLine, NewQuote, SoldTo};
use super::schema;
use crate::seed::{self as master, STREAM_QUOTE, SeedRng};

pub const QUOTE_STATUSES: &[&str] = &[
    "1-In Progress",
    "2-Awaiting Manager Approval",
    "3-Manager Approved",
    "4-Presented to Customer",
    "5-Order Created in M3",
    // Statuses a tenant adds so a credit stop in M3 (Ferry's send-and-flag) shows on the quote.
    "5-M3 Credit Review",
    // Statuses a tenant adds so M3's order progress shows on the quote (Ferry's push-back).
    "6-M3 Allocated",
    "7-M3 Picked",
    "8-M3 Delivered",
    "9-M3 Invoiced",
    "Accepted",
    "Lost",
    "Dead",
];
pub const ORDER_STATUSES: &[&str] = &[
    "1-Open",
    "2-Picking",
    "3-Shipped",
    "4-Partially Shipped",
    "5-Invoiced",
    "6-Ready to Invoice",
];
pub const INVOICE_STATUSES: &[&str] = &["Open", "Paid", "Void"];

/// How the QuoteWerks side lines up with the M3 simulator's seed.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub seed: u64,
    pub m3_items: usize,
    pub m3_customers: usize,
    pub quotes: usize,
}

pub fn lookups(conn: &Connection) -> rusqlite::Result<()> {
    for (name, values) in [
        ("TB_DOCSTATUS_QUOTE", QUOTE_STATUSES),
        ("TB_DOCSTATUS_ORDER", ORDER_STATUSES),
        ("TB_DOCSTATUS_INVOICE", INVOICE_STATUSES),
    ] {
        for (i, v) in values.iter().enumerate() {
            conn.execute(
                "INSERT INTO LookupItems (LookupName, LookupMemoValue, SortOrder) VALUES (?1, ?2, ?3)",
                params![name, v, i as i64],
            )?;
        }
    }
    Ok(())
}

/// One product per M3 item. Price = M3 sales price, List = the same (M3 has one base price),
/// Cost = M3 purchase price; Availability = total on-hand, as a stale copy would hold it.
pub fn products(conn: &mut Connection, product_db: &str, plan: &SeedPlan) -> rusqlite::Result<()> {
    let table = schema::product_table(product_db);
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare(&format!(
            "INSERT INTO [{table}] (ManufacturerPartNumber, VendorPartNumber, Description, Price, Cost, List, Category,
               UnitOfPricing, UnitOfPricingFactor, UnitOfMeasureFactor, Availability, TaxCode, Manufacturer, Created,
               LastModified, CustomText01, CustomText02)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7, '1', '1', ?8, 'Y', ?9, '2025-01-01', '2025-12-01', ?10, '')"
        ))?;
        for i in 0..plan.m3_items {
            let it = master::item(plan.seed, i);
            let stock: Decimal = it.stock.iter().copied().sum();
            st.execute(params![
                it.itno,
                format!("V-{}", it.itno),
                it.name,
                it.sales_price.to_string(),
                it.cost_price.to_string(),
                it.item_group,
                it.unit,
                stock.to_string(),
                it.manufacturer,
                it.stat,
            ])?;
        }
    }
    tx.commit()
}

/// Index of a definite (STAT 20) M3 customer near `k`.
fn definite_customer(plan: &SeedPlan, k: usize) -> usize {
    let n = plan.m3_customers.max(1);
    let mut i = k % n;
    for _ in 0..n {
        if master::customer(plan.seed, i).stat == "20" {
            return i;
        }
        i = (i + 1) % n;
    }
    i
}

/// Sellable (STAT 20) M3 item numbers.
fn sellable_items(plan: &SeedPlan) -> Vec<String> {
    (0..plan.m3_items)
        .map(|i| master::item(plan.seed, i))
        .filter(|it| it.stat == "20")
        .map(|it| it.itno)
        .collect()
}

fn qty(n: u64) -> Decimal {
    Decimal::from(n)
}

/// Seeded quote `i`. Seven shapes cycle so that any seed with ≥7 quotes covers every line type.
pub fn quote(plan: &SeedPlan, i: usize) -> NewQuote {
    let mut r = SeedRng::for_record(plan.seed, STREAM_QUOTE, i as u64);
    let items = sellable_items(plan);
    let mut pick = || {
        if items.is_empty() {
            "NOITEMS".to_string()
        } else {
            items[r.below(items.len() as u64) as usize].clone()
        }
    };
    let cust = master::customer(plan.seed, definite_customer(plan, i * 3));
    let mut q = NewQuote {
        sold_to: SoldTo::from_seed(&cust),
        ship_to: None,
        doc_no: Some(format!("FRYQ{}", 1000 + i)),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: Some(format!("2026-01-{:02}", 1 + i % 28)),
        sales_rep: ["JSMITH", "MLOPEZ", "TNGUYEN"][i % 3].into(),
        po_number: format!("PO-{}", 4500 + i),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: Default::default(),
        lines: Vec::new(),
    };
    match i % 7 {
        0 => {
            q.lines = vec![
                NewLine::product(&pick(), qty(2)),
                NewLine::product(&pick(), qty(5)),
                NewLine::comment("Delivery within 5 business days of order confirmation."),
                NewLine::product(&pick(), qty(1)),
            ];
            q.local_tax_rate = Decimal::new(825, 2);
        }
        1 => {
            q.status = "4-Presented to Customer".into();
            q.lines = vec![
                NewLine::heading("Line maintenance kit"),
                NewLine::group(
                    "Maintenance kit (per line)",
                    qty(3),
                    vec![
                        NewLine::product(&pick(), qty(2)),
                        NewLine::product(&pick(), qty(1)),
                        NewLine::product(&pick(), qty(4)),
                    ],
                ),
                NewLine::product(&pick(), qty(1)).optional(false),
                NewLine::product(&pick(), qty(2)).optional(true),
            ];
        }
        2 => {
            q.status = "2-Awaiting Manager Approval".into();
            q.lines = vec![
                NewLine::product(&pick(), qty(10)).with_modifier("D10"),
                NewLine::product(&pick(), qty(4)).with_modifier("D10\\5"),
                NewLine::subtotal(),
                NewLine::percent_discount(Decimal::new(5, 0)),
                NewLine::tax(Decimal::new(4213, 2)),
            ];
        }
        3 => {
            q.status = "4-Presented to Customer".into();
            q.project_no = Some(format!("{}", 7000 + i));
            q.custom.insert("CustomText01".into(), cust.cuno.clone());
            q.custom.insert("CustomText02".into(), "Net 30".into());
            q.custom.insert("CustomNumber01".into(), "0".into());
            q.shipping_amount = Decimal::new(4500, 2);
            q.lines = vec![
                NewLine::product(&pick(), qty(3)).with_modifier("P25R1"),
                NewLine::product(&pick(), qty(1)).excluded(),
                NewLine::running_subtotal(),
                NewLine::percent_charge(Decimal::new(2, 0), "2% Fuel surcharge"),
                NewLine::product(&pick(), qty(6)),
            ];
        }
        4 => {
            // A revision: suffix -01, same project as its parent (quote 3's number + 1).
            q.doc_no = Some(format!("FRYQ{}-01", 1000 + i - 1));
            q.project_no = Some(format!("{}", 7000 + i - 1));
            q.lines = vec![
                NewLine::product(&pick(), qty(12)),
                NewLine::product(&pick(), qty(1)),
            ];
        }
        5 => {
            // A legacy number and a sold-to written by hand: no e-mail, punctuation differs.
            q.doc_no = Some(format!("QW{}", 4836 + i));
            q.status = "4-Presented to Customer".into();
            q.sold_to.company = q
                .sold_to
                .company
                .trim_end_matches('.')
                .replace(" Inc", " Incorporated");
            q.sold_to.email = String::new();
            q.lines = vec![
                NewLine::product(&pick(), qty(1)),
                NewLine::product(&pick(), qty(2)),
            ];
        }
        _ => {
            // A prospect M3 does not know yet: customer index past the M3 seed.
            let prospect = master::customer(plan.seed, plan.m3_customers + 1000 + i);
            q.sold_to = SoldTo::from_seed(&prospect);
            q.sold_to.cm_account_no = String::new();
            q.lines = vec![
                NewLine::product(&pick(), qty(3)),
                NewLine::comment("New account - credit check pending"),
            ];
        }
    }
    q
}

/// Quotes that must fail in M3: an unknown item, a discontinued item, a preliminary customer.
pub fn bad_quotes(plan: &SeedPlan) -> Vec<NewQuote> {
    let good = sellable_items(plan)
        .into_iter()
        .next()
        .unwrap_or_else(|| "NOITEMS".into());
    let base = |n: usize, sold_to: SoldTo, lines: Vec<NewLine>| NewQuote {
        sold_to,
        ship_to: None,
        doc_no: Some(format!("FRYQ{}", 9000 + n)),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: format!("PO-BAD-{n}"),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: Default::default(),
        lines,
    };
    let ok_customer = SoldTo::from_seed(&master::customer(plan.seed, definite_customer(plan, 0)));
    let mut out = vec![base(
        1,
        ok_customer.clone(),
        vec![
            NewLine::product(&good, qty(1)),
            NewLine::product("NOSUCH-ITEM-1", qty(2)).with_price(Decimal::new(1999, 2)),
        ],
    )];
    if let Some(disc) = (0..plan.m3_items)
        .map(|i| master::item(plan.seed, i))
        .find(|it| it.stat == "90")
    {
        out.push(base(
            2,
            ok_customer,
            vec![NewLine::product(&disc.itno, qty(1))],
        ));
    }
    if let Some(pre) = (0..plan.m3_customers)
        .map(|i| master::customer(plan.seed, i))
        .find(|c| c.stat == "10")
    {
        out.push(base(
            3,
            SoldTo::from_seed(&pre),
            vec![NewLine::product(&good, qty(1))],
        ));
    }
    out
}

/// Seed everything once (no-op on an existing database).
pub fn seed_if_empty(
    conn: &mut Connection,
    product_db: &str,
    plan: &SeedPlan,
    bad: bool,
) -> anyhow::Result<bool> {
    let seeded: i64 = conn.query_row(
        "SELECT COUNT(*) FROM _SandboxMeta WHERE key = 'seeded'",
        [],
        |r| r.get(0),
    )?;
    if seeded > 0 {
        return Ok(false);
    }
    lookups(conn)?;
    products(conn, product_db, plan)?;
    for i in 0..plan.quotes {
        documents::create(conn, product_db, &quote(plan, i))?;
    }
    if bad {
        for q in bad_quotes(plan) {
            documents::create(conn, product_db, &q)?;
        }
    }
    conn.execute(
        "INSERT INTO _SandboxMeta (key, value) VALUES ('seeded', ?1)",
        [format!("{plan:?}")],
    )?;
    Ok(true)
}
