//! Approved quote → confirmed M3 order, end to end (`cargo xtask bench`, or
//! `cargo bench -p ferry --bench quote_to_order`): Ferry with the real plugins and both
//! simulators in one process, beside a direct client making the same kind of M3 calls without
//! Ferry, in the same run. 10-line quotes, no injected latency. Reports p50/p99 latency,
//! orders per second, and M3 round trips per order, with ratios.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::plugin_dir;
use ferry::flows::quote_to_order::KIND;
use ferry::sandbox::{TENANT, start_stack};
use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use ferry_sim::stack::{Catalog as Seeded, READY};
use ferry_store::{JobState, Store};
use rust_decimal::Decimal;

const LINES: usize = 10;
const LATENCY_ORDERS: usize = 40;
const THROUGHPUT_ORDERS: usize = 80;

struct Catalog {
    customers: Vec<seed::SeedCustomer>,
    items: Vec<String>,
}

impl Catalog {
    /// The active customers and items of the master data the stack seeded.
    fn of(seeded: Seeded) -> Self {
        Self {
            customers: (0..seeded.customers)
                .map(|i| seed::customer(seeded.seed, i))
                .filter(|c| c.stat == "20")
                .collect(),
            items: (0..seeded.items)
                .map(|i| seed::item(seeded.seed, i))
                .filter(|i| i.stat == "20")
                .map(|i| i.itno)
                .collect(),
        }
    }

    fn quote(&self, k: usize) -> NewQuote {
        NewQuote {
            sold_to: SoldTo::from_seed(&self.customers[k % self.customers.len()]),
            ship_to: None,
            doc_no: Some(format!("B{k:05}")),
            doc_name: None,
            doc_type: "QUOTE".into(),
            status: "1-In Progress".into(),
            doc_date: None,
            sales_rep: "BENCH".into(),
            po_number: format!("PO-{k}"),
            project_no: None,
            local_tax_rate: Decimal::ZERO,
            shipping_amount: Decimal::ZERO,
            custom: Default::default(),
            lines: (0..LINES)
                .map(|j| {
                    NewLine::product(
                        &self.items[(k * 3 + j) % self.items.len()],
                        Decimal::from(1 + j as i64 % 3),
                    )
                })
                .collect(),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The baseline: a plain MI REST client doing what an order needs in M3, without Ferry: check
/// the customer and each item, look for the reference, then batch entry.
struct Direct {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Direct {
    async fn new(ionapi_path: &std::path::Path, api: String) -> anyhow::Result<Self> {
        let ion: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(ionapi_path)?)?;
        let s = |k: &str| ion[k].as_str().unwrap_or_default().to_string();
        let http = reqwest::Client::new();
        let resp: serde_json::Value = http
            .post(format!("{}{}", s("pu"), s("ot")))
            .form(&[
                ("grant_type", "password"),
                ("client_id", &s("ci")),
                ("client_secret", &s("cs")),
                ("username", &s("saak")),
                ("password", &s("sask")),
            ])
            .send()
            .await?
            .json()
            .await?;
        let token = resp["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(Self { http, api, token })
    }

    async fn mi(&self, trn: &str, params: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
        let url = url::Url::parse_with_params(&format!("{}/v2/execute/{trn}", self.api), params)?;
        let r = self.http.get(url).bearer_auth(&self.token).send().await?;
        anyhow::ensure!(r.status().is_success(), "{trn}: {}", r.status());
        Ok(r.json().await?)
    }

    /// One order; returns the M3 round trips it took.
    async fn order(
        &self,
        cuno: &str,
        reference: &str,
        lines: &[(String, i64)],
    ) -> anyhow::Result<usize> {
        let mut trips = 0;
        self.mi("CRS610MI/GetBasicData", &[("CUNO", cuno.into())])
            .await?;
        trips += 1;
        for (itno, _) in lines {
            self.mi("MMS200MI/GetItmBasic", &[("ITNO", itno.clone())])
                .await?;
            trips += 1;
        }
        self.mi("OIS100MI/LstHead", &[("CUNO", cuno.into())])
            .await?;
        trips += 1;
        let head = self
            .mi(
                "OIS100MI/AddBatchHead",
                &[
                    ("CUNO", cuno.into()),
                    ("CUOR", reference.into()),
                    ("ORTP", "A01".into()),
                    ("FACI", "A01".into()),
                    ("WHLO", "100".into()),
                ],
            )
            .await?;
        trips += 1;
        let orno = head["results"][0]["records"][0]["ORNO"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string();
        for (itno, qty) in lines {
            self.mi(
                "OIS100MI/AddBatchLine",
                &[
                    ("ORNO", orno.clone()),
                    ("ITNO", itno.clone()),
                    ("ORQT", qty.to_string()),
                ],
            )
            .await?;
            trips += 1;
        }
        self.mi("OIS100MI/Confirm", &[("ORNO", orno)]).await?;
        trips += 1;
        Ok(trips)
    }
}

async fn wait_done(store: &dyn Store, key: &str) -> anyhow::Result<()> {
    loop {
        if let Some(job) = store.job(TENANT, KIND, key).await? {
            match job.state {
                JobState::Done => return Ok(()),
                JobState::Held | JobState::Dead => anyhow::bail!(
                    "quote {key}: {:?} {:?} {:?}",
                    job.state,
                    job.hold_reason,
                    job.last_error
                ),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        println!("quote_to_order: benchmark");
        return Ok(());
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(async {
        let stack = start_stack(None, &plugin_dir()).await?;
        let store: Arc<dyn Store> = stack.ferry.store.clone();
        let catalog = Catalog::of(stack.sims.catalog);
        let (m3, qw) = (&stack.sims.m3, &stack.sims.qw);

        // Warm-up: first calls compile nothing (cache) but resolve customers and fill caches.
        for k in 0..catalog.customers.len() {
            let doc = qw.create_quote(&catalog.quote(90_000 + k))?;
            qw.set_status(doc.id, READY)?;
            wait_done(store.as_ref(), &doc.id.to_string()).await?;
        }

        // Ferry, one quote at a time: approval to confirmed order and order number written back.
        let mut ferry_lat = Vec::new();
        let trips_before = m3.mi_requests();
        for k in 0..LATENCY_ORDERS {
            let doc = qw.create_quote(&catalog.quote(k))?;
            let t = Instant::now();
            qw.set_status(doc.id, READY)?;
            wait_done(store.as_ref(), &doc.id.to_string()).await?;
            ferry_lat.push(t.elapsed());
        }
        let ferry_trips = (m3.mi_requests() - trips_before) as f64 / LATENCY_ORDERS as f64;

        // Ferry, all at once.
        let docs: Vec<_> = (0..THROUGHPUT_ORDERS).map(|k| qw.create_quote(&catalog.quote(10_000 + k))).collect::<Result<_, _>>()?;
        let t = Instant::now();
        for d in &docs {
            qw.set_status(d.id, READY)?;
        }
        for d in &docs {
            wait_done(store.as_ref(), &d.id.to_string()).await?;
        }
        let ferry_rate = THROUGHPUT_ORDERS as f64 / t.elapsed().as_secs_f64();

        // The direct client, same simulator, same shapes.
        let direct = Arc::new(Direct::new(&m3.ionapi_path, m3.api_base()).await?);
        let lines = |k: usize| -> Vec<(String, i64)> {
            (0..LINES).map(|j| (catalog.items[(k * 3 + j) % catalog.items.len()].clone(), 1 + j as i64 % 3)).collect()
        };
        let cuno = |k: usize| catalog.customers[k % catalog.customers.len()].cuno.clone();
        let mut direct_lat = Vec::new();
        let mut direct_trips = 0;
        for k in 0..LATENCY_ORDERS {
            let t = Instant::now();
            direct_trips += direct.order(&cuno(k), &format!("D{k:05}"), &lines(k)).await?;
            direct_lat.push(t.elapsed());
        }
        let t = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..4 {
            let direct = direct.clone();
            let catalog_lines: Vec<_> = (0..THROUGHPUT_ORDERS)
                .filter(|k| k % 4 == w)
                .map(|k| (cuno(k), format!("E{k:05}"), lines(k)))
                .collect();
            tasks.push(tokio::spawn(async move {
                for (c, r, l) in catalog_lines {
                    direct.order(&c, &r, &l).await?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let direct_rate = THROUGHPUT_ORDERS as f64 / t.elapsed().as_secs_f64();

        ferry_lat.sort();
        direct_lat.sort();
        let (fp50, fp99) = (percentile(&ferry_lat, 0.5), percentile(&ferry_lat, 0.99));
        let (dp50, dp99) = (percentile(&direct_lat, 0.5), percentile(&direct_lat, 0.99));
        println!("quote -> confirmed M3 order, {LINES}-line quotes, simulator without injected latency");
        println!("                      p50          p99          orders/s   M3 round trips/order");
        println!("  Ferry          {fp50:>10.2?}   {fp99:>10.2?}   {ferry_rate:>8.1}   {ferry_trips:.1}");
        println!("  direct client  {dp50:>10.2?}   {dp99:>10.2?}   {direct_rate:>8.1}   {:.1}", direct_trips as f64 / LATENCY_ORDERS as f64);
        println!(
            "  ratio (Ferry / direct): p50 {:.2}x, p99 {:.2}x, throughput {:.2}x",
            fp50.as_secs_f64() / dp50.as_secs_f64(),
            fp99.as_secs_f64() / dp99.as_secs_f64(),
            ferry_rate / direct_rate
        );
        println!("  (Ferry's figures include the QuoteWerks webhook, durable intake, SQL reads and the write-back.)");
        stack.ferry.stop().await?;
        stack.sims.shutdown().await;
        anyhow::Ok(())
    })
}
