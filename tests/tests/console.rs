//! The console in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! fantoccini) against the real `ferry serve` on the stack. An operator signs in with a token
//! made by `ferry tokens create`, finds a quote by the number people use, opens its run, and
//! looks at the errors and plugins screens. Each screen is saved as a PNG under
//! `target/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`cargo xtask test` installs them when
//! missing); runs as root, hence `--no-sandbox`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::ferry;
use ferry_tests::orders::{d, definite_customers, sellable_items};
use ferry_tests::stack::{Options, READY, Stack};
use rust_decimal::Decimal;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn quote(doc_no: &str, sold_to: SoldTo, line: NewLine) -> NewQuote {
    NewQuote {
        sold_to,
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-UI".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![line],
    }
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "the console test needs Debian's chromium and chromium-driver \
         (`cargo xtask test` installs them; or apt-get install -y chromium chromium-driver)"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

/// The text of `css` once `ready` holds for it (after 15 s, whatever it is then).
async fn text_when(c: &Client, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = text_of(c, css).await;
        if ready(&text) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element and returns its text (again when htmx swapped it out meanwhile).
async fn text_of(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = c
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await;
        let text = match found {
            Ok(element) => element.text().await,
            Err(e) => Err(e),
        };
        match text {
            Ok(text) => return text,
            Err(e) if Instant::now() > deadline => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[test]
fn an_operator_signs_in_finds_a_quote_by_number_and_opens_its_run() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let customers = definite_customers();
    let items = sellable_items();
    let sold_to = || SoldTo::from_seed(&customers[0]);
    let (done_id, _) = stack.create_quote(&quote(
        "Q1042",
        sold_to(),
        NewLine::product(&items[0], d(2)),
    ));
    let (held_id, _) = stack.create_quote(&quote(
        "Q1043",
        sold_to(),
        NewLine::product("NOSUCH-ITEM", d(1)).with_price(d(10)),
    ));
    // A part number one character off a real item (a letter O for a zero): held, then fixed
    // from its suggested fixes.
    let meant = items
        .iter()
        .find(|i| i.get(3..).is_some_and(|n| n.contains('0')))
        .expect("an item number with a zero")
        .clone();
    let at = 3 + meant[3..].find('0').expect("a zero");
    let typed = format!("{}O{}", &meant[..at], &meant[at + 1..]);
    let (typo_id, _) = stack.create_quote(&quote(
        "Q1044",
        sold_to(),
        NewLine::product(&typed, d(2)).with_price(d(10)),
    ));
    stack.set_status(done_id, READY);
    stack.set_status(held_id, READY);
    stack.set_status(typo_id, READY);
    let jobs = stack.settle(3, Duration::from_secs(120));
    assert!(
        jobs.iter()
            .any(|j| j.0 == done_id.to_string() && j.1 == "done"),
        "{jobs:?}"
    );
    let token = ferry(
        &stack.data,
        &["tokens", "create", "--admin", "--name", "browser"],
    )
    .expect_code(0)
    .stdout
    .trim()
    .to_string();
    let base = stack.ferry_url();
    let driver = start_driver();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            }),
        );
        let c = ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session");

        // Signed out: the sign-in form.
        c.goto(&format!("{base}/ui")).await.expect("open /ui");
        shoot(&c, "1-sign-in").await;
        let field = c
            .find(Locator::Css("input[name=token]"))
            .await
            .expect("token field");
        field.send_keys("ferry_not-a-token").await.expect("type");
        c.find(Locator::Css("form button[type=submit]"))
            .await
            .expect("button")
            .click()
            .await
            .expect("submit");
        assert!(
            text_of(&c, ".notice.bad")
                .await
                .contains("unknown or revoked")
        );

        // Signed in: the runs.
        let field = c
            .find(Locator::Css("input[name=token]"))
            .await
            .expect("token field");
        field.send_keys(&token).await.expect("type");
        c.find(Locator::Css("form button[type=submit]"))
            .await
            .expect("button")
            .click()
            .await
            .expect("submit");
        assert_eq!(text_when(&c, "main h1", |t| t == "Runs").await, "Runs");
        let table = text_of(&c, "#runs").await;
        assert!(
            table.contains("Q1042") && table.contains("Q1043"),
            "{table}"
        );
        shoot(&c, "2-runs").await;

        // Find the quote by its number (htmx swaps the table as one types).
        let search = c.find(Locator::Css("input[name=q]")).await.expect("search");
        search.send_keys("q1042").await.expect("type");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let table = text_of(&c, "#runs").await;
            if table.contains("Q1042") && !table.contains("Q1043") {
                break;
            }
            assert!(Instant::now() < deadline, "search did not narrow: {table}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        shoot(&c, "3-search").await;

        // Open its run.
        c.find(Locator::LinkText("Q1042"))
            .await
            .expect("the quote's link")
            .click()
            .await
            .expect("open");
        // A click returns before the next page is there: wait for its title.
        let title = text_when(&c, "main h1", |t| t.starts_with("Quote")).await;
        assert!(
            title.starts_with("Quote Q1042") && title.contains("done"),
            "{title}"
        );
        let facts = text_of(&c, "dl.facts").await;
        assert!(!facts.contains("not yet"), "the M3 order is shown: {facts}");
        // Its steps: the plugins that ran each, with the M3 requests they sent, no secret.
        let steps = text_of(&c, "table.steps").await;
        assert!(
            steps.contains("erp") && steps.contains("contract") && steps.contains("AddBatchHead"),
            "{steps}"
        );
        assert!(!steps.contains("Bearer ey"), "a token shown: {steps}");
        // Each request as a person reads it: `GET M3/m3api-rest/...`.
        assert!(
            steps.contains("GET M3/") && !steps.contains("METHOD::"),
            "{steps}"
        );
        shoot(&c, "4-run").await;

        // Health, and the mapping screen: the two field lists, the rules between them and a
        // preview of the last quote.
        c.goto(&format!("{base}/ui/health")).await.expect("health");
        assert_eq!(text_of(&c, "main h1").await, "Health");
        shoot(&c, "9-health").await;
        c.goto(&format!("{base}/ui/tenants/acme/mappings/quote-to-order"))
            .await
            .expect("mapping");
        assert!(
            text_of(&c, "main h1")
                .await
                .starts_with("Mapping quote-to-order")
        );
        let rules = text_of(&c, "#rules").await;
        assert!(rules.contains("ORQT") || rules.contains("ORQA"), "{rules}");
        assert!(!text_of(&c, "#source-fields").await.is_empty());
        assert!(!text_of(&c, "#target-fields").await.is_empty());
        assert!(!text_of(&c, "#preview").await.is_empty());
        shoot(&c, "10-mapping").await;
        c.goto(&format!("{base}/ui/alerts")).await.expect("alerts");
        assert_eq!(text_of(&c, "main h1").await, "Alerts");
        shoot(&c, "11-alerts").await;

        // The held quote is on the errors screen with its reason and a release button.
        c.goto(&format!("{base}/ui/errors")).await.expect("errors");
        let holds = text_of(&c, "#holds").await;
        assert!(
            holds.contains("Q1043") && holds.contains("Release"),
            "{holds}"
        );
        shoot(&c, "5-errors").await;

        // The typo's suggested fixes: the real item first; accept it and the order is made.
        c.goto(&format!("{base}/ui/tenants/acme/holds/Q1044/fixes"))
            .await
            .expect("fixes");
        let first = text_of(&c, "table.suggestions tbody tr").await;
        assert!(first.contains(&meant), "the real item first: {first}");
        shoot(&c, "7-suggested-fixes").await;
        // Accept asks first (hx-confirm): the operator says yes.
        c.execute("window.confirm = () => true; return true;", vec![])
            .await
            .expect("confirm yes");
        c.find(Locator::Css(
            "table.suggestions tbody tr button[type=submit]",
        ))
        .await
        .expect("accept")
        .click()
        .await
        .expect("accept");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = stack
                .jobs()
                .iter()
                .any(|j| j.0 == typo_id.to_string() && j.1 == "done");
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Q1044 never done: {:?}",
                stack.jobs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        c.goto(&format!("{base}/ui/tenants/acme/runs/Q1044"))
            .await
            .expect("run");
        let title = text_of(&c, "main h1").await;
        assert!(title.contains("done"), "{title}");
        let order = stack
            .m3_orders()
            .into_iter()
            .find(|o| o.cuor.contains("Q1044"))
            .expect("Q1044's M3 order");
        assert!(order.lines.iter().all(|l| l.itno == meant), "{order:?}");
        shoot(&c, "8-fixed-run").await;

        c.goto(&format!("{base}/ui/plugins"))
            .await
            .expect("plugins");
        let page = text_of(&c, "main").await;
        assert!(page.contains("erp") && page.contains("active"), "{page}");
        shoot(&c, "6-plugins").await;

        c.close().await.expect("close");
    });
    drop(driver);
}
