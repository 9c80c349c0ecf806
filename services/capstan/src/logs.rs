//! `capstan logs POD|TYPE/NAME [-c C] [-f] [--tail N] [--previous] [--since DURATION]`: a
//! container's log (`pods/log`), streamed from the pod's kubelet through the API
//! server. Stdout lines go to the command's output, stderr lines to the process's
//! stderr, as they arrive.

use crate::cli::LogsArgs;
use crate::errors::CliError;
use crate::{pod_service, Context};
use capstan_proto::kubelet::v1::LogsRequest;
use std::io::Write;

pub async fn run(ctx: &mut Context<'_>, args: &LogsArgs) -> Result<(), CliError> {
    let (pod, found) = crate::pod_for::pod_for(ctx, &args.pod).await?;
    if found > 1 {
        // kubectl's words, on stderr so that the log itself stays clean
        eprintln!("Found {found} pods, using pod/{pod}");
    }
    let request = LogsRequest {
        namespace: ctx.settings.namespace.clone(),
        pod,
        container: args.container.clone().unwrap_or_default(),
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        previous: args.previous,
        timestamps: args.timestamps,
        since_seconds: args.since.map(since_seconds),
    };
    let reply = pod_service::client(ctx).logs(request).await;
    let mut stream = reply.map_err(|status| pod_service::fail(ctx, status))?.into_inner();
    while let Some(chunk) = stream.message().await.map_err(|status| pod_service::fail(ctx, status))? {
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

/// Whole seconds for `--since`, rounded up as kubectl does (`500ms` is 1 s).
fn since_seconds(since: std::time::Duration) -> i64 {
    let seconds = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    i64::try_from(seconds.max(1)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_rounds_up_to_whole_seconds() {
        for (text, want) in [("500ms", 1), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("1h 30m 1ms", 5401)] {
            let parsed = humantime::parse_duration(text).expect(text);
            assert_eq!(since_seconds(parsed), want, "{text}");
        }
    }
}
