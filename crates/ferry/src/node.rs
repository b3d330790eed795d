//! This process as a node: a stable id kept in the data directory, held with an exclusive
//! file lock for the process's life. Holding it proves that jobs still marked as claimed by
//! this id belong to an earlier run of this node that died, so they are resumed at once rather
//! than after their leases run out.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

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
}
