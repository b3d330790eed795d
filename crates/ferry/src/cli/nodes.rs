//! `ferry nodes`: the nodes sharing the configured store (each `ferry serve` registers itself
//! and heartbeats, `crate::node`), live or stale, with the running jobs each one's workers hold
//! claims on. Claims by a worker whose node is not registered are listed too, as such.

use clap::Args;
use serde::Serialize;

use super::{exit, out};
use crate::services::Context;
use ferry_store::{NodeClaims, NodeInfo, clock_ms};

#[derive(Debug, Args)]
pub struct NodesArgs {
    /// A node is live when its last heartbeat is at most this many seconds old (nodes beat
    /// every 5 s).
    #[arg(long, default_value_t = 30)]
    pub live_within: u64,
    /// One JSON array instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// One line of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub id: String,
    /// None: claims by workers of a node that is not in the registry.
    pub address: Option<String>,
    pub version: Option<String>,
    pub started_at: Option<String>,
    /// `live`, `stale` or `unregistered`.
    pub state: &'static str,
    /// Seconds since its last heartbeat (by this machine's clock).
    pub heartbeat_age_secs: Option<i64>,
    /// Running jobs its workers hold claims on.
    pub jobs: i64,
    /// When the earliest of those leases runs out, in seconds from now (negative: already
    /// expired, and not yet taken over).
    pub oldest_lease_in_secs: Option<i64>,
}

pub async fn run(ctx: &Context, args: &NodesArgs) -> anyhow::Result<i32> {
    let store = ctx.open_store().await?;
    let nodes = store.nodes().await?;
    let claims = store.node_claims().await?;
    let live_ms = i64::try_from(args.live_within.saturating_mul(1_000)).unwrap_or(i64::MAX);
    let rows = rows(nodes, claims, clock_ms(), live_ms);
    if args.json {
        out!("{}", serde_json::to_string(&rows)?)?;
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        out!("no nodes have registered in this store")?;
    }
    for r in &rows {
        let heartbeat = r
            .heartbeat_age_secs
            .map_or("-".to_string(), |s| format!("beat {s}s ago"));
        let lease = match r.oldest_lease_in_secs {
            None => String::new(),
            Some(s) if s < 0 => format!(", oldest lease expired {}s ago", -s),
            Some(s) => format!(", oldest lease expires in {s}s"),
        };
        out!(
            "{}\t{}\t{}\t{}\t{}\t{} jobs{}",
            r.id,
            r.state,
            r.address.as_deref().unwrap_or("-"),
            r.version.as_deref().unwrap_or("-"),
            heartbeat,
            r.jobs,
            lease
        )?;
    }
    Ok(exit::OK)
}

/// The registry joined with the claims, live nodes first, then stale, then unregistered
/// claimants; by id within each.
pub fn rows(
    nodes: Vec<NodeInfo>,
    claims: Vec<NodeClaims>,
    now_ms: i64,
    live_within_ms: i64,
) -> Vec<NodeRow> {
    let secs = |ms: i64| ms.div_euclid(1_000);
    let claim_of = |id: &str| claims.iter().find(|c| c.node == id);
    let mut rows: Vec<NodeRow> = nodes
        .iter()
        .map(|n| {
            let age = now_ms.saturating_sub(n.heartbeat_ms).max(0);
            let held = claim_of(&n.id);
            NodeRow {
                id: n.id.clone(),
                address: Some(n.address.clone()),
                version: Some(n.version.clone()),
                started_at: Some(n.started_at.clone()),
                state: if age <= live_within_ms {
                    "live"
                } else {
                    "stale"
                },
                heartbeat_age_secs: Some(secs(age)),
                jobs: held.map_or(0, |c| c.jobs),
                oldest_lease_in_secs: held.map(|c| secs(c.oldest_lease_until - now_ms)),
            }
        })
        .collect();
    for c in &claims {
        if nodes.iter().all(|n| n.id != c.node) {
            rows.push(NodeRow {
                id: c.node.clone(),
                address: None,
                version: None,
                started_at: None,
                state: "unregistered",
                heartbeat_age_secs: None,
                jobs: c.jobs,
                oldest_lease_in_secs: Some(secs(c.oldest_lease_until - now_ms)),
            });
        }
    }
    let rank = |s: &str| match s {
        "live" => 0,
        "stale" => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        rank(a.state)
            .cmp(&rank(b.state))
            .then_with(|| a.id.cmp(&b.id))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, heartbeat_ms: i64) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            address: "h:8080".into(),
            version: "0.1.0".into(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            heartbeat_ms,
        }
    }

    #[test]
    fn live_then_stale_then_unregistered_claimants_with_their_jobs() {
        let nodes = vec![node("b", 95_000), node("a", 40_000), node("c", 100_000)];
        let claims = vec![
            NodeClaims {
                node: "a".into(),
                jobs: 2,
                oldest_lease_until: 90_000,
            },
            NodeClaims {
                node: "c".into(),
                jobs: 1,
                oldest_lease_until: 112_000,
            },
            NodeClaims {
                node: "gone".into(),
                jobs: 3,
                oldest_lease_until: 99_500,
            },
        ];
        let rows = rows(nodes, claims, 100_000, 30_000);
        let seen: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.state,
                    r.heartbeat_age_secs,
                    r.jobs,
                    r.oldest_lease_in_secs,
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("b", "live", Some(5), 0, None::<i64>),
                ("c", "live", Some(0), 1, Some(12)),
                ("a", "stale", Some(60), 2, Some(-10)),
                ("gone", "unregistered", None, 3, Some(-1)),
            ]
        );
    }
}
