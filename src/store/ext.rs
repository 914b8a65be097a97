//! Typed helpers over the JSON-text store interface.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{StateStore, StoreError, StoreResult};

/// Serde-typed access to records and timelines; implemented for every [`StateStore`].
#[async_trait]
pub trait StoreExt: StateStore {
    async fn put_json<T: Serialize + Sync>(
        &self,
        collection: &str,
        id: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> StoreResult<()> {
        let json = to_json(value)?;
        self.put(collection, id, &json, ttl).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        collection: &str,
        id: &str,
    ) -> StoreResult<Option<T>> {
        match self.get(collection, id).await? {
            Some(json) => from_json(&format!("{collection}/{id}"), &json).map(Some),
            None => Ok(None),
        }
    }

    async fn append_timeline_json<T: Serialize + Sync>(
        &self,
        timeline: &str,
        value: &T,
    ) -> StoreResult<u64> {
        let json = to_json(value)?;
        self.append_timeline(timeline, &json).await
    }

    async fn timeline_json<T: DeserializeOwned>(&self, timeline: &str) -> StoreResult<Vec<T>> {
        self.timeline(timeline)
            .await?
            .iter()
            .map(|j| from_json(&format!("timeline/{timeline}"), j))
            .collect()
    }
}

impl<S: StateStore + ?Sized> StoreExt for S {}

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    // Our own types always serialize; a failure here is a bug worth surfacing, not hiding.
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        key: std::any::type_name::<T>().to_string(),
        reason: format!("cannot serialize: {e}"),
    })
}

pub(super) fn from_json<T: DeserializeOwned>(key: &str, json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}
