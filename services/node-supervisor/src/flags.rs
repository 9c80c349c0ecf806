//! The `capstan-node-supervisor` binary's flags. A module of the binary, not
//! of the library, kept in its own file so that
//! `services/capstan/tests/component_flags.rs` can compile every component's
//! flags side by side, and run the Helm chart's node containers through them.

use clap::Parser;

/// Runs a node's processes in one container and stops them together.
#[derive(Parser, Debug)]
#[command(name = "capstan-node-supervisor", version)]
pub struct Flags {
    /// A command run to success before any process starts (repeatable, in order).
    #[arg(long = "setup", value_name = "COMMAND")]
    pub setup: Vec<String>,
    /// NAME=COMMAND: a process to run (repeatable, started in order).
    #[arg(long = "process", value_name = "NAME=COMMAND", required = true)]
    pub processes: Vec<String>,
    /// NAME=PATH: start the processes after NAME only once PATH exists (e.g. a socket).
    #[arg(long = "ready", value_name = "NAME=PATH")]
    pub ready: Vec<String>,
    /// NAME=COMMAND: a command run to success once NAME is ready, before the next process starts.
    #[arg(long = "after-ready", value_name = "NAME=COMMAND")]
    pub after_ready: Vec<String>,
    /// How long a process may take to create its --ready path.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub ready_timeout: std::time::Duration,
    /// How long the processes may take to stop before they are killed.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub grace_period: std::time::Duration,
}
