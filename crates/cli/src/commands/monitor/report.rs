//! `lathe monitor report --model NAME[@ALIAS] --out report.html`: brings the
//! model's windows up to date and writes the monitoring report
//! (`lathe_server::monitoring::report`), one self-contained HTML page.

use std::path::PathBuf;

use anyhow::Context;

use super::status;

/// Flags of `lathe monitor report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    common: status::Args,
    /// Where to write the HTML.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let loaded = status::load(&args.common).await?;
    let alerts = loaded.store.list_alerts(Some(&loaded.name)).await?;
    let html = lathe_server::monitoring::report::render(
        &loaded.name,
        &loaded.config.windows.spec.kind(),
        loaded.config.windows.drift_share,
        &loaded.windows,
        &alerts,
    );
    std::fs::write(&args.out, html)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
