//! `capstan config view|get-contexts|use-context|current-context`: the
//! kubeconfig, shown and switched as `kubectl config` does it (secrets shown
//! as `DATA+OMITTED` and `REDACTED` unless `--raw`; kubectl's table and
//! messages).

use crate::config;
use crate::errors::CliError;
use crate::printers::table::Table;
use capstan_pki::Kubeconfig;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the kubeconfig
    View {
        /// Show certificates, keys and tokens
        #[arg(long)]
        raw: bool,
        /// Only what the current context uses
        #[arg(long)]
        minify: bool,
    },
    /// List the contexts (or the named ones)
    GetContexts { names: Vec<String> },
    /// Make a context the current one
    UseContext { name: String },
    /// Print the current context
    CurrentContext,
}

pub fn run(
    args: &ConfigArgs,
    flag_kubeconfig: Option<&Path>,
    flag_context: Option<&str>,
    out: &mut (dyn Write + Send + Sync),
) -> Result<(), CliError> {
    let path = config::default_kubeconfig_path(flag_kubeconfig)
        .ok_or_else(|| CliError::Usage("no kubeconfig: pass --kubeconfig, or set KUBECONFIG or HOME".to_string()))?;
    let mut kubeconfig = config::load(&path)?.unwrap_or_else(Kubeconfig::empty);
    match &args.command {
        ConfigCommand::View { raw, minify } => {
            if *minify {
                kubeconfig = minified(&kubeconfig, flag_context, &path)?;
            }
            let shown = if *raw { kubeconfig } else { kubeconfig.redacted() };
            write!(out, "{}", shown.to_yaml()?)?;
        }
        ConfigCommand::GetContexts { names } => {
            let current = flag_context.unwrap_or(&kubeconfig.current_context);
            for name in names {
                if kubeconfig.context(name).is_none() {
                    return Err(CliError::Usage(format!("context {name} not found")));
                }
            }
            out.write_all(contexts_table(&kubeconfig, current, names).as_bytes())?;
        }
        ConfigCommand::UseContext { name } => {
            if kubeconfig.context(name).is_none() {
                return Err(CliError::Usage(format!("no context exists with the name: \"{name}\"")));
            }
            kubeconfig.current_context = name.clone();
            config::save(&path, &kubeconfig)?;
            writeln!(out, "Switched to context \"{name}\".")?;
        }
        ConfigCommand::CurrentContext => {
            if kubeconfig.current_context.is_empty() {
                return Err(CliError::Usage("current-context is not set".to_string()));
            }
            writeln!(out, "{}", kubeconfig.current_context)?;
        }
    }
    Ok(())
}

/// kubectl's `get-contexts` table: the current context starred. Unlike the
/// object tables, an empty last column keeps the padding before it, as
/// kubectl's tab writer leaves it here.
pub fn contexts_table(config: &Kubeconfig, current: &str, only: &[String]) -> String {
    let header = ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"].map(String::from).to_vec();
    let mut table = Table::new(header);
    let mut contexts: Vec<_> = config.contexts.iter().filter(|c| only.is_empty() || only.contains(&c.name)).collect();
    contexts.sort_by(|a, b| a.name.cmp(&b.name));
    for named in contexts {
        let star = if named.name == current { "*" } else { "" };
        let c = &named.context;
        table.rows.push(vec![
            star.to_string(),
            named.name.clone(),
            c.cluster.clone(),
            c.user.clone(),
            c.namespace.clone().unwrap_or_default(),
        ]);
    }
    let widths = table.widths();
    let mut text = String::new();
    for row in std::iter::once(&table.header).chain(&table.rows) {
        for (i, cell) in row.iter().enumerate() {
            match i + 1 == row.len() {
                true => text.push_str(cell),
                false => text.push_str(&format!("{cell:<width$}", width = widths[i])),
            }
        }
        text.push('\n');
    }
    text
}

/// Only the current context (or `context`), its cluster and its user.
fn minified(config: &Kubeconfig, context: Option<&str>, path: &Path) -> Result<Kubeconfig, CliError> {
    let name = context.unwrap_or(&config.current_context);
    let ctx = config.context(name).ok_or_else(|| {
        CliError::Usage(format!("kubeconfig {}: current-context must exist in order to minify", path.display()))
    })?;
    let mut small = config.clone();
    small.contexts.retain(|c| c.name == name);
    small.clusters.retain(|c| c.name == ctx.cluster);
    small.users.retain(|u| u.name == ctx.user);
    small.current_context = name.to_string();
    Ok(small)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_contexts_prints_kubectls_table() {
        let mut config = Kubeconfig::for_identity("https://h:1", "ca", "admin", "c", "k");
        let mut other = config.contexts[0].clone();
        other.name = "dev".into();
        other.context.namespace = Some("shop".into());
        config.contexts.push(other);
        let text = contexts_table(&config, "admin@capstan", &[]);
        let want = "\
CURRENT   NAME            CLUSTER   AUTHINFO   NAMESPACE
*         admin@capstan   capstan   admin      
          dev             capstan   admin      shop
";
        assert_eq!(text, want);
    }
}
