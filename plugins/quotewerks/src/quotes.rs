//! Quotes: the ready list, one quote with its lines (and whether it is a revision), and what
//! is written back (order number, status).

use crate::exports::ferry::quoting::quoting::{QuotePage, QuoteSummary};
use ferry_pdk::sql::SqlValue;
use ferry_pdk::{Decimal, Document, Error, Field, Line, PageRequest, Value};

use crate::db::*;
use crate::lines;
use crate::settings::*;
use crate::texts;

/// QuoteWerks saves a revision under a new number with a numeric or alpha suffix ("-01",
/// "-A"; reference/quotewerks.md §2.5). A DocNo of that shape whose base number is another
/// document in the database is a revision of it: the base number is returned, so a mapping can
/// use it as the order reference and a revision of a transferred quote is caught.
pub(crate) fn revision_of(db: &Db, doc_no: &str, id: i64) -> Result<Option<String>, Error> {
    let Some((base, suffix)) = doc_no.trim().rsplit_once('-') else {
        return Ok(None);
    };
    let numeric = (1..=3).contains(&suffix.len()) && suffix.chars().all(|c| c.is_ascii_digit());
    let alpha = suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_uppercase());
    if base.is_empty() || !(numeric || alpha) {
        return Ok(None);
    }
    let sql = db.select(
        &db.q("ID"),
        &format!(
            "{} WHERE {} = ? AND {} <> ?",
            db.q("DocumentHeaders"),
            db.q("DocNo"),
            db.q("ID")
        ),
        1,
    );
    let found = db.query(
        sql,
        vec![SqlValue::Text(base.to_string()), SqlValue::Integer(id)],
    )?;
    Ok((!found.is_empty()).then(|| base.to_string()))
}

pub(crate) fn read_quote(db: &Db, s: &Settings, id: i64) -> Result<Document, Error> {
    let header = header_row(db, id)?;
    let items = db.query(
        format!(
            "SELECT * FROM {} WHERE {} = ? ORDER BY {}",
            db.q("DocumentItems"),
            db.q("DocID"),
            db.q("ID")
        ),
        vec![SqlValue::Integer(id)],
    )?;
    let raw: Vec<lines::RawLine> = items
        .iter()
        .map(|r| lines::RawLine {
            line_type: int_of(r.get("LineType")),
            attributes: int_of(r.get("LineAttributes")),
            item_type: text_of(r.get("ItemType")),
            description: text_of(r.get("Description")),
            qty_total: dec_of(r.get("QtyTotal")),
            qty_group_multiplier: dec_of(r.get("QtyGroupMultiplier")),
            unit_price: dec_of(r.get("UnitPrice")),
            unit_list: dec_of(r.get("UnitList")),
            extended_price: dec_of(r.get("ExtendedPrice")),
            price_modifier: text_of(r.get("PriceModifier")),
        })
        .collect();
    let ordered = lines::order_lines(&raw, &s.tax_item_types);
    let notes: Vec<String> = items.iter().map(|r| text_of(r.get("Notes"))).collect();
    let texts = texts::attach(&raw, &notes, &ordered.lines);
    for w in &ordered.warnings {
        ferry_pdk::warn!("quote {id}: {w}");
    }
    let mut out_lines = Vec::new();
    for (n, l) in ordered.lines.iter().enumerate() {
        let row = &items[l.source];
        let mut fields = fields_of(row, |k| k != "DocID");
        fields.push(Field {
            name: "LineNumber".into(),
            value: Value::Integer(n as i64 + 1),
        });
        fields.push(dec_field("OrderQuantity", l.quantity));
        fields.push(dec_field("OrderUnitPrice", l.gross_unit));
        if s.percent_discounts {
            fields.push(dec_field("DiscountPercent", l.discount_percent));
        } else {
            fields.push(dec_field("DiscountAmount", l.discount_amount()));
        }
        fields.push(dec_field("NetUnitPrice", l.net_unit()));
        fields.push(dec_field("NetAmount", l.net_amount()));
        if let Some(g) = l.group {
            fields.push(Field {
                name: "GroupDescription".into(),
                value: Value::Text(text_of(items[g].get("Description"))),
            });
        }
        for (name, found) in [
            ("TextBefore", texts.line_pre.get(&n)),
            ("TextAfter", texts.line_post.get(&n)),
        ] {
            if let Some(t) = found {
                fields.push(text_field(name, t));
            }
        }
        out_lines.push(Line { fields });
    }
    let mut fields = fields_of(&header, |_| true);
    if let Some(base) = revision_of(db, &text_of(header.get("DocNo")), id)? {
        fields.push(Field {
            name: "RevisionOf".into(),
            value: Value::Text(base),
        });
    }
    // Comments and headings that belong to no order line (see `texts`).
    for (name, t) in [
        ("TextBefore", &texts.head_pre),
        ("TextAfter", &texts.head_post),
    ] {
        if !t.is_empty() {
            fields.push(text_field(name, t));
        }
    }
    fields.push(dec_field("PercentChargeTotal", ordered.charges));
    let total: Decimal = ordered.lines.iter().map(|l| l.net_amount()).sum();
    fields.push(dec_field("OrderLinesTotal", total));
    Ok(Document {
        kind: "quote".into(),
        id: Some(id.to_string()),
        fields,
        lines: out_lines,
    })
}

pub(crate) fn list_ready_quotes(page: PageRequest) -> Result<QuotePage, Error> {
    let s = Settings::load()?;
    let db = Db::open()?;
    let after = match page.cursor.as_deref() {
        Some(c) => parse_id(c)?,
        None => 0,
    };
    let limit = page.limit.clamp(1, 1000);
    let of = db.q(&s.order_number_field);
    let sql = db.select(
        &format!("{}, {}, {}", db.q("ID"), db.q("DocNo"), db.q("DocStatus")),
        &format!(
            "{} WHERE {} = ? AND {} = ? AND ({of} IS NULL OR {of} = '') AND {} > ? ORDER BY {}",
            db.q("DocumentHeaders"),
            db.q("DocType"),
            db.q("DocStatus"),
            db.q("ID"),
            db.q("ID")
        ),
        limit + 1,
    );
    let mut rows = db.query(
        sql,
        vec![
            SqlValue::Text(s.doc_type.clone()),
            SqlValue::Text(s.ready_status.clone()),
            SqlValue::Integer(after),
        ],
    )?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let quotes: Vec<QuoteSummary> = rows
        .iter()
        .map(|r| {
            let number = text_of(r.get("DocNo"));
            let revision = number
                .rsplit_once('-')
                .map(|(_, rev)| rev.to_string())
                .filter(|rev| !rev.is_empty() && rev.len() <= 3);
            QuoteSummary {
                id: text_of(r.get("ID")),
                number,
                revision,
                status: text_of(r.get("DocStatus")),
                // QuoteWerks keeps no modification time on a document: DocDate is the
                // document's date (moved on conversion), a day, not the RFC 3339 time the
                // host wants (it dropped it with a warning per quote and poll).
                modified_at: None,
            }
        })
        .collect();
    let next = if more {
        quotes.last().map(|q| q.id.clone())
    } else {
        None
    };
    Ok(QuotePage { quotes, next })
}

pub(crate) fn get_quote(id: String) -> Result<Document, Error> {
    let s = Settings::load()?;
    let db = Db::open()?;
    read_quote(&db, &s, parse_id(&id)?)
}

/// Writes the order number and the transferred status in one statement. A quote already
/// carrying a *different* order number is a conflict (a second order for one quote).
pub(crate) fn mark_transferred(
    id: String,
    order_number: String,
    status: Option<String>,
) -> Result<(), Error> {
    let s = Settings::load()?;
    let db = Db::open()?;
    let id = parse_id(&id)?;
    if order_number.trim().is_empty() {
        return Err(Error::invalid("order-number", "is required"));
    }
    let of = db.q(&s.order_number_field);
    let status = status
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| s.transferred_status.clone());
    let n = db.execute(
        format!(
            "UPDATE {} SET {of} = ?, {} = ? WHERE {} = ? AND ({of} IS NULL OR {of} = '' OR {of} = ?)",
            db.q("DocumentHeaders"),
            db.q("DocStatus"),
            db.q("ID")
        ),
        vec![
            SqlValue::Text(order_number.clone()),
            SqlValue::Text(status),
            SqlValue::Integer(id),
            SqlValue::Text(order_number.clone()),
        ],
    )?;
    if n == 0 {
        let row = header_row(&db, id)?;
        return Err(Error::conflict(format!(
            "QuoteWerks document {id} is already transferred as order {}",
            text_of(row.get(&s.order_number_field))
        )));
    }
    Ok(())
}

/// Sets DocStatus; when QuoteWerks' status list for the document's type
/// (`LookupItems` `TB_DOCSTATUS_<TYPE>`) is filled, the status must be on it.
pub(crate) fn set_status(id: String, status: String) -> Result<(), Error> {
    let db = Db::open()?;
    let id = parse_id(&id)?;
    let header = header_row(&db, id)?;
    let doc_type = text_of(header.get("DocType")).trim().to_ascii_uppercase();
    let allowed = db.query(
        format!(
            "SELECT {} FROM {} WHERE {} = ?",
            db.q("LookupMemoValue"),
            db.q("LookupItems"),
            db.q("LookupName")
        ),
        vec![SqlValue::Text(format!("TB_DOCSTATUS_{doc_type}"))],
    )?;
    if !allowed.is_empty()
        && !allowed
            .iter()
            .any(|r| text_of(r.get("LookupMemoValue")) == status)
    {
        return Err(Error::invalid(
            "DocStatus",
            format!("'{status}' is not a {doc_type} status in QuoteWerks' LookupItems"),
        ));
    }
    db.execute(
        format!(
            "UPDATE {} SET {} = ? WHERE {} = ?",
            db.q("DocumentHeaders"),
            db.q("DocStatus"),
            db.q("ID")
        ),
        vec![SqlValue::Text(status), SqlValue::Integer(id)],
    )?;
    Ok(())
}

/// Text rows for one place, one paragraph each.
fn text_field(name: &str, paragraphs: &[String]) -> Field {
    Field {
        name: name.into(),
        value: Value::Text(paragraphs.join("\n")),
    }
}
