//! Vendor signatures on plugin packages: ed25519 keys (`ferry plugin keygen`), a signature over
//! the package digest (`ferry plugin sign`), and the install-time verdict under a tenant's
//! trust policy. Keys are base64 of their 32 raw bytes, one per file (`NAME.key` secret,
//! `NAME.pub` public), so a public key pastes as is into `vendor_keys`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::package::Package;
use crate::config::trust::TrustPolicy;

/// What signatures sign: this prefix, then the package digest in hex (so a signature over a
/// Ferry package can't be passed off as anything else).
const DOMAIN: &str = "ferry-plugin-package/1:";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a base64 ed25519 key (32 bytes)")]
    Malformed(String),
    #[error("{0} exists: not overwriting a key")]
    Exists(PathBuf),
}

/// `signature.toml` in a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    pub algorithm: String,
    /// The signer's public key, base64.
    pub key: String,
    /// `sha256:HEX`, the package digest it signs.
    pub digest: String,
    /// base64.
    pub signature: String,
}

/// Why a package may not be installed, as install names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("unsigned: the tenant's trust policy requires a signature ({0})")]
    Unsigned(String),
    #[error("signer not trusted: key {0} is not in the tenant's vendor_keys")]
    SignerNotTrusted(String),
    #[error("signature invalid: {0}")]
    SignatureInvalid(String),
    #[error(
        "digest mismatch: the package's content is {actual}, its signature is over {signed} \
         (changed after signing)"
    )]
    DigestMismatch { signed: String, actual: String },
}

/// A new keypair: writes `BASE.key` (secret, owner-only) and `BASE.pub`; returns the public
/// key in base64.
pub fn keygen(base: &Path) -> Result<String, KeyError> {
    let secret_path = base.with_extension("key");
    let public_path = base.with_extension("pub");
    for p in [&secret_path, &public_path] {
        if p.exists() {
            return Err(KeyError::Exists(p.clone()));
        }
    }
    let seed: [u8; 32] = rand::random();
    let key = SigningKey::from_bytes(&seed);
    let public = B64.encode(key.verifying_key().to_bytes());
    write_secret(&secret_path, format!("{}\n", B64.encode(seed)).as_bytes())?;
    std::fs::write(&public_path, format!("{public}\n")).map_err(|source| KeyError::Io {
        path: public_path.clone(),
        source,
    })?;
    Ok(public)
}

fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)
}

/// Reads a secret key file written by [`keygen`].
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes =
        decode32(text.trim()).ok_or_else(|| KeyError::Malformed(path.display().to_string()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// A public key from its base64 text.
pub fn parse_public(text: &str) -> Result<VerifyingKey, KeyError> {
    decode32(text.trim())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| KeyError::Malformed(text.to_string()))
}

fn decode32(text: &str) -> Option<[u8; 32]> {
    B64.decode(text).ok()?.try_into().ok()
}

/// Signs the package's digest, replacing any earlier signature.
pub fn sign(package: &mut Package, key: &SigningKey) {
    let digest = package.digest();
    let signature = key.sign(format!("{DOMAIN}{digest}").as_bytes());
    package.signature = Some(PackageSignature {
        algorithm: "ed25519".into(),
        key: B64.encode(key.verifying_key().to_bytes()),
        digest: format!("sha256:{digest}"),
        signature: B64.encode(signature.to_bytes()),
    });
}

/// Checks the package's signature, if it has one: the digest it signs is the package's, and
/// the signature verifies under the key it names. Returns the signer's key (base64) or None
/// when unsigned. A signature that doesn't hold is refused whatever the policy.
pub fn verify(package: &Package) -> Result<Option<String>, Refusal> {
    let Some(sig) = &package.signature else {
        return Ok(None);
    };
    if sig.algorithm != "ed25519" {
        return Err(Refusal::SignatureInvalid(format!(
            "algorithm '{}' (only ed25519)",
            sig.algorithm
        )));
    }
    let actual = format!("sha256:{}", package.digest());
    if sig.digest != actual {
        return Err(Refusal::DigestMismatch {
            signed: sig.digest.clone(),
            actual,
        });
    }
    let key = parse_public(&sig.key)
        .map_err(|_| Refusal::SignatureInvalid("the signer's key is malformed".into()))?;
    let bytes: [u8; 64] = B64
        .decode(&sig.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Refusal::SignatureInvalid("not a base64 ed25519 signature".into()))?;
    let message = format!("{DOMAIN}{}", package.digest());
    key.verify(
        message.as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&bytes),
    )
    .map_err(|_| Refusal::SignatureInvalid(format!("it does not verify under key {}", sig.key)))?;
    Ok(Some(sig.key.clone()))
}

/// Whether a tenant with `policy` accepts the package (None: a bare component, no package).
pub fn admit(package: Option<&Package>, policy: &TrustPolicy) -> Result<(), Refusal> {
    let Some(package) = package else {
        return if policy.require_signature {
            Err(Refusal::Unsigned(
                "a bare .wasm carries none; pack and sign it: ferry plugin pack, ferry plugin sign"
                    .into(),
            ))
        } else {
            Ok(())
        };
    };
    match verify(package)? {
        None if policy.require_signature => Err(Refusal::Unsigned(format!(
            "package {} is not signed",
            package.manifest.label()
        ))),
        Some(signer) if policy.require_signature && !policy.trusts(&signer) => {
            Err(Refusal::SignerNotTrusted(signer))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
