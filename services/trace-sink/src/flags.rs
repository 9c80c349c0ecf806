//! The `capstan-trace-sink` binary's flags.

use clap::Parser;
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(name = "capstan-trace-sink", about = "Keeps recent traces sent over OTLP/gRPC and serves them as JSON")]
pub struct Flags {
    /// Where to accept OTLP/gRPC exports and `GET /traces/{id}`; loopback only
    /// (the sink has no authentication).
    #[arg(long, env = "CAPSTAN_TRACE_SINK_LISTEN", default_value = "127.0.0.1:4317")]
    pub listen: SocketAddr,
    /// How many traces to keep; past it, the earliest arrived is dropped.
    #[arg(long, env = "CAPSTAN_TRACE_SINK_MAX_TRACES", default_value_t = capstan_trace_sink::DEFAULT_MAX_TRACES)]
    pub max_traces: usize,
}
