//! `lookout demo`: the whole loop on one machine with no tokens and no cluster of the user's.
//!
//! A local real API server ([`cluster`]), the simulated kubelet and scheduler, the bot with
//! the console chat (the console user is an approver) and an in-memory store; then a sample
//! app that breaks ([`scenario`]) and the incident card, the approval prompt, the fix, its
//! verification and the postmortem in the terminal. With an LLM configured (`LOOKOUT_LLM_*`)
//! the agent takes the path the model chooses; without, the runbooks do. Ctrl-c cleans up
//! everything the demo started.

pub mod cluster;
mod config;
mod console;
pub mod scenario;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use self::cluster::LocalCluster;
use self::console::DemoConsole;
use self::scenario::Scenario;
use crate::cli::EXIT_CONFIG;
use crate::sim::{Sim, SimConfig};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// What breaks: `oom` (raise memory), `bad-image` (roll back), `node-down` (cordon, drain).
    #[arg(long, value_enum, default_value = "oom")]
    pub scenario: Scenario,
    /// Approve every prompt by itself and exit once the postmortem is posted (CI, timing runs).
    #[arg(long)]
    pub yes: bool,
    /// Use the cluster of this `scripts/test-env` environment file instead of starting one
    /// (it is left running).
    #[arg(long)]
    pub env: Option<PathBuf>,
    /// With `--yes`: give up (exit code 1) if the postmortem is not posted within this long.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Narration, set apart from the chat.
pub(crate) fn say(text: &str) {
    println!("\x1b[1;35mdemo ▸\x1b[0m {text}");
}

pub async fn run(args: DemoArgs) -> ExitCode {
    let started = Instant::now();
    crate::telemetry::init(&crate::config::LogConfig {
        filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ..Default::default()
    });
    say(&format!(
        "Lookout demo, scenario {:?}: {}",
        args.scenario,
        args.scenario.story()
    ));
    say("starting a local Kubernetes API server, controller-manager and etcd ...");
    let cluster = match &args.env {
        Some(file) => LocalCluster::existing(file),
        None => LocalCluster::start().await,
    };
    let cluster = match cluster {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lookout demo: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let cancel = CancellationToken::new();
    let interrupt = cancel.clone();
    tokio::spawn(async move {
        crate::cli::shutdown_signal().await;
        say("stopping and cleaning up ...");
        interrupt.cancel();
    });
    let outcome = demo(&args, &cluster, started, cancel.clone()).await;
    // Whatever happened, what the demo started goes away.
    cancel.cancel();
    cluster.stop().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lookout demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(
    args: &DemoArgs,
    cluster: &LocalCluster,
    started: Instant,
    cancel: CancellationToken,
) -> Result<(), String> {
    let kubeconfig = cluster.kubeconfig()?;
    let config = config::demo_config(&kubeconfig, args.scenario)?;
    let client = crate::kube_client::client(&config.kubernetes)
        .await
        .map_err(|e| e.to_string())?;
    let ns = config.scope.include_namespaces[0].clone();
    let mut sim_config = SimConfig::for_test(&ns, &format!("{ns}-node"), 3);
    // The demo's bot answers for the demo's nodes only (a shared cluster may have others).
    for node in &mut sim_config.nodes {
        node.labels.insert(config::NODE_LABEL.into(), ns.clone());
    }
    // Real-world pacing, a little brisker: crashes and back-offs a person can follow.
    sim_config.timing = crate::sim::SimTiming {
        heartbeat: Duration::from_secs(2),
        resync: Duration::from_secs(5),
        crash_after: Duration::from_secs(3),
        backoff_base: Duration::from_secs(5),
        backoff_max: Duration::from_secs(40),
        ..Default::default()
    };
    let sim = Sim::start(client.clone(), sim_config)
        .await
        .map_err(|e| format!("cannot start the simulated kubelet: {e}"))?;
    let guard = Cleanup {
        client: client.clone(),
        ns: ns.clone(),
        sim: Some(sim),
        cancel: cancel.clone(),
    };
    let steps = async {
        say(&format!(
            "cluster ready after {:.0} s; nodes {}",
            started.elapsed().as_secs_f64(),
            guard.sim().node_names().join(", ")
        ));
        scenario::deploy(&client, &ns, args.scenario).await?;
        say(&format!("deployed the sample app {ns}/{}", scenario::APP));

        let console = Arc::new(DemoConsole::new(&config.platforms.console.user));
        let app = crate::app::App::build(config)
            .await
            .map_err(|e| format!("cannot start Lookout: {e}"))?
            .with_platform(console.platform());
        let shutdown = cancel.clone();
        let running = tokio::spawn(app.run(async move { shutdown.cancelled().await }));
        say("Lookout is watching. Breaking things now ...");
        let what = scenario::break_it(&client, &ns, args.scenario, guard.sim()).await?;
        say(&what);
        say(
            "the incident card appears once the fault has settled; the approval prompt follows \
             in its thread. Type `click N` (or just N) to press button [N], `help` for commands.",
        );
        let done = console.walk_through(args.yes, started, args.timeout).await;
        if args.yes {
            cancel.cancel();
            let _ = running.await;
            done?;
            say(&format!(
                "done in {:.0} s. Cleaning up.",
                started.elapsed().as_secs_f64()
            ));
        } else {
            done?;
            say("that is the whole loop. Look around (`incidents`, `help`); ctrl-c cleans up.");
            cancel.cancelled().await;
            let _ = running.await;
        }
        Ok::<(), String>(())
    };
    // Ctrl-c at any step ends the steps; the clean-up below still runs.
    let result = tokio::select! {
        result = steps => result,
        _ = cancel.cancelled() => Ok(()),
    };
    guard.run().await;
    result
}

/// What the demo started in the cluster, removed on the way out.
struct Cleanup {
    client: kube::Client,
    ns: String,
    sim: Option<Sim>,
    cancel: CancellationToken,
}

impl Cleanup {
    fn sim(&self) -> &Sim {
        // Set in construction, taken only by `run`.
        self.sim.as_ref().expect("sim running")
    }

    async fn run(mut self) {
        self.cancel.cancel();
        scenario::clean_up(&self.client, &self.ns).await;
        if let Some(sim) = self.sim.take() {
            sim.stop().await;
        }
    }
}
