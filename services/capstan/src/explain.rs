//! `capstan explain pod NAME [-n NS] [--scheduler URL]`: ask the scheduler
//! (`SchedulerService/Explain`) why a pod is or is not schedulable, and
//! print each node's verdict — the filter's reasons, or the profile's
//! scores — the node it would pick, and Kubernetes' summary line.
//!
//! The scheduler listens on 10259 of the API server's host unless
//! `--scheduler` (or `$CAPSTAN_SCHEDULER`) says otherwise, as `capstan up`
//! starts it.

use crate::errors::CliError;
use crate::Context;
use capstan_proto::scheduler::v1::scheduler_service_client::SchedulerServiceClient;
use capstan_proto::scheduler::v1::{explain_request, ExplainRequest, ExplainResponse, PodReference};
use clap::Args;
use tonic::Code;

/// The scheduler's default port.
const SCHEDULER_PORT: u16 = 10259;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// What to explain: `pod` (or `pods`, `po`)
    pub kind: String,
    /// The pod's name
    pub name: String,
    /// The scheduler's URL (default: port 10259 on the API server's host)
    #[arg(long, env = "CAPSTAN_SCHEDULER", value_name = "URL")]
    pub scheduler: Option<String>,
}

/// The API server's URL with the scheduler's port.
fn default_scheduler(server: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("http", server));
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    format!("{scheme}://{host}:{SCHEDULER_PORT}")
}

pub async fn run(ctx: &mut Context<'_>, args: &ExplainArgs) -> Result<(), CliError> {
    if !matches!(args.kind.as_str(), "pod" | "pods" | "po") {
        return Err(CliError::Usage(format!("explain works on pods, not {:?}: capstan explain pod NAME", args.kind)));
    }
    let url = args.scheduler.clone().unwrap_or_else(|| default_scheduler(&ctx.settings.server));
    let unreachable = |e: &dyn std::fmt::Display| {
        CliError::Usage(format!("cannot reach the scheduler at {url}: {e} (is it running? see --scheduler)"))
    };
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone()).map_err(|e| unreachable(&e))?;
    let channel = endpoint.connect().await.map_err(|e| unreachable(&e))?;
    let mut client = SchedulerServiceClient::new(capstan_telemetry::traced_channel(channel));
    let target = PodReference { namespace: ctx.settings.namespace.clone(), name: args.name.clone() };
    let request = ExplainRequest { pod: Some(explain_request::Pod::PodRef(target)) };
    let reply = client.explain(request).await.map_err(|status| refusal(&url, status))?.into_inner();
    write!(ctx.out, "{}", render(&reply))?;
    Ok(())
}

/// The scheduler's refusal as the user should read it.
fn refusal(url: &str, status: tonic::Status) -> CliError {
    let message = status.message().to_string();
    match status.code() {
        Code::NotFound => CliError::Server { reason: "NotFound", message },
        Code::FailedPrecondition => CliError::Server { reason: "FailedPrecondition", message },
        Code::Unavailable if message.contains("not scheduling") => CliError::Server { reason: "Unavailable", message },
        Code::InvalidArgument => CliError::Usage(message),
        _ => CliError::Usage(format!("the scheduler at {url} failed: {message}")),
    }
}

/// A table of nodes, then the choice and the summary.
pub fn render(reply: &ExplainResponse) -> String {
    let state =
        if reply.bound_node.is_empty() { "pending".to_string() } else { format!("bound to {}", reply.bound_node) };
    let mut rows = vec![["NODE".to_string(), "FITS".into(), "SCORE".into(), "DETAILS".into()]];
    for n in &reply.nodes {
        let (fits, score, details) = if n.fits {
            let scores: Vec<String> =
                n.scores.iter().map(|s| format!("{}={}x{}", s.plugin, s.weight, s.score)).collect();
            ("yes", n.total_score.to_string(), scores.join(" "))
        } else {
            ("no", String::new(), n.reasons.join("; "))
        };
        rows.push([n.node.clone(), fits.into(), score, details]);
    }
    let widths: Vec<usize> = (0..3).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0)).collect();
    let mut out = format!("pod {}/{} ({state}, profile {})\n", reply.namespace, reply.name, reply.profile);
    for row in &rows {
        let line = format!(
            "{:w0$}   {:w1$}   {:w2$}   {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    match reply.chosen_node.as_str() {
        "" => out.push_str("would pick: no node fits\n"),
        node => out.push_str(&format!("would pick: {node}\n")),
    }
    out.push_str(&reply.message);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::scheduler::v1::{NodeExplanation, PluginScore};

    #[test]
    fn the_scheduler_is_found_beside_the_api_server() {
        assert_eq!(default_scheduler("http://127.0.0.1:6443"), "http://127.0.0.1:10259");
        assert_eq!(default_scheduler("https://api.example:443/"), "https://api.example:10259");
        assert_eq!(default_scheduler("10.0.0.1"), "http://10.0.0.1:10259");
    }

    #[test]
    fn renders_every_node_the_choice_and_the_summary() {
        let reply = ExplainResponse {
            namespace: "default".into(),
            name: "web".into(),
            profile: "default-scheduler".into(),
            nodes: vec![
                NodeExplanation {
                    node: "gpu".into(),
                    reasons: vec!["node(s) had untolerated taint {dedicated: gpu}".into()],
                    ..Default::default()
                },
                NodeExplanation {
                    node: "n1".into(),
                    fits: true,
                    scores: vec![PluginScore { plugin: "leastAllocated".into(), weight: 1, score: 88 }],
                    total_score: 88,
                    ..Default::default()
                },
            ],
            chosen_node: "n1".into(),
            message: "1/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.".into(),
            ..Default::default()
        };
        let want = "\
pod default/web (pending, profile default-scheduler)
NODE   FITS   SCORE   DETAILS
gpu    no             node(s) had untolerated taint {dedicated: gpu}
n1     yes    88      leastAllocated=1x88
would pick: n1
1/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.
";
        assert_eq!(render(&reply), want);
    }
}
