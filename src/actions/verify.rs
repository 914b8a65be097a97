//! Watching for "healthy again". An action opens watches (reflector stores) on what it needs,
//! and a pure look at the stores says healthy or not yet (and why). Healthy must then hold
//! without a break for `verify_settle`: a container that starts and is OOM-killed a moment later
//! resets the clock. The deadline is `verify_timeout`. Time is read through the context's
//! clock; nothing polls.

use std::fmt::Debug;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tracing::debug;

use super::context::ActionContext;
use super::error::{ActionError, Result};
use super::plan::{Outcome, Verification};

/// One look at the watched state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// Healthy, with what shows it: `3/3 new pods ready, no restarts`.
    Healthy(String),
    /// Not yet, with what is missing: `1/3 new pods ready; cart-x restarted 2 times`.
    Waiting(String),
}

/// A watch kept in a store; the stream yields `()` on every change and must be polled.
pub fn watch<K>(api: Api<K>, config: watcher::Config) -> (Store<K>, BoxStream<'static, ()>)
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff())
        .filter_map(|event| async move {
            match event {
                Ok(_) => Some(()),
                Err(error) => {
                    debug!(%error, "watch error during verification; the watch retries");
                    None
                }
            }
        })
        .boxed();
    (store, stream)
}

/// Copies of what a store holds.
pub fn items<K: Clone + kube::Resource + 'static>(store: &Store<K>) -> Vec<K>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .iter()
        .map(|k| Arc::unwrap_or_clone(k.clone()))
        .collect()
}

/// Watches `changes` and re-looks after each, until healthy held for the settle period or the
/// timeout passed.
pub async fn until_healthy(
    ctx: &ActionContext,
    mut changes: BoxStream<'static, ()>,
    mut look: impl FnMut() -> Look + Send,
) -> Result<Verification> {
    let started = ctx.clock.now();
    let took = |ctx: &ActionContext| (ctx.clock.now() - started).to_std().unwrap_or_default();
    let mut deadline = ctx.clock.sleep(ctx.config.verify_timeout);
    let mut settle: Option<BoxFuture<'static, ()>> = None;
    let mut last = "nothing observed yet".to_string();
    loop {
        tokio::select! {
            _ = &mut deadline => {
                return Ok(Verification { outcome: Outcome::TimedOut, detail: last, took: took(ctx) });
            }
            _ = settled(&mut settle) => {
                return Ok(Verification { outcome: Outcome::Healthy, detail: last, took: took(ctx) });
            }
            change = changes.next() => {
                if change.is_none() {
                    return Err(ActionError::BadPlan("the verification watch ended".into()));
                }
                match look() {
                    Look::Healthy(detail) => {
                        if settle.is_none() {
                            debug!(%detail, "healthy; holding for the settle period");
                            settle = Some(ctx.clock.sleep(ctx.config.verify_settle));
                        }
                        last = detail;
                    }
                    Look::Waiting(detail) => {
                        if settle.take().is_some() {
                            debug!(%detail, "health broke during the settle period");
                        }
                        last = detail;
                    }
                }
            }
        }
    }
}

/// Completes when the settle timer runs out; never when there is none.
fn settled<'a>(settle: &'a mut Option<BoxFuture<'static, ()>>) -> BoxFuture<'a, ()> {
    match settle {
        Some(timer) => timer.boxed(),
        None => futures::future::pending().boxed(),
    }
}

/// Merges several watches into one change stream.
pub fn merged(streams: Vec<BoxStream<'static, ()>>) -> BoxStream<'static, ()> {
    futures::stream::select_all(streams).boxed()
}
