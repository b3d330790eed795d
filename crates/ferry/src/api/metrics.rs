//! `GET /metrics`: Prometheus text format. Connections record requests, outcomes and latency,
//! the token provider its grants, workers their job outcomes. Read-only.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use (a process has one, whatever number of
/// servers it runs).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!("metrics recorder not installed: {e}");
                None
            }
        })
        .as_ref()
}

pub async fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}
