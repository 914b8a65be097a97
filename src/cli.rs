//! The command line: `lookout run | check | scan | sim | demo`. Each subcommand is a function
//! returning an exit code, so `main.rs` stays a dispatcher.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::error;

use crate::config::{self, Config, ConfigError};

/// Exit code for invalid configuration (clap uses 2 for usage errors too).
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Kubernetes ChatOps: one incident per real problem, fixed through approved actions"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: watch the cluster, post incidents, serve /healthz /readyz /metrics.
    Run,
    /// Validate the configuration and print the effective result, secrets masked.
    Check,
    /// Look at the cluster once and list its problems, like a linter (no Redis, no chat).
    Scan(ScanArgs),
    /// Run the simulated kubelet and scheduler against the configured cluster (tests, demo).
    #[cfg(feature = "sim")]
    Sim(crate::sim::cli::SimArgs),
    /// The whole loop on this machine: a local cluster, a sample app that breaks, the card,
    /// the approval, the fix and the postmortem in the terminal.
    #[cfg(feature = "sim")]
    Demo(crate::demo::DemoArgs),
}

/// Exit code of `scan --fail-on` when a finding is at or above the given severity.
pub const EXIT_FINDINGS: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Only this namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// `table` (default) or `json` (one array; fields signal, severity, namespace, kind, name,
    /// owner_kind, owner_name, reason, message, since).
    #[arg(long, short = 'o', default_value = "table", value_parser = ["table", "json"])]
    pub output: String,
    /// Exit with code 3 when a finding is at least this severe (low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<crate::correlate::Severity>,
}

fn parse_severity(s: &str) -> Result<crate::correlate::Severity, String> {
    crate::correlate::Severity::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of low, medium, high, critical"))
}

/// Loads the config or explains why it cannot, on stderr.
fn load_config() -> Result<Config, ConfigError> {
    config::load().inspect_err(|e| eprintln!("lookout: {e}"))
}

pub async fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run => run().await,
        Command::Check => check(),
        Command::Scan(args) => scan(args).await,
        #[cfg(feature = "sim")]
        Command::Sim(args) => crate::sim::cli::run(args).await,
        #[cfg(feature = "sim")]
        Command::Demo(args) => crate::demo::run(args).await,
    }
}

async fn run() -> ExitCode {
    let Ok(config) = load_config() else {
        return ExitCode::from(EXIT_CONFIG);
    };
    crate::telemetry::init(&config.log);
    match crate::app::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(crate::Error::Config(e)) => {
            eprintln!("lookout: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(
            e @ (crate::Error::Kube(_) | crate::Error::Store(crate::store::StoreError::Config(_))),
        ) => {
            error!(error = %e, "cannot start");
            eprintln!("lookout: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            error!(error = %e, "stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Validates everything Lookout reads at start besides the config itself: runbooks (their
/// structure, templates and actions) and the prompt templates. Each problem is one line.
pub fn check_assets(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    match crate::runbook::load(config.runbooks.dir.as_deref()) {
        Ok(books) => {
            let mut registry = crate::actions::Registry::new(
                &mut prometheus_client::registry::Registry::default(),
            );
            crate::actions::catalogue::register_all(&mut registry);
            for e in crate::runbook::check_actions(&books, |a| registry.get(a).is_some()) {
                problems.push(e.to_string());
            }
        }
        Err(errors) => problems.extend(errors.iter().map(|e| e.to_string())),
    }
    match crate::llm::Prompts::load(&config.llm).and_then(|p| p.check()) {
        Ok(_) => {}
        Err(e) => problems.push(format!("prompts: {e}")),
    }
    problems
}

fn check() -> ExitCode {
    let Ok(config) = load_config() else {
        return ExitCode::from(EXIT_CONFIG);
    };
    let problems = check_assets(&config);
    if !problems.is_empty() {
        eprintln!("lookout: invalid runbooks or prompts");
        for p in &problems {
            eprintln!("  {p}");
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    match serde_yaml_ng::to_string(&config) {
        Ok(yaml) => {
            println!("# effective configuration (secrets masked)\n{yaml}");
            eprintln!("lookout: configuration is valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lookout: cannot print the configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn scan(args: ScanArgs) -> ExitCode {
    let Ok(config) = load_config() else {
        return ExitCode::from(EXIT_CONFIG);
    };
    crate::telemetry::init(&crate::config::LogConfig {
        filter: "warn".into(),
        ..config.log.clone()
    });
    let client = match crate::kube_client::client(&config.kubernetes).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lookout: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let findings = match crate::scan::scan(client, &config, args.namespace.as_deref()).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lookout: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let written = if args.output == "json" {
        serde_json::to_writer_pretty(&mut out, &findings)
            .map_err(std::io::Error::other)
            .and_then(|_| std::io::Write::write_all(&mut out, b"\n"))
    } else {
        crate::scan::print_table(&findings, &mut out)
    };
    if let Err(e) = written {
        eprintln!("lookout: cannot write the findings: {e}");
        return ExitCode::FAILURE;
    }
    match args.fail_on {
        Some(min) if findings.iter().any(|f| f.severity >= min) => ExitCode::from(EXIT_FINDINGS),
        _ => ExitCode::SUCCESS,
    }
}

/// Completes on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler, ctrl-c still works.
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
