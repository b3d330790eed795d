//! `ferry serve` installs `[tenants.T.plugins.ROLE] file = …` under the tenant's trust policy:
//! with `require_signature`, a bare component or an unsigned package stops start-up naming
//! tenant, plugin and reason; a signed package whose manifest needs a capability the config
//! does not grant stops it too; a signed, granted package starts serving, and a later start
//! whose config no longer grants what it declares refuses it although it is active.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_tests::{Run, ferry, ferry_bin, plugin, spawn};

const MANIFEST: &str = r#"
name = "pricer"
version = "1.0.0"
vendor = "Acme Plugins"

[connections.prices]
kind = "http"
"#;

/// A strict tenant (signatures by `key` required) whose transform is `file`, plus `grant`.
fn config(dir: &Path, key: &str, file: &str, grant: &str) -> String {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[tenants.acme.trust]
require_signature = true
vendor_keys = ["{key}"]

[tenants.acme.connections.prices]
kind = "http"
base_url = "https://prices.example.com/"

[tenants.acme.quote_to_order]
poll_interval_secs = 0

[tenants.acme.plugins.transform]
file = "{file}"
{grant}
"#
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, text).expect("config");
    path.to_str().expect("utf-8").to_string()
}

/// `ferry serve` expected to refuse: it must exit on its own (killed after a minute).
fn serve(dir: &Path, config: &str) -> Run {
    let mut child = Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--config", config, "serve"])
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ferry");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Run {
                code: 0,
                stdout: String::new(),
                stderr: "(still serving after 60 s: the plugin was not refused)".into(),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn refused_naming(run: &Run, wanted: &[&str]) {
    assert_ne!(run.code, 0, "started anyway:\n{}", run.stderr);
    for w in wanted {
        assert!(run.stderr.contains(w), "missing {w:?} in:\n{}", run.stderr);
    }
}

#[test]
fn serve_applies_the_trust_policy_and_the_manifest_to_the_configured_plugin_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path();
    let data = d.join("data");
    let at = |name: &str| d.join(name).to_str().expect("utf-8").to_string();
    ferry(&data, &["plugin", "keygen", &at("vendor")]).expect_code(0);
    let key = std::fs::read_to_string(d.join("vendor.pub")).expect("pub");
    let key = key.trim();
    std::fs::write(d.join("ferry-plugin.toml"), MANIFEST).expect("manifest");
    let component = plugin("test_transform");
    let component = component.to_str().expect("utf-8");
    ferry(
        &data,
        &[
            "plugin",
            "pack",
            "--manifest",
            &at("ferry-plugin.toml"),
            "--component",
            component,
            "-o",
            &at("pricer.ferry"),
        ],
    )
    .expect_code(0);
    let package = at("pricer.ferry");

    // A bare component, then an unsigned package: not started, saying why.
    let run = serve(d, &config(d, key, component, ""));
    refused_naming(&run, &["tenant 'acme', plugin transform", "unsigned"]);
    let run = serve(d, &config(d, key, &package, ""));
    refused_naming(
        &run,
        &[
            "tenant 'acme', plugin transform",
            "pricer.ferry",
            "unsigned",
        ],
    );

    // Signed by the trusted key, but its connection is not granted.
    ferry(
        &data,
        &["plugin", "sign", &package, "--key", &at("vendor.key")],
    )
    .expect_code(0);
    let run = serve(d, &config(d, key, &package, ""));
    refused_naming(
        &run,
        &[
            "tenant 'acme', plugin transform",
            "capability connection 'prices' (http) not granted",
        ],
    );

    // Signed and granted: it serves, installed as a package.
    let ok = config(d, key, &package, "connections = [\"prices\"]");
    let server = spawn(&data, &["--config", &ok, "serve"]);
    assert!(
        server.base_url().starts_with("http://"),
        "{:?}",
        server.ready
    );
    drop(server);
    let rows = ferry(&data, &["--config", &ok, "plugin", "list", "--json"])
        .expect_code(0)
        .json();
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["active"], true);
    let digest = rows[0]["digest"].as_str().expect("digest");
    assert!(
        data.join(format!("plugins/{digest}.acme.signature.toml"))
            .exists(),
        "the signature is kept beside the component"
    );

    // Active now; the next start, with the grant taken away while it was stopped, checks it
    // again as an activation would instead of serving it with less than it declared.
    let run = serve(d, &config(d, key, &package, ""));
    refused_naming(
        &run,
        &[
            "tenant 'acme', plugin transform",
            digest,
            "capability connection 'prices' (http) not granted",
        ],
    );
}
