use super::*;

fn package() -> Package {
    let manifest = Manifest::parse(
        "name = \"pricer\"\nversion = \"1.0.0\"\nvendor = \"Acme\"\n\n[contract]\nworld = \"ferry:transform/plugin\"\nversion = \"1.1.0\"\n",
    )
    .expect("manifest");
    // The package format doesn't look inside the component; install loads it.
    Package::new(manifest, b"\0asm\x0d\0\x01\0 not really".to_vec())
}

#[test]
fn a_package_round_trips_and_packs_the_same_bytes_twice() {
    let p = package();
    let bytes = p.to_bytes();
    assert!(Package::is_package(&bytes));
    assert!(!Package::is_package(&p.component));
    assert_eq!(bytes, package().to_bytes(), "no timestamps in the tar");
    let back = Package::from_bytes(&bytes).expect("reads");
    assert_eq!(back.manifest, p.manifest);
    assert_eq!(back.component, p.component);
    assert_eq!(back.digest(), p.digest());
    assert_eq!(p.file_name(), "pricer-1.0.0.ferry");
}

#[test]
fn the_digest_covers_manifest_and_component() {
    let p = package();
    let mut other = p.clone();
    other.component.push(0);
    assert_ne!(p.digest(), other.digest());
    let mut other = p.clone();
    other.manifest_text.push('\n');
    assert_ne!(p.digest(), other.digest());
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

#[test]
fn a_stray_duplicate_or_missing_member_is_refused() {
    let p = package();
    let m = p.manifest_text.as_bytes();
    let c = p.component.as_slice();
    for (members, want) in [
        (
            vec![
                (manifest::FILE_NAME, m),
                (COMPONENT, c),
                ("extra.sh", b"x".as_slice()),
            ],
            "unexpected member 'extra.sh'",
        ),
        (
            vec![(manifest::FILE_NAME, m), (COMPONENT, c), (COMPONENT, c)],
            "member 'plugin.wasm' appears twice",
        ),
        (vec![(manifest::FILE_NAME, m)], "no plugin.wasm"),
        (vec![(COMPONENT, c)], "no ferry-plugin.toml"),
    ] {
        let err = Package::from_bytes(&tar_of(&members))
            .expect_err(want)
            .to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(Package::from_bytes(b"not a tar at all").is_err());
}
