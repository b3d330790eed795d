//! OAGIS BODs for changes, published the way ION's messaging service (IMS) delivers them: an
//! HTTP POST of `multipart/form-data` with a `ParameterRequest` part (JSON) and a
//! `MessagePayload` part (the BOD XML). BODs go through an outbox table in the state database,
//! so a BOD is never lost across a restart and is delivered in order, retried until a 2xx.
//!
//! The envelope copies a real M3 BOD (reference/m3-api.md §4). The noun bodies
//! (ItemMaster, CustomerPartyMaster, SalesOrder) are CONSTRUCTED, UNVERIFIED: no literal M3
//! sample was found; extra M3 fields travel as UserArea Property/NameValue, Infor's usual way.

use std::time::Duration;

use quick_xml::escape::escape;
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::data::{dec, now_rfc3339};
use super::server::SimState;
use super::transactions::{Event, num};
use crate::seed::{CONO, DIVI};
use crate::util::random_token;

const LID: &str = "lid://infor.m3.m3";

fn uuid() -> String {
    let h = random_token(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn e(s: &str) -> String {
    escape(s).into_owned()
}

fn envelope(noun_verb: &str, accounting_entity: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<{noun_verb} xmlns="http://schema.infor.com/InforOAGIS/2" releaseID="9.2" versionID="2.14.3" systemEnvironmentCode="Production" languageCode="en-US">
  <ApplicationArea>
    <Sender>
      <LogicalID>{LID}</LogicalID>
      <ComponentID>M3BE</ComponentID>
      <ConfirmationCode>OnError</ConfirmationCode>
    </Sender>
    <CreationDateTime>{now}</CreationDateTime>
    <BODID>{bodid}</BODID>
  </ApplicationArea>
  <DataArea>
    <Sync>
      <AccountingEntityID>{accounting_entity}</AccountingEntityID>
      <LocationID/>
      <ActionCriteria><ActionExpression actionCode="Replace"/></ActionCriteria>
    </Sync>
{body}
  </DataArea>
</{noun_verb}>
"#,
        now = now_rfc3339(),
        bodid = uuid(),
    )
}

fn name_values(pairs: &[(String, String)]) -> String {
    let mut s = String::from("<UserArea><Property>");
    for (k, v) in pairs {
        s.push_str(&format!(
            r#"<NameValue name="{}" type="StringType">{}</NameValue>"#,
            e(k),
            e(v)
        ));
    }
    s.push_str("</Property></UserArea>");
    s
}

fn item_master(tx: &Transaction<'_>, itno: &str) -> rusqlite::Result<Option<String>> {
    type Row = (String, String, String, String, String, String, String, i64);
    let row: Option<Row> = tx
        .query_row(
            "SELECT itds, fuds, stat, unms, itgr, sapr, cucd, chno FROM items WHERE itno = ?1",
            [itno],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some((itds, fuds, stat, unms, itgr, sapr, cucd, chno)) = row else {
        return Ok(None);
    };
    let mut extra = vec![("m3.SAPR".to_string(), sapr), ("m3.CUCD".to_string(), cucd)];
    let mut st =
        tx.prepare("SELECT whlo, stqt, alqt FROM balances WHERE itno = ?1 ORDER BY whlo")?;
    let bals: Vec<(String, String, String)> = st
        .query_map([itno], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (whlo, stqt, alqt) in bals {
        extra.push((format!("m3.STQT.{whlo}"), num(dec(&stqt))));
        extra.push((format!("m3.AV01.{whlo}"), num(dec(&stqt) - dec(&alqt))));
    }
    let body = format!(
        r#"    <ItemMaster>
      <ItemMasterHeader>
        <ItemID><ID accountingEntity="{CONO}" lid="{LID}" variationID="{chno}">{itno}</ID></ItemID>
        <ItemStatus><Code listID="Item Status">{stat}</Code></ItemStatus>
        <Description>{itds}</Description>
        <Note>{fuds}</Note>
        <BaseUOMCode listID="Unit of Measure">{unms}</BaseUOMCode>
        <Classification type="ItemGroup"><Codes><Code>{itgr}</Code></Codes></Classification>
        <LastModificationDateTime>{now}</LastModificationDateTime>
        {user}
      </ItemMasterHeader>
    </ItemMaster>"#,
        itno = e(itno),
        stat = e(&stat),
        itds = e(&itds),
        fuds = e(&fuds),
        unms = e(&unms),
        itgr = e(&itgr),
        now = now_rfc3339(),
        user = name_values(&extra),
    );
    Ok(Some(envelope("SyncItemMaster", CONO, &body)))
}

fn customer_party_master(tx: &Transaction<'_>, cuno: &str) -> rusqlite::Result<Option<String>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let row: Option<Row> = tx
        .query_row(
            "SELECT cunm, cua1, cua2, town, ecar, pono, cscd, phno, mail, stat FROM customers WHERE cuno = ?1",
            [cuno],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            },
        )
        .optional()?;
    let Some((cunm, cua1, cua2, town, ecar, pono, cscd, phno, mail, stat)) = row else {
        return Ok(None);
    };
    let ae = format!("{CONO}_{DIVI}");
    let body = format!(
        r#"    <CustomerPartyMaster>
      <PartyIDs><ID accountingEntity="{ae}" lid="{LID}">{cuno}</ID></PartyIDs>
      <Name>{cunm}</Name>
      <Location>
        <Address>
          <AddressLine sequence="1">{cua1}</AddressLine>
          <AddressLine sequence="2">{cua2}</AddressLine>
          <CityName>{town}</CityName>
          <CountrySubDivisionCode>{ecar}</CountrySubDivisionCode>
          <CountryCode>{cscd}</CountryCode>
          <PostalCode>{pono}</PostalCode>
        </Address>
      </Location>
      <Communication><ChannelCode>Telephone</ChannelCode><DialNumber>{phno}</DialNumber></Communication>
      <Communication><ChannelCode>EMail</ChannelCode><URI>{mail}</URI></Communication>
      <Status><Code listID="Customer Status">{stat}</Code></Status>
      <LastModificationDateTime>{now}</LastModificationDateTime>
    </CustomerPartyMaster>"#,
        cuno = e(cuno),
        cunm = e(&cunm),
        cua1 = e(&cua1),
        cua2 = e(&cua2),
        town = e(&town),
        ecar = e(&ecar),
        cscd = e(&cscd),
        pono = e(&pono),
        phno = e(&phno),
        mail = e(&mail),
        stat = e(&stat),
        now = now_rfc3339(),
    );
    Ok(Some(envelope("SyncCustomerPartyMaster", &ae, &body)))
}

fn status_text(stat: &str) -> &'static str {
    match stat {
        "20" => "Registered, not fully allocated",
        "22" => "Allocated",
        "33" => "Picking list printed",
        "44" => "Picked",
        "66" => "Delivered",
        "77" => "Invoiced",
        _ => "Other",
    }
}

fn sales_order(tx: &Transaction<'_>, orno: &str) -> rusqlite::Result<Option<String>> {
    let row: Option<(String, String, String, String)> = tx
        .query_row(
            "SELECT cuno, cuor, stat, ntam FROM orders WHERE orno = ?1",
            [orno],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((cuno, cuor, stat, ntam)) = row else {
        return Ok(None);
    };
    let ae = format!("{CONO}_{DIVI}");
    let body = format!(
        r#"    <SalesOrder>
      <SalesOrderHeader>
        <DocumentID><ID accountingEntity="{ae}" lid="{LID}">{orno}</ID></DocumentID>
        <CustomerPurchaseOrderReference><DocumentID><ID>{cuor}</ID></DocumentID></CustomerPurchaseOrderReference>
        <CustomerParty><PartyIDs><ID accountingEntity="{ae}">{cuno}</ID></PartyIDs></CustomerParty>
        <Status><Code listID="Sales Order Status">{stat}</Code><Description>{text}</Description></Status>
        <TotalAmount currencyID="USD">{ntam}</TotalAmount>
        <LastModificationDateTime>{now}</LastModificationDateTime>
      </SalesOrderHeader>
    </SalesOrder>"#,
        orno = e(orno),
        cuor = e(&cuor),
        cuno = e(&cuno),
        stat = e(&stat),
        text = status_text(&stat),
        ntam = e(&ntam),
        now = now_rfc3339(),
    );
    Ok(Some(envelope("SyncSalesOrder", &ae, &body)))
}

/// Turn events into outbox rows inside the same transaction as the change.
pub fn enqueue(tx: &Transaction<'_>, events: &[Event]) -> rusqlite::Result<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for ev in events.iter().filter(|e| seen.insert((*e).clone())) {
        let (name, xml) = match ev {
            Event::Item(i) => ("SyncItemMaster", item_master(tx, i)?),
            Event::Customer(c) => ("SyncCustomerPartyMaster", customer_party_master(tx, c)?),
            Event::OrderStatus(o) => ("SyncSalesOrder", sales_order(tx, o)?),
        };
        if let Some(xml) = xml {
            tx.execute(
                "INSERT INTO bod_outbox (document_name, message_id, xml, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, uuid(), xml, now_rfc3339()],
            )?;
            n += 1;
        }
    }
    Ok(n)
}

/// One IMS multipart message: (content type, body).
pub fn multipart(document_name: &str, message_id: &str, xml: &str) -> (String, Vec<u8>) {
    let boundary = format!("----FerrySandbox{}", random_token(12));
    // ParameterRequest keys follow IMS v2 `message` (documentName, messageId, fromLogicalId,
    // toLogicalId, encoding, characterSet); their exact set for multipart is UNVERIFIED.
    let params = json!({
        "documentName": document_name,
        "messageId": message_id,
        "fromLogicalId": LID,
        "toLogicalId": "lid://default",
        "encoding": "NONE",
        "characterSet": "UTF-8",
    });
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"ParameterRequest\"\r\nContent-Type: application/json\r\n\r\n{params}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"MessagePayload\"; filename=\"{document_name}.xml\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(xml.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Deliver outbox rows in order to `endpoint` until the simulator stops.
pub async fn publisher(state: SimState, endpoint: String, bearer: Option<String>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "BOD publisher: cannot build HTTP client");
            return;
        }
    };
    let mut backoff = Duration::from_millis(200);
    loop {
        let next: Option<(i64, String, String, String)> = state
            .with_db(|db| {
                db.query_row(
                    "SELECT id, document_name, message_id, xml FROM bod_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
            })
            .ok()
            .flatten();
        let Some((id, name, message_id, xml)) = next else {
            tokio::select! {
                _ = state.bod_notify.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            continue;
        };
        let (ct, body) = multipart(&name, &message_id, &xml);
        let mut req = client
            .post(&endpoint)
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body);
        if let Some(b) = &bearer {
            req = req.bearer_auth(b);
        }
        let outcome = match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(err) => Err(err.without_url().to_string()),
        };
        match outcome {
            Ok(()) => {
                backoff = Duration::from_millis(200);
                let _ = state.with_db(|db| {
                    db.execute(
                        "UPDATE bod_outbox SET sent_at = ?1, attempts = attempts + 1 WHERE id = ?2",
                        params![now_rfc3339(), id],
                    )
                });
            }
            Err(msg) => {
                tracing::warn!(bod = id, error = %msg, "BOD delivery failed; will retry");
                let _ = state.with_db(|db| {
                    db.execute(
                        "UPDATE bod_outbox SET attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
                        params![msg, id],
                    )
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
