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
        let _telemetry = match capstan_telemetry::init_with_default_filter("capstan", default_filter) {
            Ok(guard) => Some(guard),
            Err(e) => {
                eprintln!("warning: tracing is off: {e}");
                None
            }
        };
        let mut stdout = std::io::stdout();
        match capstan::execute(cli, &mut stdout).await {
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
