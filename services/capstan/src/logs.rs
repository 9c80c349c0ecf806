//! `capstan logs POD [-c C] [-f] [--tail N] [--previous]`: a container's log,
//! streamed from the pod's kubelet. Stdout lines go to the command's output,
//! stderr lines to the process's stderr, as they arrive.

use crate::cli::LogsArgs;
use crate::errors::CliError;
use crate::{kubelet, Context};
use capstan_proto::kubelet::v1::LogsRequest;
use std::io::Write;

pub async fn run(ctx: &mut Context<'_>, args: &LogsArgs) -> Result<(), CliError> {
    let mut target = kubelet::connect(ctx, &args.pod).await?;
    let request = LogsRequest {
        namespace: target.namespace.clone(),
        pod: target.pod.clone(),
        container: args.container.clone().unwrap_or_default(),
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        previous: args.previous,
        timestamps: args.timestamps,
    };
    let reply = target.client.logs(request).await;
    let mut stream = reply.map_err(|status| target.fail(status))?.into_inner();
    while let Some(chunk) = stream.message().await.map_err(|status| target.fail(status))? {
        if chunk.stream == "stderr" {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(&chunk.data)?;
            stderr.flush()?;
        } else {
            ctx.out.write_all(&chunk.data)?;
            ctx.out.flush()?;
        }
    }
    Ok(())
}
