use super::*;
use crate::authoring::manifest::Manifest;

fn package() -> Package {
    let manifest = Manifest::parse(
        "name = \"pricer\"\nversion = \"1.0.0\"\nvendor = \"Acme\"\n\n[contract]\nworld = \"ferry:transform/plugin\"\nversion = \"1.1.0\"\n",
    )
    .expect("manifest");
    Package::new(manifest, b"\0asm component bytes".to_vec())
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(seed: u8) -> String {
    B64.encode(key(seed).verifying_key().to_bytes())
}

fn strict(keys: &[String]) -> TrustPolicy {
    TrustPolicy {
        require_signature: true,
        vendor_keys: keys.to_vec(),
    }
}

/// Signed, written out and read back, as install sees it.
fn signed_by(seed: u8) -> Package {
    let mut p = package();
    sign(&mut p, &key(seed));
    Package::from_bytes(&p.to_bytes()).expect("reads")
}

#[test]
fn a_signed_package_verifies_and_a_trusted_signer_is_admitted() {
    let p = signed_by(1);
    assert_eq!(verify(&p), Ok(Some(public(1))));
    assert_eq!(admit(Some(&p), &strict(&[public(1)])), Ok(()));
}

#[test]
fn a_strict_policy_names_why_it_refuses() {
    let policy = strict(&[public(1)]);
    assert!(matches!(
        admit(Some(&package()), &policy),
        Err(Refusal::Unsigned(_))
    ));
    assert!(matches!(admit(None, &policy), Err(Refusal::Unsigned(_))));
    assert_eq!(
        admit(Some(&signed_by(2)), &policy),
        Err(Refusal::SignerNotTrusted(public(2)))
    );
    let text = admit(Some(&package()), &policy)
        .expect_err("unsigned")
        .to_string();
    assert!(text.starts_with("unsigned: "), "{text}");
}

#[test]
fn a_package_changed_after_signing_is_refused_under_any_policy() {
    let lenient = TrustPolicy::default();
    let mut tampered = signed_by(1);
    tampered.component.extend_from_slice(b"evil");
    let reread = Package::from_bytes(&tampered.to_bytes()).expect("reads");
    let err = admit(Some(&reread), &lenient).expect_err("tampered");
    assert!(matches!(err, Refusal::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().starts_with("digest mismatch: "), "{err}");

    // The digest rewritten to match: the signature no longer does.
    let mut forged = reread.clone();
    let digest = format!("sha256:{}", forged.digest());
    if let Some(s) = forged.signature.as_mut() {
        s.digest = digest;
    }
    let err = admit(Some(&forged), &lenient).expect_err("forged");
    assert!(matches!(err, Refusal::SignatureInvalid(_)), "{err}");

    // A signature claimed by another key.
    let mut claimed = signed_by(1);
    if let Some(s) = claimed.signature.as_mut() {
        s.key = public(2);
    }
    assert!(matches!(
        verify(&claimed),
        Err(Refusal::SignatureInvalid(_))
    ));
}

#[test]
fn without_a_policy_unsigned_and_bare_components_are_admitted() {
    let lenient = TrustPolicy::default();
    assert_eq!(admit(None, &lenient), Ok(()));
    assert_eq!(admit(Some(&package()), &lenient), Ok(()));
    assert_eq!(admit(Some(&signed_by(3)), &lenient), Ok(()));
}

#[test]
fn keygen_writes_a_pair_that_signs_and_verifies_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("acme");
    let public = keygen(&base).expect("keygen");
    let stored = std::fs::read_to_string(base.with_extension("pub")).expect("pub");
    assert_eq!(stored.trim(), public);
    parse_public(&public).expect("a valid key");
    let mut p = package();
    sign(
        &mut p,
        &read_signing_key(&base.with_extension("key")).expect("key"),
    );
    assert_eq!(verify(&p), Ok(Some(public)));
    assert!(matches!(keygen(&base), Err(KeyError::Exists(_))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(base.with_extension("key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the secret key is the owner's only");
    }
}
