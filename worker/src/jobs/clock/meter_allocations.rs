//! Meters tenants' allocations, hourly.

use serde::{Deserialize, Serialize};

use crate::context::WorkerContext;
use crate::runner::Handler;
use coplane_domain::jobs::Job;

/// Adds the allocation usage events of every complete hour not metered yet.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MeterAllocations {}

impl Job for MeterAllocations {
    const NAME: &'static str = "clock.meter_allocations";
    const DEDUPLICATED: bool = true;
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for MeterAllocations {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        coplane_domain::billing::metering::meter_allocations(&ctx.db, ctx.clock.now()).await?;
        Ok(())
    }
}
