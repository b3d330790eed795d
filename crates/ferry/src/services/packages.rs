//! Plugin packages: pack (manifest + component, checked against each other), sign, keygen; at
//! install, the tenant's trust policy ([`admit`]); at activation, the manifest's needs against
//! what the tenant's config grants ([`check_manifest`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Context, ServiceError, read_file};
use crate::authoring::manifest;
use crate::authoring::manifest::{Manifest, NotGranted, TenantGrants};
use crate::authoring::package::{self, Package};
use crate::authoring::sign;
use crate::config::FerryConfig;
use crate::config::trust::TrustPolicy;
use crate::runtime::grants::ConnectionKind;
use crate::runtime::{Grants, Registry, Role, Runtime};

fn input(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Input(e.to_string())
}

/// Builds a package from a manifest file and a component: the component must load as a
/// plugin of the manifest's contract (read from it when the manifest names none) and the
/// manifest must declare the connections its imports need. Writes `out` (a folder: the
/// package's own `NAME-VERSION.ferry` in it; none: that name here).
pub async fn pack(
    ctx: &Context,
    manifest_path: &Path,
    component_path: &Path,
    out: Option<&Path>,
) -> Result<(PathBuf, Package), ServiceError> {
    let text = String::from_utf8(read_file(manifest_path)?)
        .map_err(|_| input(format!("{} is not UTF-8", manifest_path.display())))?;
    let mut manifest =
        Manifest::parse(&text).map_err(|e| input(format!("{}: {e}", manifest_path.display())))?;
    let bytes = read_file(component_path)?;
    let runtime = Runtime::new(ctx.config.runtime_settings(&ctx.data_dir))?;
    let (role, component) = (manifest.role(), bytes.clone());
    let report = tokio::task::spawn_blocking(move || runtime.inspect(&component, role)).await??;
    manifest.check_component(&report).map_err(input)?;
    let package = Package::new(manifest, bytes);
    let path = match out {
        Some(p) if p.is_dir() => p.join(package.file_name()),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(package.file_name()),
    };
    package.write(&path).map_err(input)?;
    Ok((path, package))
}

/// Signs a package in place with a secret key file; returns the signer's public key.
pub fn sign(package_path: &Path, key_path: &Path) -> Result<(String, Package), ServiceError> {
    let mut package = Package::read(package_path).map_err(input)?;
    let key = sign::read_signing_key(key_path).map_err(input)?;
    sign::sign(&mut package, &key);
    package.write(package_path).map_err(input)?;
    let signer = package
        .signature
        .as_ref()
        .map(|s| s.key.clone())
        .unwrap_or_default();
    Ok((signer, package))
}

/// A new vendor keypair at `BASE.key` / `BASE.pub`; returns the public key.
pub fn keygen(base: &Path) -> Result<String, ServiceError> {
    sign::keygen(base).map_err(input)
}

/// The component in `bytes`: the bytes themselves, or a package's component.
pub fn component_of(bytes: Vec<u8>) -> Result<Vec<u8>, ServiceError> {
    if Package::is_package(&bytes) {
        Ok(Package::from_bytes(&bytes).map_err(input)?.component)
    } else {
        Ok(bytes)
    }
}

/// The manifest of a package in `bytes`; None for a bare component.
pub fn manifest_of(bytes: &[u8]) -> Result<Option<Manifest>, ServiceError> {
    if !Package::is_package(bytes) {
        return Ok(None);
    }
    Ok(Some(Package::from_bytes(bytes).map_err(input)?.manifest))
}

/// What a packaged plugin is given: the tenant's settings, plus each declared setting's
/// default the tenant left unset (as text, like every setting: `5`, `true`, `EUR`).
pub fn with_defaults(
    mut settings: BTreeMap<String, String>,
    manifest: &Manifest,
) -> BTreeMap<String, String> {
    for (name, spec) in &manifest.settings {
        if let Some(default) = &spec.default
            && !settings.contains_key(name)
        {
            let text = match default {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            settings.insert(name.clone(), text);
        }
    }
    settings
}

/// What a packaged plugin may use: only the connections, secrets and settings its manifest
/// declares (a tenant's other grants never reach it), with the declared defaults of the
/// settings the tenant left unset.
pub fn narrow(grants: &Grants, manifest: &Manifest) -> Grants {
    let declared = |name: &String| manifest.connections.contains_key(name);
    let settings = grants
        .settings
        .iter()
        .filter(|(k, _)| manifest.settings.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Grants {
        tenant: grants.tenant.clone(),
        plugin: grants.plugin.clone(),
        http: grants
            .http
            .iter()
            .filter(|(k, _)| declared(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        sql: grants
            .sql
            .iter()
            .filter(|(k, _)| declared(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        settings: with_defaults(settings, manifest),
        secrets: grants
            .secrets
            .iter()
            .filter(|(k, _)| manifest.secrets.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        shadow: grants.shadow,
    }
}

/// The grants the component `digest`, active for `tenant`, is given under `ferry serve`: a
/// component installed from a package gets [`narrow`]ed grants; a bare component (no
/// manifest kept beside it) the role's grants as configured. A kept manifest that no longer
/// reads gets nothing (it was checked at install: something changed it on disk).
pub fn serving_grants(registry: &Registry, tenant: &str, digest: &str, base: &Grants) -> Grants {
    match registry.beside(digest, tenant, manifest::FILE_NAME) {
        Ok(None) => base.with_plugin(&base.plugin, base.settings.clone()),
        Ok(Some(text)) => match Manifest::parse(&text) {
            Ok(m) => narrow(base, &m),
            Err(e) => {
                tracing::warn!(%tenant, %digest, "kept manifest unreadable, plugin granted nothing: {e}");
                Grants::for_tenant(tenant).with_plugin(&base.plugin, BTreeMap::new())
            }
        },
        Err(e) => {
            tracing::warn!(%tenant, %digest, "kept manifest unreadable, plugin granted nothing: {e}");
            Grants::for_tenant(tenant).with_plugin(&base.plugin, BTreeMap::new())
        }
    }
}

/// Whether a package's signature holds: the signer's key, None when unsigned.
pub type Verdict = Result<Option<String>, sign::Refusal>;

/// A package file and its [`Verdict`], for `plugin check`; None for a bare component.
pub fn open(path: &Path) -> Result<Option<(Package, Verdict)>, ServiceError> {
    let bytes = read_file(path)?;
    if !Package::is_package(&bytes) {
        return Ok(None);
    }
    let package =
        Package::from_bytes(&bytes).map_err(|e| input(format!("{}: {e}", path.display())))?;
    let verdict = sign::verify(&package);
    Ok(Some((package, verdict)))
}

/// What install takes from a file: the component, and the package it came in, if any.
pub struct Admitted {
    pub component: Vec<u8>,
    pub package: Option<Package>,
}

/// Reads what install was given (a package or a bare component) and holds it against the
/// tenant's trust policy, naming the reason for a refusal; a package must be for `role`.
pub fn admit(
    ctx: &Context,
    tenant: &str,
    role: Role,
    bytes: Vec<u8>,
) -> Result<Admitted, ServiceError> {
    admit_under(&ctx.tenant(tenant)?.trust, tenant, role, bytes)
}

/// [`admit`] under a given policy (for callers holding a config rather than a [`Context`]:
/// the server's start-up install of `plugins.ROLE.file`).
pub fn admit_under(
    policy: &TrustPolicy,
    tenant: &str,
    role: Role,
    bytes: Vec<u8>,
) -> Result<Admitted, ServiceError> {
    if !Package::is_package(&bytes) {
        sign::admit(None, policy)
            .map_err(|r| input(format!("tenant '{tenant}' refuses the component: {r}")))?;
        return Ok(Admitted {
            component: bytes,
            package: None,
        });
    }
    let package = Package::from_bytes(&bytes).map_err(input)?;
    let label = package.manifest.label();
    sign::admit(Some(&package), policy)
        .map_err(|r| input(format!("tenant '{tenant}' refuses package {label}: {r}")))?;
    if package.manifest.role() != Some(role) {
        let world = package.manifest.contract.as_ref().map(|c| c.world.as_str());
        return Err(input(format!(
            "package {label} is for {}, not role {role} ({})",
            world.unwrap_or("no contract world"),
            role.world()
        )));
    }
    Ok(Admitted {
        component: package.component.clone(),
        package: Some(package),
    })
}

/// The package's manifest, checked again against its component (a package may be made by
/// hand), before it is stored.
pub async fn check_packaged(
    registry: &Registry,
    role: Role,
    package: &Package,
) -> Result<(), ServiceError> {
    let (runtime, bytes) = (registry.runtime().clone(), package.component.clone());
    let report = tokio::task::spawn_blocking(move || runtime.inspect(&bytes, Some(role))).await??;
    let mut manifest = package.manifest.clone();
    manifest.check_component(&report).map_err(input)
}

/// Keeps the package's manifest and signature beside the component it installed for `tenant`
/// (in the store, so every node serves it with the same grants).
pub async fn keep(
    registry: &Registry,
    tenant: &str,
    digest: &str,
    package: &Package,
) -> Result<(), ServiceError> {
    registry
        .put_beside(digest, tenant, manifest::FILE_NAME, &package.manifest_text)
        .await?;
    if let Some(signature) = package.signature_text() {
        registry
            .put_beside(digest, tenant, package::SIGNATURE, &signature)
            .await?;
    }
    Ok(())
}

/// The package an installed component came in for `tenant` (None: installed bare).
pub fn installed_package(
    registry: &Registry,
    tenant: &str,
    digest: &str,
    component: &[u8],
) -> Result<Option<Package>, ServiceError> {
    let Some(manifest_text) = registry.beside(digest, tenant, manifest::FILE_NAME)? else {
        return Ok(None);
    };
    let signature = registry.beside(digest, tenant, package::SIGNATURE)?;
    Package::from_parts(manifest_text, component.to_vec(), signature.as_deref())
        .map(Some)
        .map_err(input)
}

/// Before an installed component serves the tenant's role: the tenant's trust policy again
/// (it may have been tightened since install), then a package's needs against the config.
pub fn check_installed(
    ctx: &Context,
    registry: &Registry,
    tenant: &str,
    role: Role,
    digest: &str,
    component: &[u8],
) -> Result<(), ServiceError> {
    check_installed_under(&ctx.config, registry, tenant, role, digest, component)
}

/// [`check_installed`] against `config` (what `ferry serve` checks its active plugins with at
/// start: a policy tightened or a grant taken away while it was stopped holds from then on).
pub fn check_installed_under(
    config: &FerryConfig,
    registry: &Registry,
    tenant: &str,
    role: Role,
    digest: &str,
    component: &[u8],
) -> Result<(), ServiceError> {
    let trust = &config.tenant(tenant).map_err(input)?.trust;
    let package = installed_package(registry, tenant, digest, component)?;
    sign::admit(package.as_ref(), trust).map_err(|r| {
        input(format!(
            "tenant '{tenant}' refuses to activate {digest}: {r}"
        ))
    })?;
    if let Some(package) = package {
        check_manifest(config, tenant, role, &package.manifest).map_err(input)?;
    }
    Ok(())
}

/// Checks what the tenant's config gives its `role` plugin against the manifest's needs:
/// connections (by name and kind), secrets, and settings (declared, typed, required set).
/// Called before a packaged component serves a role.
pub fn check_manifest(
    config: &FerryConfig,
    tenant: &str,
    role: Role,
    manifest: &Manifest,
) -> Result<(), NotGranted> {
    let tc = config.tenants.get(tenant);
    let plugin = tc.and_then(|t| t.plugins.get(&role));
    let connections = plugin
        .map(|p| p.connections.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|name| {
            let kind: ConnectionKind = tc?.connections.get(name)?.kind();
            Some((name.clone(), kind))
        })
        .collect();
    let none = Default::default();
    manifest.check_tenant(&TenantGrants {
        tenant,
        role,
        connections,
        secrets: plugin.map(|p| p.secrets.as_slice()).unwrap_or_default(),
        settings: plugin.map(|p| &p.settings).unwrap_or(&none),
    })
}

/// The most `install --url` downloads: a package is a component and two small TOML files.
pub const MAX_DOWNLOAD: u64 = 64 * 1024 * 1024;
/// How long a download may take in all (connect included).
const DOWNLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Downloads a package (or bare component) for `install --url`: HTTPS only (plain HTTP to a
/// loopback address, for tests), at most [`MAX_DOWNLOAD`] bytes, and the bytes' SHA-256 must
/// equal `pin` before anything is handed on, so what is installed is exactly what was pinned.
pub async fn fetch(url: &str, pin: &str) -> Result<Vec<u8>, ServiceError> {
    fetch_at_most(url, pin, MAX_DOWNLOAD).await
}

async fn fetch_at_most(url: &str, pin: &str, max: u64) -> Result<Vec<u8>, ServiceError> {
    use sha2::{Digest, Sha256};
    let pin = parse_pin(pin)?;
    let url = reqwest::Url::parse(url).map_err(|e| input(format!("--url {url}: {e}")))?;
    allowed_url(&url)?;
    // A redirect must stay on HTTPS (or loopback) too; the pin still decides what is kept.
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("more than 5 redirects")
        } else if let Err(e) = allowed_url(attempt.url()) {
            attempt.error(e.to_string())
        } else {
            attempt.follow()
        }
    });
    let client = reqwest::Client::builder()
        .timeout(DOWNLOAD_TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(15))
        .redirect(redirects)
        .build()
        .map_err(|e| input(format!("HTTP client: {e}")))?;
    let failed = |e: reqwest::Error| input(format!("downloading {url}: {e}"));
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed)?;
    let too_big = || input(format!("{url} is larger than {} MiB: refused", max >> 20));
    if response.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if bytes.len() as u64 + chunk.len() as u64 > max {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    let got = hex::encode(Sha256::digest(&bytes));
    if got != pin {
        return Err(input(format!(
            "sha256 mismatch for {url}: pinned {pin}, downloaded {got}; nothing installed"
        )));
    }
    Ok(bytes)
}

/// `--sha256`: 64 hex digits, `sha256:` prefix allowed; lower-cased.
fn parse_pin(pin: &str) -> Result<String, ServiceError> {
    let hex = pin
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(input(format!(
            "--sha256 '{pin}' is not a SHA-256 digest (64 hex digits)"
        )));
    }
    Ok(hex)
}

/// HTTPS, or plain HTTP to this machine only (a test's server; nothing crosses a network).
fn allowed_url(url: &reqwest::Url) -> Result<(), ServiceError> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(input(format!(
            "{url}: refused: a plugin is downloaded over https (plain http only from a loopback address)"
        ))),
    }
}

#[cfg(test)]
mod fetch_tests {
    #[test]
    fn declared_defaults_fill_what_the_tenant_left_unset() {
        let manifest = crate::authoring::manifest::Manifest::parse(
            "name = \"p\"\nversion = \"1.0.0\"\nvendor = \"v\"\n\
             [settings.pct]\ntype = \"number\"\ndefault = 5\n\
             [settings.currency]\ntype = \"string\"\ndefault = \"EUR\"\n\
             [settings.dry_run]\ntype = \"bool\"\ndefault = false\n\
             [settings.key]\ntype = \"string\"\n",
        )
        .expect("manifest");
        let tenant = [("pct".to_string(), "7.5".to_string())].into();
        let got: Vec<_> = super::with_defaults(tenant, &manifest)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(got, ["currency=EUR", "dry_run=false", "pct=7.5"]);
    }

    #[test]
    fn a_pin_is_64_hex_digits_and_urls_are_https_or_loopback() {
        let hex = "AB".repeat(32);
        assert_eq!(
            super::parse_pin(&format!("sha256:{hex}")).ok(),
            Some("ab".repeat(32))
        );
        assert!(super::parse_pin("abc").is_err());
        assert!(super::parse_pin(&"zz".repeat(32)).is_err());
        let ok = |u: &str| super::allowed_url(&reqwest::Url::parse(u).expect("url")).is_ok();
        assert!(ok("https://plugins.example.com/p.ferry"));
        assert!(ok("http://127.0.0.1:8080/p.ferry"));
        assert!(ok("http://[::1]/p.ferry"));
        assert!(ok("http://localhost/p.ferry"));
        assert!(!ok("http://plugins.example.com/p.ferry"));
        assert!(!ok("ftp://127.0.0.1/p.ferry"));
        assert!(!ok("file:///tmp/p.ferry"));
    }
}
