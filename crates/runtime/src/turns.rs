//! Per-tenant turns at running guest code. A tenant's plugin calls queue behind each other (at
//! most `runtime.tenant_concurrency` run at once), never behind another tenant's: a tenant whose
//! plugin loops or hogs memory takes its own turns only. A call gives its turn back while it
//! waits on the network, so I/O-bound calls of one tenant still overlap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct Turns {
    per_tenant: usize,
    queue: Duration,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Turns {
    pub fn new(per_tenant: usize, queue: Duration) -> Self {
        Self {
            per_tenant: per_tenant.max(1),
            queue,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Waits (at most the queue time) for one of `tenant`'s turns; `None` when none came free.
    pub async fn take(&self, tenant: &str) -> Option<Turn> {
        let semaphore = {
            // The map only holds configured tenants' names; a poisoned lock still holds them.
            let mut map = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(tenant.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
                .clone()
        };
        let mut turn = Turn {
            semaphore,
            permit: None,
        };
        turn.resume(self.queue).await.then_some(turn)
    }
}

/// One call's turn: held while guest code may run, paused around host waits.
pub(crate) struct Turn {
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Turn {
    /// Gives the turn back while the call waits on something other than guest code.
    pub fn pause(&mut self) {
        self.permit = None;
    }

    /// Takes a turn again (waiting at most `limit`, FIFO behind the tenant's other calls);
    /// false when the wait ran out.
    pub async fn resume(&mut self, limit: Duration) -> bool {
        if self.permit.is_some() {
            return true;
        }
        // `timeout` polls the acquire first, so a free turn is taken even with no time left.
        match tokio::time::timeout(limit, self.semaphore.clone().acquire_owned()).await {
            Ok(Ok(permit)) => {
                self.permit = Some(permit);
                true
            }
            _ => false,
        }
    }
}
