//! The [`Detector`] (configuration and scope, read-only) and the [`Detection`] every detect
//! function returns. The functions themselves live in one file per resource family.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::MetaExt;

use super::config::{DetectConfig, ScopeConfig};
use super::events::{EventFact, FactKind};
use super::owners::{OwnerLookup, root_owner};
use super::scope::Scope;
use super::signal::{Cause, Evidence, ObjectRef, Signal, SignalName};

/// What one evaluation of one object found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detection {
    /// The signals that hold now. A signal that held before and is missing here has cleared.
    pub signals: Vec<Signal>,
    /// The earliest time at which evaluating the same object again, unchanged, could give a
    /// different answer (a grace period ends, an old failure stops counting, an event ages
    /// out). `None`: only a change of the object (or its facts) can.
    pub recheck_at: Option<DateTime<Utc>>,
    /// For StatefulSets and DaemonSets, whose status carries no timestamps: since when this
    /// process has seen the object not ready. Pass it back to the next evaluation of the same
    /// object; `None` once it is ready.
    pub unready_since: Option<DateTime<Utc>>,
}

impl Detection {
    /// Whether a signal of this name was found.
    pub fn has(&self, name: SignalName) -> bool {
        self.get(name).is_some()
    }

    pub fn get(&self, name: SignalName) -> Option<&Signal> {
        self.signals.iter().find(|s| s.name == name)
    }

    /// The names found, in order.
    pub fn names(&self) -> Vec<SignalName> {
        self.signals.iter().map(|s| s.name).collect()
    }

    /// Asks for a re-evaluation at `at` (the earliest request wins).
    pub(super) fn recheck(&mut self, at: DateTime<Utc>) {
        self.recheck_at = Some(self.recheck_at.map_or(at, |t| t.min(at)));
    }

    /// Whether `grace` has passed since `since`; if not, asks for a recheck when it will have.
    pub(super) fn grace_over(
        &mut self,
        since: DateTime<Utc>,
        grace: Duration,
        now: DateTime<Utc>,
    ) -> bool {
        let until = after(since, grace);
        if now >= until {
            return true;
        }
        self.recheck(until);
        false
    }

    /// Whether something that happened at `at` still counts `window` later; if it does, asks
    /// for a recheck when it stops counting.
    pub(super) fn still_recent(
        &mut self,
        at: DateTime<Utc>,
        window: Duration,
        now: DateTime<Utc>,
    ) -> bool {
        let until = after(at, window);
        if now >= until {
            return false;
        }
        self.recheck(until);
        true
    }
}

/// `t + d`, saturating instead of overflowing on absurd configured durations.
pub(super) fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A signal found on an object, before its owner is resolved (owner resolution and scope are
/// only paid for objects that have a problem).
#[derive(Debug)]
pub(super) struct Draft {
    pub name: SignalName,
    pub cause: Option<Cause>,
    pub evidence: Evidence,
}

impl Draft {
    pub fn new(name: SignalName, evidence: Evidence) -> Self {
        Self {
            name,
            cause: None,
            evidence,
        }
    }

    pub fn with_cause(mut self, cause: Option<Cause>) -> Self {
        self.cause = cause;
        self
    }
}

/// Runs detection with one configuration and scope. Cheap to share: every method takes `&self`
/// and reads no clock, no cluster and no store.
#[derive(Debug, Clone)]
pub struct Detector {
    pub(super) config: DetectConfig,
    pub(super) scope: Scope,
}

impl Default for Detector {
    /// The default thresholds and scope (kube-system excluded).
    fn default() -> Self {
        Self::new(DetectConfig::default(), &ScopeConfig::default())
    }
}

impl Detector {
    pub fn new(config: DetectConfig, scope: &ScopeConfig) -> Self {
        Self {
            config,
            scope: Scope::new(scope),
        }
    }

    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The facts of `kinds` about this incarnation of the object (`uid`) that are recent enough
    /// to count.
    pub(super) fn recent_facts<'f>(
        &self,
        facts: &'f [EventFact],
        uid: Option<&'f str>,
        kinds: &'f [FactKind],
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = &'f EventFact> + 'f {
        let window = self.config.event_window;
        facts.iter().filter(move |f| {
            kinds.contains(&f.kind) && f.concerns(uid) && after(f.last_seen, window) > now
        })
    }

    /// The most recent of `recent_facts`.
    pub(super) fn latest_fact<'f>(
        &self,
        facts: &'f [EventFact],
        uid: Option<&'f str>,
        kinds: &'f [FactKind],
        now: DateTime<Utc>,
    ) -> Option<&'f EventFact> {
        self.recent_facts(facts, uid, kinds, now)
            .max_by_key(|f| (f.cause.is_some(), f.last_seen))
    }

    /// Turns drafts into signals about `subject`: resolves its root owner, applies the scope
    /// (namespace lists were checked before; here the opt-out annotations), and builds the
    /// signals. Clears `out` entirely when the subject is out of scope. Owner resolution is only
    /// paid for objects that have a problem.
    pub(super) fn finish(
        &self,
        out: &mut Detection,
        drafts: Vec<Draft>,
        subject: Subject<'_>,
        object: &impl MetaExt,
        lookup: &(impl OwnerLookup + ?Sized),
    ) {
        if drafts.is_empty() {
            return;
        }
        let owner = root_owner(subject.kind, object, lookup);
        self.finish_with_owner(out, drafts, subject, owner, lookup);
    }

    /// [`Self::finish`] with an owner the caller chose (an HPA's scale target).
    pub(super) fn finish_with_owner(
        &self,
        out: &mut Detection,
        drafts: Vec<Draft>,
        subject: Subject<'_>,
        owner: ObjectRef,
        lookup: &(impl OwnerLookup + ?Sized),
    ) {
        if drafts.is_empty() {
            return;
        }
        let namespace = subject.namespace;
        let admitted = if namespace.is_empty() {
            !subject.opted_out
        } else {
            self.scope
                .admits(namespace, &owner, subject.opted_out, lookup)
        };
        if !admitted {
            *out = Detection::default();
            return;
        }
        let object_ref = if namespace.is_empty() {
            ObjectRef::cluster_scoped(subject.kind, subject.name)
        } else {
            ObjectRef::namespaced(subject.kind, namespace, subject.name)
        };
        out.signals.extend(drafts.into_iter().map(|d| Signal {
            name: d.name,
            object: object_ref.clone(),
            owner: owner.clone(),
            node: subject.node.map(str::to_string),
            cause: d.cause,
            evidence: d.evidence,
        }));
    }
}

/// The object a detection is about.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject<'a> {
    pub kind: &'a str,
    /// Empty for cluster-scoped objects.
    pub namespace: &'a str,
    pub name: &'a str,
    /// Its own (or its pod template's) opt-out annotation.
    pub opted_out: bool,
    /// For pods: the node they are bound to.
    pub node: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// `kind` and the object's name and namespace; opted out when the object itself carries
    /// the annotation.
    pub fn new(kind: &'a str, object: &'a impl MetaExt) -> Self {
        Self {
            kind,
            namespace: object.namespace(),
            name: object.name(),
            opted_out: object.opted_out(),
            node: None,
        }
    }

    /// Also opted out when `also` (its pod template's annotation) says so.
    pub fn opted_out_if(mut self, also: bool) -> Self {
        self.opted_out |= also;
        self
    }

    pub fn on_node(mut self, node: Option<&'a str>) -> Self {
        self.node = node;
        self
    }
}
