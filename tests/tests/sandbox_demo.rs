//! README's demo command runs `ferry sandbox --demo`: the whole story, checked against the
//! simulators' own state, must hold (exit 0), the catalog, price, stock and customer syncs
//! included.

#[test]
fn the_sandbox_demo_tells_the_whole_story_and_every_check_holds() {
    let dir = tempfile::tempdir().expect("tmp");
    let plugins = ferry_tests::plugin("ferry_mapping");
    let plugin_dir = plugins.parent().expect("plugin dir");
    let out = std::process::Command::new(ferry_tests::ferry_bin())
        .args(["sandbox", "--demo", "--dir"])
        .arg(dir.path())
        .arg("--plugins")
        .arg(plugin_dir)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry sandbox --demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "-> M3 order",
        "M3 still holds",
        "quote status '8-M3 Delivered'",
        "FRYQ9002 held:",
        "items in QuoteWerks match M3",
        "prices: list price of every item",
        "stock: warehouse 200's stock on every product equals M3's",
        "customers: a new QuoteWerks company became M3 customer",
        "customers: an M3 change reached the QuoteWerks contact",
        "All held.",
    ] {
        assert!(stdout.contains(step), "missing '{step}' in:\n{stdout}");
    }
}
