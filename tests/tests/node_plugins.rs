//! Issue 14: the plugin registry is shared through PostgreSQL. An operator installs and
//! activates a component from a machine of its own (the CLI with its own data directory, no
//! node ever sees the file); every `ferry serve` node serves it at its next registry refresh,
//! and a rollback made the same way reaches every node too.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::nodes::Cluster;
use ferry_tests::plugin;
use ferry_tests::stack::{Options, TENANT};

/// `ferry plugin ARGS` from a data directory no node uses, on the cluster's database.
fn plugin_cli(cluster: &Cluster, args: &[&str]) -> String {
    cluster.cli(&[&["plugin"], args].concat())
}

/// How many times each node's log says it began serving `digest` (a refresh writes the line
/// for each binding it changed, also at start).
fn serving_lines(cluster: &Cluster, digest: &str) -> Vec<usize> {
    (0..cluster.len())
        .map(|i| {
            cluster
                .log(i)
                .lines()
                .filter(|l| l.contains("now serving") && l.contains(digest))
                .count()
        })
        .collect()
}

/// How long after `since` every node's log had one more such line for `digest` than
/// `before`; panics naming the nodes that did not within `limit`.
fn served_everywhere(
    cluster: &Cluster,
    digest: &str,
    before: &[usize],
    since: Instant,
    limit: Duration,
) -> Duration {
    loop {
        let now = serving_lines(cluster, digest);
        let missing: Vec<usize> = (0..cluster.len())
            .filter(|i| now[*i] <= before[*i])
            .collect();
        if missing.is_empty() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < limit,
            "nodes {missing:?} do not serve {digest} {limit:?} after it was activated; node {}'s log:\n{}",
            missing[0],
            cluster.log(missing[0])
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn a_component_activated_from_anywhere_is_served_by_every_node_within_a_refresh() {
    let mut cluster = Cluster::new(
        2,
        Options {
            m3_flags: &[],
            create_customers: false,
            order_entry: "batch",
        },
        5_000,
    );
    cluster.start_all();
    let args = ["--tenant", TENANT, "--role", "transform"];

    let component = plugin("example_bundles");
    let mut install = vec!["install", path(&component)];
    install.extend_from_slice(&args);
    let installed = plugin_cli(&cluster, &install);
    let digest = installed
        .split_whitespace()
        .nth(1)
        .expect("installed DIGEST")
        .to_string();
    let mut activate = vec!["activate", digest.as_str()];
    activate.extend_from_slice(&args);
    let before = serving_lines(&cluster, &digest);
    let activated = Instant::now();
    plugin_cli(&cluster, &activate);
    // The refresh runs every second: a node sees the activation within a second plus the
    // time to load the component (compiled once, in the cache the nodes share). The bound
    // below only keeps a broken build from hanging; the figure is printed.
    let took = served_everywhere(
        &cluster,
        &digest,
        &before,
        activated,
        Duration::from_secs(20),
    );
    println!("activation served by both nodes after {took:?}");

    let mut rollback = vec!["rollback"];
    rollback.extend_from_slice(&args);
    let listed = plugin_cli(&cluster, &["list", "--tenant", TENANT, "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let transforms: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["role"] == "transform")
        .filter_map(|r| r["digest"].as_str().map(str::to_string))
        .collect();
    let before: Vec<Vec<usize>> = transforms
        .iter()
        .map(|d| serving_lines(&cluster, d))
        .collect();
    let rolled_back = Instant::now();
    plugin_cli(&cluster, &rollback);
    let listed = plugin_cli(&cluster, &["list", "--tenant", TENANT, "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let previous = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["active"] == true && r["role"] == "transform")
        .and_then(|r| r["digest"].as_str())
        .expect("an active transform after the rollback")
        .to_string();
    assert_ne!(previous, digest);
    let at = transforms
        .iter()
        .position(|d| *d == previous)
        .expect("the previous one is installed");
    let took = served_everywhere(
        &cluster,
        &previous,
        &before[at],
        rolled_back,
        Duration::from_secs(20),
    );
    println!("rollback served by both nodes after {took:?}");
}
