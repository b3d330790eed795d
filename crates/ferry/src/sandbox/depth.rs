//! The demo's quote-to-cash ending: a quote with comments, notes, freight, a Ship-to of its own
//! and euros becomes one complete M3 order (each part read back from M3's tables), then M3
//! invoices it and the invoice number and date arrive on the quote.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ferry_sim::m3::read_order_depth_from_state_dir;
use ferry_sim::quotewerks::samples::{FREIGHT, INTERNAL, INTRO, complete_quote, reno_warehouse};
use ferry_sim::seed;
use ferry_sim::stack::{READY, SimStack};
use ferry_store::{JobState, Store};

use super::{say, settle};

/// The quoting connector's default invoice columns (`invoice_number_field`, `invoice_date_field`).
const INVOICE_NUMBER: &str = "CustomText23";
const INVOICE_DATE: &str = "CustomDate05";

/// Returns the quote's number.
pub(super) async fn complete_order_and_invoice(
    store: &dyn Store,
    sims: &SimStack,
) -> anyhow::Result<String> {
    let (m3, qw) = (&sims.m3, &sims.qw);
    let catalog = &sims.catalog;
    let items = seed::sellable_items(catalog.seed, catalog.items);
    let customers = seed::definite_customers(catalog.seed, catalog.customers);
    ensure!(
        !items.is_empty() && !customers.is_empty(),
        "M3's catalog has no sellable items or definite customers"
    );
    let (quote, _) = complete_quote(1, &items, &customers);
    let doc = qw.create_quote(&quote)?;
    let doc_no = quote.doc_no.clone().unwrap_or_default();

    say(
        "8. A complete order: texts, freight, a delivery address, another currency",
        &format!(
            "quote {doc_no} has comment rows, headings, notes, {FREIGHT} shipping, a % charge line, Ship-to '{}' and prices in euros; the rep approves it.",
            reno_warehouse().company
        ),
    );
    qw.set_status(doc.id, READY)?;
    let job = settle(store, &doc.id.to_string(), Duration::from_secs(60)).await?;
    ensure!(
        job.state == JobState::Done,
        "{doc_no} did not become an order: {:?} {}",
        job.state,
        job.hold_reason.or(job.last_error).unwrap_or_default()
    );
    let orders: Vec<_> = m3
        .orders()?
        .into_iter()
        .filter(|o| o.cuor == doc_no)
        .collect();
    let [order] = orders.as_slice() else {
        bail!("M3 holds {} orders for {doc_no}", orders.len());
    };
    let depth = read_order_depth_from_state_dir(&m3.state_dir, &order.orno)?
        .context("the order's head is missing in M3")?;
    ensure!(
        depth.ofno == doc_no,
        "OFNO is '{}', not {doc_no}",
        depth.ofno
    );
    ensure!(
        depth.cucd == "EUR",
        "the order's currency is '{}'",
        depth.cucd
    );
    let opening = INTRO
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    let head_texts = depth.texts.iter().filter(|t| t.ponr == 0).count();
    let line_texts = depth.texts.len() - head_texts;
    ensure!(
        depth.texts.iter().any(|t| t.text.starts_with(&opening)),
        "the introduction is not among the order's texts: {:?}",
        depth.texts
    );
    ensure!(
        line_texts > 0,
        "no text sits on an order line: {:?}",
        depth.texts
    );
    ensure!(
        !depth.texts.iter().any(|t| t.text.contains(&INTERNAL[..10])),
        "the internal note reached M3"
    );
    let freight = depth
        .charges
        .iter()
        .find(|c| c.cram.parse::<rust_decimal::Decimal>().ok() == Some(FREIGHT))
        .with_context(|| format!("no {FREIGHT} freight charge: {:?}", depth.charges))?;
    let ship_to = reno_warehouse();
    let address = depth
        .addresses
        .iter()
        .find(|a| a.cunm == ship_to.company && a.town == ship_to.city)
        .with_context(|| format!("no delivery address: {:?}", depth.addresses))?;
    println!(
        "   {doc_no} -> M3 order {} (exactly one): OFNO {}, YREF {}, currency {}",
        order.orno, depth.ofno, depth.yref, depth.cucd
    );
    println!(
        "   texts: {head_texts} on the head, {line_texts} on lines (the internal note left out)"
    );
    let charges: Vec<String> = depth
        .charges
        .iter()
        .map(|c| format!("{} {}", c.crid, c.cram))
        .collect();
    println!(
        "   charges: {} (freight {} {}); delivery address: {}, {} {}",
        charges.join(", "),
        freight.crid,
        freight.cram,
        address.cua1,
        address.town,
        address.pono
    );

    say(
        "9. The invoice comes back",
        "M3 delivers and invoices the order (status 77); its BOD reaches Ferry, which reads the invoice (OIS350MI LstAllInvByCO) and writes it onto the quote.",
    );
    let status = m3.advance_order(&order.orno, Some("77"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let header = loop {
        let doc = qw.document(doc.id)?;
        if !doc.text(INVOICE_NUMBER).is_empty() {
            break doc;
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{doc_no}: M3 order {} reached {status}, but no invoice arrived on the quote",
                order.orno
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "   {doc_no}: status '{}', invoice {} of {} ({INVOICE_NUMBER}, {INVOICE_DATE})",
        header.text("DocStatus"),
        header.text(INVOICE_NUMBER),
        header.text(INVOICE_DATE)
    );
    ensure!(
        !header.text(INVOICE_DATE).is_empty(),
        "the invoice date is missing on the quote"
    );
    Ok(doc_no)
}
