//! Reading M3 back for an order: by reference (M3 has no get-by-CUOR), its status, and the
//! unconfirmed batch orders an interrupted entry can leave (found and deleted before a retry).

use super::*;

/// The head's CUNO and CUOR as sent to M3.
pub(crate) fn head_keys(head: &[(String, String)]) -> (String, String) {
    let get = |k: &str| {
        head.iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    (get("CUNO"), get("CUOR"))
}

/// The customer's batch orders carrying `cuor` that are not (yet) customer orders, oldest
/// first. LstBatchHead cannot filter by CUOR, so the customer's list is filtered here.
pub(crate) fn unconfirmed_batch_orders(
    mi: &Mi,
    cuno: &str,
    cuor: &str,
) -> Result<Vec<String>, Error> {
    let heads = mi.call("OIS100MI", "LstBatchHead", &[key("CUNO", cuno)?], Some(0))?;
    let mut found: Vec<String> = heads
        .iter()
        .filter(|h| h.get("CUOR").map(|c| c.trim()) == Some(cuor))
        .filter(|h| h.get("ORNR").is_none_or(|o| o.trim().is_empty()))
        .filter(|h| h.get("STAT").map(|s| s.trim()) != Some("90"))
        .filter_map(|h| h.get("ORNO").map(|o| o.trim().to_string()))
        .filter(|o| !o.is_empty())
        .collect();
    found.sort();
    Ok(found)
}

/// A write whose NOK says the thing is already gone counts as done (a repeat after a lost
/// answer).
pub(crate) fn deleted(result: Result<Result<Vec<Record>, Nok>, Error>) -> Result<(), Error> {
    match result? {
        Ok(_) => Ok(()),
        Err(nok) if nok.is_not_found() => Ok(()),
        Err(nok) => Err(nok.classify()),
    }
}

/// Deletes these lines (as LstBatchLine listed them) from a batch order.
pub(crate) fn delete_lines(mi: &Mi, orno: &str, lines: &[Record]) -> Result<(), Error> {
    for line in lines {
        let Some(ponr) = line.get("PONR").map(|p| p.trim()).filter(|p| !p.is_empty()) else {
            continue;
        };
        deleted(mi.try_call(
            "OIS100MI",
            "DelBatchLine",
            &[key("ORNO", orno)?, key("PONR", ponr)?],
            Some(0),
        ))?;
    }
    Ok(())
}

/// Deletes a batch order: its lines first (whether DelBatchHead takes them along is
/// UNVERIFIED), then the head.
pub(crate) fn delete_batch_order(mi: &Mi, orno: &str) -> Result<(), Error> {
    let lines = mi.call("OIS100MI", "LstBatchLine", &[key("ORNO", orno)?], Some(0))?;
    delete_lines(mi, orno, &lines)?;
    deleted(mi.try_call("OIS100MI", "DelBatchHead", &[key("ORNO", orno)?], Some(0)))?;
    ferry_pdk::warn!("deleted batch order {orno}: a second batch order for the same reference");
    Ok(())
}

/// M3 has no get-by-CUOR: list the customer's orders (LstHead) and filter on CUOR.
pub fn find(
    mi: &Mi,
    reference: &str,
    customer: Option<&str>,
) -> Result<Option<OrderReceipt>, Error> {
    let Some(customer) = customer.filter(|c| !c.trim().is_empty()) else {
        return Err(Error::invalid(
            "customer",
            "M3 finds an order by reference within a customer (OIS100MI/LstHead needs CUNO)",
        ));
    };
    let (_, cuor) = key("CUOR", reference)?;
    let heads = mi.call("OIS100MI", "LstHead", &[key("CUNO", customer)?], Some(0))?;
    let mut matching: Vec<&Record> = heads
        .iter()
        .filter(|h| h.get("CUOR").map(|c| c.trim()) == Some(cuor.as_str()))
        .collect();
    matching.sort_by(|a, b| a.get("ORNO").cmp(&b.get("ORNO")));
    if matching.len() > 1 {
        let all: Vec<&str> = matching
            .iter()
            .filter_map(|h| h.get("ORNO"))
            .map(|s| s.trim())
            .collect();
        ferry_pdk::warn!(
            "reference {cuor} is on {} orders of {customer}: {}",
            all.len(),
            all.join(", ")
        );
    }
    Ok(matching.first().map(|h| OrderReceipt {
        order_number: h
            .get("ORNO")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        reference: cuor.clone(),
        status: receipt_status(h),
        line_numbers: Vec::new(),
    }))
}

pub fn status(mi: &Mi, order_number: &str) -> Result<OrderReceipt, Error> {
    let head = mi.get_one("OIS100MI", "GetHead", &[key("ORNO", order_number)?])?;
    Ok(OrderReceipt {
        order_number: head
            .get("ORNO")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| order_number.to_string()),
        reference: head
            .get("CUOR")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        status: receipt_status(&head),
        line_numbers: Vec::new(),
    })
}
