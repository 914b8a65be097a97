//! PURE: events merged for reading: the same type, reason and message on several objects or
//! in several event objects become one line with the summed count, newest first.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event;

use super::model::EventFacts;
use super::pods::time;
use crate::model::meta::to_chrono;

/// Deduplicated events, newest first (ties by reason and message, so the order never
/// depends on the order the API listed them in). An event object listed twice (found
/// through two queries) counts once.
pub fn merge_events(events: &[Event]) -> Vec<EventFacts> {
    let mut seen = HashSet::new();
    let mut merged: BTreeMap<(String, String, String), EventFacts> = BTreeMap::new();
    for e in events {
        if let Some(uid) = &e.metadata.uid
            && !seen.insert(uid.clone())
        {
            continue;
        }
        let type_ = e.type_.clone().unwrap_or_else(|| "Normal".into());
        let reason = e.reason.clone().unwrap_or_default();
        let message = e.message.clone().unwrap_or_default().trim().to_string();
        let count = e
            .series
            .as_ref()
            .and_then(|s| s.count)
            .or(e.count)
            .unwrap_or(1)
            .max(1) as u32;
        let (first, last) = when(e);
        let object = format!(
            "{}/{}",
            e.involved_object
                .kind
                .as_deref()
                .unwrap_or("object")
                .to_ascii_lowercase(),
            e.involved_object.name.as_deref().unwrap_or("")
        );
        let entry = merged
            .entry((type_.clone(), reason.clone(), message.clone()))
            .or_insert_with(|| EventFacts {
                type_,
                reason,
                message,
                count: 0,
                objects: Vec::new(),
                first,
                last,
            });
        entry.count += count;
        entry.first = min_opt(entry.first, first);
        entry.last = entry.last.max(last);
        entry.objects.push(object);
    }
    let mut out: Vec<EventFacts> = merged
        .into_values()
        .map(|mut e| {
            e.objects = e
                .objects
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            e
        })
        .collect();
    out.sort_by(|a, b| {
        b.last
            .cmp(&a.last)
            .then_with(|| a.reason.cmp(&b.reason))
            .then_with(|| a.message.cmp(&b.message))
    });
    out
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// First and last occurrence, from whichever fields the reporter filled (core/v1 events
/// from old reporters use the timestamps, new ones eventTime and series).
fn when(e: &Event) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let event_time = e
        .event_time
        .as_ref()
        .map(|t| to_chrono(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0)));
    let series_last = e.series.as_ref().and_then(|s| {
        s.last_observed_time
            .as_ref()
            .map(|t| to_chrono(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0)))
    });
    let created = time(e.metadata.creation_timestamp.as_ref());
    let first = time(e.first_timestamp.as_ref()).or(event_time).or(created);
    let last = series_last
        .or(time(e.last_timestamp.as_ref()))
        .or(event_time)
        .or(created);
    (first, last)
}
