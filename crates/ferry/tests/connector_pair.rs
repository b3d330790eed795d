//! Both connectors together over loopback: QuoteWerks quotes (with every line type) read by the
//! QuoteWerks connector become M3 orders through the M3 connector, and M3 prices them to what
//! the quote says. The mapping in between is the plainest one (the connectors' derived fields
//! straight across); the real flow maps through the tenant's transform.

// `common` (shared, not this file's) trips clippy::type_complexity on the current toolchain.

mod common;

use std::str::FromStr;
use std::sync::Arc;

use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::bindings::types::{Document, Field, Line, MatchCriteria, Value};
use ferry::runtime::{Grants, Role};
use ferry_sim::{M3Sim, M3SimConfig, QuoteWerksSim, QuoteWerksSimConfig};
use rust_decimal::Decimal;

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| match &f.value {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) => Some(s.as_str()),
            _ => None,
        })
}

fn dec(fields: &[Field], name: &str) -> Decimal {
    Decimal::from_str(get(fields, name).unwrap_or("0")).expect("decimal")
}

#[tokio::test]
async fn quotes_become_m3_orders_priced_as_quoted() {
    let m3 = M3Sim::start(M3SimConfig::default()).await.expect("m3");
    let dir = tempfile::tempdir().expect("tmp");
    let qw = QuoteWerksSim::start(QuoteWerksSimConfig {
        db: Some(dir.path().join("qw.sqlite")),
        quotes: 7,
        ..QuoteWerksSimConfig::default()
    })
    .await
    .expect("qw");
    std::fs::write(dir.path().join("m3.ionapi"), m3.ionapi_json()).expect("ionapi");
    std::fs::write(
        dir.path().join("ferry.toml"),
        format!(
            "[tenants.acme.connections.m3]\nkind = \"http\"\nionapi = {{ file = \"m3.ionapi\" }}\n\
             [tenants.acme.connections.quotewerks]\nkind = \"sqlite\"\npath = \"{}\"\n\
             [tenants.acme.plugins.erp]\nconnections = [\"m3\"]\n\
             [tenants.acme.plugins.quoting]\nconnections = [\"quotewerks\"]\n",
            qw.db_path.display()
        ),
    )
    .expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let resolved = config.resolve_tenant("acme").expect("grants");
    let erp_grants: Arc<Grants> = resolved.grants(Role::Erp);
    let qw_grants: Arc<Grants> = resolved.grants(Role::Quoting);
    let rt = runtime();
    let erp = load(&rt, "m3_connector", Role::Erp);
    let quoting = load(&rt, "quotewerks_connector", Role::Quoting);

    let mut checked = 0;
    for summary in qw.documents(None).expect("docs") {
        let mut call = rt
            .quoting(&quoting, qw_grants.clone())
            .await
            .expect("instantiate");
        let (q, store) = call.parts();
        let r = q
            .ferry_quoting_quoting()
            .call_get_quote(store, &summary.id.to_string())
            .await;
        let quote = call.finish(r).expect("call").expect("quote");

        // The customer, by the quote's sold-to e-mail (the legacy quote has none: skipped).
        let Some(email) = get(&quote.fields, "SoldToEmail").filter(|e| !e.is_empty()) else {
            continue;
        };
        let mut call = rt.erp(&erp, erp_grants.clone()).await.expect("instantiate");
        let (e, store) = call.parts();
        let criteria = MatchCriteria {
            email: Some(email.to_string()),
            name: None,
            phone: None,
            external_ref: None,
        };
        let r = e
            .ferry_erp_erp()
            .call_find_customers(store, &criteria)
            .await;
        let found = call.finish(r).expect("call").expect("find");
        let Some(cuno) = found.first().and_then(|c| c.id.clone()) else {
            continue; // the prospect M3 does not know yet
        };

        let lines: Vec<Line> = quote
            .lines
            .iter()
            .map(|l| Line {
                fields: vec![
                    Field {
                        name: "ITNO".into(),
                        value: Value::Text(
                            get(&l.fields, "ManufacturerPartNumber")
                                .unwrap_or("")
                                .into(),
                        ),
                    },
                    Field {
                        name: "ORQT".into(),
                        value: Value::Decimal(dec(&l.fields, "OrderQuantity").to_string()),
                    },
                    Field {
                        name: "SAPR".into(),
                        value: Value::Decimal(dec(&l.fields, "OrderUnitPrice").to_string()),
                    },
                    Field {
                        name: "DIP1".into(),
                        value: Value::Decimal(dec(&l.fields, "DiscountPercent").to_string()),
                    },
                ],
            })
            .collect();
        let order = Document {
            kind: "order".into(),
            id: None,
            fields: vec![Field {
                name: "CUNO".into(),
                value: Value::Text(cuno),
            }],
            lines,
        };
        let reference = get(&quote.fields, "DocNo").expect("DocNo").to_string();
        let mut call = rt.erp(&erp, erp_grants.clone()).await.expect("instantiate");
        let (e, store) = call.parts();
        let r = e
            .ferry_erp_erp()
            .call_create_order(store, &order, &reference)
            .await;
        let receipt = call
            .finish(r)
            .expect("call")
            .unwrap_or_else(|err| panic!("{reference}: {err:?}"));

        let in_m3 = m3.orders_by_cuor(&reference).expect("orders");
        assert_eq!(in_m3.len(), 1);
        assert_eq!(in_m3[0].orno, receipt.order_number);
        assert_eq!(in_m3[0].lines.len(), quote.lines.len(), "{reference}");
        // M3 rounds each net unit price to the cent; the quote rounds each line.
        let quoted = dec(&quote.fields, "OrderLinesTotal");
        let slack: Decimal = quote
            .lines
            .iter()
            .map(|l| dec(&l.fields, "OrderQuantity"))
            .sum::<Decimal>()
            * Decimal::new(5, 3)
            + Decimal::new(1, 2) * Decimal::from(quote.lines.len());
        let ntam = Decimal::from_str(&in_m3[0].ntam).expect("ntam");
        assert!(
            (ntam - quoted).abs() <= slack,
            "{reference}: M3 {ntam} vs quote {quoted}"
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} quotes went through");
}
