pub struct QuoteWerksSim;
pub struct QuoteWerksSimArgs;
pub type QuoteWerksSimConfig = QuoteWerksSimArgs;
pub struct QuoteWerksSimHandle;
pub async fn run_quotewerks(_a: QuoteWerksSimArgs) -> anyhow::Result<()> {
    Ok(())
}
