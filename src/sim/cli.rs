//! `lookout sim`: run the simulated kubelet and scheduler against the configured cluster until
//! ctrl-c, for demos and for poking at Lookout by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{NamespaceScope, NodeConfig, Sim, SimConfig};
use crate::cli::EXIT_CONFIG;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// A YAML file with the whole sim configuration (nodes, namespaces, missing images,
    /// timing); the flags below override parts of it.
    #[arg(long, env = "LOOKOUT_SIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// How many nodes to register (named `<node-prefix>-1..n`).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Prefix of the node names.
    #[arg(long, default_value = "sim-node")]
    pub node_prefix: String,
    /// Only schedule and run pods of this namespace (repeatable). Default: every namespace
    /// except kube-system, kube-public and kube-node-lease.
    #[arg(long = "namespace")]
    pub namespaces: Vec<String>,
    /// An image (or `registry/prefix/`, or registry host) that does not exist (repeatable).
    #[arg(long = "missing-image")]
    pub missing_images: Vec<String>,
    /// Delete the nodes (and force-delete their pods) on exit.
    #[arg(long)]
    pub delete_nodes_on_exit: bool,
}

pub async fn run(args: SimArgs) -> ExitCode {
    let Ok(config) = crate::config::load().inspect_err(|e| eprintln!("lookout: {e}")) else {
        return ExitCode::from(EXIT_CONFIG);
    };
    crate::telemetry::init(&config.log);
    let sim_config = match sim_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lookout sim: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let client = match crate::kube_client::client(&config.kubernetes).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lookout sim: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let sim = match Sim::start(client, sim_config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("lookout sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "lookout sim: nodes {} up (kubelet endpoint 127.0.0.1:{}); ctrl-c stops",
        sim.node_names().join(", "),
        sim.log_port()
    );
    crate::cli::shutdown_signal().await;
    sim.stop().await;
    ExitCode::SUCCESS
}

fn sim_config(args: &SimArgs) -> Result<SimConfig, String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => SimConfig::default(),
    };
    if let Some(n) = args.nodes {
        config.nodes = NodeConfig::numbered(&args.node_prefix, n);
    }
    if !args.namespaces.is_empty() {
        config.namespaces = NamespaceScope::Only(args.namespaces.clone());
    }
    config
        .missing_images
        .extend(args.missing_images.iter().cloned());
    config.delete_nodes_on_stop |= args.delete_nodes_on_exit;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn flags_shape_the_config() {
        let cli = Cli::parse_from([
            "sim",
            "--nodes",
            "2",
            "--node-prefix",
            "demo",
            "--namespace",
            "shop",
            "--missing-image",
            "nginx:1.99",
        ]);
        let config = sim_config(&cli.sim).unwrap();
        assert_eq!(config.nodes.len(), 2);
        assert_eq!(config.nodes[1].name, "demo-2");
        assert_eq!(config.namespaces, NamespaceScope::Only(vec!["shop".into()]));
        assert!(config.missing_images.contains(&"nginx:1.99".to_string()));
    }
}
