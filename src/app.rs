//! Wiring: builds every part from the config and runs them until shutdown. Tests start the
//! whole bot in-process with [`App::build`] and [`App::run`], handing in their own shutdown
//! future and clock.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, StoreBackend};
use crate::health::{Health, KubeProbe, StoreProbe};
use crate::store::{MemoryStore, RedisStore, RedisStoreOptions, Retention, SharedStore};
use crate::{Error, Result, http, kube_client, metrics};

/// A built, not yet running, bot.
pub struct App {
    config: Config,
    clock: SharedClock,
    listener: TcpListener,
    store: SharedStore,
    kube: kube::Client,
    health: Health,
    registry: prometheus_client::registry::Registry,
}

impl App {
    /// Builds the bot with the system clock.
    pub async fn build(config: Config) -> Result<Self> {
        Self::build_with_clock(config, SystemClock::shared()).await
    }

    /// Builds the bot: binds the HTTP listener, prepares the store and the Kubernetes client.
    /// Unreachable dependencies are not errors here; bad configuration is.
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> Result<Self> {
        let mut registry = metrics::new_registry();
        let retention = Retention::from(&config.store);
        let store: SharedStore = match config.store.backend {
            StoreBackend::Redis => Arc::new(RedisStore::new(
                RedisStoreOptions {
                    redis: config.redis.clone(),
                    cluster: config.cluster.clone(),
                    retention,
                },
                &mut registry,
            )?),
            StoreBackend::Memory => Arc::new(MemoryStore::new(clock.clone(), retention)),
        };
        let kube = kube_client::client(&config.kubernetes).await?;
        let health = Health::new(&mut registry);
        let listener = TcpListener::bind(config.http.listen)
            .await
            .map_err(Error::Http)?;
        Ok(Self {
            config,
            clock,
            listener,
            store,
            kube,
            health,
            registry,
        })
    }

    /// The address the HTTP server is bound to (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or(self.config.http.listen)
    }

    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// Runs until `shutdown` completes, then stops taking new work and gives work in flight
    /// `http.shutdown_grace` to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Self {
            config,
            clock,
            listener,
            store,
            kube,
            health,
            registry,
        } = self;
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();

        for probe in [
            Arc::new(StoreProbe(store.clone())) as Arc<dyn crate::health::Probe>,
            Arc::new(KubeProbe(kube.clone())),
        ] {
            let handle = health.watch(
                probe,
                config.health.clone(),
                clock.clone(),
                cancel.child_token(),
            );
            tasks.spawn(async move {
                let _ = handle.await;
            });
        }

        let router = http::core_router(http::CoreState {
            health: health.clone(),
            registry: Arc::new(registry),
        });
        info!(
            addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            cluster = %config.cluster,
            "lookout running"
        );
        let http_cancel = cancel.clone();
        let server = tokio::spawn(http::serve(listener, router, async move {
            http_cancel.cancelled().await
        }));

        shutdown.await;
        info!("shutting down");
        cancel.cancel();
        tasks.close();
        let grace = config.http.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            tasks.wait().await;
            server.await
        })
        .await;
        match drained {
            Ok(Ok(Ok(()))) => info!("stopped cleanly"),
            Ok(Ok(Err(e))) => return Err(Error::Http(e)),
            Ok(Err(join)) => warn!(error = %join, "http server task failed"),
            Err(_) => warn!(
                ?grace,
                "work still in flight after the shutdown grace period"
            ),
        }
        Ok(())
    }
}

/// Builds and runs the bot until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    App::build(config).await?.run(shutdown).await
}
