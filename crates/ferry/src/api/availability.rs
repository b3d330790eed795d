//! `GET /api/v1/tenants/{tenant}/availability?item=ITNO[&warehouse=W]` (also at the shorter
//! `/api/v1/{tenant}/availability`): what a rep asks while quoting, "how many can I promise?",
//! answered from the ERP's stock (`get-stock`; the M3 connector reads `OIS100MI/LstWarehBalance`,
//! or `MMS200MI/GetItmWhsBal` per warehouse of its `warehouses` setting) behind a short-TTL cache, so a sales floor asking about the same item costs M3
//! one call per item and TTL. Concurrent misses for one item share that one call. A bearer
//! token as for the rest of the admin API; another tenant is 404.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{FromRef, Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use super::admin::{AdminState, Caller, ErrorBody};
use crate::tenant::TenantEnv;
use ferry_domain::{ErpCatalog, ErrorClass, RoleFailure, StockBalance};

/// How long an answer is served from the cache.
pub const TTL: Duration = Duration::from_secs(30);
/// Items kept at most (per server, all tenants).
const CAPACITY: u64 = 10_000;
/// M3's item number is A15 and its warehouse A3; anything longer is not an item or warehouse.
const MAX_ITEM: usize = 15;
const MAX_WAREHOUSE: usize = 3;

type Balances = Arc<(Vec<StockBalance>, String)>;

#[derive(Clone)]
pub struct AvailabilityState {
    admin: AdminState,
    catalogs: Arc<HashMap<String, Arc<dyn ErpCatalog>>>,
    cache: Cache<(String, String), Balances>,
}

impl FromRef<AvailabilityState> for AdminState {
    fn from_ref(state: &AvailabilityState) -> AdminState {
        state.admin.clone()
    }
}

impl AvailabilityState {
    pub fn new(admin: AdminState, catalogs: HashMap<String, Arc<dyn ErpCatalog>>) -> Self {
        Self {
            admin,
            catalogs: Arc::new(catalogs),
            cache: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
        }
    }

    /// Each configured tenant's ERP catalog role.
    pub fn for_tenants(admin: AdminState, tenants: &HashMap<String, Arc<TenantEnv>>) -> Self {
        let catalogs = tenants
            .iter()
            .map(|(name, env)| (name.clone(), env.roles().erp_catalog))
            .collect();
        Self::new(admin, catalogs)
    }
}

pub fn router(state: AvailabilityState) -> Router {
    Router::new()
        .route("/api/v1/tenants/{tenant}/availability", get(availability))
        .route("/api/v1/{tenant}/availability", get(availability))
        .with_state(state)
}

#[derive(Deserialize, IntoParams)]
pub struct AvailabilityQuery {
    /// The ERP's item number (M3 ITNO).
    #[serde(default)]
    item: String,
    /// Only this warehouse (M3 WHLO); default every warehouse the ERP lists.
    #[serde(default)]
    warehouse: Option<String>,
}

/// One warehouse's stock; quantities are decimals as strings.
#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub warehouse: String,
    pub on_hand: String,
    pub allocatable: String,
    pub allocated: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Availability {
    pub tenant: String,
    pub item: String,
    pub warehouse: Option<String>,
    pub balances: Vec<Balance>,
    /// When the ERP was asked (RFC 3339).
    pub fetched_at: String,
    /// Whether this answer came from the cache (at most `ttl_secs` old).
    pub cached: bool,
    pub ttl_secs: u64,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/availability", tag = "availability",
    params(("tenant" = String, Path, description = "Tenant name"), AvailabilityQuery),
    responses(
        (status = 200, description = "The item's stock per warehouse, live or at most 30 s old", body = Availability),
        (status = 400, description = "No item, or an item or warehouse the ERP can't have", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such item in the ERP", body = ErrorBody),
        (status = 503, description = "The ERP can't answer now", body = ErrorBody)))]
pub async fn availability(
    State(state): State<AvailabilityState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<AvailabilityQuery>,
) -> Result<Json<Availability>, ApiError> {
    caller.tenant(&state.admin, &tenant)?;
    let item = checked("item", &q.item, MAX_ITEM)?;
    let warehouse = match q.warehouse.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(w) => Some(checked("warehouse", w, MAX_WAREHOUSE)?),
    };
    let catalog = state
        .catalogs
        .get(&tenant)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("tenant {tenant:?} serves no catalog")))?;
    let fresh = AtomicBool::new(false);
    let key = (tenant.clone(), item.clone());
    let entry = state
        .cache
        .try_get_with(key, async {
            fresh.store(true, Ordering::Relaxed);
            let balances = catalog.get_stock(&item).await?;
            Ok::<_, RoleFailure>(Arc::new((balances, chrono::Utc::now().to_rfc3339())))
        })
        .await
        .map_err(|e| from_role(&tenant, &item, e.as_ref().clone()))?;
    let (balances, fetched_at) = entry.as_ref();
    let balances = balances
        .iter()
        .filter(|b| warehouse.as_deref().is_none_or(|w| b.warehouse.trim() == w))
        .map(|b| Balance {
            warehouse: b.warehouse.clone(),
            on_hand: b.on_hand.clone(),
            allocatable: b.allocatable.clone(),
            allocated: b.allocated.clone(),
        })
        .collect();
    Ok(Json(Availability {
        tenant,
        item,
        warehouse,
        balances,
        fetched_at: fetched_at.clone(),
        cached: !fresh.load(Ordering::Relaxed),
        ttl_secs: TTL.as_secs(),
    }))
}

/// A query value as the ERP could hold it: present, printable, not too long.
fn checked(name: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::Invalid(format!(
            "query parameter {name} is required"
        )));
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::Invalid(format!(
            "{name} must be at most {max} printable characters"
        )));
    }
    Ok(v.to_string())
}

/// The ERP's "no such item" is the caller's 404; the rest as any role call's failure.
fn from_role(tenant: &str, item: &str, failure: RoleFailure) -> ApiError {
    match &failure {
        RoleFailure::Error(e) if e.class == ErrorClass::NotFound => {
            ApiError::NotFound(format!("item {item} is not in the ERP of tenant {tenant}"))
        }
        _ => ApiError::from_role(tenant, "get-stock", failure),
    }
}

#[cfg(test)]
#[path = "availability_tests.rs"]
mod tests;
