use super::*;

#[test]
fn words_split_camel_case_digits_and_synonyms() {
    assert_eq!(words("SoldToAddress1"), vec!["1", "address", "customer"]);
    assert_eq!(words("Alternate U/M"), vec!["alternate", "measure", "unit"]);
    assert_eq!(words("ShipVia"), vec!["delivery", "method"]);
}

/// Suggest types M3 targets as the one catalog does (the connector and the simulator read
/// the same catalog), so a proposed `max` is the length M3 enforces.
#[test]
fn m3_targets_carry_the_catalogs_types_and_lengths() {
    let catalog = ferry_m3_fields::catalog();
    for spec in ["m3:order", "m3:customer"] {
        for f in target_schema(spec).unwrap().fields {
            let Some(c) = catalog.field(&f.name) else {
                assert_eq!((f.ty, f.length), (FieldType::Text, None), "{}", f.name);
                continue;
            };
            let want = match c.ty {
                ferry_m3_fields::FieldType::Alpha => (FieldType::Text, Some(c.length)),
                ferry_m3_fields::FieldType::Numeric => (FieldType::Decimal, Some(c.length)),
                ferry_m3_fields::FieldType::Date => (FieldType::Date, None),
            };
            assert_eq!((f.ty, f.length), want, "{spec} {}", f.name);
        }
    }
    let order = target_schema("m3:order").unwrap();
    let orqt = order.fields.iter().find(|f| f.name == "ORQT").unwrap();
    assert_eq!(
        orqt.ty,
        FieldType::Decimal,
        "a quantity, not 16 characters of text"
    );
}

#[test]
fn schemas_come_from_the_shipped_field_lists() {
    let order = target_schema("m3:order").unwrap();
    let cuor = order.fields.iter().find(|f| f.name == "CUOR").unwrap();
    assert_eq!(cuor.length, Some(20));
    assert_eq!(cuor.level, Level::Header);
    let rldt = order.fields.iter().find(|f| f.name == "RLDT").unwrap();
    assert_eq!(rldt.ty, FieldType::Date);
    assert!(
        order
            .fields
            .iter()
            .any(|f| f.name == "ORQT" && f.level == Level::Lines)
    );
    assert!(!order.fields.iter().any(|f| f.name == "ORNO"));
    let quote = source_schema("quotewerks:quote").unwrap();
    assert!(
        quote
            .fields
            .iter()
            .any(|f| f.name == "QtyTotal" && f.level == Level::Lines)
    );
    assert!(source_schema("sap:order").is_err());
    assert!(!source_schema("m3:item").unwrap().fields.is_empty());
}
