//! A webhook emitter shaped like QuoteWerks Webhooks (reference/quotewerks.md §1.4): a named
//! event, a method and URL, custom headers (where the shared secret goes: QuoteWerks has no
//! signing scheme), and a body rendered from a template with `{{Macro}}` placeholders.
//!
//! Global macros are QuoteWerks' own: `{{System.EventFullName}}`, `{{System.EventContext}}`,
//! `{{System.EventName}}`, `{{System.TenantAccountNumber}}`. The event-specific macro names are
//! UNVERIFIED; the sandbox offers `{{Document.<DocumentHeaders column>}}` (e.g.
//! `{{Document.DocNo}}`), `{{Document.PreviousDocStatus}}`, `{{System.EventID}}` and
//! `{{System.EventDateTime}}`. The event name `QuoteWerks.DocumentStatusChanged` is UNVERIFIED
//! too. Unknown macros are left as written, so a template typo shows in the delivered body.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default body: JSON with everything a receiver needs to fetch the document.
pub const DEFAULT_TEMPLATE: &str = r#"{
  "event": "{{System.EventFullName}}",
  "eventId": "{{System.EventID}}",
  "occurredAt": "{{System.EventDateTime}}",
  "tenant": "{{System.TenantAccountNumber}}",
  "document": {
    "id": {{Document.ID}},
    "docNo": "{{Document.DocNo}}",
    "docType": "{{Document.DocType}}",
    "status": "{{Document.DocStatus}}",
    "previousStatus": "{{Document.PreviousDocStatus}}",
    "soldToCompany": "{{Document.SoldToCompany}}",
    "soldToEmail": "{{Document.SoldToEmail}}",
    "grandTotal": "{{Document.GrandTotal}}"
  }
}"#;

pub const DEFAULT_SECRET_HEADER: &str = "X-QuoteWerks-Secret";
pub const DEFAULT_EVENT: &str = "QuoteWerks.DocumentStatusChanged";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: String,
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// `Context.EventName`.
    pub event: String,
    /// Custom headers, sent as given (the shared secret lives here).
    pub headers: Vec<(String, String)>,
    /// Body content type: values are escaped for JSON or XML bodies, raw otherwise.
    pub content_type: String,
    pub template: String,
    pub tenant_account_number: String,
    /// Delivery attempts before giving up (QuoteWerks' retry policy is UNVERIFIED).
    pub max_attempts: u32,
}

impl WebhookConfig {
    pub fn new(url: &str, secret_header: &str, secret: &str) -> Self {
        Self {
            url: url.to_string(),
            method: "POST".into(),
            event: DEFAULT_EVENT.into(),
            headers: vec![(secret_header.to_string(), secret.to_string())],
            content_type: "application/json".into(),
            template: DEFAULT_TEMPLATE.into(),
            tenant_account_number: "QW-SANDBOX-0001".into(),
            max_attempts: 3,
        }
    }
}

fn escape_for(content_type: &str, v: &str) -> String {
    if content_type.contains("json") {
        let quoted = serde_json::Value::String(v.to_string()).to_string();
        quoted[1..quoted.len() - 1].to_string()
    } else if content_type.contains("xml") {
        quick_xml::escape::escape(v).into_owned()
    } else {
        v.to_string()
    }
}

/// Replace `{{Name}}` placeholders from `macros`; unknown names stay as written.
pub fn render(template: &str, content_type: &str, macros: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match macros.get(name) {
                    Some(v) => out.push_str(&escape_for(content_type, v)),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Macros for one event on one document.
pub fn macros(
    cfg: &WebhookConfig,
    event_id: &str,
    header: &HashMap<String, String>,
    previous_status: &str,
) -> HashMap<String, String> {
    let (context, name) = cfg
        .event
        .split_once('.')
        .unwrap_or(("QuoteWerks", cfg.event.as_str()));
    let mut m: HashMap<String, String> = header
        .iter()
        .map(|(k, v)| (format!("Document.{k}"), v.clone()))
        .collect();
    m.insert(
        "Document.PreviousDocStatus".into(),
        previous_status.to_string(),
    );
    m.insert("System.EventFullName".into(), cfg.event.clone());
    m.insert("System.EventContext".into(), context.to_string());
    m.insert("System.EventName".into(), name.to_string());
    m.insert(
        "System.TenantAccountNumber".into(),
        cfg.tenant_account_number.clone(),
    );
    m.insert("System.EventID".into(), event_id.to_string());
    m.insert(
        "System.EventDateTime".into(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    m
}

/// Send one rendered webhook with retries; returns (final HTTP status, attempts, last error).
pub async fn deliver(cfg: &WebhookConfig, body: &str) -> (Option<u16>, u32, Option<String>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => return (None, 0, Some(e.to_string())),
    };
    let method = reqwest::Method::from_bytes(cfg.method.to_ascii_uppercase().as_bytes())
        .unwrap_or(reqwest::Method::POST);
    let mut last = (None, 0, None);
    for attempt in 1..=cfg.max_attempts.max(1) {
        let mut req = client.request(method.clone(), &cfg.url);
        for (k, v) in &cfg.headers {
            req = req.header(k, v);
        }
        if method != reqwest::Method::GET {
            req = req
                .header(reqwest::header::CONTENT_TYPE, &cfg.content_type)
                .body(body.to_string());
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return (Some(r.status().as_u16()), attempt, None),
            Ok(r) => {
                last = (
                    Some(r.status().as_u16()),
                    attempt,
                    Some(format!("HTTP {}", r.status())),
                )
            }
            Err(e) => last = (None, attempt, Some(e.without_url().to_string())),
        }
        if attempt < cfg.max_attempts {
            tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes_per_content_type() {
        let m = HashMap::from([(
            "Document.SoldToCompany".to_string(),
            "Tool & \"Die\" Co.".to_string(),
        )]);
        assert_eq!(
            render(
                "{\"c\":\"{{Document.SoldToCompany}}\"}",
                "application/json",
                &m
            ),
            r#"{"c":"Tool & \"Die\" Co."}"#
        );
        assert_eq!(
            render("<c>{{ Document.SoldToCompany }}</c>", "application/xml", &m),
            "<c>Tool &amp; &quot;Die&quot; Co.</c>"
        );
        assert_eq!(render("{{Nope}} {{", "text/plain", &m), "{{Nope}} {{");
    }
}
