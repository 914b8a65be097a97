//! The observer with a manual clock and a detached tracker: what it sends for a sequence of
//! cluster changes.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{ClusterEvent, Observer, ObserverMetrics};
use crate::clock::ManualClock;
use crate::cluster::{Change, Observed};
use crate::detect::{Detector, Signal, SignalName};
use crate::incident::tracker::{TrackerHandle, TrackerInput};
use crate::model::fixtures::{Build, t};
use crate::model::*;

fn observer_at(minutes: i64) -> (Observer, mpsc::Receiver<TrackerInput>) {
    let (tracker, rx) = TrackerHandle::detached(64);
    let observer = Observer::new(
        Detector::default(),
        Arc::new(ManualClock::new(t(minutes))),
        tracker,
        ObserverMetrics::new(&mut Default::default()),
    );
    (observer, rx)
}

fn apply<K>(object: K, variant: fn(Observed<K>) -> ClusterEvent) -> ClusterEvent {
    variant(Observed {
        change: Change::Apply(object),
        at: Instant::now(),
    })
}

fn raised(rx: &mut mpsc::Receiver<TrackerInput>) -> Vec<Signal> {
    let mut out = Vec::new();
    while let Ok(input) = rx.try_recv() {
        if let TrackerInput::Raised { signal, .. } = input {
            out.push(*signal);
        }
    }
    out
}

/// A StatefulSet with one of three pods not ready since T0+1m, and that pod.
fn unready_statefulset() -> (StatefulSet, Pod) {
    let sts = StatefulSet::test("db").in_ns("shop").ready(2);
    let pod = Pod::test("db-2")
        .in_ns("shop")
        .owned_by("StatefulSet", "db")
        .not_ready_since(t(1));
    (sts, pod)
}

/// `lookout scan` lists StatefulSets before pods: the set is first seen not ready "now", its
/// pod then tells it has been since T0+1m, past the 5-minute grace at T0+10m.
#[tokio::test]
async fn a_statefulset_seen_before_its_pods_is_not_ready_since_its_pods_are() {
    let (mut observer, mut rx) = observer_at(10);
    let (sts, pod) = unready_statefulset();
    observer.handle(apply(sts, ClusterEvent::StatefulSet)).await;
    assert!(raised(&mut rx).is_empty(), "first sight: within grace");
    observer.handle(apply(pod, ClusterEvent::Pod)).await;
    let signals = raised(&mut rx);
    let s = signals
        .iter()
        .find(|s| s.name == SignalName::StatefulsetNotReady)
        .expect("statefulset_not_ready once its pod is seen");
    assert_eq!(s.evidence.since, Some(t(1)));
}

#[tokio::test]
async fn a_statefulset_seen_after_its_pods_is_not_ready_since_its_pods_are() {
    let (mut observer, mut rx) = observer_at(10);
    let (sts, pod) = unready_statefulset();
    observer.handle(apply(pod, ClusterEvent::Pod)).await;
    observer.handle(apply(sts, ClusterEvent::StatefulSet)).await;
    let signals = raised(&mut rx);
    let s = signals
        .iter()
        .find(|s| s.name == SignalName::StatefulsetNotReady)
        .expect("statefulset_not_ready");
    assert_eq!(s.evidence.since, Some(t(1)));
}

/// Pods that only just became not ready do not shorten the grace period.
#[tokio::test]
async fn recently_unready_pods_leave_a_daemonset_within_its_grace_period() {
    let (mut observer, mut rx) = observer_at(10);
    let ds = DaemonSet::test("agent").in_ns("ops").ready(4);
    let pod = Pod::test("agent-x1x2")
        .in_ns("ops")
        .owned_by("DaemonSet", "agent")
        .not_ready_since(t(8));
    observer.handle(apply(ds, ClusterEvent::DaemonSet)).await;
    observer.handle(apply(pod, ClusterEvent::Pod)).await;
    let names: Vec<SignalName> = raised(&mut rx).iter().map(|s| s.name).collect();
    assert!(!names.contains(&SignalName::DaemonsetNotReady), "{names:?}");
}
