//! Shadow runs of a tenant's transform: start one (a candidate installed beside the active
//! version), report what it would have mapped differently, promote it (activate, end the
//! shadow) or stop it. The running server records the comparisons (`shadow_run`).
//!
//! Covered: the transform role (every kind the flows ask a transform for) and the two
//! connector roles, `erp` and `quoting` (every call a flow makes on them; the candidate's HTTP
//! and SQL answered from the live call's, `shadow_connectors`). The catalog syncs' connector
//! calls (item listings, prices, stock, product writes) are not shadowed.

use serde::Serialize;
use serde_json::Value as Json;

use super::{Context, ServiceError, plugins};
use crate::runtime::Role;
use ferry_store::{Shadow, ShadowRecord};

/// A shadow's comparisons: how many agreed, and every one that differed with its diff.
#[derive(Debug, Serialize)]
pub struct Report {
    pub shadow: Shadow,
    pub total: usize,
    pub agreed: usize,
    pub differing: Vec<Difference>,
}

impl Report {
    /// Agreement as a fraction (1 when nothing was compared yet).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.agreed as f64 / self.total as f64
        }
    }
}

/// One compared call whose answers differ.
#[derive(Debug, Serialize)]
pub struct Difference {
    pub key: String,
    pub kind: String,
    pub changes: Vec<Change>,
}

/// One path where the live and the shadow answer differ.
#[derive(Debug, Serialize, PartialEq)]
pub struct Change {
    pub path: String,
    pub live: Option<Json>,
    pub shadow: Option<Json>,
}

/// Starts a shadow of an installed component (digest or unique prefix) beside the tenant's
/// active one; a running shadow of the role is replaced.
pub async fn start(
    ctx: &Context,
    tenant: &str,
    role: Role,
    digest: &str,
) -> Result<Shadow, ServiceError> {
    ctx.tenant(tenant)?;
    let registry = plugins::open_registry(ctx).await?;
    let prefix = digest.trim().trim_start_matches("sha256:");
    let matches: Vec<String> = registry
        .list(Some(tenant))
        .await?
        .into_iter()
        .filter(|r| r.role == role.as_str() && r.digest.starts_with(prefix))
        .map(|r| r.digest)
        .collect();
    let candidate = match matches.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ServiceError::Input(format!(
                "no {role} component {prefix} installed for tenant '{tenant}' (ferry plugin install FILE --tenant {tenant} --role {role})"
            )));
        }
        many => {
            return Err(ServiceError::Input(format!(
                "'{prefix}' matches several components: {}",
                many.join(", ")
            )));
        }
    };
    let active = registry.active(tenant, role).ok_or_else(|| {
        ServiceError::Input(format!(
            "tenant '{tenant}' has no active {role}: activate one instead of shadowing"
        ))
    })?;
    if active.digest == candidate {
        return Err(ServiceError::Input(format!(
            "{candidate} is already the active {role} of tenant '{tenant}'"
        )));
    }
    let store = ctx.open_store().await?;
    Ok(store
        .start_shadow(tenant, role.as_str(), &candidate, &active.digest)
        .await?)
}

/// The latest shadow of the tenant's role (running or ended).
async fn latest(ctx: &Context, tenant: &str, role: Role) -> Result<Shadow, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    store
        .shadows(Some(tenant))
        .await?
        .into_iter()
        .find(|s| s.role == role.as_str())
        .ok_or_else(|| {
            ServiceError::Input(format!("tenant '{tenant}' has no shadow of its {role}"))
        })
}

/// The report of the tenant's latest shadow of `role`.
pub async fn report(ctx: &Context, tenant: &str, role: Role) -> Result<Report, ServiceError> {
    let shadow = latest(ctx, tenant, role).await?;
    let records = ctx.open_store().await?.shadow_records(shadow.id).await?;
    Ok(compare(shadow, &records))
}

fn compare(shadow: Shadow, records: &[ShadowRecord]) -> Report {
    let differing = records
        .iter()
        .filter(|r| !r.agree)
        .map(|r| {
            let mut changes = Vec::new();
            diff("", &r.live, &r.shadow, &mut changes);
            Difference {
                key: r.key.clone(),
                kind: r.kind.clone(),
                changes,
            }
        })
        .collect();
    Report {
        shadow,
        total: records.len(),
        agreed: records.iter().filter(|r| r.agree).count(),
        differing,
    }
}

/// A document's fields are a list of `{name, value}`: keyed by name, so one changed field is
/// one change (not every field after it).
fn named(items: &[Json]) -> Option<Vec<(String, &Json)>> {
    items
        .iter()
        .map(|i| Some((i.get("name")?.as_str()?.to_string(), i.get("value")?)))
        .collect()
}

/// Every path where `live` and `shadow` differ (replays diff what was sent this way too).
pub(crate) fn diff(path: &str, live: &Json, shadow: &Json, out: &mut Vec<Change>) {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (live, shadow) {
        (Json::Object(a), Json::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&at(k), x, y, out),
                    (x, y) => out.push(Change {
                        path: at(k),
                        live: x.cloned(),
                        shadow: y.cloned(),
                    }),
                }
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            if let (Some(na), Some(nb)) = (named(a), named(b)) {
                let mut names: Vec<&String> = na.iter().map(|(n, _)| n).collect();
                names.extend(
                    nb.iter()
                        .map(|(n, _)| n)
                        .filter(|n| !na.iter().any(|(m, _)| m == *n)),
                );
                for n in names {
                    let x = na.iter().find(|(m, _)| m == n).map(|(_, v)| *v);
                    let y = nb.iter().find(|(m, _)| m == n).map(|(_, v)| *v);
                    match (x, y) {
                        (Some(x), Some(y)) => diff(&at(n), x, y, out),
                        (x, y) => out.push(Change {
                            path: at(n),
                            live: x.cloned(),
                            shadow: y.cloned(),
                        }),
                    }
                }
                return;
            }
            for i in 0..a.len().max(b.len()) {
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff(&format!("{path}[{i}]"), x, y, out),
                    (x, y) => out.push(Change {
                        path: format!("{path}[{i}]"),
                        live: x.cloned(),
                        shadow: y.cloned(),
                    }),
                }
            }
        }
        (x, y) if x != y => out.push(Change {
            path: path.to_string(),
            live: Some(x.clone()),
            shadow: Some(y.clone()),
        }),
        _ => {}
    }
}

/// Activates the running shadow's candidate (checked as `ferry plugin activate` checks it)
/// and ends the shadow as `promoted`. A running server serves it from its next call.
pub async fn promote(ctx: &Context, tenant: &str, role: Role) -> Result<Shadow, ServiceError> {
    let shadow = running(ctx, tenant, role).await?;
    plugins::activate(ctx, tenant, role, &shadow.digest).await?;
    let store = ctx.open_store().await?;
    Ok(store
        .end_shadow(tenant, role.as_str(), "promoted")
        .await?
        .unwrap_or(shadow))
}

/// Ends the running shadow without activating it.
pub async fn stop(ctx: &Context, tenant: &str, role: Role) -> Result<Shadow, ServiceError> {
    let shadow = running(ctx, tenant, role).await?;
    let store = ctx.open_store().await?;
    Ok(store
        .end_shadow(tenant, role.as_str(), "stopped")
        .await?
        .unwrap_or(shadow))
}

async fn running(ctx: &Context, tenant: &str, role: Role) -> Result<Shadow, ServiceError> {
    let shadow = latest(ctx, tenant, role).await?;
    if shadow.ended_at.is_some() {
        return Err(ServiceError::Input(format!(
            "tenant '{tenant}' has no running shadow of its {role} (the last one ended: {})",
            shadow.outcome.as_deref().unwrap_or("?")
        )));
    }
    Ok(shadow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(cuor: &str) -> Json {
        json!({"kind": "order", "id": null, "fields": [
            {"name": "CUNO", "value": {"text": "C1"}},
            {"name": "CUOR", "value": {"text": cuor}},
            {"name": "ORTP", "value": {"text": "A01"}},
        ], "lines": []})
    }

    #[test]
    fn one_changed_field_is_one_change_named_by_the_field() {
        let mut out = Vec::new();
        diff("", &doc("Q1"), &doc("X-Q1"), &mut out);
        assert_eq!(
            out,
            [Change {
                path: "fields.CUOR.text".into(),
                live: Some(json!("Q1")),
                shadow: Some(json!("X-Q1")),
            }]
        );
    }

    #[test]
    fn the_report_counts_agreement_and_lists_only_the_differing_runs() {
        let shadow = Shadow {
            id: 1,
            tenant: "acme".into(),
            role: "transform".into(),
            digest: "new".into(),
            live_digest: "old".into(),
            started_at: String::new(),
            ended_at: None,
            outcome: None,
        };
        let rec = |key: &str, shadow: Json| ShadowRecord {
            shadow_id: 1,
            kind: "quote-to-order".into(),
            key: key.into(),
            agree: doc("Q1") == shadow,
            live: doc("Q1"),
            shadow,
            recorded_at: String::new(),
        };
        let report = compare(
            shadow,
            &[rec("1", doc("Q1")), rec("2", doc("Z")), rec("3", doc("Q1"))],
        );
        assert_eq!((report.total, report.agreed), (3, 2));
        assert!((report.rate() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.differing.len(), 1);
        assert_eq!(report.differing[0].key, "2");
    }
}
