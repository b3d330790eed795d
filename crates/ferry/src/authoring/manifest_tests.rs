use super::*;

const MANIFEST: &str = r#"
name = "pricer"
version = "1.2.0"
vendor = "Acme Plugins"
secrets = ["price_api_key"]

[connections.prices]
kind = "http"

[settings.discount_pct]
type = "number"
default = 5
description = "Discount on list prices"

[settings.region]
type = "string"

[settings.dry_run]
type = "bool"
default = false
"#;

fn report(imports: &[&str]) -> ContractReport {
    ContractReport {
        role: Some(Role::Transform),
        world: Some(Role::Transform.world()),
        version: Some("1.1.0".into()),
        exports: Vec::new(),
        imports: imports.iter().map(ToString::to_string).collect(),
        problems: Vec::new(),
    }
}

fn strings(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_manifest_parses_and_round_trips() {
    let m = Manifest::parse(MANIFEST).expect("valid");
    assert_eq!(m.label(), "pricer@1.2.0");
    assert_eq!(m.connections["prices"].kind, Kind::Http);
    assert_eq!(m.settings["discount_pct"].ty, SettingType::Number);
    assert_eq!(Manifest::parse(&m.to_toml()).expect("round trip"), m);
}

#[test]
fn nonsense_is_refused_naming_each_problem() {
    let bad = MANIFEST
        .replace("version = \"1.2.0\"", "version = \"one\"")
        .replace("default = 5", "default = \"five\"");
    let err = Manifest::parse(&bad).expect_err("two problems").to_string();
    assert!(
        err.contains("version 'one' is not a semantic version"),
        "{err}"
    );
    assert!(
        err.contains("settings.discount_pct: default \"five\" is not a number"),
        "{err}"
    );
    let unknown = format!("{MANIFEST}\n[capabilities]\nx = 1\n");
    let err = Manifest::parse(&unknown)
        .expect_err("unknown key")
        .to_string();
    assert!(err.contains("unknown field `capabilities`"), "{err}");
    let kind = MANIFEST.replace("kind = \"http\"", "kind = \"ftp\"");
    assert!(Manifest::parse(&kind).is_err());
}

#[test]
fn the_contract_is_read_from_the_component_and_a_wrong_one_refused() {
    let mut m = Manifest::parse(MANIFEST).expect("valid");
    m.check_component(&report(&["ferry:host/http@1.1.0"]))
        .expect("matches");
    assert_eq!(m.role(), Some(Role::Transform));
    assert_eq!(
        m.contract,
        Some(Contract {
            world: "ferry:transform/plugin".into(),
            version: "1.1.0".into()
        })
    );
    let mut older = m.clone();
    older.contract.as_mut().expect("set").version = "1.0.0".into();
    let err = older
        .check_component(&report(&[]))
        .expect_err("mismatch")
        .to_string();
    assert!(
        err.contains("contract says ferry:transform/plugin@1.0.0, the component was built against ferry:transform/plugin@1.1.0"),
        "{err}"
    );
}

#[test]
fn an_import_without_a_declared_connection_is_refused_at_pack() {
    let mut m = Manifest::parse(MANIFEST).expect("valid");
    let err = m
        .check_component(&report(&["ferry:host/sql@1.1.0"]))
        .expect_err("sql undeclared")
        .to_string();
    assert!(
        err.contains("imports ferry:host/sql, but declares no sql connection"),
        "{err}"
    );
}

#[test]
fn each_ungranted_capability_and_bad_setting_is_named() {
    let m = Manifest::parse(MANIFEST).expect("valid");
    let settings = strings(&[("discont_pct", "5"), ("dry_run", "yes")]);
    let err = m
        .check_tenant(&TenantGrants {
            tenant: "acme",
            role: Role::Transform,
            connections: [("prices".to_string(), ConnectionKind::Sql)].into(),
            secrets: &[],
            settings: &settings,
        })
        .expect_err("nothing right");
    let text = err.to_string();
    assert!(
        text.starts_with("tenant 'acme', plugin pricer@1.2.0: "),
        "{text}"
    );
    for want in [
        "capability connection 'prices' (http) not granted: the tenant's 'prices' is not a http connection",
        "capability secret 'price_api_key' not granted (add \"price_api_key\" to secrets in [tenants.acme.plugins.transform])",
        "setting 'discont_pct' is not one the plugin declares (did you mean 'discount_pct'?)",
        "setting 'dry_run' = \"yes\" is not a bool",
        "setting 'region' (string) has no default and is not set",
    ] {
        assert!(
            err.problems.iter().any(|p| p.starts_with(want)),
            "{want}\n{text}"
        );
    }
    assert_eq!(err.problems.len(), 5, "{text}");

    let settings = strings(&[
        ("discount_pct", "7.5"),
        ("dry_run", "true"),
        ("region", "eu"),
    ]);
    let secrets = ["price_api_key".to_string()];
    m.check_tenant(&TenantGrants {
        tenant: "acme",
        role: Role::Transform,
        connections: [("prices".to_string(), ConnectionKind::Http)].into(),
        secrets: &secrets,
        settings: &settings,
    })
    .expect("all granted");
}

#[test]
fn setting_types_accept_their_own_text() {
    assert!(SettingType::Number.accepts("5") && SettingType::Number.accepts("-2.5"));
    assert!(!SettingType::Number.accepts("five") && !SettingType::Number.accepts("NaN"));
    assert!(SettingType::Bool.accepts("false") && !SettingType::Bool.accepts("1"));
    assert!(SettingType::String.accepts(""));
    assert_eq!(edits("discont_pct", "discount_pct"), 1);
}
