//! Test fixture for the `erp-connector` world: a tiny JSON client over the host's `http`
//! import, so tests can check typed results, classified errors, credentials and the sandbox.
//!
//! `get-item(id)` speaks to connection "erp" (`GET items/{id}`) unless the id asks for
//! something else: `conn:NAME/ID` uses connection NAME, `path:P` sends path P verbatim,
//! `header:NAME` tries to set header NAME (which the host must refuse). `get-order-status`
//! adds vendor details (see there).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/erp",
    // Implements the `@unstable(feature = sync)` functions too, ahead of the flows.
    features: ["sync"],
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/http@1.1.0": ferry_pdk::http,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
        "ferry:host/diagnostics@1.1.0": ferry_pdk::diagnostics,
    },
});

use exports::ferry::erp::erp::{
    Guest, Invoice, ItemPrices, ItemStock, OrderReceipt, Price, StockBalance,
};
use ferry_pdk::http::{self, Method, Request, Response};
use ferry_pdk::{
    Change, ChangeAction, Document, DocumentBuilder, Entity, Error, FieldError, FieldsExt, Line,
    MatchCriteria, Page, PageRequest, Value,
};

struct TestErp;

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error::fatal(format!(
        "{what} is not supported by the test ERP plugin"
    )))
}

/// GETs here only read, so they may be resent by the host; anything else is a write.
fn send(
    connection: &str,
    method: Method,
    path: &str,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
) -> Result<Response, Error> {
    let read = matches!(method, Method::Get);
    let request = Request {
        method,
        path: path.to_string(),
        headers,
        body,
    };
    if read {
        http::send_idempotent(connection, &request)
    } else {
        http::send(connection, &request)
    }
}

/// Classifies a response the way a real connector does.
fn check(resp: Response, what: &str) -> Result<Response, Error> {
    match resp.status {
        200..=299 => Ok(resp),
        404 => Err(Error::not_found(what.to_string())),
        401 | 403 => Err(Error::unauthorized(format!("{what}: HTTP {}", resp.status))),
        429 => {
            let secs = resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.trim().parse::<u64>().ok());
            Err(Error::rate_limited(
                secs.map(|s| s * 1000),
                format!("{what}: HTTP 429"),
            ))
        }
        400 | 422 => {
            let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let field = body["field"].as_str().unwrap_or("?").to_string();
            let message = body["message"].as_str().unwrap_or("rejected").to_string();
            Err(Error::Invalid(vec![FieldError {
                field,
                line: None,
                message,
            }]))
        }
        500..=599 => Err(Error::transient(format!("{what}: HTTP {}", resp.status))),
        s => Err(Error::fatal(format!("{what}: unexpected HTTP {s}"))),
    }
}

/// A flat JSON object becomes a document; numbers become decimals (never floats).
fn to_document(kind: &str, id: &str, body: &[u8]) -> Result<Document, Error> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::fatal(format!("response is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| Error::fatal("response is not a JSON object"))?;
    let mut doc = DocumentBuilder::new(kind).id(id);
    for (k, v) in obj {
        doc = match v {
            serde_json::Value::String(s) => doc.text(k, s.clone()),
            serde_json::Value::Number(n) => doc.value(k, Value::Decimal(n.to_string())),
            serde_json::Value::Bool(b) => doc.boolean(k, *b),
            serde_json::Value::Null => doc.value(k, Value::Null),
            other => doc.text(k, other.to_string()),
        };
    }
    Ok(doc.build())
}

fn fields_json(fields: &[ferry_pdk::Field]) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for f in fields {
        let v = match &f.value {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) => {
                serde_json::Value::String(s.clone())
            }
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Boolean(b) => serde_json::Value::Bool(*b),
            Value::Null => serde_json::Value::Null,
        };
        obj.insert(f.name.clone(), v);
    }
    serde_json::Value::Object(obj)
}

impl Guest for TestErp {
    fn get_customer(id: String) -> Result<Document, Error> {
        let resp = check(
            send("erp", Method::Get, &format!("customers/{id}"), vec![], None)?,
            &id,
        )?;
        to_document("customer", &id, &resp.body)
    }
    fn find_customers(_criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        unsupported("find-customers")
    }
    fn create_customer(_customer: Document) -> Result<String, Error> {
        unsupported("create-customer")
    }
    fn update_customer(_id: String, _changes: Document) -> Result<(), Error> {
        unsupported("update-customer")
    }
    fn list_customers_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        unsupported("list-customers-changed")
    }

    fn get_item(id: String) -> Result<Document, Error> {
        let (connection, path, headers) = if let Some(rest) = id.strip_prefix("conn:") {
            let (conn, item) = rest.split_once('/').unwrap_or((rest, "x"));
            (conn.to_string(), format!("items/{item}"), vec![])
        } else if let Some(path) = id.strip_prefix("path:") {
            ("erp".to_string(), path.to_string(), vec![])
        } else if let Some(name) = id.strip_prefix("header:") {
            (
                "erp".to_string(),
                "items/x".to_string(),
                vec![(name.to_string(), "Bearer stolen".to_string())],
            )
        } else {
            ("erp".to_string(), format!("items/{id}"), vec![])
        };
        let resp = check(
            send(&connection, Method::Get, &path, headers, None)?,
            &format!("item {id}"),
        )?;
        to_document("item", &id, &resp.body)
    }
    fn list_items(_page: PageRequest) -> Result<Page, Error> {
        unsupported("list-items")
    }
    fn list_items_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        unsupported("list-items-changed")
    }
    fn get_item_price(item: String) -> Result<Price, Error> {
        let doc = Self::get_item(item.clone())?;
        let amount = doc
            .decimal("price")?
            .ok_or_else(|| Error::not_found(format!("price of {item}")))?;
        Ok(Price {
            item,
            amount: amount.to_string(),
            currency: doc.text("currency"),
            unit: None,
            min_quantity: None,
        })
    }
    fn get_customer_price(
        _item: String,
        _customer: String,
        _quantity: String,
    ) -> Result<Price, Error> {
        unsupported("get-customer-price")
    }
    fn get_stock(_item: String) -> Result<Vec<StockBalance>, Error> {
        unsupported("get-stock")
    }
    fn get_item_prices(
        items: Vec<String>,
        _customer: Option<String>,
    ) -> Result<Vec<ItemPrices>, Error> {
        items
            .into_iter()
            .map(|item| {
                let list_price = match Self::get_item_price(item.clone()) {
                    Ok(p) => Some(p),
                    Err(Error::NotFound(_)) => None,
                    Err(e) => return Err(e),
                };
                Ok(ItemPrices {
                    item,
                    list_price,
                    customer_price: None,
                })
            })
            .collect()
    }
    fn get_stocks(_items: Vec<String>, _warehouses: Vec<String>) -> Result<Vec<ItemStock>, Error> {
        unsupported("get-stocks")
    }
    fn list_stocks_changed(
        _since: String,
        _warehouses: Vec<String>,
    ) -> Result<Option<Vec<ItemStock>>, Error> {
        // Cannot tell what changed: the host reads every item.
        Ok(None)
    }

    fn validate_order(order: Document) -> Result<Vec<FieldError>, Error> {
        let mut problems = Vec::new();
        for (i, line) in order.lines.iter().enumerate() {
            if line
                .decimal("ORQT")?
                .is_none_or(|q| q <= ferry_pdk::Decimal::ZERO)
            {
                problems.push(ferry_pdk::line_error(
                    "ORQT",
                    i as u32,
                    "quantity must be positive",
                ));
            }
        }
        Ok(problems)
    }
    fn create_order(order: Document, reference: String) -> Result<OrderReceipt, Error> {
        let lines: Vec<serde_json::Value> =
            order.lines.iter().map(|l| fields_json(&l.fields)).collect();
        let body = serde_json::json!({ "reference": reference, "head": fields_json(&order.fields), "lines": lines });
        let resp = check(
            send(
                "erp",
                Method::Post,
                "orders",
                vec![("content-type".into(), "application/json".into())],
                Some(body.to_string().into_bytes()),
            )?,
            "create order",
        )?;
        let json: serde_json::Value =
            serde_json::from_slice(&resp.body).map_err(|e| Error::fatal(e.to_string()))?;
        Ok(OrderReceipt {
            order_number: json["order"].as_str().unwrap_or_default().to_string(),
            reference,
            status: json["status"].as_str().unwrap_or("22").to_string(),
            line_numbers: (1..=order.lines.len()).map(|n| n.to_string()).collect(),
        })
    }
    fn begin_order(_header: Document, _reference: String) -> Result<String, Error> {
        unsupported("begin-order")
    }
    fn add_order_lines(_draft: String, _lines: Vec<Line>) -> Result<(), Error> {
        unsupported("add-order-lines")
    }
    fn confirm_order(_draft: String) -> Result<OrderReceipt, Error> {
        unsupported("confirm-order")
    }
    fn find_order(
        _reference: String,
        _customer: Option<String>,
    ) -> Result<Option<OrderReceipt>, Error> {
        unsupported("find-order")
    }
    /// Vendor details (`ferry:host/diagnostics`): `details-ok:N` adds N details and
    /// succeeds (the host drops them); `details-err:N` adds N (`vendor.n` = 0..N) and fails
    /// with `not-found`.
    fn get_order_status(order_number: String) -> Result<OrderReceipt, Error> {
        let (what, n) = order_number.split_once(':').unwrap_or((&order_number, "0"));
        let n: u32 = n.parse().unwrap_or(0);
        for i in 0..n {
            ferry_pdk::detail("vendor.n", &i.to_string());
        }
        match what {
            "details-ok" => Ok(OrderReceipt {
                order_number,
                reference: String::new(),
                status: "22".into(),
                line_numbers: Vec::new(),
            }),
            "details-err" => Err(Error::not_found(format!("order {order_number}"))),
            _ => unsupported("get-order-status"),
        }
    }

    /// One invoice per order, numbered after it: what a 1.2 plugin answers.
    fn list_order_invoices(order_number: String) -> Result<Vec<Invoice>, Error> {
        Ok(vec![Invoice {
            number: format!("INV-{order_number}"),
            date: "2026-12-03".into(),
            amount: Some("100.00".into()),
            currency: Some("EUR".into()),
        }])
    }

    fn parse_event(content_type: String, payload: Vec<u8>) -> Result<Vec<Change>, Error> {
        if content_type != "text/plain" {
            return Err(Error::invalid(
                "content-type",
                format!("expected text/plain, got {content_type}"),
            ));
        }
        let text =
            String::from_utf8(payload).map_err(|_| Error::invalid("payload", "not UTF-8"))?;
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|key| Change {
                entity: Entity::Item,
                key: key.trim().to_string(),
                action: ChangeAction::Updated,
                changed_at: None,
                detail: vec![],
            })
            .collect())
    }
}

export!(TestErp);
