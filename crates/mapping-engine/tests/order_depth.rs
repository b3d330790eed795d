//! The shipped quote-to-order mapping's order depth (issue 17): texts from notes and text rows,
//! freight as a charge, the Ship-to as the delivery address, each following the tenant's
//! settings.

use ferry_mapping_engine::{Context, Document, Field, Line, Mapping, Value};

fn shipped() -> Mapping {
    let path = format!(
        "{}/../../mappings/quote-to-order.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("read mapping");
    Mapping::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

fn quote(shipping: &str) -> Document {
    let f = |n: &str, v: Value| Field::new(n, v);
    Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: vec![
            f("DocNo", t("Q1001")),
            f("DocDate", t("2026-03-07")),
            f("SoldToCompany", t("Northwind Traders")),
            f("ShipToCompany", t("Northwind Warehouse")),
            f("ShipToAddress1", t("1 Dock Rd")),
            f("ShipToCity", t("Reno")),
            f("ShipToState", t("NV")),
            f("ShipToPostalCode", t("89501")),
            f("ShipToCountry", t("US")),
            f("ShippingAmount", Value::Decimal(shipping.into())),
            f("AlternateCurrency", t("EUR\u{4}€\u{4}1.08")),
            f("IntroductionNotes", t("Thank you for the order.")),
            f("PurchasingNotes", t("Ship complete.")),
            f("ClosingNotes", t("Prices valid 30 days.")),
            f("InternalNotes", t("Margin approved by JD.")),
            f("TextBefore", t("Hello")),
        ],
        lines: vec![Line {
            fields: vec![
                f("LineType", Value::Integer(1)),
                f("LineAttributes", Value::Integer(0)),
                f("ManufacturerPartNumber", t("X-1")),
                f("QtyTotal", t("2")),
                f("UnitPrice", t("5")),
                f("TextBefore", t("Hardware")),
                f("TextAfter", t("Delivered to the dock")),
            ],
        }],
    }
}

fn ctx(settings: &[(&str, &str)]) -> Context {
    Context {
        tenant: "acme".into(),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ids: vec![("customer".into(), "C100234".into())],
    }
}

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

fn text(fields: &[Field], name: &str) -> String {
    match get(fields, name) {
        Some(Value::Text(s)) => s.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn notes_texts_freight_address_and_currency_reach_the_order() {
    let order = shipped()
        .map(&quote("45.00"), &ctx(&[("text_document_class", "CO02")]))
        .expect("maps")
        .document;
    let h = &order.fields;
    assert_eq!(
        text(h, "TEXT_PRE"),
        "Thank you for the order.\nShip complete.\nHello"
    );
    assert_eq!(text(h, "TEXT_POST"), "Prices valid 30 days.");
    assert_eq!(text(h, "TXHE"), "CO02");
    assert_eq!(text(h, "CRID"), "FRT");
    assert!(
        matches!(get(h, "CRAM"), Some(Value::Decimal(d)) if d == "45.00"),
        "{h:?}"
    );
    assert_eq!(text(h, "CUNM"), "Northwind Warehouse");
    assert_eq!(text(h, "TOWN"), "Reno");
    assert_eq!(text(h, "CUCD"), "EUR");
    assert_eq!(text(h, "OFNO"), "Q1001");
    let l = &order.lines[0].fields;
    assert_eq!(text(l, "TEXT_PRE"), "Hardware");
    assert_eq!(text(l, "TEXT_POST"), "Delivered to the dock");
}

#[test]
fn the_tenant_chooses_the_notes_and_the_charge_id() {
    let order = shipped()
        .map(
            &quote("45.00"),
            &ctx(&[
                ("order_notes", "internal,closing"),
                ("freight_charge_id", "FRT2"),
            ]),
        )
        .expect("maps")
        .document;
    let h = &order.fields;
    assert_eq!(text(h, "TEXT_PRE"), "Margin approved by JD.\nHello");
    assert_eq!(text(h, "TEXT_POST"), "Prices valid 30 days.");
    assert_eq!(text(h, "CRID"), "FRT2");
}

#[test]
fn no_shipping_no_charge() {
    let order = shipped()
        .map(&quote("0"), &ctx(&[]))
        .expect("maps")
        .document;
    assert!(get(&order.fields, "CRAM").is_none_or(|v| *v == Value::Null));
    assert!(get(&order.fields, "CRID").is_none_or(|v| *v == Value::Null));
}
