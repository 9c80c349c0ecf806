//! The `capstan` binary: parse the flags, set up telemetry, run the command,
//! print any error to stderr and exit non-zero. Everything else lives in
//! the library, where tests can reach it.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = capstan::Cli::parse();
    // A CLI command should print its result, not the telemetry's start-up
    // logs; `up` runs servers and logs like one.
    let default_filter = if matches!(cli.command, capstan::Command::Up(_)) { "info" } else { "warn,capstan=info" };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // `up --trace-sink` binds its receiver first, so that telemetry starts
        // pointed at it (rather than the environment being changed under it)
        let sink = match capstan::bind_trace_sink(&cli).await {
            Ok(sink) => sink,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let endpoint = sink.as_ref().and_then(|sink| sink.local_addr().ok()).map(|addr| format!("http://{addr}"));
        let telemetry = match &endpoint {
            Some(endpoint) => capstan_telemetry::init_with_endpoint("capstan", default_filter, endpoint),
            None => capstan_telemetry::init_with_default_filter("capstan", default_filter),
        };
        let _telemetry = match telemetry {
            Ok(guard) => Some(guard),
            Err(e) => {
                eprintln!("warning: tracing is off: {e}");
                None
            }
        };
        let mut stdout = std::io::stdout();
        match capstan::execute_with(cli, sink, &mut stdout).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // `auth can-i`'s "no" has printed its answer already
                if !matches!(e, capstan::CliError::No) {
                    eprintln!("{e}");
                }
                ExitCode::from(e.exit_code())
            }
        }
    })
}
