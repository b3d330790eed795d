//! The shipped mappings (mappings/*.toml) over realistic documents, and how the engine reports
//! bad data and bad mapping files.

use ferry_mapping_engine::{Context, Document, Field, Issue, Line, Mapping, Severity, Value};

fn shipped(name: &str) -> Mapping {
    let path = format!("{}/../../mappings/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("read mapping");
    Mapping::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

fn d(s: &str) -> Value {
    Value::Decimal(s.into())
}

fn fields(pairs: &[(&str, Value)]) -> Vec<Field> {
    pairs
        .iter()
        .map(|(n, v)| Field::new(*n, v.clone()))
        .collect()
}

fn product(part: &str, qty: &str, price: &str, list: &str) -> Line {
    Line {
        fields: fields(&[
            ("LineType", Value::Integer(1)),
            ("LineAttributes", Value::Integer(0)),
            ("ManufacturerPartNumber", t(part)),
            ("Description", t("A part")),
            ("QtyTotal", t(qty)),
            ("QtyGroupMultiplier", t("")),
            ("UnitOfMeasure", t("Each")),
            ("UnitPrice", t(price)),
            ("UnitList", t(list)),
        ]),
    }
}

fn with(mut line: Line, name: &str, value: Value) -> Line {
    match line.fields.iter_mut().find(|f| f.name == name) {
        Some(f) => f.value = value,
        None => line.fields.push(Field::new(name, value)),
    }
    line
}

fn quote(lines: Vec<Line>) -> Document {
    Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: fields(&[
            ("DocNo", t("AAAQ1001")),
            ("DocDate", t("2025-03-07")),
            ("SoldToCompany", t("Northwind Traders")),
            ("SoldToContact", t("Ann Lee")),
            ("SoldToPONumber", t("PO-7781")),
            ("SalesRep", t("jsmith")),
            ("ShipVia", t("Next Day")),
            ("CustomText05", t("")),
            ("CustomDate01", t("")),
            ("AlternateCurrency", t("USD\u{4}$\u{4}1")),
        ]),
        lines,
    }
}

fn ctx() -> Context {
    Context {
        tenant: "acme".into(),
        settings: vec![("warehouse".into(), "200".into())],
        ids: vec![("customer".into(), "C100234".into())],
    }
}

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

#[test]
fn quote_becomes_an_order_with_only_the_lines_m3_should_get() {
    let comment = Line {
        fields: fields(&[("LineType", Value::Integer(2)), ("Description", t("Note"))]),
    };
    let excluded = with(
        product("X-1", "1", "5", ""),
        "LineAttributes",
        Value::Integer(1),
    );
    let unselected_option = with(
        product("OPT-1", "1", "5", ""),
        "LineAttributes",
        Value::Integer(16),
    );
    let selected_option = with(
        product("OPT-2", "1", "7.5", ""),
        "LineAttributes",
        Value::Integer(16 | 256),
    );
    let group_member = with(
        with(
            product("GM-1", "2", "10", ""),
            "LineAttributes",
            Value::Integer(8),
        ),
        "QtyGroupMultiplier",
        t("3"),
    );
    let doc = quote(vec![
        product("ABC-100", "4", "90.00", "100.00"),
        comment,
        excluded,
        unselected_option,
        selected_option,
        group_member,
    ]);
    let mapped = shipped("quote-to-order").map(&doc, &ctx()).expect("maps");
    let order = mapped.document;
    assert_eq!(order.kind, "order");
    assert_eq!(order.id.as_deref(), Some("AAAQ1001"));
    let h = &order.fields;
    assert_eq!(get(h, "CUNO"), Some(&t("C100234")));
    assert_eq!(get(h, "CUOR"), Some(&t("AAAQ1001")));
    assert_eq!(get(h, "ORTP"), Some(&t("A01")));
    assert_eq!(
        get(h, "WHLO"),
        Some(&t("200")),
        "tenant warehouse as the default"
    );
    assert_eq!(get(h, "MODL"), Some(&t("02")));
    assert_eq!(get(h, "RLDT"), Some(&t("20250307")));
    assert_eq!(get(h, "YREF"), Some(&t("PO-7781")));
    assert_eq!(get(h, "CUCD"), Some(&t("USD")));
    assert_eq!(get(h, "TEDL"), None, "empty optional fields are left out");

    let parts: Vec<_> = order
        .lines
        .iter()
        .map(|l| get(&l.fields, "ITNO").cloned())
        .collect();
    assert_eq!(
        parts,
        vec![Some(t("ABC-100")), Some(t("OPT-2")), Some(t("GM-1"))],
        "comments, excluded rows and unselected options are not ordered"
    );
    let first = &order.lines[0].fields;
    assert_eq!(get(first, "ORQT"), Some(&d("4")));
    assert_eq!(get(first, "SAPR"), Some(&d("100.00")));
    // 4 x (100 - 90) = 40.00 discount: M3's net 4 x 100 - 40 = 360 = QuoteWerks' 4 x 90.
    assert_eq!(get(first, "DIA1"), Some(&d("40.00")));
    assert_eq!(get(first, "ALUN"), Some(&t("EA")));
    assert_eq!(
        get(first, "DWDT"),
        Some(&t("20250307")),
        "header date on the line"
    );
    assert_eq!(get(first, "CUPO"), Some(&Value::Integer(1)));
    assert_eq!(
        get(&order.lines[1].fields, "DIA1"),
        None,
        "no discount, no DIA1"
    );
    assert_eq!(
        get(&order.lines[2].fields, "ORQT"),
        Some(&d("6")),
        "2 x group multiplier 3"
    );
    assert!(mapped.warnings.is_empty(), "{:?}", mapped.warnings);
}

#[test]
fn bad_values_are_reported_by_line_rule_and_field() {
    let doc = quote(vec![
        product("A", "1", "1", ""),
        product("B", "1", "1", ""),
        product("C", "1", "1", ""),
        product("D", "abc", "1", ""),
        with(product("E", "2", "1", ""), "UnitOfMeasure", t("Pallet")),
        product("F", "0", "1", ""),
    ]);
    let issues = shipped("quote-to-order").map(&doc, &ctx()).unwrap_err();
    let shown: Vec<String> = issues.iter().map(Issue::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "lines[3].ORQT: 'abc' is not a decimal",
            "lines[4].ALUN: 'Pallet' is not in table unit (add it, or a \"*\" default)",
            "lines[5].ORQT: the quantity must be more than 0",
        ]
    );
    assert_eq!(issues[0].rule.as_deref(), Some("lines.ORQT"));
    assert_eq!(issues[0].line, Some(3));
    assert!(issues.iter().all(|i| i.severity == Severity::Error));
}

#[test]
fn length_rules_reject_or_truncate_with_a_warning() {
    let mut doc = quote(vec![product("ABC-100", "1", "10", "")]);
    doc.lines[0].fields.push(Field::new(
        "Description",
        t("A very long description that does not fit in thirty"),
    ));
    doc.lines[0]
        .fields
        .retain(|f| f.name != "Description" || f.value != t("A part"));
    let mapped = shipped("quote-to-order").map(&doc, &ctx()).expect("maps");
    assert_eq!(
        get(&mapped.document.lines[0].fields, "ITDS"),
        Some(&t("A very long description that d"))
    );
    assert_eq!(mapped.warnings.len(), 1);
    assert_eq!(mapped.warnings[0].severity, Severity::Warning);
    assert_eq!(mapped.warnings[0].field, "ITDS");
    assert_eq!(mapped.warnings[0].line, Some(0));

    // The quote number is the idempotency key: too long is an error, never cut.
    doc.fields[0].value = t("AAAQ1001-REVISION-00042");
    let issues = shipped("quote-to-order").map(&doc, &ctx()).unwrap_err();
    assert_eq!(
        issues[0].to_string(),
        "CUOR: 'AAAQ1001-REVISION-00042' is 23 characters, longer than the 20 allowed"
    );
}

#[test]
fn a_quote_without_customer_or_number_is_refused() {
    let mut doc = quote(vec![product("A", "1", "1", "")]);
    doc.fields.retain(|f| f.name != "DocNo");
    let issues = shipped("quote-to-order")
        .map(&doc, &Context::default())
        .unwrap_err();
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, vec!["CUNO", "CUOR"]);
}

#[test]
fn m3_item_becomes_a_quotewerks_product() {
    let item = |stat: &str| Document {
        kind: "item".into(),
        id: Some("ABC-100".into()),
        fields: fields(&[
            ("ITNO", t("ABC-100")),
            ("ITDS", t("Widget")),
            ("FUDS", t("Blue, 10 mm")),
            ("STAT", t(stat)),
            ("UNMS", t("EA")),
            ("ITGR", t("WIDGETS")),
            ("SAPR", d("12.5")),
            ("PUPR", d("7.125")),
            ("AVAL", d("40")),
        ]),
        lines: vec![],
    };
    let mapping = shipped("item-to-product");
    let product = mapping.map(&item("20"), &ctx()).expect("maps").document;
    assert_eq!(product.kind, "product");
    let f = &product.fields;
    assert_eq!(get(f, "ManufacturerPartNumber"), Some(&t("ABC-100")));
    assert_eq!(get(f, "Description"), Some(&t("Widget Blue, 10 mm")));
    assert_eq!(get(f, "Price"), Some(&d("12.5")));
    assert_eq!(
        get(f, "Cost"),
        Some(&d("7.13")),
        "half-up rounding to cents"
    );
    assert_eq!(get(f, "UnitOfPricing"), Some(&t("Each")));
    assert_eq!(get(f, "Availability"), Some(&d("40")));
    assert_eq!(get(f, "Active"), Some(&Value::Boolean(true)));
    let inactive = mapping.map(&item("90"), &ctx()).expect("maps").document;
    assert_eq!(
        get(&inactive.fields, "Active"),
        Some(&Value::Boolean(false))
    );
}

#[test]
fn customers_map_both_ways() {
    let qw = Document {
        kind: "customer".into(),
        id: None,
        fields: fields(&[
            (
                "SoldToCompany",
                t("Northwind Traders International Holdings Ltd"),
            ),
            ("SoldToContact", t("Ann Lee")),
            ("SoldToAddress1", t("1 Harbor Way")),
            ("SoldToCity", t("Springfield")),
            ("SoldToState", t("il")),
            ("SoldToPostalCode", t("62701")),
            ("SoldToCountry", t("United States")),
            ("SoldToPhone", t("555-0100")),
            ("SoldToPhoneExt", t("12")),
            ("SoldToEmail", t(" Ann.Lee@Northwind.example ")),
        ]),
        lines: vec![],
    };
    let mapped = shipped("customer-to-erp")
        .map(&qw, &Context::default())
        .expect("maps");
    let m3 = &mapped.document.fields;
    assert_eq!(
        get(m3, "CUNM"),
        Some(&t("Northwind Traders International Hold"))
    );
    assert_eq!(
        mapped.warnings.len(),
        1,
        "the name was cut to 36 characters"
    );
    assert_eq!(get(m3, "CUA4"), Some(&t("Springfield, il 62701")));
    assert_eq!(get(m3, "ECAR"), Some(&t("IL")));
    assert_eq!(get(m3, "CSCD"), Some(&t("US")));
    assert_eq!(get(m3, "PHNO"), Some(&t("555-0100 x12")));
    assert_eq!(get(m3, "MAIL"), Some(&t("ann.lee@northwind.example")));
    assert_eq!(
        get(m3, "CUNO"),
        None,
        "a new customer gets its number from M3"
    );

    let mut bad = qw.clone();
    bad.fields.push(Field::new("SoldToCountry", t("Atlantis")));
    bad.fields.retain(|f| f.value != t("United States"));
    let issues = shipped("customer-to-erp")
        .map(&bad, &Context::default())
        .unwrap_err();
    assert_eq!(issues[0].field, "CSCD");

    let m3_doc = Document {
        kind: "customer".into(),
        id: Some("C100234".into()),
        fields: fields(&[
            ("CUNO", t("C100234")),
            ("CUNM", t("Northwind Traders")),
            ("CUA1", t("1 Harbor Way")),
            ("CUA4", t("Springfield, IL 62701")),
            ("PONO", t("62701")),
            ("CSCD", t("US")),
            ("MAIL", t("ann@northwind.example")),
        ]),
        lines: vec![],
    };
    let back = shipped("customer-to-quoting")
        .map(&m3_doc, &Context::default())
        .expect("maps");
    assert_eq!(back.document.id.as_deref(), Some("C100234"));
    let f = &back.document.fields;
    assert_eq!(get(f, "SoldToCMAccountNo"), Some(&t("C100234")));
    assert_eq!(
        get(f, "SoldToCity"),
        Some(&t("Springfield")),
        "split from CUA4"
    );
    assert_eq!(get(f, "SoldToEmail"), Some(&t("ann@northwind.example")));
}

#[test]
fn malformed_mapping_files_are_refused_with_the_place() {
    let cases = [
        ("not toml at all [", "not valid TOML"),
        ("[header]\nX = \"A\"", "missing field `mapping`"),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = \"round(\"",
            "[header] X",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = \"nosuch(A)\"",
            "unknown function 'nosuch'",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = \"lookup(t, A)\"",
            "no table 't'",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = { value = \"A\", max = 0 }",
            "positive length",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = { value = \"A\", overflow = \"cut\" }",
            "overflow",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = { value = \"A\", type = \"money\" }",
            "unknown type 'money'",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = { valu = \"A\" }",
            "unknown field `valu`",
        ),
        (
            "[mapping]\nkind = \"k\"\n[header]\nX = { required = true }",
            "needs a value",
        ),
        (
            "[mapping]\nkind = \"k\"\n[lines]\nwhen = \"LineType ==\"",
            "[lines] when",
        ),
        ("[mapping]\nkind = \"\"", "kind"),
        (
            "[mapping]\nkind = \"k\"\n[tables.t]\nA = [1]",
            "[tables.t] A",
        ),
    ];
    for (text, expected) in cases {
        let err = Mapping::parse(text).expect_err(text).to_string();
        assert!(
            err.contains(expected),
            "{text:?}: {err:?} should mention {expected:?}"
        );
    }
}

#[test]
fn describe_lists_reads_and_writes() {
    let usage = shipped("quote-to-order").describe();
    assert_eq!(usage.kind, "quote-to-order");
    assert!(usage.reads.contains(&"DocNo".to_string()));
    assert!(usage.reads.contains(&"lines.QtyTotal".to_string()));
    assert!(
        usage.reads.contains(&"CustomDate01".to_string()),
        "line rules read header.CustomDate01"
    );
    assert!(usage.writes.contains(&"CUOR".to_string()));
    assert!(usage.writes.contains(&"lines.ORQT".to_string()));
}

/// The built-in list is generated from the folder: every `mappings/*.toml` is in it, under its
/// file name, with the kind it declares, and nothing else is.
#[test]
fn the_default_list_is_every_file_in_mappings() {
    let dir = format!("{}/../../mappings", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("read mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let kind = p.file_stem().unwrap().to_string_lossy().into_owned();
            (kind, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    files.sort();
    let listed: Vec<(String, String)> = ferry_mapping_engine::DEFAULTS
        .iter()
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .collect();
    assert_eq!(
        listed.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        files.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    assert_eq!(listed, files, "the built-in texts are the files");
    for (kind, text) in ferry_mapping_engine::DEFAULTS {
        let m = Mapping::parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            m.kind(),
            *kind,
            "mappings/{kind}.toml declares another kind"
        );
    }
    assert!(ferry_mapping_engine::default_text("quote-to-customer").is_some());
}
