//! The node registry's values, the same for every backend: a `ferry serve` process as it
//! registered itself, and the claims its workers hold.

use serde::Serialize;

/// A node to register: its stable id (the prefix of its workers' names, `{id}-{n}`), where its
/// HTTP API listens, and the binary's version.
#[derive(Debug, Clone, Copy)]
pub struct NewNode<'a> {
    pub id: &'a str,
    pub address: &'a str,
    pub version: &'a str,
}

/// A registered node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    pub id: String,
    pub address: String,
    pub version: String,
    /// When it (last) registered: RFC 3339, for people.
    pub started_at: String,
    /// Its last heartbeat on the callers' clock ([`clock_ms`](crate::clock_ms)): whether it is
    /// live is the reader's decision, against its own `now_ms`.
    pub heartbeat_ms: i64,
}

/// The running jobs one node's workers hold claims on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeClaims {
    pub node: String,
    pub jobs: i64,
    /// The earliest `lease_until` among them (ms; in the past: a lease that ran out and that
    /// no other worker has taken over yet).
    pub oldest_lease_until: i64,
}

/// The node a worker name belongs to: `{node}-{n}` without its `-{n}` (a name without a
/// numeric suffix is its own node).
pub(crate) fn node_of(worker: &str) -> &str {
    match worker.rsplit_once('-') {
        Some((node, n))
            if !node.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            node
        }
        _ => worker,
    }
}

/// Per-worker rows `(worker, jobs, earliest lease_until)` summed per node, by node.
pub(crate) fn by_node(rows: impl IntoIterator<Item = (String, i64, i64)>) -> Vec<NodeClaims> {
    let mut nodes: std::collections::BTreeMap<String, NodeClaims> = Default::default();
    for (worker, jobs, lease) in rows {
        let node = node_of(&worker).to_owned();
        let entry = nodes.entry(node.clone()).or_insert(NodeClaims {
            node,
            jobs: 0,
            oldest_lease_until: lease,
        });
        entry.jobs += jobs;
        entry.oldest_lease_until = entry.oldest_lease_until.min(lease);
    }
    nodes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_counted_under_their_node() {
        assert_eq!(node_of("node-ab12-3"), "node-ab12");
        assert_eq!(node_of("node-ab12-ff00-0"), "node-ab12-ff00");
        assert_eq!(node_of("cli"), "cli");
        assert_eq!(node_of("-7"), "-7");
        let rows = vec![
            ("b-0".to_string(), 2, 500),
            ("a-1".to_string(), 1, 900),
            ("a-0".to_string(), 3, 700),
        ];
        let summed = by_node(rows);
        assert_eq!(
            summed
                .iter()
                .map(|c| (c.node.as_str(), c.jobs, c.oldest_lease_until))
                .collect::<Vec<_>>(),
            vec![("a", 4, 700), ("b", 2, 500)]
        );
    }
}
