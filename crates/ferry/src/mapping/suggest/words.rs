//! Words of field names and descriptions: split at camel case and digits, stop words dropped,
//! a small thesaurus of integration words mapped to one canonical word.

pub(super) const STOP: &[&str] = &[
    "a", "an", "the", "of", "to", "for", "in", "on", "by", "and", "or", "is", "e", "g", "eg",
    "after", "before", "any", "such", "as", "when", "what", "this", "that", "from", "with", "its",
    "s", "tenant", "ferry", "field", "given", "then", "at",
];

/// A small thesaurus of integration words: each maps to one canonical word.
pub(super) fn canonical(word: &str) -> &str {
    match word {
        "qty" | "quantities" => "quantity",
        "part" | "sku" | "product" | "item" | "items" => "item",
        "no" | "num" | "nbr" | "number" | "numbers" => "number",
        "phone" | "telephone" | "tel" => "phone",
        "fax" | "facsimile" => "fax",
        "email" | "mail" => "email",
        "zip" | "postal" | "postcode" => "postal",
        "city" | "town" => "city",
        "state" | "province" | "area" => "state",
        "ship" | "shipping" | "delivery" | "deliver" | "shipment" => "delivery",
        "via" | "method" | "mode" => "method",
        "price" | "salesprice" | "prices" => "price",
        "rep" | "representative" | "salesman" | "salesperson" => "salesperson",
        "client" | "sold" | "customers" | "customer" => "customer",
        "desc" | "description" | "descriptions" => "description",
        "dt" | "date" | "dates" => "date",
        "whs" | "warehouse" => "warehouse",
        "uom" | "unit" | "units" => "unit",
        "curr" | "currency" => "currency",
        "ref" | "referens" | "reference" => "reference",
        "quotation" | "quote" | "document" => "quote",
        "po" | "purchase" => "po",
        "discount" | "discounts" => "discount",
        "company" | "companies" => "company",
        "addr" | "address" => "address",
        "percent" | "percentage" | "pct" => "percent",
        w => w,
    }
}

pub(super) fn words(text: &str) -> Vec<String> {
    // "U/M" is M3's unit of measure.
    let text = text
        .replace("U/M", " unit measure ")
        .replace("u/m", " unit measure ");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    let push = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            let w = cur.to_ascii_lowercase();
            cur.clear();
            if !STOP.contains(&w.as_str()) {
                out.push(canonical(&w).to_string());
            }
        }
    };
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            if c.is_ascii_uppercase() && prev_lower {
                push(&mut cur, &mut out);
            }
            if cur.chars().last().is_some_and(|p| p.is_ascii_digit()) {
                push(&mut cur, &mut out);
            }
            cur.push(c);
            prev_lower = c.is_ascii_lowercase();
        } else if c.is_ascii_digit() {
            if cur.chars().last().is_some_and(|p| p.is_ascii_alphabetic()) {
                push(&mut cur, &mut out);
            }
            cur.push(c);
            prev_lower = false;
        } else {
            push(&mut cur, &mut out);
            prev_lower = false;
        }
    }
    push(&mut cur, &mut out);
    out.sort();
    out.dedup();
    out
}
