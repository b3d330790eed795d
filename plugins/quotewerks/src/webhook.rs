//! QuoteWerks webhooks: the JSON body template Ferry recommends (README "Connectors"). The
//! shared-secret header is the host's job (checked before the plugin runs, then removed):
//!
//! ```json
//! {"event":"{{System.EventFullName}}","eventId":"{{System.EventID}}",
//!  "occurredAt":"{{System.EventDateTime}}","tenant":"{{System.TenantAccountNumber}}",
//!  "document":{"id":"{{Document.ID}}","docNo":"{{Document.DocNo}}",
//!  "docType":"{{Document.DocType}}","status":"{{Document.DocStatus}}"}}
//! ```
//!
//! QuoteWerks publishes only its System.* macros; document macros and an event id are
//! UNVERIFIED, so a body without an event id gets one derived from the quote, its status and
//! the time (or the body's digest), and the id may be a number or a string.

use std::collections::BTreeSet;

use ferry_pdk::Error;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: String,
    pub quote_id: String,
    pub event: String,
    pub status: Option<String>,
    pub occurred_at: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::invalid(field, message)
}

/// A value that is really there: not blank and not a macro QuoteWerks left unrendered.
fn present(v: Option<&Json>) -> Option<String> {
    let s = match v? {
        Json::String(s) => s.trim().to_string(),
        Json::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && !s.contains("{{")).then_some(s)
}

/// FNV-1a: a stable digest for a derived event id (not a security measure).
fn fnv(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A JSON walk that fails on an object holding the same key twice, at any depth (`"a"` and
/// `"\u0061"` are the same key). serde_json silently keeps the last one, so a body with
/// duplicates can mean one thing to Ferry and another to whatever else reads it: refuse it.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<NoDuplicateKeys>()?;
            if let Some(key) = seen.replace(key) {
                return Err(de::Error::custom(format!("duplicate key '{key}'")));
            }
        }
        Ok(self)
    }
}

/// Parses one delivery. The host has already checked the shared-secret header (constant time,
/// before any plugin code runs) and removed it: the plugin never sees the secret.
pub fn parse(body: &[u8]) -> Result<Event, Error> {
    if body.len() > MAX_BODY {
        return Err(invalid(
            "body",
            format!("{} bytes is over the {MAX_BODY}-byte limit", body.len()),
        ));
    }
    let json: Json = serde_json::from_slice(body).map_err(|e| {
        invalid(
            "body",
            format!("not the JSON body template Ferry documents: {e}"),
        )
    })?;
    serde_json::from_slice::<NoDuplicateKeys>(body)
        .map_err(|e| invalid("body", format!("refused: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| invalid("body", "expected a JSON object"))?;
    let doc = obj.get("document").and_then(Json::as_object);
    let from_doc = |k: &str| doc.and_then(|d| present(d.get(k)));
    let quote_id = from_doc("id")
        .or_else(|| present(obj.get("quoteId")))
        .or_else(|| present(obj.get("docId")))
        .ok_or_else(|| invalid("document.id", "missing (use the {{Document.ID}} macro)"))?;
    if !quote_id.chars().all(|c| c.is_ascii_digit()) || quote_id.len() > 18 {
        return Err(invalid(
            "document.id",
            format!("'{quote_id}' is not a QuoteWerks document ID"),
        ));
    }
    let event = present(obj.get("event"))
        .ok_or_else(|| invalid("event", "missing (use {{System.EventFullName}})"))?;
    let status = from_doc("status").or_else(|| present(obj.get("status")));
    let occurred_at = present(obj.get("occurredAt"));
    let event_id = present(obj.get("eventId")).unwrap_or_else(|| match &occurred_at {
        Some(t) => format!(
            "qw-{quote_id}-{}-{t}",
            status
                .as_deref()
                .map(|s| fnv(s.as_bytes()))
                .unwrap_or_default()
        ),
        None => format!("qw-{quote_id}-{}", fnv(body)),
    });
    if event_id.len() > 200 {
        return Err(invalid("eventId", "longer than 200 characters"));
    }
    Ok(Event {
        event_id,
        quote_id,
        event,
        status,
        occurred_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_in_the_template_parses() {
        let body = br#"{"event":"QuoteWerks.DocumentStatusChanged","eventId":"e-1","occurredAt":"2026-05-01T10:00:00Z","document":{"id":17,"docNo":"FRYQ1000","status":"Approved"}}"#;
        let e = parse(body).expect("parsed");
        assert_eq!(e.quote_id, "17");
        assert_eq!(e.event_id, "e-1");
        assert_eq!(e.status.as_deref(), Some("Approved"));
    }

    #[test]
    fn malformed_bodies_are_invalid_never_a_panic() {
        for body in [
            &b""[..],
            b"not json",
            b"[1,2]",
            br#"{"event":"x"}"#,
            br#"{"event":"x","document":{"id":"{{Document.ID}}"}}"#,
            br#"{"event":"x","document":{"id":"1; DROP TABLE DocumentHeaders"}}"#,
            br#"{"document":{"id":3}}"#,
            b"\xff\xfe",
        ] {
            assert!(matches!(parse(body), Err(Error::Invalid(_))), "{body:?}");
        }
        let huge = vec![b' '; MAX_BODY + 1];
        assert!(matches!(parse(&huge), Err(Error::Invalid(_))));
    }

    #[test]
    fn a_duplicate_key_at_any_depth_is_invalid() {
        for body in [
            &br#"{"event":"x","event":"y","document":{"id":1}}"#[..],
            br#"{"event":"x","document":{"id":1,"id":2}}"#,
            br#"{"event":"x","document":{"id":1},"extra":[{"a":1,"a":2}]}"#,
            br#"{"event":"x","document":{"id":1,"\u0069d":2}}"#,
        ] {
            match parse(body) {
                Err(Error::Invalid(issues)) => assert!(
                    issues.iter().any(|i| i.message.contains("duplicate key")),
                    "{issues:?}"
                ),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
        // The same key in two different objects is not a duplicate.
        let body =
            br#"{"event":"x","document":{"id":1,"status":"A"},"other":{"id":2,"status":"B"}}"#;
        assert!(parse(body).is_ok());
    }

    #[test]
    fn an_event_id_is_derived_when_the_template_has_none() {
        let body = br#"{"event":"QuoteWerks.DocumentStatusChanged","occurredAt":"2026-05-01T10:00:00Z","document":{"id":"5","status":"Approved"}}"#;
        let a = parse(body).expect("parsed");
        let b = parse(body).expect("parsed");
        assert_eq!(a.event_id, b.event_id, "the same delivery dedupes");
        assert!(a.event_id.starts_with("qw-5-"));
    }
}
