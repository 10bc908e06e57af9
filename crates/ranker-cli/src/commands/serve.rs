//! `ranker serve`: parses the flags and hands over to `ranker-serve`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use ranker_serve::ServeOptions;

use crate::args::ServeArgs;
use crate::commands::reward::{load, placement};
use crate::device::on_device;

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let device = placement(&args.model)?;
    let token = match &args.token_file {
        Some(path) => {
            let token = std::fs::read_to_string(path)
                .with_context(|| format!("--token-file {}", path.display()))?
                .trim()
                .to_owned();
            if token.is_empty() {
                anyhow::bail!("--token-file {}: the file is empty", path.display());
            }
            Some(token)
        }
        None => None,
    };
    let options = ServeOptions {
        host: args.host,
        port: args.port,
        max_batch_pairs: args.max_batch_pairs,
        max_wait: Duration::from_millis(args.max_wait_ms),
        queue_size: args.queue_size,
        max_body_bytes: args.max_body_bytes,
        token,
    };
    let model_args = args.model;
    on_device!(device, B, dev => ranker_serve::serve(
        move || load::<B>(&model_args, &dev),
        options,
        |addr, ranker_type| {
            tracing::info!("serving a {ranker_type} on http://{addr}");
            // The one stdout line: scripts (and the tests) read the bound address from it.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "listening on http://{addr}");
            let _ = stdout.flush();
        },
    ))
    .map_err(anyhow::Error::new)
}
