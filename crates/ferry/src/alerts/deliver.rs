//! Sending an alert: a webhook (`{"text": "…"}`, which Slack's and Teams' incoming webhooks
//! both take) and e-mail over SMTP (lettre). Each send is bounded by the tenant's timeout; a
//! failure is returned, never raised: the evaluator logs it and tries again next tick.
//! Secrets (the webhook URL, the SMTP password) are read at each send, so a rotated one is
//! picked up without a restart, and never appear in an error.

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Alert;
use crate::config::SecretRef;
use crate::config::alerts::{SmtpConfig, SmtpTls};

/// Somewhere an alert can be sent.
pub trait Deliver: Send + Sync {
    /// Names the channel in logs and in the sent-state (`webhook`, `email`).
    fn id(&self) -> &str;

    fn send(&self, alert: &Alert) -> impl Future<Output = Result<(), String>> + Send;
}

/// The channels a tenant's alerts config names.
pub enum Channel {
    Webhook(Webhook),
    Email(Email),
}

impl Deliver for Channel {
    fn id(&self) -> &str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
        }
    }

    async fn send(&self, alert: &Alert) -> Result<(), String> {
        match self {
            Channel::Webhook(w) => w.send(alert).await,
            Channel::Email(e) => e.send(alert).await,
        }
    }
}

pub struct Webhook {
    pub url: SecretRef,
    /// Where a `{ file = … }` reference is relative to.
    pub base: PathBuf,
    pub http: reqwest::Client,
}

impl Webhook {
    pub fn new(url: SecretRef, base: PathBuf, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A webhook that redirects is misconfigured; following it could post elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { url, base, http })
    }

    async fn send(&self, alert: &Alert) -> Result<(), String> {
        let url = self
            .url
            .resolve(&self.base)
            .map_err(|e| format!("webhook URL {}: {e}", self.url))?;
        let body = serde_json::json!({ "text": alert.text() });
        // The URL carries the webhook's token: never part of a message.
        let resp = self
            .http
            .post(url.trim())
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("webhook: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {status}"))
        }
    }
}

pub struct Email {
    pub smtp: SmtpConfig,
    pub to: Vec<String>,
    pub base: PathBuf,
    pub timeout: Duration,
}

impl Email {
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let host = self.smtp.host.trim();
        let builder = match self.smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| format!("smtp {host}: {e}"))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| format!("smtp {host}: {e}"))?,
        };
        let mut builder = builder.port(self.smtp.port()).timeout(Some(self.timeout));
        if let (Some(user), Some(password)) = (&self.smtp.username, &self.smtp.password) {
            let secret = password
                .resolve(&self.base)
                .map_err(|e| format!("smtp password {password}: {e}"))?;
            builder = builder.credentials(Credentials::new(user.clone(), secret));
        }
        Ok(builder.build())
    }

    fn message(&self, alert: &Alert) -> Result<Message, String> {
        let mailbox = |s: &str| Mailbox::from_str(s.trim()).map_err(|e| format!("'{s}': {e}"));
        let mut message = Message::builder()
            .from(mailbox(&self.smtp.from)?)
            .subject(alert.subject());
        for to in &self.to {
            message = message.to(mailbox(to)?);
        }
        message
            .header(ContentType::TEXT_PLAIN)
            .body(format!("{}\n\n-- \nferry serve\n", alert.text()))
            .map_err(|e| format!("e-mail: {e}"))
    }

    async fn send(&self, alert: &Alert) -> Result<(), String> {
        let message = self.message(alert)?;
        let transport = self.transport()?;
        let host = format!("{}:{}", self.smtp.host.trim(), self.smtp.port());
        // lettre's own timeout is per command; this bounds the whole conversation.
        match tokio::time::timeout(self.timeout, transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("smtp {host}: {e}")),
            Err(_) => Err(format!(
                "smtp {host}: no answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }
}
