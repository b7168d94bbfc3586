//! `warden stdio`: one agent over stdin/stdout, as the config's `[stdio] agent`.

use super::ConfigArg;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let gateway = super::start(&args.config).await?;
    let Some(principal) = gateway.config().stdio_agent.clone() else {
        anyhow::bail!(
            "the config has no `[stdio] agent`: stdio mode needs to know which agent it serves"
        );
    };
    // The review fallback as it stands at start (stdio sessions are short; `serve` rechecks).
    if let Err(e) = gateway.review_check().await {
        anyhow::bail!("cannot read the review state: {e}");
    }
    // The live inventory is refreshed here too: a stdio session can outlast `max_age_secs`.
    let stop = tokio_util::sync::CancellationToken::new();
    let inventory = gateway.start_inventory_refresher(stop.clone()).await;
    let served = warden_gateway::serve_stdio(gateway, principal).await;
    stop.cancel();
    if let Some(inventory) = inventory {
        let _ = inventory.await;
    }
    served.map_err(|e| anyhow::anyhow!("stdio session failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
