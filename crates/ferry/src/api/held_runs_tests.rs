//! One fixture for the edit-and-retry tests of the admin API and the console: a memory store
//! holding acme's quote-to-order runs in the states an operator acts on, and a context with a
//! token for acme and one for globex.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::FerryConfig;
use crate::flows::quote_to_order::KIND;
use crate::services::Context;
use crate::services::tokens::{self, Scope};
use ferry_store::{Jobs, MemoryStore, NewJob, Outcome, Store};

/// A mapped order with one line of BRG10012 at `facility`.
pub(crate) fn order(facility: &str) -> Value {
    json!({"kind": "order", "id": null,
        "fields": [{"name": "FACI", "value": {"text": facility}}, {"name": "CUNO", "value": {"text": "C1"}}],
        "lines": [{"fields": [{"name": "ITNO", "value": {"text": "BRG10012"}}]}]})
}

pub(crate) struct HeldRuns {
    pub store: Arc<MemoryStore>,
    pub ctx: Context,
    pub acme: String,
    pub globex: String,
    pub _dir: tempfile::TempDir,
}

/// acme: quote 5 (Q5) held after mapping with facility XX9, quote 6 (Q6) dead after its order
/// head write began, quote 7 (Q7) done. Tenants acme and globex, a token for each.
pub(crate) async fn held_runs() -> HeldRuns {
    let store = Arc::new(MemoryStore::new());
    for (id, outcome, intent) in [
        (
            "5",
            Outcome::Hold {
                reason: "M3: facility XX9 does not exist".into(),
            },
            None,
        ),
        (
            "6",
            Outcome::Dead {
                error: "M3 timed out".into(),
            },
            Some("head"),
        ),
        ("7", Outcome::Done, None),
    ] {
        let checkpoint = json!({
            "quote_id": id,
            "quote": {"kind": "quote", "id": id, "fields": [{"name": "DocNo", "value": {"text": format!("Q{id}")}}], "lines": []},
            "order": order("XX9"),
        });
        let job = NewJob {
            tenant: "acme",
            kind: KIND,
            key: id,
            checkpoint: checkpoint.clone(),
        };
        store.enqueue(job, 0).await.expect("enqueue");
        let claim = store
            .claim("w", 1, 1_000, 0)
            .await
            .expect("claim")
            .remove(0);
        let step = if id == "5" { "mapped" } else { "validated" };
        store
            .commit_step(&claim, step, &checkpoint, "step", None)
            .await
            .expect("step");
        if let Some(intent) = intent {
            store.begin_intent(&claim, intent).await.expect("intent");
        }
        store.finish(&claim, outcome, 0).await.expect("finish");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let config =
        FerryConfig::parse("[tenants.acme]\n[tenants.globex]\n", dir.path()).expect("config");
    let shared: Arc<dyn Store> = store.clone();
    let ctx = Context::from_config(config, dir.path()).with_store(shared.clone());
    let acme = tenant_token(&*shared, "acme").await;
    let globex = tenant_token(&*shared, "globex").await;
    HeldRuns {
        store,
        ctx,
        acme,
        globex,
        _dir: dir,
    }
}

/// A new token scoped to `tenant`, its secret.
pub(crate) async fn tenant_token(store: &dyn Store, tenant: &str) -> String {
    tokens::create_in(store, &Scope::Tenant(tenant.into()), None)
        .await
        .expect("token")
        .secret
}
