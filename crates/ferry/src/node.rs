//! This process as a node: a stable id kept in the data directory, held with an exclusive
//! file lock for the process's life. Holding it proves that jobs still marked as claimed by
//! this id belong to an earlier run of this node that died, so they are resumed at once rather
//! than after their leases run out.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferry_store::{NewNode, Store, clock_ms};

/// How often a node writes its heartbeat into the store's node registry.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A node silent this long is dropped from the registry by the next node that starts (ids of
/// pods without a kept data directory would otherwise pile up).
const FORGET_AFTER: Duration = Duration::from_secs(7 * 24 * 3_600);

pub struct Node {
    /// The id workers' claims carry (`{id}-{n}`).
    pub id: String,
    /// Whether this process holds the id's lock (false: another live process has it, and
    /// this one runs under a fresh id that owns no earlier claims).
    pub owns_earlier_claims: bool,
    /// Kept open: the lock lasts as long as the file stays open (the kernel drops it when the
    /// process dies, kill -9 included).
    _lock: Option<File>,
}

impl Node {
    pub fn boot(data_dir: &Path) -> anyhow::Result<Node> {
        let files = ferry_layout::DataDir::new(data_dir);
        let id_path = files.node_id();
        let id = match std::fs::read_to_string(&id_path) {
            Ok(id) if valid(id.trim()) => id.trim().to_string(),
            Ok(_) => anyhow::bail!(
                "{} does not hold a node id (letters, digits, '-'): fix or delete it",
                id_path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = format!("node-{}", random_hex());
                let mut f = File::create_new(&id_path)
                    .with_context(|| format!("creating {}", id_path.display()))?;
                f.write_all(id.as_bytes())?;
                f.sync_all()?;
                id
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", id_path.display())),
        };
        let lock_path = files.node_lock();
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => Ok(Node {
                id,
                owns_earlier_claims: true,
                _lock: Some(lock),
            }),
            Err(std::fs::TryLockError::WouldBlock) => {
                let fresh = format!("{id}-{}", random_hex());
                tracing::warn!(
                    "another process holds node id {id} in {}; running as {fresh}",
                    data_dir.display()
                );
                Ok(Node {
                    id: fresh,
                    owns_earlier_claims: false,
                    _lock: None,
                })
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", lock_path.display()))
            }
        }
    }
}

/// Registers the node in the store's registry and heartbeats every [`HEARTBEAT`] for as long as
/// the task runs (`ferry nodes` reads it). The registry is for people: a failed write is logged
/// and tried again at the next beat, and the node keeps working meanwhile.
pub async fn announce(store: Arc<dyn Store>, id: String, listening: SocketAddr) {
    let address = advertised(listening);
    let mut registered = false;
    let mut failing = false;
    loop {
        match beat(store.as_ref(), &id, &address, registered).await {
            Ok(now_registered) => {
                if failing {
                    tracing::info!(node = %id, "node registry: heartbeats written again");
                }
                (registered, failing) = (now_registered, false);
            }
            // Once per outage, not every beat.
            Err(e) if !failing => {
                tracing::warn!(node = %id, "node registry: heartbeat not written: {e}");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

/// One beat: registers the node (and forgets long-silent ones) when it is not registered yet,
/// else moves its heartbeat. Returns whether it is registered now; false when its row was
/// forgotten meanwhile, so the next beat registers it again.
async fn beat(
    store: &dyn Store,
    id: &str,
    address: &str,
    registered: bool,
) -> Result<bool, ferry_store::StoreError> {
    let now = clock_ms();
    if registered {
        return store.heartbeat_node(id, now).await;
    }
    let node = NewNode {
        id,
        address,
        version: env!("CARGO_PKG_VERSION"),
    };
    store.register_node(node, now).await?;
    let forget_ms = i64::try_from(FORGET_AFTER.as_millis()).unwrap_or(i64::MAX);
    let forgotten = store.forget_nodes(now.saturating_sub(forget_ms)).await?;
    if forgotten > 0 {
        tracing::info!("node registry: forgot {forgotten} nodes silent for a week");
    }
    Ok(true)
}

/// The address others reach this node at: the listening one, or with the host's name in place
/// of an unspecified IP (`0.0.0.0:8080` says nothing about which machine).
fn advertised(listening: SocketAddr) -> String {
    if !listening.ip().is_unspecified() {
        return listening.to_string();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("{host}:{}", listening.port()),
        None => listening.to_string(),
    }
}

fn valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn random_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_stable_and_a_second_live_process_gets_another() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = Node::boot(dir.path()).expect("boot");
        assert!(first.owns_earlier_claims);
        let second = Node::boot(dir.path()).expect("boot while the first runs");
        assert!(!second.owns_earlier_claims);
        assert!(second.id.starts_with(&first.id) && second.id != first.id);
        let id = first.id.clone();
        drop(first);
        let again = Node::boot(dir.path()).expect("reboot");
        assert_eq!(again.id, id, "the same node after a restart");
        assert!(again.owns_earlier_claims);
    }

    #[tokio::test]
    async fn a_node_registers_then_heartbeats_and_registers_again_once_forgotten() {
        let store: Arc<dyn Store> = Arc::new(ferry_store::MemoryStore::new());
        assert!(
            beat(store.as_ref(), "node-a", "h:1", false)
                .await
                .expect("register")
        );
        let listed = store.nodes().await.expect("nodes");
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0].id.as_str(),
                listed[0].address.as_str(),
                listed[0].version.as_str()
            ),
            ("node-a", "h:1", env!("CARGO_PKG_VERSION"))
        );
        assert!(
            beat(store.as_ref(), "node-a", "h:1", true)
                .await
                .expect("beat")
        );
        store.forget_nodes(i64::MAX).await.expect("forget");
        assert!(
            !beat(store.as_ref(), "node-a", "h:1", true)
                .await
                .expect("beat"),
            "a forgotten node is told to register"
        );
        assert!(
            beat(store.as_ref(), "node-a", "h:1", false)
                .await
                .expect("register again")
        );
        assert_eq!(store.nodes().await.expect("nodes").len(), 1);
    }

    #[test]
    fn a_specific_listening_address_is_advertised_as_it_is() {
        let addr: SocketAddr = "10.1.2.3:8080".parse().expect("addr");
        assert_eq!(advertised(addr), "10.1.2.3:8080");
        let any: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
        assert!(advertised(any).ends_with(":8080"));
    }
}
