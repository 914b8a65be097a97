//! Watch streams (kube-runtime `watcher`) turned into [`Observed`] changes on a channel.
//!
//! kube-runtime lists, then watches from the list's resourceVersion with bookmarks; on a
//! watch error, timeout or 410 Gone it re-lists. A re-list arrives as `Relist`, the objects,
//! then `RelistDone`, so the observer can drop what disappeared meanwhile — and, because the
//! observer diffs signals per object, re-listed objects that did not change produce nothing.

use std::fmt::Debug;
use std::time::Instant;

use futures::StreamExt;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// A change to one kind of object.
#[derive(Debug, Clone)]
pub enum Change<K> {
    Apply(K),
    Delete(K),
    /// A (re-)list starts: what follows replaces what was known.
    Relist,
    RelistApply(K),
    /// The (re-)list is complete.
    RelistDone,
}

/// A change and when it was received (for detection latency).
#[derive(Debug, Clone)]
pub struct Observed<K> {
    pub change: Change<K>,
    pub at: Instant,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabel {
    resource: &'static str,
}

/// Watch metrics shared by every watcher.
#[derive(Clone)]
pub struct WatchMetrics {
    restarts: Family<ResourceLabel, Counter>,
    events: Family<ResourceLabel, Counter>,
}

impl WatchMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            restarts: Family::default(),
            events: Family::default(),
        };
        registry.register(
            "lookout_watch_restarts",
            "Watch streams that failed and were restarted (re-listed), by resource",
            m.restarts.clone(),
        );
        registry.register(
            "lookout_watch_events",
            "Object changes received from the API server, by resource",
            m.events.clone(),
        );
        m
    }
}

/// Watches `api` until `shutdown`, sending each change wrapped by `wrap` to `tx`. Errors are
/// logged and counted; the stream backs off and re-lists by itself.
pub fn spawn_watch<K, E>(
    api: Api<K>,
    resource: &'static str,
    config: watcher::Config,
    wrap: fn(Observed<K>) -> E,
    tx: mpsc::Sender<E>,
    metrics: WatchMetrics,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    E: Send + 'static,
{
    tokio::spawn(async move {
        let label = ResourceLabel { resource };
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let mut failing = false;
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = stream.next() => next,
            };
            let Some(item) = next else { return };
            let change = match item {
                Ok(Event::Apply(k)) => Change::Apply(k),
                Ok(Event::Delete(k)) => Change::Delete(k),
                Ok(Event::Init) => Change::Relist,
                Ok(Event::InitApply(k)) => Change::RelistApply(k),
                Ok(Event::InitDone) => {
                    if failing {
                        debug!(resource, "watch re-established");
                        failing = false;
                    }
                    Change::RelistDone
                }
                Err(error) => {
                    metrics.restarts.get_or_create(&label).inc();
                    if !failing {
                        warn!(resource, %error, "watch failed; re-listing with backoff");
                        failing = true;
                    }
                    continue;
                }
            };
            metrics.events.get_or_create(&label).inc();
            let observed = Observed {
                change,
                at: Instant::now(),
            };
            if tx.send(wrap(observed)).await.is_err() {
                return;
            }
        }
    })
}
