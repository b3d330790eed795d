//! `ferry plugin list` says what each installed component is: its own name and version (from
//! the metadata sections component tooling writes, `wasm-tools metadata add --name --version`)
//! and the contract version it was built against, beside the digest.

use ferry_tests::{ferry, plugin};

/// A custom section: id 0, size, name, payload (sizes under 128: one LEB128 byte each).
fn custom(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![u8::try_from(name.len()).expect("short name")];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut section = vec![0u8, u8::try_from(body.len()).expect("short section")];
    section.extend(body);
    section
}

#[test]
fn list_shows_name_version_and_contract_beside_the_digest() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let config = d.join("ferry.toml");
    std::fs::write(&config, "[tenants.acme]\n").expect("config");
    let cfg = config.to_str().expect("utf-8");

    // The test transform, named and versioned the way component tooling does it.
    let mut bytes = std::fs::read(plugin("test_transform")).expect("component");
    let mut name = vec![0u8, 7, 6];
    name.extend_from_slice(b"pricer");
    bytes.extend(custom("component-name", &name));
    bytes.extend(custom("version", b"2.4.1"));
    let named = d.join("pricer.wasm");
    std::fs::write(&named, &bytes).expect("write");
    for file in [named.clone(), plugin("test_transform_v2")] {
        ferry(
            &d.join("data"),
            &[
                "--config",
                cfg,
                "plugin",
                "install",
                file.to_str().expect("utf-8"),
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        )
        .expect_code(0);
    }

    let rows = ferry(
        &d.join("data"),
        &["--config", cfg, "plugin", "list", "--json"],
    )
    .expect_code(0)
    .json();
    let rows = rows.as_array().expect("rows");
    let pricer = rows
        .iter()
        .find(|r| r["name"] == "pricer")
        .unwrap_or_else(|| panic!("no named row in {rows:?}"));
    assert_eq!(pricer["version"], "2.4.1");
    assert_eq!(pricer["contract"], "ferry:transform@1.1.0");
    // One without metadata still shows its contract.
    let other = rows
        .iter()
        .find(|r| r["name"].is_null())
        .unwrap_or_else(|| panic!("no unnamed row in {rows:?}"));
    assert_eq!(other["contract"], "ferry:transform@1.1.0");

    let table = ferry(&d.join("data"), &["--config", cfg, "plugin", "list"]).expect_code(0);
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["NAME", "VERSION", "CONTRACT", "DIGEST"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table
        .stdout
        .lines()
        .find(|l| l.contains("pricer"))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(
        row.contains("2.4.1") && row.contains("ferry:transform@1.1.0"),
        "{row}"
    );
    assert!(
        row.contains(pricer["digest"].as_str().unwrap_or("?")),
        "{row}"
    );
}
