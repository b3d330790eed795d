//! The simulator's control API (`/_control/…`, bearer control token): faults, order status,
//! item/price/stock and customer changes (which publish BODs), token expiry, state reads.
//! The same operations are library functions for in-process tests.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::data::{self, OrderRecord, today};
use super::faults::{FaultConfig, QueuedFault};
use super::oauth;
use super::server::{Sim, SimState};
use super::transactions::{Event, MiError, ois100_status};

/// Changes to an item; each given field is applied and one SyncItemMaster BOD is published.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemChange {
    pub itds: Option<String>,
    pub stat: Option<String>,
    /// New sales price (decimal string on the wire).
    pub sapr: Option<Decimal>,
    /// New on-hand quantities per warehouse.
    pub stock: Vec<StockChange>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StockChange {
    pub whlo: String,
    pub stqt: Decimal,
}

/// A customer's credit (CRS610 financial data): limit 3 (0 = none) and outstanding invoices.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreditChange {
    pub crl3: Decimal,
    pub toin: Decimal,
}

/// Changes to a customer; publishes one SyncCustomerPartyMaster BOD.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerChange {
    pub cunm: Option<String>,
    pub stat: Option<String>,
    pub mail: Option<String>,
    pub phno: Option<String>,
    pub cua1: Option<String>,
    pub town: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateSummary {
    pub items: i64,
    pub customers: i64,
    pub batch_orders: i64,
    /// Batch orders not (yet) turned into customer orders: left over when a client lost track.
    pub unconfirmed_batch_orders: i64,
    pub orders: i64,
    pub bods_pending: i64,
    pub bods_sent: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BodRecord {
    pub id: i64,
    pub document_name: String,
    pub message_id: String,
    pub sent: bool,
    pub attempts: i64,
    pub xml: String,
}

impl Sim {
    /// Advance one order a step up the status ladder (20/22 → 33 → 44 → 66 → 77), or to `to`.
    pub fn advance_order(&self, orno: &str, to: Option<&str>) -> Result<String, MiError> {
        self.change(|ctx| {
            let stat: String = ctx
                .tx
                .query_row("SELECT stat FROM orders WHERE orno = ?1", [orno], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| MiError::not_found("ORNO", "Order number", orno))?;
            let next = match to {
                Some(t) if ois100_status::STATUS_LADDER.contains(&t) => t.to_string(),
                Some(t) => {
                    return Err(MiError::nok(
                        "XIN0001",
                        "STAT",
                        format!("Status {t} is not on the ladder"),
                    ));
                }
                None => match ois100_status::next_status(&stat) {
                    Some(n) => n.to_string(),
                    None => return Ok(stat),
                },
            };
            ois100_status::set_order_status(ctx, orno, &next)?;
            Ok(next)
        })
    }

    /// Advance every order that is not yet invoiced by one step; returns how many moved.
    pub fn advance_all_orders(&self) -> anyhow::Result<usize> {
        let ornos: Vec<String> = self.with_db(|db| {
            let mut st = db.prepare("SELECT orno FROM orders WHERE stat < '77' ORDER BY orno")?;
            st.query_map([], |r| r.get(0))?.collect()
        })?;
        for o in &ornos {
            self.advance_order(o, None)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(ornos.len())
    }

    pub fn change_item(&self, itno: &str, change: &ItemChange) -> Result<(), MiError> {
        self.change(|ctx| {
            let exists =
                ctx.tx
                    .query_row("SELECT COUNT(*) FROM items WHERE itno = ?1", [itno], |r| {
                        r.get::<_, i64>(0)
                    })?
                    > 0;
            if !exists {
                return Err(MiError::not_found("ITNO", "Item number", itno));
            }
            if let Some(v) = &change.itds {
                ctx.tx.execute(
                    "UPDATE items SET itds = ?1 WHERE itno = ?2",
                    params![v, itno],
                )?;
            }
            if let Some(v) = &change.stat {
                ctx.tx.execute(
                    "UPDATE items SET stat = ?1 WHERE itno = ?2",
                    params![v, itno],
                )?;
            }
            if let Some(p) = change.sapr {
                ctx.tx.execute(
                    "UPDATE items SET sapr = ?1 WHERE itno = ?2",
                    params![p.to_string(), itno],
                )?;
            }
            for s in &change.stock {
                ctx.tx.execute(
                    "INSERT INTO balances (itno, whlo, stqt, alqt, lmdt) VALUES (?1, ?2, ?3, '0', ?4)
                     ON CONFLICT(itno, whlo) DO UPDATE SET stqt = ?3, lmdt = ?4",
                    params![itno, s.whlo, s.stqt.to_string(), today()],
                )?;
            }
            // A balance is its own record (MITBAL): a stock-only change leaves the item's
            // change date alone, as M3 would.
            if change.itds.is_some() || change.stat.is_some() || change.sapr.is_some() {
                ctx.tx.execute(
                    "UPDATE items SET lmdt = ?1, chno = chno + 1 WHERE itno = ?2",
                    params![today(), itno],
                )?;
            }
            ctx.events.push(Event::Item(itno.to_string()));
            Ok(())
        })
    }

    pub fn change_customer(&self, cuno: &str, change: &CustomerChange) -> Result<(), MiError> {
        self.change(|ctx| {
            let exists = ctx.tx.query_row(
                "SELECT COUNT(*) FROM customers WHERE cuno = ?1",
                [cuno],
                |r| r.get::<_, i64>(0),
            )? > 0;
            if !exists {
                return Err(MiError::not_found("CUNO", "Customer number", cuno));
            }
            for (col, v) in [
                ("cunm", &change.cunm),
                ("stat", &change.stat),
                ("mail", &change.mail),
                ("phno", &change.phno),
                ("cua1", &change.cua1),
                ("town", &change.town),
            ] {
                if let Some(v) = v {
                    ctx.tx.execute(
                        &format!("UPDATE customers SET {col} = ?1 WHERE cuno = ?2"),
                        params![v, cuno],
                    )?;
                }
            }
            ctx.tx.execute(
                "UPDATE customers SET lmdt = ?1 WHERE cuno = ?2",
                params![today(), cuno],
            )?;
            ctx.events.push(Event::Customer(cuno.to_string()));
            Ok(())
        })
    }

    /// Sets a customer's credit limit 3 and outstanding invoice amount.
    pub fn set_credit(&self, cuno: &str, change: &CreditChange) -> Result<(), MiError> {
        self.change(|ctx| super::transactions::set_credit(ctx, cuno, change.crl3, change.toin))
    }

    pub fn summary(&self) -> anyhow::Result<StateSummary> {
        self.with_db(|db| {
            let c = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0));
            Ok(StateSummary {
                items: c("SELECT COUNT(*) FROM items")?,
                customers: c("SELECT COUNT(*) FROM customers WHERE is_template = 0")?,
                batch_orders: c("SELECT COUNT(*) FROM batch_heads")?,
                unconfirmed_batch_orders: c(
                    "SELECT COUNT(*) FROM batch_heads WHERE state <> 'confirmed'",
                )?,
                orders: c("SELECT COUNT(*) FROM orders")?,
                bods_pending: c("SELECT COUNT(*) FROM bod_outbox WHERE sent_at IS NULL")?,
                bods_sent: c("SELECT COUNT(*) FROM bod_outbox WHERE sent_at IS NOT NULL")?,
            })
        })
    }

    pub fn orders(&self) -> anyhow::Result<Vec<OrderRecord>> {
        self.with_db(|db| data::read_orders(db))
    }

    pub fn bods(&self) -> anyhow::Result<Vec<BodRecord>> {
        self.with_db(|db| {
            let mut st = db.prepare(
                "SELECT id, document_name, message_id, sent_at IS NOT NULL, attempts, xml FROM bod_outbox ORDER BY id",
            )?;
            st.query_map([], |r| {
                Ok(BodRecord {
                    id: r.get(0)?,
                    document_name: r.get(1)?,
                    message_id: r.get(2)?,
                    sent: r.get(3)?,
                    attempts: r.get(4)?,
                    xml: r.get(5)?,
                })
            })?
            .collect()
        })
    }
}

async fn require_control_token(
    State(state): State<SimState>,
    req: Request,
    next: Next,
) -> Response {
    match crate::util::control_token_refusal(req.headers(), &state.control_token) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

fn mi_error(e: MiError) -> Response {
    let status = if e.code == "XRE0103" {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(json!({"error": e.message, "code": e.code, "field": e.field})),
    )
        .into_response()
}

fn internal(e: anyhow::Error) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

pub fn router(state: SimState) -> Router<SimState> {
    Router::new()
        .route("/_control/state", get(get_state))
        .route("/_control/orders", get(get_orders))
        .route("/_control/requests", get(get_requests))
        .route("/_control/orders/advance-all", post(post_advance_all))
        .route("/_control/orders/{orno}/advance", post(post_advance))
        .route(
            "/_control/faults",
            get(get_faults).put(put_faults).delete(delete_faults),
        )
        .route("/_control/faults/queue", post(post_fault_queue))
        .route("/_control/tokens/expire", post(post_expire_tokens))
        .route("/_control/items/{itno}", post(post_item))
        .route("/_control/customers/{cuno}", post(post_customer))
        .route("/_control/customers/{cuno}/credit", post(post_credit))
        .route("/_control/bods", get(get_bods))
        .layer(middleware::from_fn_with_state(state, require_control_token))
}

async fn get_state(State(s): State<SimState>) -> Response {
    s.summary()
        .map(|v| Json(v).into_response())
        .unwrap_or_else(internal)
}

/// MI requests served (`total`) and per wall-clock second (`per_second`: `[unix second,
/// requests]`, oldest first), as M3's gateway counts them against a tenant's limit: for tests
/// driving the simulator in another process.
async fn get_requests(State(s): State<SimState>) -> Response {
    Json(json!({
        "total": s.mi_requests.load(std::sync::atomic::Ordering::Relaxed),
        "per_second": s.faults.per_second(),
    }))
    .into_response()
}

async fn get_orders(State(s): State<SimState>) -> Response {
    s.orders()
        .map(|v| Json(v).into_response())
        .unwrap_or_else(internal)
}

async fn get_bods(State(s): State<SimState>) -> Response {
    s.bods()
        .map(|v| Json(v).into_response())
        .unwrap_or_else(internal)
}

#[derive(Debug, Default, Deserialize)]
struct AdvanceBody {
    to: Option<String>,
}

async fn post_advance(
    State(s): State<SimState>,
    Path(orno): Path<String>,
    body: Option<Json<AdvanceBody>>,
) -> Response {
    let to = body.and_then(|Json(b)| b.to);
    match s.advance_order(&orno, to.as_deref()) {
        Ok(stat) => Json(json!({"orno": orno, "stat": stat})).into_response(),
        Err(e) => mi_error(e),
    }
}

async fn post_advance_all(State(s): State<SimState>) -> Response {
    s.advance_all_orders()
        .map(|n| Json(json!({"advanced": n})).into_response())
        .unwrap_or_else(internal)
}

async fn get_faults(State(s): State<SimState>) -> Response {
    Json(s.faults.get()).into_response()
}

async fn put_faults(State(s): State<SimState>, Json(cfg): Json<FaultConfig>) -> Response {
    s.faults.set(cfg);
    Json(s.faults.get()).into_response()
}

async fn delete_faults(State(s): State<SimState>) -> Response {
    s.faults.set(FaultConfig::default());
    StatusCode::NO_CONTENT.into_response()
}

async fn post_fault_queue(State(s): State<SimState>, Json(f): Json<QueuedFault>) -> Response {
    s.faults.push(f);
    Json(s.faults.get()).into_response()
}

async fn post_expire_tokens(State(s): State<SimState>) -> Response {
    oauth::expire_all(&s)
        .map(|n| Json(json!({"expired": n})).into_response())
        .unwrap_or_else(internal)
}

async fn post_item(
    State(s): State<SimState>,
    Path(itno): Path<String>,
    Json(c): Json<ItemChange>,
) -> Response {
    match s.change_item(&itno, &c) {
        Ok(()) => Json(json!({"itno": itno})).into_response(),
        Err(e) => mi_error(e),
    }
}

async fn post_customer(
    State(s): State<SimState>,
    Path(cuno): Path<String>,
    Json(c): Json<CustomerChange>,
) -> Response {
    match s.change_customer(&cuno, &c) {
        Ok(()) => Json(json!({"cuno": cuno})).into_response(),
        Err(e) => mi_error(e),
    }
}

async fn post_credit(
    State(s): State<SimState>,
    Path(cuno): Path<String>,
    Json(c): Json<CreditChange>,
) -> Response {
    match s.set_credit(&cuno, &c) {
        Ok(()) => Json(json!({"cuno": cuno})).into_response(),
        Err(e) => mi_error(e),
    }
}
