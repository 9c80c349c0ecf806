//! The `capstan-trace-sink` binary's flags.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "capstan-trace-sink", about = "Keeps recent traces sent over OTLP/gRPC and serves them as JSON")]
pub struct Flags {
    /// Where to accept OTLP/gRPC exports and `GET /traces/{id}`; loopback
    /// only unless `--client-ca-file` makes every caller authenticate.
    #[arg(long, env = "CAPSTAN_TRACE_SINK_LISTEN", default_value = "127.0.0.1:4317")]
    pub listen: SocketAddr,
    /// How many traces to keep; past it, the earliest arrived is dropped.
    #[arg(long, env = "CAPSTAN_TRACE_SINK_MAX_TRACES", default_value_t = capstan_trace_sink::DEFAULT_MAX_TRACES)]
    pub max_traces: usize,
    /// Serve TLS with this certificate (PEM), with `--tls-private-key-file`.
    #[arg(long, value_name = "FILE", env = "CAPSTAN_TRACE_SINK_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key of `--tls-cert-file` (PEM).
    #[arg(long, value_name = "FILE", env = "CAPSTAN_TRACE_SINK_TLS_PRIVATE_KEY_FILE")]
    pub tls_private_key_file: Option<PathBuf>,
    /// Every caller must present a client certificate this CA signed (needs
    /// the TLS files); then the sink may listen off loopback.
    #[arg(long, value_name = "FILE", env = "CAPSTAN_TRACE_SINK_CLIENT_CA_FILE")]
    pub client_ca_file: Option<PathBuf>,
}

impl Flags {
    /// The TLS files the flags name, or why they do not go together.
    pub fn tls(&self) -> Result<Option<capstan_server::TlsFiles>, capstan_trace_sink::SinkError> {
        let flags = capstan_trace_sink::SinkError::Flags;
        match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => Ok(Some(capstan_server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.client_ca_file.clone(),
            })),
            (None, None) if self.client_ca_file.is_some() => Err(flags(
                "--client-ca-file needs --tls-cert-file and --tls-private-key-file: client certificates come over TLS"
                    .into(),
            )),
            (None, None) => Ok(None),
            (Some(_), None) => Err(flags("--tls-cert-file needs --tls-private-key-file".into())),
            (None, Some(_)) => Err(flags("--tls-private-key-file needs --tls-cert-file".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_flags_go_together_or_say_what_is_missing() {
        let parse = |args: &[&str]| Flags::try_parse_from([&["capstan-trace-sink"], args].concat());
        let cases: [(&[&str], Result<bool, &str>); 5] = [
            (&[], Ok(false)),
            (&["--tls-cert-file=s.crt", "--tls-private-key-file=s.key", "--client-ca-file=ca.crt"], Ok(true)),
            (&["--tls-cert-file=s.crt"], Err("--tls-private-key-file")),
            (&["--tls-private-key-file=s.key"], Err("--tls-cert-file")),
            (&["--client-ca-file=ca.crt"], Err("--tls-cert-file")),
        ];
        for (args, want) in cases {
            let flags = parse(args).map_err(|e| e.to_string());
            let got = flags.and_then(|f| f.tls().map_err(|e| e.to_string()));
            match (got, want) {
                (Ok(tls), Ok(with_ca)) => {
                    assert_eq!(tls.is_some_and(|t| t.client_ca.is_some()), with_ca, "{args:?}")
                }
                (Err(error), Err(names)) => assert!(error.contains(names), "{args:?}: {error}"),
                (got, want) => panic!("{args:?}: {got:?}, want {want:?}"),
            }
        }
    }
}
