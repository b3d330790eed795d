//! The sandbox's console: a token for the demo tenant (printed once, like `ferry tokens
//! create`), and the demo's check that the console answers it over HTTP as a browser would.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::services::tokens::{self, Scope};
use ferry_store::Store;

/// A fresh token scoped to the sandbox's tenant; the secret is only ever printed.
pub(super) async fn token(store: &dyn Store, tenant: &str) -> anyhow::Result<String> {
    let scope = Scope::Tenant(tenant.to_string());
    let created = tokens::create_in(store, &scope, Some("sandbox console")).await?;
    Ok(created.secret)
}

/// Signs in at `{base}/ui` with `secret` and finds `quote`'s run by its number, then opens
/// it: what an operator does first.
pub(super) async fn check(base: &str, secret: &str, quote: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let signed_in = http
        .post(format!("{base}/ui/sign-in"))
        .form(&[("token", secret)])
        .send()
        .await?;
    ensure!(
        signed_in.status() == StatusCode::SEE_OTHER || signed_in.status().is_redirection(),
        "signing in answered {}",
        signed_in.status()
    );
    let cookie = signed_in
        .headers()
        .get(SET_COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .context("signing in set no session cookie")?
        .to_string();
    let to = signed_in
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    ensure!(to == "/ui/runs", "signing in led to '{to}'");
    let page = |path: String| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header(COOKIE, cookie)
                .send()
                .await?;
            ensure!(
                r.status() == StatusCode::OK,
                "{path} answered {}",
                r.status()
            );
            Ok::<_, anyhow::Error>(r.text().await?)
        }
    };
    let found = page(format!("/ui/runs?q={quote}")).await?;
    ensure!(
        found.contains(quote),
        "searching the runs for {quote} did not find it"
    );
    let run = page(format!("/ui/tenants/{}/runs/{quote}", super::TENANT)).await?;
    ensure!(
        run.contains("written-back"),
        "the run of {quote} does not show its steps"
    );
    Ok(())
}

/// A rep asks how many of `item` warehouse `whlo` can promise: the answer is M3's, then the
/// same from the cache. Returns (on hand, allocatable).
pub(super) async fn availability(
    base: &str,
    secret: &str,
    item: &str,
    whlo: &str,
) -> anyhow::Result<(String, String, bool)> {
    let http = reqwest::Client::new();
    let url = format!(
        "{base}/api/v1/tenants/{}/availability?item={item}&warehouse={whlo}",
        super::TENANT
    );
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = http.get(&url).bearer_auth(secret).send().await?;
        ensure!(
            r.status() == StatusCode::OK,
            "availability answered {}",
            r.status()
        );
        answers.push(r.json::<serde_json::Value>().await?);
    }
    let first = &answers[0]["balances"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Ok((
        text(&first["on_hand"]),
        text(&first["allocatable"]),
        answers[1]["cached"] == true,
    ))
}
