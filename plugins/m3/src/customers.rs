//! Customers through CRS610MI: found by the given criteria, created from a template, changed,
//! listed by change date.

use crate::fields;
use crate::mi::{Blanks, Mi};
use ferry_pdk::{Document, Error, FieldsExt, MatchCriteria, Page, PageRequest, Value, field_error};

use crate::records::*;

pub(crate) const CUSTOMER_ADD: &[&str] = &[
    "CUNO", "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "PHNO", "PHN2", "TFNO", "CUTP", "ALCU",
    "YREF", "YRE2", "MAIL", "CSCD", "ECAR", "CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC6", "CFC7",
    "CFC8", "CFC9", "CFC0", "CESA", "STAT", "IVGP", "TOWN", "CUSU", "FRCO", "EDES", "LNCD", "DIVI",
    "CUTM",
];
pub(crate) const CUSTOMER_CHG: &[&str] = &[
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "PHNO", "PHN2", "TFNO", "CUTP", "ALCU", "YREF",
    "YRE2", "MAIL", "CSCD", "ECAR", "CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC6", "CFC7", "CFC8",
    "CFC9", "CFC0", "CESA", "STAT", "TOWN", "CUSU", "FRCO", "EDES", "LNCD", "DIVI",
];

/// Every customer matching all given criteria: by name through LstByName first, otherwise by
/// scanning LstByNumber (M3 has no e-mail index reachable through MI; `SearchCustomer`'s query
/// syntax is UNVERIFIED, so it is not used).
pub(crate) fn matching(mi: &Mi, criteria: &MatchCriteria) -> Result<Vec<Document>, Error> {
    if let Some(cuno) = criteria
        .external_ref
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        let doc = match mi.get_one("CRS610MI", "GetBasicData", &[key("CUNO", cuno)?]) {
            Ok(r) => document("customer", "CUNO", &r),
            Err(Error::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        return Ok(if matches_criteria(&doc, criteria) {
            vec![doc]
        } else {
            Vec::new()
        });
    }
    // By name: LstByName from the name's first word as M3 usually stores it (title case),
    // reading while names still start with that word. A name stored otherwise ("NORTHWIND …")
    // sorts elsewhere, so no hit falls through to the full scan below.
    if let Some(name) = criteria.name.as_deref().filter(|n| !n.trim().is_empty()) {
        let want = fields::normalize_name(name);
        let first = want.split(' ').next().unwrap_or_default().to_string();
        let mut start: String = first
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    c.to_uppercase().next().unwrap_or(c)
                } else {
                    c
                }
            })
            .collect();
        let mut found = Vec::new();
        for _ in 0..20 {
            let page = key_page(
                mi,
                ("CRS610MI", "LstByName"),
                "CUNM",
                "customer",
                &PageRequest {
                    cursor: Some(start.clone()),
                    limit: mi.settings.page_size,
                },
                &[],
                Blanks::Keep,
            )?;
            let mut past = false;
            for d in page.documents {
                let n = fields::normalize_name(&d.text("CUNM").unwrap_or_default());
                if n.split(' ').next() != Some(first.as_str()) {
                    past = true;
                    break;
                }
                if matches_criteria(&d, criteria) {
                    found.push(d);
                }
            }
            match page.next {
                Some(next) if !past => start = next,
                _ => break,
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let scan_page = number_setting("customer_scan_page", 1000u32, 1..=10_000)?;
    let scan_max = number_setting("customer_scan_max", 100_000usize, 1..=usize::MAX)?;
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0usize;
    loop {
        let page = key_page(
            mi,
            ("CRS610MI", "LstByNumber"),
            "CUNO",
            "customer",
            &PageRequest {
                cursor: cursor.clone(),
                limit: scan_page,
            },
            &[],
            Blanks::Keep,
        )?;
        seen += page.documents.len();
        found.extend(
            page.documents
                .into_iter()
                .filter(|d| matches_criteria(d, criteria)),
        );
        match page.next {
            Some(n) if seen < scan_max => cursor = Some(n),
            Some(_) => {
                ferry_pdk::warn!(
                    "customer search stopped after {seen} customers (customer_scan_max)"
                );
                break;
            }
            None => break,
        }
    }
    Ok(found)
}

pub(crate) fn matches_criteria(doc: &Document, c: &MatchCriteria) -> bool {
    let field = |n: &str| doc.text(n).unwrap_or_default();
    let email_ok = c.email.as_deref().is_none_or(|e| {
        !e.trim().is_empty() && field("MAIL").trim().eq_ignore_ascii_case(e.trim())
    });
    let name_ok = c.name.as_deref().is_none_or(|n| {
        let want = fields::normalize_name(n);
        !want.is_empty() && fields::normalize_name(&field("CUNM")) == want
    });
    let phone_ok = c.phone.as_deref().is_none_or(|p| {
        let want = fields::digits(p);
        !want.is_empty()
            && (fields::digits(&field("PHNO")) == want || fields::digits(&field("PHN2")) == want)
    });
    let ref_ok = c
        .external_ref
        .as_deref()
        .is_none_or(|r| field("CUNO").trim() == r.trim());
    email_ok && name_ok && phone_ok && ref_ok
}

pub(crate) fn create_customer(customer: Document) -> Result<String, Error> {
    let mi = client()?;
    let mut errors = Vec::new();
    let mut inputs = inputs_from(
        &customer.fields,
        CUSTOMER_ADD,
        None,
        &mut errors,
        "CRS610MI/Add",
    );
    if let Some(id) = customer.id.as_deref().filter(|s| !s.trim().is_empty())
        && !inputs.iter().any(|(k, _)| k == "CUNO")
    {
        match fields::input("CUNO", &Value::Text(id.to_string()), None) {
            Ok(Some(v)) => inputs.push(("CUNO".into(), v)),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    for required in ["CUNM", "CUA1"] {
        if !inputs
            .iter()
            .any(|(k, v)| k == required && !v.trim().is_empty())
        {
            errors.push(field_error(required, None, "is required by CRS610MI"));
        }
    }
    let copy = setting("customer_create").is_some_and(|m| m.trim() == "copy");
    if !inputs.iter().any(|(k, _)| k == "CUTM") {
        let template = if copy {
            setting("customer_copy_from").or_else(|| setting("customer_template"))
        } else {
            setting("customer_template")
        };
        match template {
            Some(t) => match fields::input("CUTM", &Value::Text(t), None) {
                Ok(Some(v)) => inputs.push(("CUTM".into(), v)),
                _ => return Err(Error::fatal("setting customer_template is longer than 10")),
            },
            None => {
                return Err(Error::fatal(
                    "creating an M3 customer needs a template: set customer_template (CUTM)",
                ));
            }
        }
    }
    if let Some(stat) = setting("customer_status")
        && !inputs.iter().any(|(k, _)| k == "STAT")
    {
        inputs.push(("STAT".into(), stat));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let trn = if copy { "Copy" } else { "Add" };
    let r = mi.get_one("CRS610MI", trn, &inputs)?;
    if let Some(errm) = r.get("ERRM").filter(|e| !e.trim().is_empty()) {
        return Err(Error::invalid(
            "record",
            format!("CRS610MI/{trn}: {}", errm.trim()),
        ));
    }
    r.get("CUNO")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::fatal(format!("CRS610MI/{trn} returned no CUNO")))
}

pub(crate) fn update_customer(id: String, changes: Document) -> Result<(), Error> {
    let mi = client()?;
    let mut errors = Vec::new();
    let mut inputs = vec![key("CUNO", &id)?];
    inputs.extend(inputs_from(
        &changes.fields,
        CUSTOMER_CHG,
        None,
        &mut errors,
        "CRS610MI/ChgBasicData",
    ));
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    mi.call("CRS610MI", "ChgBasicData", &inputs, Some(1))?;
    Ok(())
}

/// LstByNumber with `LMTS` (the change-stamp filter, [`change_stamp_from`]) a day before
/// `since`, as the item listings read from the day before. Where M3 ignores it the page is a
/// superset: callers compare content, so an unchanged customer costs a comparison, never a
/// wrong write.
pub(crate) fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
    let mi = client()?;
    let lmts = change_stamp_from(&since, 86_400)?;
    key_page(
        &mi,
        ("CRS610MI", "LstByNumber"),
        "CUNO",
        "customer",
        &page,
        &[("LMTS".into(), lmts)],
        Blanks::Keep,
    )
}
