//! `capstan image load FILE --node NODE`: imports an image archive (`docker save`
//! or an OCI layout, e.g. from `scripts/images.sh --save DIR`) into the container
//! runtime of a node on this machine, for machines that reach no registry.
//!
//! The node's `capstan.io/runtime` label (which its kubelet sets) says which
//! runtime: on containerd the archive is imported and unpacked in the `capstan`
//! namespace through the containerd shim's own import; Docker loads archives
//! itself (`docker load -i FILE`), which the error says.

use crate::errors::{CliError, Subject};
use crate::Context;
use capstan_proto::core::v1::Node;
use capstan_proto::kinds::NODE;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The label naming a node's runtime.
const RUNTIME_LABEL: &str = "capstan.io/runtime";

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Import an image archive into a node's runtime
    Load(LoadArgs),
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The archive: `docker save` output or an OCI layout tarball
    pub file: PathBuf,
    /// The node (on this machine) whose runtime gets the images
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// containerd's socket, for a node on containerd
    #[arg(long, env = "CAPSTAN_CONTAINERD_ADDRESS", default_value = "/run/containerd/containerd.sock")]
    pub containerd_address: String,
}

pub async fn run(ctx: &mut Context<'_>, args: &ImageArgs) -> Result<(), CliError> {
    let ImageCommand::Load(load) = &args.command;
    let subject = || Some(Subject { info: &NODE, name: &load.node });
    let node = ctx.client.api::<Node>(None).get(&load.node).await.map_err(|e| ctx.fail(e, subject()))?;
    let runtime = node.metadata.as_ref().and_then(|m| m.labels.get(RUNTIME_LABEL)).cloned().unwrap_or_default();
    match runtime.as_str() {
        "containerd" => {
            let names = capstan_containerd_shim::import_archive(&load.containerd_address, "capstan", &load.file)
                .await
                .map_err(|e| CliError::ImageLoad(e.to_string()))?;
            for name in names {
                writeln!(ctx.out, "Loaded image {name} on node {}", load.node)?;
            }
            Ok(())
        }
        "docker" => Err(CliError::ImageLoad(format!(
            "node {} runs on Docker, which loads archives itself: docker load -i {}",
            load.node,
            load.file.display()
        ))),
        other => Err(CliError::ImageLoad(format!(
            "node {} reports runtime {other:?} (label {RUNTIME_LABEL}); only containerd and Docker nodes load images",
            load.node
        ))),
    }
}
