//! One object watched as JSON, whatever its API version: verification of the kinds whose
//! version depends on the cluster (CronJob, HorizontalPodAutoscaler) and of simple "is the new
//! value recorded" checks. The reflector stores of [`super::verify`] need a typed kind; this
//! keeps the latest version of a single named object instead.

use std::sync::{Arc, Mutex, PoisonError};

use futures::stream::BoxStream;
use futures::{StreamExt, future};
use kube::Api;
use kube::core::DynamicObject;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tracing::debug;

use super::context::{ActionContext, to_json};
use super::error::Result;
use crate::detect::ObjectRef;

/// The latest version of the watched object; `None` before the first list or after a delete.
#[derive(Clone, Default)]
pub struct Latest(Arc<Mutex<Option<Value>>>);

impl Latest {
    /// A copy of the object as last seen.
    pub fn get(&self) -> Option<Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: Option<Value>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }
}

/// Watches `target` (by name, through the API the cluster serves for its kind). The stream
/// yields `()` after every change and must be polled for [`Latest`] to move.
pub fn watch_one(
    ctx: &ActionContext,
    target: &ObjectRef,
) -> Result<(Latest, BoxStream<'static, ()>)> {
    let api: Api<DynamicObject> = ctx.api(&target.kind, target.namespace.as_deref())?;
    let config = watcher::Config::default().fields(&format!("metadata.name={}", target.name));
    let latest = Latest::default();
    let writer = latest.clone();
    let stream = watcher(api, config)
        .default_backoff()
        .filter_map(move |event| {
            let writer = writer.clone();
            future::ready(match event {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    writer.set(to_json(obj).ok());
                    Some(())
                }
                Ok(watcher::Event::Delete(_)) => {
                    writer.set(None);
                    Some(())
                }
                // A (re-)list starts: what it does not list again is gone.
                Ok(watcher::Event::Init) => {
                    writer.set(None);
                    Some(())
                }
                Ok(watcher::Event::InitDone) => Some(()),
                Err(error) => {
                    debug!(%error, "watch error during verification; the watch retries");
                    None
                }
            })
        })
        .boxed();
    Ok((latest, stream))
}

/// An integer at `pointer`, if present.
pub fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// The controller has seen `generation` (when the object reports `status.observedGeneration`).
pub fn observed(obj: &Value, generation: Option<i64>) -> std::result::Result<(), String> {
    let seen = int_at(obj, "/status/observedGeneration").unwrap_or(0);
    match generation {
        Some(g) if seen < g => Err(format!(
            "the controller has not seen generation {g} yet (at {seen})"
        )),
        _ => Ok(()),
    }
}
