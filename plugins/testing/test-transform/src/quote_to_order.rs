// A quote -> order mapping over the contract's plain document types, written once and compiled
// twice: into the test transform component, and natively into the host's benchmark as the
// baseline, so "Wasm vs native" compares the same code. Only `Document`, `Field`, `Line`, `Value`
// and `rust_decimal::Decimal` must be in scope where this file is included.

/// Maps a QuoteWerks-shaped quote (DocNo, CustomerNumber, ShipVia, lines with
/// ManufacturerPartNumber, QtyTotal, UnitPrice, DiscountPercent...) to an M3-shaped order.
pub fn quote_to_order(quote: &Document, warehouse: &str) -> Result<Document, String> {
    fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
        fields.iter().find(|f| f.name == name).map(|f| &f.value)
    }
    fn text(fields: &[Field], name: &str) -> String {
        match get(fields, name) {
            Some(Value::Text(s)) | Some(Value::Date(s)) | Some(Value::Decimal(s)) => s.clone(),
            Some(Value::Integer(i)) => i.to_string(),
            _ => String::new(),
        }
    }
    fn dec(fields: &[Field], name: &str, default: Decimal) -> Result<Decimal, String> {
        match get(fields, name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Integer(i)) => Ok(Decimal::from(*i)),
            Some(Value::Decimal(s)) | Some(Value::Text(s)) if s.trim().is_empty() => Ok(default),
            Some(Value::Decimal(s)) | Some(Value::Text(s)) => s
                .trim()
                .parse::<Decimal>()
                .map_err(|_| format!("{name}: '{s}' is not a decimal")),
            Some(other) => Err(format!("{name}: expected a decimal, found {other:?}")),
        }
    }
    fn field(name: &str, value: Value) -> Field {
        Field { name: name.to_string(), value }
    }
    fn cut(s: &str, max: usize) -> String {
        s.chars().take(max).collect()
    }

    let h = &quote.fields;
    let doc_no = text(h, "DocNo");
    if doc_no.is_empty() {
        return Err("DocNo: is required".to_string());
    }
    let delivery = match text(h, "ShipVia").as_str() {
        "Ground" => "01",
        "Next Day" => "02",
        "Pickup" => "03",
        _ => "99",
    };
    let order_date = text(h, "DocDate").replace('-', "");
    let mut fields = vec![
        field("CUNO", Value::Text(text(h, "CustomerNumber"))),
        field("CUOR", Value::Text(cut(&doc_no, 20))),
        field("ORTP", Value::Text("A01".to_string())),
        field("WHLO", Value::Text(warehouse.to_string())),
        field("MODL", Value::Text(delivery.to_string())),
        field("RLDT", Value::Text(order_date)),
        field("YREF", Value::Text(cut(&text(h, "SoldToCompany"), 30))),
    ];

    let hundred = Decimal::from(100);
    let mut lines = Vec::with_capacity(quote.lines.len());
    let mut total = Decimal::ZERO;
    for (i, l) in quote.lines.iter().enumerate() {
        let f = &l.fields;
        if text(f, "LineType") != "product" {
            continue;
        }
        let qty = dec(f, "QtyTotal", Decimal::ZERO).map_err(|e| format!("lines[{i}].{e}"))?
            * dec(f, "QtyGroupMultiplier", Decimal::ONE).map_err(|e| format!("lines[{i}].{e}"))?;
        if qty <= Decimal::ZERO {
            return Err(format!("lines[{i}].ORQT: quantity must be positive"));
        }
        let price = dec(f, "UnitPrice", Decimal::ZERO).map_err(|e| format!("lines[{i}].{e}"))?;
        let discount =
            dec(f, "DiscountPercent", Decimal::ZERO).map_err(|e| format!("lines[{i}].{e}"))?;
        let amount = (qty * price * (hundred - discount) / hundred).round_dp(2);
        total += amount;
        lines.push(Line {
            fields: vec![
                field("ITNO", Value::Text(text(f, "ManufacturerPartNumber"))),
                field("ORQT", Value::Decimal(qty.normalize().to_string())),
                field("SAPR", Value::Decimal(price.round_dp(2).to_string())),
                field("DIP1", Value::Decimal(discount.normalize().to_string())),
                field("ITDS", Value::Text(cut(&text(f, "Description"), 30))),
                field("LNAM", Value::Decimal(amount.to_string())),
            ],
        });
    }
    fields.push(field("OTAM", Value::Decimal(total.to_string())));
    Ok(Document { kind: "order".to_string(), id: Some(doc_no), fields, lines })
}
