//! Acting as a QuoteWerks user: create a quote, change a document's status (which fires the
//! webhook, as QuoteWerks does on a status change), read documents. Library functions plus the
//! HTTP control API (`/_control/…`, bearer control token). QuoteWerks itself has no REST API;
//! this HTTP surface is the sandbox's stand-in for a sales rep at the desktop.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::documents::{self, DocRef, DocSummary, Document, NewQuote};
use super::webhook::{self, WebhookConfig};
use crate::util::random_token;

pub struct Qw {
    pub db: Mutex<Connection>,
    pub product_db: String,
    pub webhook: Option<WebhookConfig>,
    pub control_token: String,
}

pub type QwState = Arc<Qw>;

/// The result of a status change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusChange {
    pub id: i64,
    pub doc_no: String,
    pub previous: String,
    pub status: String,
    /// Set when a webhook was queued for delivery.
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub event_id: String,
    pub event: String,
    pub doc_id: i64,
    pub url: String,
    pub status: Option<u16>,
    pub attempts: u32,
    pub body: String,
    pub error: Option<String>,
    pub delivered: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum QwError {
    #[error("document {0} does not exist")]
    NotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("simulator database lock poisoned")]
    Poisoned,
}

impl Qw {
    fn with_db<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, QwError>,
    ) -> Result<T, QwError> {
        let mut g = self.db.lock().map_err(|_| QwError::Poisoned)?;
        f(&mut g)
    }

    pub fn create_quote(&self, q: &NewQuote) -> Result<DocRef, QwError> {
        if q.lines.is_empty() {
            return Err(QwError::Invalid("a quote needs at least one line".into()));
        }
        self.with_db(|db| {
            if let Some(no) = &q.doc_no
                && documents::find_by_doc_no(db, no)?.is_some()
            {
                return Err(QwError::Invalid(format!("DocNo {no} already exists")));
            }
            Ok(documents::create(db, &self.product_db, q)?)
        })
    }

    pub fn document(&self, id: i64) -> Result<Document, QwError> {
        self.with_db(|db| documents::read(db, id)?.ok_or_else(|| QwError::NotFound(id.to_string())))
    }

    pub fn find_doc_no(&self, doc_no: &str) -> Result<i64, QwError> {
        self.with_db(|db| {
            documents::find_by_doc_no(db, doc_no)?
                .ok_or_else(|| QwError::NotFound(doc_no.to_string()))
        })
    }

    pub fn documents(&self, status: Option<&str>) -> Result<Vec<DocSummary>, QwError> {
        self.with_db(|db| Ok(documents::list(db, status)?))
    }

    /// Change DocStatus as a user would; when it really changes and a webhook is configured,
    /// render and deliver it in the background (logged in `_SandboxWebhookLog`).
    pub fn set_status(self: &Arc<Self>, id: i64, status: &str) -> Result<StatusChange, QwError> {
        if status.trim().is_empty() {
            return Err(QwError::Invalid("status must not be empty".into()));
        }
        let (previous, doc) = self.with_db(|db| {
            let prev = documents::set_status(db, id, status)?
                .ok_or_else(|| QwError::NotFound(id.to_string()))?;
            let doc = documents::read(db, id)?.ok_or_else(|| QwError::NotFound(id.to_string()))?;
            Ok((prev, doc))
        })?;
        let mut change = StatusChange {
            id,
            doc_no: doc.text("DocNo"),
            previous: previous.clone(),
            status: status.to_string(),
            event_id: None,
        };
        if previous == status {
            return Ok(change);
        }
        if let Some(cfg) = self.webhook.clone() {
            let event_id = format!("{}-{}", id, random_token(8));
            let macros =
                webhook::macros(&cfg, &event_id, &documents::header_strings(&doc), &previous);
            let body = webhook::render(&cfg.template, &cfg.content_type, &macros);
            self.with_db(|db| {
                db.execute(
                    "INSERT INTO _SandboxWebhookLog (event_id, event, doc_id, url, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![event_id, cfg.event, id, cfg.url, body, chrono::Utc::now().to_rfc3339()],
                )?;
                Ok(())
            })?;
            let me = self.clone();
            let eid = event_id.clone();
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                tracing::warn!("set_status called outside a tokio runtime: webhook not delivered");
                change.event_id = Some(event_id);
                return Ok(change);
            };
            rt.spawn(async move {
                let (status, attempts, error) = webhook::deliver(&cfg, &body).await;
                if let Some(e) = &error {
                    tracing::warn!(event_id = %eid, error = %e, "webhook delivery failed");
                }
                let _ = me.with_db(|db| {
                    db.execute(
                        "UPDATE _SandboxWebhookLog SET status = ?1, attempts = ?2, error = ?3,
                           delivered_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE NULL END WHERE event_id = ?5",
                        params![status, attempts, error, chrono::Utc::now().to_rfc3339(), eid],
                    )?;
                    Ok(())
                });
            });
            change.event_id = Some(event_id);
        }
        Ok(change)
    }

    pub fn webhook_log(&self) -> Result<Vec<WebhookDelivery>, QwError> {
        self.with_db(|db| {
            let mut st = db.prepare(
                "SELECT event_id, event, doc_id, url, status, attempts, body, error, delivered_at IS NOT NULL
                 FROM _SandboxWebhookLog ORDER BY id",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(WebhookDelivery {
                        event_id: r.get(0)?,
                        event: r.get(1)?,
                        doc_id: r.get(2)?,
                        url: r.get(3)?,
                        status: r.get(4)?,
                        attempts: r.get(5)?,
                        body: r.get(6)?,
                        error: r.get(7)?,
                        delivered: r.get(8)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }
}

fn err(e: QwError) -> Response {
    let status = match e {
        QwError::NotFound(_) => StatusCode::NOT_FOUND,
        QwError::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

async fn require_control_token(State(state): State<QwState>, req: Request, next: Next) -> Response {
    match crate::util::control_token_refusal(req.headers(), &state.control_token) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

pub fn router(state: QwState, max_body_bytes: usize) -> Router {
    let control = Router::new()
        .route("/_control/quotes", post(post_quote))
        .route("/_control/documents", get(get_documents))
        .route("/_control/documents/{id}", get(get_document))
        .route("/_control/documents/{id}/status", post(post_status))
        .route(
            "/_control/documents/by-no/{doc_no}/status",
            post(post_status_by_no),
        )
        .route("/_control/webhooks", get(get_webhooks))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_control_token,
        ));
    Router::new()
        .merge(control)
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            max_body_bytes,
        ))
        .with_state(state)
}

async fn post_quote(State(s): State<QwState>, Json(q): Json<NewQuote>) -> Response {
    match s.create_quote(&q) {
        Ok(d) => (StatusCode::CREATED, Json(d)).into_response(),
        Err(e) => err(e),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
}

async fn get_documents(State(s): State<QwState>, Query(q): Query<ListQuery>) -> Response {
    s.documents(q.status.as_deref())
        .map(|d| Json(d).into_response())
        .unwrap_or_else(err)
}

async fn get_document(State(s): State<QwState>, Path(id): Path<i64>) -> Response {
    s.document(id)
        .map(|d| Json(d).into_response())
        .unwrap_or_else(err)
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: String,
}

async fn post_status(
    State(s): State<QwState>,
    Path(id): Path<i64>,
    Json(b): Json<StatusBody>,
) -> Response {
    s.set_status(id, &b.status)
        .map(|c| Json(c).into_response())
        .unwrap_or_else(err)
}

async fn post_status_by_no(
    State(s): State<QwState>,
    Path(doc_no): Path<String>,
    Json(b): Json<StatusBody>,
) -> Response {
    match s.find_doc_no(&doc_no) {
        Ok(id) => s
            .set_status(id, &b.status)
            .map(|c| Json(c).into_response())
            .unwrap_or_else(err),
        Err(e) => err(e),
    }
}

async fn get_webhooks(State(s): State<QwState>) -> Response {
    s.webhook_log()
        .map(|d| Json(d).into_response())
        .unwrap_or_else(err)
}
