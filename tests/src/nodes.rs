//! Several `ferry serve` nodes on one PostgreSQL beside the stack's simulators. Each node is a
//! process of its own (its own data directory and port; the database and the compile cache
//! shared), so a test can send it what a crash or a stall sends: SIGKILL, SIGSTOP, SIGCONT.
//! QuoteWerks' webhooks go to a round-robin front on the stack's Ferry address, as a load
//! balancer in front of the nodes would spread them (a paused node is taken out of it, as a
//! failed health check would).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_store::testing::pg::PgCluster;
use ferry_store::{Job, JobState, Jobs, NodeClaims, Nodes, PgStore};

use crate::stack::{Options, Stack, TENANT};
use crate::{Running, spawn_logged_env};

/// The quote-to-order job kind (the flows' `quote_to_order::KIND`).
pub const QUOTE_TO_ORDER: &str = "quote-to-order";

struct Node {
    config: PathBuf,
    data: PathBuf,
    log: PathBuf,
    proc: Option<Running>,
}

pub struct Cluster {
    /// Dropped first: no node outlives the test.
    nodes: Vec<Node>,
    pub stack: Stack,
    pub url: String,
    /// The shared database, read directly by the test.
    pub store: PgStore,
    /// Each node's address while it takes requests (None: down or paused).
    targets: Arc<Mutex<Vec<Option<SocketAddr>>>>,
    /// Connections the front passed to each node.
    pub forwarded: Arc<Vec<AtomicUsize>>,
    /// Dropped last: the database outlives every node.
    _pg: PgCluster,
}

impl Cluster {
    /// The stack's simulators, a throwaway PostgreSQL, `n` node configs (lease `lease_ms`) and
    /// the front; no node runs yet ([`Cluster::start_node`]).
    pub fn new(n: usize, opts: Options<'_>, lease_ms: u64) -> Cluster {
        let pg = PgCluster::start().expect("a throwaway PostgreSQL");
        let (stack, listener) = Stack::simulators(opts);
        let url = stack.runtime().block_on(pg.database()).expect("a database");
        let store = stack
            .runtime()
            .block_on(PgStore::open(&url))
            .expect("the database");
        let base = std::fs::read_to_string(&stack.config).expect("config");
        let nodes = (0..n)
            .map(|i| {
                let config = stack.dir.path().join(format!("node{i}.toml"));
                std::fs::write(&config, node_config(&base, lease_ms)).expect("node config");
                Node {
                    config,
                    data: stack.dir.path().join(format!("node{i}")),
                    log: stack.dir.path().join(format!("node{i}.log")),
                    proc: None,
                }
            })
            .collect();
        let targets = Arc::new(Mutex::new(vec![None; n]));
        let forwarded = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        stack
            .runtime()
            .spawn(front(listener, targets.clone(), forwarded.clone()));
        Cluster {
            nodes,
            stack,
            url,
            store,
            targets,
            forwarded,
            _pg: pg,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Starts node `i` (again) and waits until it is ready; its log goes to its own file.
    pub fn start_node(&mut self, i: usize) {
        let running = spawn_node(&self.nodes[i], self.stack.dir.path(), &self.url);
        self.took(i, running);
    }

    /// Starts every node at once (they migrate the database and activate the plugins
    /// concurrently) and waits until all are ready.
    pub fn start_all(&mut self) {
        let (cwd, url) = (self.stack.dir.path(), self.url.as_str());
        let started: Vec<Running> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .nodes
                .iter()
                .map(|node| s.spawn(move || spawn_node(node, cwd, url)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a node started"))
                .collect()
        });
        for (i, running) in started.into_iter().enumerate() {
            self.took(i, running);
        }
    }

    fn took(&mut self, i: usize, running: Running) {
        let addr = address(&running);
        self.nodes[i].proc = Some(running);
        self.targets.lock().expect("targets")[i] = Some(addr);
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self, i: usize) {
        self.targets.lock().expect("targets")[i] = None;
        if let Some(mut p) = self.nodes[i].proc.take() {
            p.kill();
        }
    }

    /// SIGSTOP: the process stalls mid-flight (a long GC-like pause, a frozen VM).
    pub fn pause(&mut self, i: usize) {
        self.targets.lock().expect("targets")[i] = None;
        self.signal(i, "STOP");
    }

    /// SIGCONT: the stalled process goes on where it stopped.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "CONT");
        let addr = self.nodes[i].proc.as_ref().map(address);
        self.targets.lock().expect("targets")[i] = addr;
    }

    fn signal(&self, i: usize, sig: &str) {
        let pid = self.nodes[i]
            .proc
            .as_ref()
            .expect("a running node")
            .child
            .id();
        let ok = Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }

    /// Node `i`'s log (stderr) so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    pub fn config(&self, i: usize) -> &Path {
        &self.nodes[i].config
    }

    /// `ferry ARGS` as an operator runs it from a machine of its own: node 0's config, a data
    /// directory no node uses, the cluster's database; exit 0; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let dir = self.stack.dir.path();
        let out = Command::new(crate::ferry_bin())
            .current_dir(dir)
            .arg("--config")
            .arg(self.config(0))
            .arg("--data-dir")
            .arg(dir.join("operator-data"))
            .args(args)
            .env("FERRY_DATABASE_URL", &self.url)
            .env("FERRY_LOG", "warn")
            .output()
            .expect("ferry");
        assert!(
            out.status.success(),
            "ferry {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Appends `text` (whole tables) to every node's config; takes effect at each node's next
    /// start.
    pub fn append_config(&self, text: &str) {
        for node in &self.nodes {
            let config = std::fs::read_to_string(&node.config).expect("node config");
            std::fs::write(&node.config, config + text).expect("node config");
        }
    }

    /// Adds `lines` under the table `header` (e.g. `[tenants.acme.connections.m3]`) in every
    /// node's config; for settings the stack does not write (a connection's rate limit).
    /// Takes effect at each node's next start.
    pub fn add_to_table(&self, header: &str, lines: &str) {
        for node in &self.nodes {
            let config = std::fs::read_to_string(&node.config).expect("node config");
            assert!(
                config.lines().any(|l| l == header),
                "no {header} in the node config"
            );
            let edited = config.replace(&format!("{header}\n"), &format!("{header}\n{lines}\n"));
            std::fs::write(&node.config, edited).expect("node config");
        }
    }

    /// Per node, the running jobs its workers hold claims on (leases live or run out).
    pub fn claims(&self) -> Vec<NodeClaims> {
        self.stack
            .runtime()
            .block_on(self.store.node_claims())
            .expect("node claims")
    }

    /// The tenant's quote-to-order jobs, from the database.
    pub fn quote_jobs(&self) -> Vec<Job> {
        self.stack
            .runtime()
            .block_on(self.store.jobs(Some(TENANT), None))
            .expect("jobs")
            .into_iter()
            .filter(|j| j.kind == QUOTE_TO_ORDER)
            .collect()
    }

    /// Waits until `n` quote-to-order jobs are finished (done, held or dead) or `limit` passes.
    pub fn settle(&self, n: usize, limit: Duration) -> Vec<Job> {
        let start = Instant::now();
        loop {
            let jobs = self.quote_jobs();
            let finished = jobs
                .iter()
                .filter(|j| !matches!(j.state, JobState::Queued | JobState::Running))
                .count();
            if finished >= n {
                return jobs;
            }
            assert!(
                start.elapsed() < limit,
                "only {finished} of {n} jobs finished in {limit:?}: {:?}",
                jobs.iter()
                    .filter(|j| j.state != JobState::Done)
                    .take(5)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn spawn_node(node: &Node, cwd: &Path, url: &str) -> Running {
    let args: Vec<String> = vec![
        "--config".into(),
        node.config.to_str().expect("utf-8").into(),
        "--data-dir".into(),
        node.data.to_str().expect("utf-8").into(),
        "serve".into(),
    ];
    // Warnings, and the registry's line for each binding a node begins to serve.
    let log = "warn,ferry_runtime::registry=info";
    spawn_logged_env(
        cwd,
        &args,
        &[
            ("FERRY_DATABASE_URL", url.as_ref()),
            ("FERRY_LOG", log.as_ref()),
        ],
        &node.log,
    )
}

fn address(running: &Running) -> SocketAddr {
    running
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the node's address")
}

/// A node's config: the stack's, on the database named by `FERRY_DATABASE_URL`, on a port of
/// its own, with a short lease (so a stalled node's work moves on within the test) and the
/// compile cache shared (one compile of each component for all nodes).
fn node_config(base: &str, lease_ms: u64) -> String {
    let mut out = String::from("store = { env = \"FERRY_DATABASE_URL\" }\n");
    let mut runtime = false;
    for line in base.lines() {
        if line.starts_with("listen = ") {
            out.push_str("listen = \"127.0.0.1:0\"\n");
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line == "[server]" {
            out.push_str(&format!("lease_ms = {lease_ms}\n"));
        }
        if line == "[runtime]" {
            runtime = true;
            out.push_str("cache_dir = \"compile-cache\"\n");
        }
    }
    if !runtime {
        out.push_str("\n[runtime]\ncache_dir = \"compile-cache\"\n");
    }
    out
}

/// A layer-4 round-robin front: each connection goes whole to the next node that takes it.
async fn front(
    listener: std::net::TcpListener,
    targets: Arc<Mutex<Vec<Option<SocketAddr>>>>,
    forwarded: Arc<Vec<AtomicUsize>>,
) {
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("the front's listener");
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let (targets, forwarded, next) = (targets.clone(), forwarded.clone(), next.clone());
        tokio::spawn(async move {
            let live = targets.lock().map(|t| t.clone()).unwrap_or_default();
            let first = next.fetch_add(1, Ordering::Relaxed);
            for k in 0..live.len() {
                let i = (first + k) % live.len();
                let Some(addr) = live[i] else { continue };
                let connect = tokio::net::TcpStream::connect(addr);
                if let Ok(Ok(mut server)) =
                    tokio::time::timeout(Duration::from_secs(1), connect).await
                {
                    forwarded[i].fetch_add(1, Ordering::Relaxed);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
            }
            // No node took it: the connection closes and the sender retries.
        });
    }
}
