//! ION BODs (OAGIS XML) M3 publishes, read into change notifications: SyncItemMaster,
//! SyncCustomerPartyMaster and sales-order BODs (SyncSalesOrder, ...). Hostile input is
//! refused: no DTD (so no external or internal entities), only XML's five predefined entities
//! and character references, a size cap and a depth cap. The noun bodies M3 emits are not
//! published; the paths read here follow OAGIS (ItemMasterHeader/ItemID/ID, PartyIDs/ID,
//! SalesOrderHeader/DocumentID/ID, Status/Code) and are UNVERIFIED against a real M3 feed.

use ferry_pdk::{Change, ChangeAction, Entity, Error, Field, Value};
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Default size cap for one BOD.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
const MAX_DEPTH: usize = 64;

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid("payload", message)
}

/// Takes the XML out of what ION delivered: the bare document, or an IMS multipart message
/// whose `MessagePayload` part holds it.
pub fn extract_xml<'a>(content_type: &str, payload: &'a [u8]) -> Result<&'a [u8], Error> {
    let ct = content_type.to_ascii_lowercase();
    if !ct.starts_with("multipart/") {
        return Ok(payload);
    }
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or_else(|| invalid("multipart payload without a boundary"))?;
    let delim = format!("--{boundary}");
    let text = payload;
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(i) = find(rest, delim.as_bytes()) {
        rest = &rest[i + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, delim.as_bytes()).unwrap_or(rest.len());
        parts.push(&rest[..end]);
    }
    for part in parts {
        let Some(h) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..h]).to_ascii_lowercase();
        if headers.contains("name=\"messagepayload\"") {
            let mut body = &part[h + 4..];
            if body.ends_with(b"\r\n") {
                body = &body[..body.len() - 2];
            }
            return Ok(body);
        }
    }
    Err(invalid("multipart message has no MessagePayload part"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[derive(Default)]
struct Noun {
    entity: Option<Entity>,
    key: String,
    status: String,
    changed_at: Option<String>,
    detail: Vec<Field>,
}

/// Parses one BOD into its changes (one per noun it carries).
pub fn parse(content_type: &str, payload: &[u8], max_bytes: usize) -> Result<Vec<Change>, Error> {
    if payload.len() > max_bytes {
        return Err(invalid(format!(
            "BOD of {} bytes is larger than the {max_bytes}-byte limit",
            payload.len()
        )));
    }
    let xml = extract_xml(content_type, payload)?;
    let text = std::str::from_utf8(xml).map_err(|_| invalid("BOD is not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);

    let mut path: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let mut action = String::new();
    let mut created: Option<String> = None;
    let mut bod_id: Option<String> = None;
    let mut nouns: Vec<Noun> = Vec::new();
    let mut current: Option<Noun> = None;
    let mut text_buf = String::new();
    let mut nv_name: Option<String> = None;

    loop {
        let ev = reader.read_event().map_err(|e| {
            invalid(format!(
                "malformed XML at byte {}: {e}",
                reader.error_position()
            ))
        })?;
        match ev {
            Event::DocType(_) => return Err(invalid("a DTD is not accepted in a BOD")),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let name = e.local_name().as_ref().to_string();
                text_buf.clear();
                if root.is_none() {
                    root = Some(name.clone());
                }
                if name == "ActionExpression"
                    && let Some(a) = attr(e, "actionCode")?
                {
                    action = a;
                }
                if name == "NameValue" {
                    nv_name = attr(e, "name")?;
                }
                let noun_entity = match name.as_str() {
                    "ItemMaster" => Some(Entity::Item),
                    "CustomerPartyMaster" => Some(Entity::Customer),
                    "SalesOrder" => Some(Entity::Order),
                    _ => None,
                };
                if noun_entity.is_some() && path.iter().any(|p| p == "DataArea") {
                    current = Some(Noun {
                        entity: noun_entity,
                        ..Noun::default()
                    });
                }
                if is_empty {
                    continue;
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(invalid("BOD nests too deeply"));
                }
            }
            Event::Text(t) => text_buf.push_str(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(c) => text_buf.push_str(c.as_ref()),
            Event::GeneralRef(r) => {
                if let Some(ch) = r
                    .resolve_char_ref()
                    .map_err(|e| invalid(format!("bad character reference: {e}")))?
                {
                    text_buf.push(ch);
                } else {
                    let name = r.xml_content(XmlVersion::Implicit1_0);
                    let ch = match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(invalid(format!(
                                "entity &{other}; is not allowed (no DTD, no custom entities)"
                            )));
                        }
                    };
                    text_buf.push(ch);
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let value = text_buf.trim().to_string();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let grand = if path.len() >= 2 {
                    path[path.len() - 2].as_str()
                } else {
                    ""
                };
                if name == "CreationDateTime" && parent == "ApplicationArea" {
                    created = Some(value.clone());
                }
                if name == "BODID" && parent == "ApplicationArea" && !value.is_empty() {
                    bod_id = Some(value.clone());
                }
                if let Some(noun) = current.as_mut() {
                    match (noun.entity.clone(), name.as_str()) {
                        (Some(Entity::Item), "ID") if parent == "ItemID" && noun.key.is_empty() => {
                            noun.key = value.clone()
                        }
                        (Some(Entity::Customer), "ID")
                            if parent == "PartyIDs" && grand == "CustomerPartyMaster" =>
                        {
                            noun.key = value.clone()
                        }
                        (Some(Entity::Order), "ID")
                            if parent == "DocumentID" && grand == "SalesOrderHeader" =>
                        {
                            noun.key = value.clone()
                        }
                        (Some(Entity::Order), "ID")
                            if path.iter().any(|p| p == "CustomerPurchaseOrderReference") =>
                        {
                            push(&mut noun.detail, "CUOR", &value)
                        }
                        (Some(Entity::Order), "ID")
                            if path.iter().any(|p| p == "CustomerParty") =>
                        {
                            push(&mut noun.detail, "CUNO", &value)
                        }
                        (_, "Code") if parent == "Status" || parent == "ItemStatus" => {
                            noun.status = value.clone()
                        }
                        (_, "LastModificationDateTime") => noun.changed_at = Some(value.clone()),
                        (_, "NameValue") => {
                            if let Some(n) = nv_name.take() {
                                let n = n.strip_prefix("m3.").unwrap_or(&n).to_string();
                                push(&mut noun.detail, &n, &value);
                            }
                        }
                        _ => {}
                    }
                    let closes_noun = matches!(
                        name.as_str(),
                        "ItemMaster" | "CustomerPartyMaster" | "SalesOrder"
                    );
                    if closes_noun && let Some(n) = current.take() {
                        nouns.push(n);
                    }
                }
                text_buf.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(invalid("BOD ends before its elements close"));
    }
    let root = root.ok_or_else(|| invalid("empty payload"))?;
    if nouns.is_empty() {
        return Err(invalid(format!(
            "{root}: not an item, customer or sales-order BOD this connector reads"
        )));
    }
    let verb_action = |entity: &Entity| -> ChangeAction {
        match action.as_str() {
            "Delete" => ChangeAction::Deleted,
            "Add" if *entity != Entity::Order => ChangeAction::Created,
            _ if *entity == Entity::Order => ChangeAction::StatusChanged,
            _ => ChangeAction::Updated,
        }
    };
    let mut changes = Vec::new();
    for n in nouns {
        let Some(entity) = n.entity else { continue };
        if n.key.is_empty() {
            return Err(invalid(format!("{root}: a noun without its ID")));
        }
        let mut detail = n.detail;
        if !n.status.is_empty() {
            detail.insert(
                0,
                Field {
                    name: "STAT".into(),
                    value: Value::Text(n.status.clone()),
                },
            );
        }
        // The contract's change has no event id: the host dedupes on this detail.
        if let Some(id) = &bod_id {
            push(&mut detail, "event-id", id);
        }
        let action = verb_action(&entity);
        changes.push(Change {
            entity,
            key: n.key,
            action,
            changed_at: n.changed_at.or_else(|| created.clone()),
            detail,
        });
    }
    Ok(changes)
}

fn push(detail: &mut Vec<Field>, name: &str, value: &str) {
    detail.push(Field {
        name: name.to_string(),
        value: Value::Text(value.to_string()),
    });
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Result<Option<String>, Error> {
    for a in e.attributes() {
        let a = a.map_err(|err| invalid(format!("bad attribute: {err}")))?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| invalid(format!("bad attribute value: {err}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SyncItemMaster xmlns="http://schema.infor.com/InforOAGIS/2" releaseID="9.2">
  <ApplicationArea><Sender><LogicalID>lid://infor.m3.m3</LogicalID></Sender>
    <CreationDateTime>2026-05-01T10:00:00Z</CreationDateTime><BODID>b1</BODID></ApplicationArea>
  <DataArea>
    <Sync><AccountingEntityID>100</AccountingEntityID><LocationID/><ActionCriteria><ActionExpression actionCode="Replace"/></ActionCriteria></Sync>
    <ItemMaster><ItemMasterHeader>
      <ItemID><ID accountingEntity="100" lid="lid://infor.m3.m3">BRG&amp;10000</ID></ItemID>
      <ItemStatus><Code listID="Item Status">20</Code></ItemStatus>
      <Description>Bearing &#233;</Description>
      <LastModificationDateTime>2026-05-01T09:59:00Z</LastModificationDateTime>
      <UserArea><Property><NameValue name="m3.SAPR" type="StringType">12.50</NameValue></Property></UserArea>
    </ItemMasterHeader></ItemMaster>
  </DataArea>
</SyncItemMaster>"#;

    fn detail(c: &Change, name: &str) -> Option<String> {
        c.detail
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| match &f.value {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            })
    }

    #[test]
    fn an_item_master_becomes_an_item_change() {
        let changes = parse("application/xml", ITEM.as_bytes(), DEFAULT_MAX_BYTES).expect("parsed");
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.entity, Entity::Item);
        assert_eq!(c.key, "BRG&10000");
        assert_eq!(c.action, ChangeAction::Updated);
        assert_eq!(c.changed_at.as_deref(), Some("2026-05-01T09:59:00Z"));
        assert_eq!(detail(c, "STAT").as_deref(), Some("20"));
        assert_eq!(detail(c, "SAPR").as_deref(), Some("12.50"));
        assert_eq!(detail(c, "event-id").as_deref(), Some("b1"), "the BOD id");
    }

    #[test]
    fn a_sales_order_bod_is_a_status_change_with_its_reference() {
        let xml = r#"<SyncSalesOrder><ApplicationArea><CreationDateTime>2026-05-02T00:00:00Z</CreationDateTime></ApplicationArea>
          <DataArea><Sync><ActionCriteria><ActionExpression actionCode="Replace"/></ActionCriteria></Sync>
          <SalesOrder><SalesOrderHeader>
            <DocumentID><ID accountingEntity="100_AAA">1000000001</ID></DocumentID>
            <CustomerPurchaseOrderReference><DocumentID><ID>FRYQ1000</ID></DocumentID></CustomerPurchaseOrderReference>
            <CustomerParty><PartyIDs><ID>C10001</ID></PartyIDs></CustomerParty>
            <Status><Code listID="Sales Order Status">33</Code><Description>Picking</Description></Status>
          </SalesOrderHeader></SalesOrder></DataArea></SyncSalesOrder>"#;
        let c = &parse("text/xml", xml.as_bytes(), DEFAULT_MAX_BYTES).expect("parsed")[0];
        assert_eq!(c.entity, Entity::Order);
        assert_eq!(c.key, "1000000001");
        assert_eq!(c.action, ChangeAction::StatusChanged);
        assert_eq!(detail(c, "STAT").as_deref(), Some("33"));
        assert_eq!(detail(c, "CUOR").as_deref(), Some("FRYQ1000"));
        assert_eq!(detail(c, "CUNO").as_deref(), Some("C10001"));
        assert_eq!(c.changed_at.as_deref(), Some("2026-05-02T00:00:00Z"));
    }

    #[test]
    fn dtds_entities_oversize_and_broken_xml_are_invalid() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SyncItemMaster><DataArea><ItemMaster><ItemMasterHeader><ItemID><ID>&e;</ID></ItemID></ItemMasterHeader></ItemMaster></DataArea></SyncItemMaster>"#;
        let laughs = r#"<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>"#;
        let undeclared = "<SyncItemMaster><DataArea><ItemMaster><ItemMasterHeader><ItemID><ID>&e;</ID></ItemID></ItemMasterHeader></ItemMaster></DataArea></SyncItemMaster>";
        for bad in [
            xxe,
            laughs,
            undeclared,
            "<a><b></a>",
            "",
            "not xml",
            "<Other/>",
        ] {
            assert!(
                matches!(
                    parse("application/xml", bad.as_bytes(), DEFAULT_MAX_BYTES),
                    Err(Error::Invalid(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("application/xml", ITEM.as_bytes(), 100),
            Err(Error::Invalid(_))
        ));
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            parse("application/xml", deep.as_bytes(), DEFAULT_MAX_BYTES),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn an_ims_multipart_message_yields_its_payload() {
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"ParameterRequest\"\r\nContent-Type: application/json\r\n\r\n{{\"documentName\":\"SyncItemMaster\"}}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"MessagePayload\"; filename=\"x.xml\"\r\nContent-Type: application/octet-stream\r\n\r\n{ITEM}\r\n--XyZ--\r\n"
        );
        let changes = parse(
            "multipart/form-data; boundary=XyZ",
            body.as_bytes(),
            DEFAULT_MAX_BYTES,
        )
        .expect("parsed");
        assert_eq!(changes[0].key, "BRG&10000");
    }
}
