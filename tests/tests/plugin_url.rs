//! `ferry plugin install --url URL --sha256 HEX` with the real binary, against a server on
//! 127.0.0.1 in this test: the pinned package installs; a wrong pin is refused naming both
//! digests and stores nothing; a download over the size cap is refused, whether its length
//! is announced or not; plain http to another host and a URL without a pin are refused; and
//! the tenant's trust policy applies to a download as to a file.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;

use ferry_tests::{Run, ferry, plugin};

const MANIFEST: &str = "name = \"pricer\"\nversion = \"1.0.0\"\nvendor = \"Acme Plugins\"\n";

/// Serves `package` at /pricer.ferry, a response announcing 100 MiB at /huge and an endless
/// chunked one at /endless; returns the base URL.
fn serve(package: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let package = package.clone();
            std::thread::spawn(move || answer(stream, &package));
        }
    });
    base
}

fn answer(mut stream: TcpStream, package: &[u8]) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let mib = vec![0u8; 1 << 20];
    // Write errors end the answer: the client hung up, which is what a refusal looks like.
    let _ = match path {
        "/pricer.ferry" => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    package.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(package)),
        "/huge" => stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 104857600\r\nconnection: close\r\n\r\n")
            .and_then(|()| stream.write_all(&mib)),
        "/endless" => (|| {
            stream.write_all(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            )?;
            // Up to 100 MiB, never ending on its own before the client's cap.
            for _ in 0..100 {
                stream.write_all(format!("{:x}\r\n", mib.len()).as_bytes())?;
                stream.write_all(&mib)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        })(),
        _ => stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
    };
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

fn refused(run: Run, code: i32, reasons: &[&str]) {
    let run = run.expect_code(code);
    for reason in reasons {
        assert!(
            run.stderr.contains(reason),
            "expected '{reason}' in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn install_from_a_url_keeps_only_what_the_pin_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let data = dir.join("data");
    let at = |name: &str| dir.join(name).to_str().expect("utf-8").to_string();
    let run = |config: &str, args: &[&str]| {
        let path = dir.join("ferry.toml");
        std::fs::write(&path, config).expect("config");
        let mut all = vec!["--config", path.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        ferry(&data, &all)
    };

    std::fs::write(dir.join("ferry-plugin.toml"), MANIFEST).expect("manifest");
    let component = plugin("test_transform");
    ferry(
        &data,
        &[
            "plugin",
            "pack",
            "--manifest",
            &at("ferry-plugin.toml"),
            "--component",
            component.to_str().expect("utf-8"),
            "-o",
            &at("pricer.ferry"),
        ],
    )
    .expect_code(0);
    let package = std::fs::read(dir.join("pricer.ferry")).expect("package");
    let pin = sha256_of(&dir.join("pricer.ferry"));
    let base = serve(package);

    let lenient = "[tenants.acme]\n";
    let install = |config: &str, url: &str, pin: &str| {
        run(
            config,
            &[
                "plugin",
                "install",
                "--url",
                url,
                "--sha256",
                pin,
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        )
    };
    let installed = |config: &str| -> Vec<serde_json::Value> {
        let rows = run(config, &["plugin", "list", "--json"])
            .expect_code(0)
            .json();
        rows.as_array().expect("rows").clone()
    };
    let url = format!("{base}/pricer.ferry");

    // A wrong pin: refused naming both digests, nothing stored.
    let wrong = "0f".repeat(32);
    refused(
        install(lenient, &url, &wrong),
        3,
        &[
            "sha256 mismatch",
            &format!("pinned {wrong}"),
            &format!("downloaded {pin}"),
        ],
    );
    assert!(installed(lenient).is_empty());

    // Over the size cap, announced or streamed: refused.
    for path in ["/huge", "/endless"] {
        refused(
            install(lenient, &format!("{base}{path}"), &pin),
            3,
            &["larger than 64 MiB"],
        );
    }
    // Plain http to another host, a pin that is not a digest, a URL without a pin.
    refused(
        install(lenient, "http://plugins.example.com/pricer.ferry", &pin),
        3,
        &["https"],
    );
    refused(install(lenient, &url, "abc"), 3, &["not a SHA-256 digest"]);
    refused(
        run(
            lenient,
            &[
                "plugin",
                "install",
                "--url",
                &url,
                "--tenant",
                "acme",
                "--role",
                "transform",
            ],
        ),
        64,
        &["--sha256"],
    );
    assert!(installed(lenient).is_empty());

    // The trust policy holds for a download: an unsigned package, refused.
    let strict = "[tenants.acme.trust]\nrequire_signature = true\nvendor_keys = [\"OK23m/l/GQ73jw7bsN1mocdT85iVuGpi5NUofBQ04Sg=\"]\n";
    refused(install(strict, &url, &pin), 3, &["unsigned"]);
    assert!(installed(lenient).is_empty());

    // The right pin: installed, as a package.
    let ok = install(lenient, &url, &pin.to_uppercase()).expect_code(0);
    assert!(ok.stdout.contains("sha256 as pinned"), "{}", ok.stdout);
    let rows = installed(lenient);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let digest = rows[0]["digest"].as_str().expect("digest");
    assert!(
        ok.stdout.contains(&format!("installed {digest}")),
        "{}",
        ok.stdout
    );
    // Kept as a package: its manifest beside the component.
    let manifest = data.join(format!("plugins/{digest}.acme.ferry-plugin.toml"));
    let kept = std::fs::read_to_string(&manifest).expect("manifest kept");
    assert!(kept.starts_with(MANIFEST), "{kept}");
}
