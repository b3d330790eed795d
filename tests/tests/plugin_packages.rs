//! Plugin packages with the real binary: a vendor makes a key, packs a component with its
//! manifest and signs it; a tenant whose trust policy requires a signature installs only what
//! a key it lists signed, saying why it refuses anything else; and a packaged plugin needing a
//! capability the tenant's config does not grant fails activation, naming tenant, plugin and
//! capability.

use std::path::Path;

use ferry_tests::{Run, ferry, plugin};

const MANIFEST: &str = r#"
name = "pricer"
version = "1.0.0"
vendor = "Acme Plugins"
secrets = ["price_api_key"]

[connections.prices]
kind = "http"
description = "The vendor's price service"

[settings.discount_pct]
type = "number"
default = 5
description = "Discount on list prices, in percent"
"#;

struct Env<'a> {
    dir: &'a Path,
}

impl Env<'_> {
    fn run(&self, config: Option<&str>, args: &[&str]) -> Run {
        let mut all = Vec::new();
        let path;
        if let Some(text) = config {
            path = self.dir.join("ferry.toml");
            std::fs::write(&path, text).expect("config");
            all.extend(["--config", path.to_str().expect("utf-8")]);
        }
        all.extend_from_slice(args);
        ferry(&self.dir.join("data"), &all)
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().expect("utf-8").to_string()
    }
}

/// A tenant that requires packages signed by `key`; `plugin` is its transform section.
fn strict(key: &str, plugin: &str) -> String {
    format!(
        r#"
[tenants.acme.trust]
require_signature = true
vendor_keys = ["{key}"]

[tenants.acme.connections.prices]
kind = "http"
base_url = "https://prices.example.com/"

[tenants.acme.secrets]
price_api_key = {{ env = "FERRY_PACKAGES_TEST_NEVER_SET" }}

[tenants.acme.plugins.transform]
{plugin}
"#
    )
}

fn refused(run: Run, reason: &str) {
    let run = run.expect_code(3);
    assert!(
        run.stderr.contains(reason),
        "expected '{reason}' in:\n{}",
        run.stderr
    );
}

#[test]
fn a_strict_tenant_installs_only_trusted_signed_packages_and_activation_checks_capabilities() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env { dir: tmp.path() };
    let component = plugin("test_transform");
    let component = component.to_str().expect("utf-8");

    // The vendor: two keys (one the tenant trusts), a manifest, a package.
    let out = env
        .run(None, &["plugin", "keygen", &env.path("vendor")])
        .expect_code(0);
    let vendor = std::fs::read_to_string(tmp.path().join("vendor.pub")).expect("pub");
    let vendor = vendor.trim();
    assert!(out.stdout.contains(vendor), "{}", out.stdout);
    env.run(None, &["plugin", "keygen", &env.path("other")])
        .expect_code(0);
    std::fs::write(tmp.path().join("ferry-plugin.toml"), MANIFEST).expect("manifest");
    let packed = env
        .run(
            None,
            &[
                "plugin",
                "pack",
                "--manifest",
                &env.path("ferry-plugin.toml"),
                "--component",
                component,
                "-o",
                &env.path(""),
            ],
        )
        .expect_code(0);
    // The contract is read from the component.
    assert!(
        packed
            .stdout
            .contains("pricer@1.0.0 (ferry:transform/plugin@1.1.0)"),
        "{}",
        packed.stdout
    );
    let package = env.path("pricer-1.0.0.ferry");
    assert!(Path::new(&package).exists());

    // A manifest claiming another contract than the component's is refused at pack.
    std::fs::write(
        tmp.path().join("wrong.toml"),
        format!(
            "{MANIFEST}\n[contract]\nworld = \"ferry:transform/plugin\"\nversion = \"1.0.0\"\n"
        ),
    )
    .expect("manifest");
    refused(
        env.run(
            None,
            &[
                "plugin",
                "pack",
                "--manifest",
                &env.path("wrong.toml"),
                "--component",
                component,
                "-o",
                &env.path("wrong.ferry"),
            ],
        ),
        "the component was built against ferry:transform/plugin@1.1.0",
    );

    let ungranted = strict(vendor, "");
    let install = |package: &str| {
        env.run(
            Some(&ungranted),
            &[
                "plugin",
                "install",
                package,
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        )
    };

    // Unsigned, and a bare component: refused, saying so.
    refused(install(&package), "unsigned");
    refused(install(component), "unsigned: ");
    // Signed by a key the tenant doesn't list.
    env.run(
        None,
        &["plugin", "sign", &package, "--key", &env.path("other.key")],
    )
    .expect_code(0);
    refused(install(&package), "signer not trusted");
    // Signed by the trusted vendor (replacing the other signature), then changed.
    env.run(
        None,
        &["plugin", "sign", &package, "--key", &env.path("vendor.key")],
    )
    .expect_code(0);
    let mut bytes = std::fs::read(&package).expect("package");
    let at = bytes
        .windows(4)
        .position(|w| w == b"\0asm")
        .expect("component in the package");
    bytes[at + 200] ^= 0xff;
    let tampered = env.path("tampered.ferry");
    std::fs::write(&tampered, &bytes).expect("write");
    refused(install(&tampered), "digest mismatch");

    // `plugin check` reads a package: its component's report, then what it declares and who
    // signed it.
    let check = env.run(None, &["plugin", "check", &package]).expect_code(0);
    for want in [
        "world:   ferry:transform/plugin",
        "package: pricer@1.0.0 by Acme Plugins",
        "connection prices (http)",
        "setting discount_pct (number, default 5)",
        &format!("signed by {vendor} (verifies"),
    ] {
        assert!(check.stdout.contains(want), "{want}\n{}", check.stdout);
    }

    // Signed by the trusted vendor: installed.
    let ok = install(&package).expect_code(0);
    let digest = ok
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{}", ok.stdout))
        .to_string();

    // Activation: the manifest's connection and secret are not granted to the plugin.
    let activate = |config: &str| {
        env.run(
            Some(config),
            &[
                "plugin",
                "activate",
                &digest,
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        )
    };
    let run = activate(&ungranted).expect_code(3);
    for want in [
        "tenant 'acme', plugin pricer@1.0.0: capability connection 'prices' (http) not granted",
        "capability secret 'price_api_key' not granted",
    ] {
        assert!(run.stderr.contains(want), "{want}\n{}", run.stderr);
    }
    // Granted, but a setting misspelled, then one of the wrong type.
    let grants = "connections = [\"prices\"]\nsecrets = [\"price_api_key\"]\n";
    refused(
        activate(&strict(
            vendor,
            &format!("{grants}settings = {{ discont_pct = 7 }}"),
        )),
        "setting 'discont_pct' is not one the plugin declares (did you mean 'discount_pct'?)",
    );
    refused(
        activate(&strict(
            vendor,
            &format!("{grants}settings = {{ discount_pct = \"lots\" }}"),
        )),
        "setting 'discount_pct' = \"lots\" is not a number",
    );
    // Everything granted, the setting a number: active.
    let granted = strict(
        vendor,
        &format!("{grants}settings = {{ discount_pct = 7.5 }}"),
    );
    activate(&granted).expect_code(0);
    let rows = env
        .run(Some(&granted), &["plugin", "list", "--json"])
        .expect_code(0)
        .json();
    let active = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["digest"] == digest.as_str())
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(active["active"], true);

    // A bare component installed while the tenant trusted anything is not activated once its
    // policy requires signatures.
    let lenient = "[tenants.acme]\n";
    let bare = plugin("test_transform_v2");
    let out = env
        .run(
            Some(lenient),
            &[
                "plugin",
                "install",
                bare.to_str().expect("utf-8"),
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        )
        .expect_code(0);
    let bare_digest = out.stdout.split_whitespace().nth(1).expect("digest");
    refused(
        env.run(
            Some(&granted),
            &[
                "plugin",
                "activate",
                bare_digest,
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        ),
        "unsigned: the tenant's trust policy requires a signature",
    );
}

/// A declared setting's default reaches the plugin when the tenant (or `--setting`) leaves it
/// unset: `plugin run` of a package runs it as installed.
#[test]
fn a_packaged_plugin_is_given_its_declared_defaults() {
    let tmp = tempfile::tempdir().expect("tmp");
    let env = Env { dir: tmp.path() };
    let manifest = "name = \"greeter\"\nversion = \"1.0.0\"\nvendor = \"Acme Plugins\"\n\
                    [settings.greeting]\ntype = \"string\"\ndefault = \"hello from the manifest\"\n";
    std::fs::write(tmp.path().join("ferry-plugin.toml"), manifest).expect("manifest");
    let component = plugin("test_transform");
    env.run(
        None,
        &[
            "plugin",
            "pack",
            "--manifest",
            &env.path("ferry-plugin.toml"),
            "--component",
            component.to_str().expect("utf-8"),
            "-o",
            &env.path("greeter.ferry"),
        ],
    )
    .expect_code(0);
    let doc = serde_json::json!({
        "kind": "echo",
        "input": {"kind": "quote", "id": "Q1", "fields": [], "lines": []},
        "context": {"tenant": "acme", "settings": [], "ids": []}
    });
    std::fs::write(tmp.path().join("in.json"), doc.to_string()).expect("input");
    let greeting = |extra: &[&str]| {
        let mut args = vec![
            "plugin".to_string(),
            "run".into(),
            env.path("greeter.ferry"),
            "--world".into(),
            "transform".into(),
            "--call".into(),
            "map-document".into(),
            "--input".into(),
            env.path("in.json"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.run(None, &args).expect_code(0).json();
        out["ok"]["document"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == "Greeting")
            .map(|f| f["value"]["text"].clone())
            .unwrap_or_else(|| panic!("no Greeting in {out}"))
    };
    assert_eq!(greeting(&[]), "hello from the manifest");
    assert_eq!(greeting(&["--setting", "greeting=hi"]), "hi");
}
