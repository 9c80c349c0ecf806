//! `capstan-trace-sink`: parses flags and serves until SIGTERM or Ctrl-C.

use clap::Parser;
use flags::Flags;

mod flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let _telemetry = capstan_telemetry::init(capstan_trace_sink::COMPONENT)?;
    let sink = capstan_trace_sink::bind_with(flags.listen, flags.max_traces, flags.tls()?).await?;
    tracing::info!(addr = %sink.local_addr()?, "trace sink listening (OTLP/gRPC, GET /traces/{{id}})");
    sink.serve(capstan_lifecycle::shutdown_signal()).await?;
    Ok(())
}
