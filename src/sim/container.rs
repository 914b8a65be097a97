//! One container as a kubelet runs it: attempts, crashes, restarts with exponential back-off,
//! image-pull back-off, probes. Driven by time (`now` is passed in) and by the [`Outcome`] the
//! objects dictate, so it is tested without a cluster. It returns [`Effect`]s (events to record,
//! log instances to open or close) for the kubelet to carry out.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

use super::annotations::ContainerKind;
use super::config::SimTiming;
use super::health::Outcome;
use super::images;

/// A pod's restart policy, as it applies to one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

impl Restart {
    pub fn from_spec(policy: Option<&str>) -> Self {
        match policy {
            Some("Never") => Restart::Never,
            Some("OnFailure") => Restart::OnFailure,
            _ => Restart::Always,
        }
    }
}

/// How a running container ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    OomKilled,
    Exit(i32),
}

/// A finished container instance, as `state.terminated` / `lastState.terminated` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Termination {
    pub id: String,
    pub reason: &'static str,
    pub exit_code: i32,
    pub message: Option<String>,
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// Where a container is now.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not tried yet: `ContainerCreating` or `PodInitializing`.
    Pending { reason: &'static str },
    /// Waiting after a failed attempt or in back-off; `then` happens at `until`.
    Waiting {
        reason: &'static str,
        message: String,
        until: Instant,
        then: Then,
    },
    Running {
        id: String,
        started: Timestamp,
        ends: Option<(Instant, Ending)>,
    },
    /// Finished for good (the restart policy says so).
    Done(Termination),
}

/// What a waiting container does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Attempt,
    BackOff {
        reason: &'static str,
        message: String,
        until: Instant,
    },
}

/// Something the kubelet must do on the container's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
    /// A new instance exists; `ran` is false when it never got to run its process.
    Started {
        id: String,
        at: Timestamp,
        ran: bool,
    },
    /// An instance ended this way at `at`.
    Ended {
        id: String,
        how: Ending,
        at: Timestamp,
    },
}

/// The moment a step happens, on both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub instant: Instant,
    pub wall: Timestamp,
}

impl Now {
    pub fn current() -> Self {
        Self {
            instant: Instant::now(),
            wall: Timestamp::now(),
        }
    }

    /// The wall-clock time of an earlier instant.
    fn wall_at(&self, at: Instant) -> Timestamp {
        let ago = self.instant.saturating_duration_since(at);
        let ago = k8s_openapi::jiff::SignedDuration::try_from(ago).unwrap_or_default();
        self.wall.checked_sub(ago).unwrap_or(self.wall)
    }
}

/// What a step needs to know about the pod.
pub struct PodCtx<'a> {
    pub uid: &'a str,
    /// `name_namespace(uid)`, as back-off messages name the pod.
    pub full_name: &'a str,
    pub restart: Restart,
    pub timing: &'a SimTiming,
}

#[derive(Debug, Clone)]
pub struct ContainerRt {
    pub name: String,
    pub image: String,
    pub kind: ContainerKind,
    pub pull_always: bool,
    pub state: State,
    pub last: Option<Termination>,
    pub restart_count: i32,
    pub ready: bool,
    instances: u32,
    backoff: Option<Duration>,
    pull_backoff: Option<Duration>,
    next_probe: Option<Instant>,
}

impl ContainerRt {
    pub fn new(name: &str, image: &str, kind: ContainerKind, pull_always: bool) -> Self {
        let reason = match kind {
            ContainerKind::Init => "PodInitializing",
            ContainerKind::App => "ContainerCreating",
        };
        Self {
            name: name.into(),
            image: image.into(),
            kind,
            pull_always,
            state: State::Pending { reason },
            last: None,
            restart_count: 0,
            ready: false,
            instances: 0,
            backoff: None,
            pull_backoff: None,
            next_probe: None,
        }
    }

    /// Whether any instance was ever created (image pulled, config built).
    pub fn ever_created(&self) -> bool {
        self.instances > 0
    }

    /// Init containers: finished successfully.
    pub fn succeeded(&self) -> bool {
        matches!(&self.state, State::Done(t) if t.exit_code == 0)
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// When this container next needs a step without any outside change.
    pub fn next_wake(&self) -> Option<Instant> {
        match &self.state {
            State::Waiting { until, .. } => Some(*until),
            State::Running {
                ends: Some((at, _)),
                ..
            } => Some(*at),
            State::Running { .. } => self.next_probe,
            _ => None,
        }
    }

    /// Advances the container to `now`: everything that is due happens, in order.
    pub fn step(&mut self, outcome: &Outcome, pod: &PodCtx<'_>, now: Now, fx: &mut Vec<Effect>) {
        // A few transitions can be due at once (crash, then immediate restart); the bound only
        // guards against zero-length timings spinning.
        for _ in 0..8 {
            let progressed = match &mut self.state {
                State::Pending { .. } => {
                    self.attempt(outcome, pod, now, fx);
                    true
                }
                State::Waiting { until, .. } if *until > now.instant => false,
                State::Waiting { then, .. } => {
                    match std::mem::replace(then, Then::Attempt) {
                        Then::Attempt => self.attempt(outcome, pod, now, fx),
                        Then::BackOff {
                            reason,
                            message,
                            until,
                        } => self.enter_backoff(reason, message, until, fx),
                    }
                    true
                }
                State::Running {
                    ends: Some((at, _)),
                    ..
                } if *at <= now.instant => {
                    self.terminate(outcome, pod, now, fx);
                    true
                }
                State::Running { .. } => {
                    self.probe(outcome, pod, now, fx);
                    false
                }
                State::Done(_) => false,
            };
            if !progressed {
                break;
            }
        }
    }

    /// The kubelet stops the container (pod deleted or evicted).
    pub fn kill(&mut self, now: Now, fx: &mut Vec<Effect>) {
        if let State::Running { id, started, .. } = &self.state {
            fx.push(event(
                false,
                "Killing",
                format!("Stopping container {}", self.name),
            ));
            fx.push(Effect::Ended {
                id: id.clone(),
                how: Ending::Exit(137),
                at: now.wall,
            });
            self.state = State::Done(Termination {
                id: id.clone(),
                reason: "Error",
                exit_code: 137,
                message: None,
                started: *started,
                finished: now.wall,
            });
        }
        self.ready = false;
    }

    fn attempt(&mut self, outcome: &Outcome, pod: &PodCtx<'_>, now: Now, fx: &mut Vec<Effect>) {
        let t = pod.timing;
        match outcome {
            Outcome::PullFails { message } => {
                let image = &self.image;
                fx.push(event(
                    false,
                    "Pulling",
                    format!("Pulling image \"{image}\""),
                ));
                fx.push(event(
                    true,
                    "Failed",
                    format!("Failed to pull image \"{image}\": {message}"),
                ));
                fx.push(event(true, "Failed", "Error: ErrImagePull".into()));
                let wait = next_backoff(&mut self.pull_backoff, t);
                self.state = State::Waiting {
                    reason: "ErrImagePull",
                    message: message.clone(),
                    until: now.instant + t.sync,
                    then: Then::BackOff {
                        reason: "ImagePullBackOff",
                        message: format!("Back-off pulling image \"{image}\""),
                        until: now.instant + wait,
                    },
                };
            }
            Outcome::ConfigError { message } => {
                self.pulled(fx);
                fx.push(event(true, "Failed", format!("Error: {message}")));
                self.state = State::Waiting {
                    reason: "CreateContainerConfigError",
                    message: message.clone(),
                    until: now.instant + t.sync,
                    then: Then::Attempt,
                };
            }
            Outcome::RunFails { message } => {
                self.pulled(fx);
                fx.push(event(
                    false,
                    "Created",
                    format!("Created container {}", self.name),
                ));
                fx.push(event(true, "Failed", format!("Error: {message}")));
                let id = self.new_instance(pod);
                fx.push(Effect::Started {
                    id: id.clone(),
                    at: now.wall,
                    ran: false,
                });
                let ended = Termination {
                    id,
                    reason: "ContainerCannotRun",
                    exit_code: 128,
                    message: Some(message.clone()),
                    started: now.wall,
                    finished: now.wall,
                };
                self.state = match self.after_exit(ended, Duration::ZERO, pod, now.instant) {
                    Next::Done(ended) => State::Done(ended),
                    Next::Restart => State::Waiting {
                        reason: "RunContainerError",
                        message: message.clone(),
                        until: now.instant + t.sync,
                        then: Then::Attempt,
                    },
                    Next::BackOff(then) => State::Waiting {
                        reason: "RunContainerError",
                        message: message.clone(),
                        until: now.instant + t.sync,
                        then,
                    },
                };
            }
            Outcome::OomKilled { .. } | Outcome::Exits { .. } | Outcome::Runs { .. } => {
                self.pulled(fx);
                fx.push(event(
                    false,
                    "Created",
                    format!("Created container {}", self.name),
                ));
                fx.push(event(
                    false,
                    "Started",
                    format!("Started container {}", self.name),
                ));
                let id = self.new_instance(pod);
                fx.push(Effect::Started {
                    id: id.clone(),
                    at: now.wall,
                    ran: true,
                });
                let ends = match outcome {
                    Outcome::OomKilled { .. } => {
                        Some((now.instant + t.crash_after, Ending::OomKilled))
                    }
                    Outcome::Exits { code, after } => Some((
                        now.instant + after.unwrap_or(t.crash_after),
                        Ending::Exit(*code),
                    )),
                    _ => None,
                };
                self.ready = !matches!(outcome, Outcome::Runs { ready: false, .. });
                self.next_probe = (!self.ready).then_some(now.instant);
                self.state = State::Running {
                    id,
                    started: now.wall,
                    ends,
                };
                self.probe(outcome, pod, now, fx);
            }
        }
    }

    fn terminate(&mut self, outcome: &Outcome, pod: &PodCtx<'_>, now: Now, fx: &mut Vec<Effect>) {
        let State::Running {
            id,
            started,
            ends: Some((at, how)),
        } = &self.state
        else {
            return;
        };
        let (id, started, at, how) = (id.clone(), *started, *at, *how);
        let finished = now.wall_at(at);
        let (reason, exit_code) = match how {
            Ending::OomKilled => ("OOMKilled", 137),
            Ending::Exit(0) => ("Completed", 0),
            Ending::Exit(code) => ("Error", code),
        };
        fx.push(Effect::Ended {
            id: id.clone(),
            how,
            at: finished,
        });
        self.ready = false;
        self.next_probe = None;
        let ran_for = started
            .duration_until(finished)
            .try_into()
            .unwrap_or_default();
        let ended = Termination {
            id,
            reason,
            exit_code,
            message: None,
            started,
            finished,
        };
        match self.after_exit(ended, ran_for, pod, at) {
            Next::Done(ended) => self.state = State::Done(ended),
            Next::Restart => self.attempt(outcome, pod, now, fx),
            Next::BackOff(Then::BackOff {
                reason,
                message,
                until,
            }) => self.enter_backoff(reason, message, until, fx),
            Next::BackOff(Then::Attempt) => self.attempt(outcome, pod, now, fx),
        }
    }

    /// The kubelet's restart decision for an instance that just ended at `at`: the first crash
    /// restarts at once, later ones wait a back-off that doubles up to the cap; an instance
    /// that ran longer than twice the cap resets the back-off.
    fn after_exit(
        &mut self,
        ended: Termination,
        ran_for: Duration,
        pod: &PodCtx<'_>,
        at: Instant,
    ) -> Next {
        let restart = match (self.kind, pod.restart) {
            (_, Restart::Never) => false,
            (ContainerKind::Init, _) | (_, Restart::OnFailure) => ended.exit_code != 0,
            (ContainerKind::App, Restart::Always) => true,
        };
        if !restart {
            return Next::Done(ended);
        }
        self.last = Some(ended);
        let t = pod.timing;
        if ran_for > t.backoff_max * 2 {
            self.backoff = None;
        }
        match self.backoff {
            None => {
                self.backoff = Some(t.backoff_base);
                Next::Restart
            }
            Some(wait) => {
                self.backoff = Some((wait * 2).min(t.backoff_max));
                Next::BackOff(Then::BackOff {
                    reason: "CrashLoopBackOff",
                    message: format!(
                        "back-off {} restarting failed container={} pod={}",
                        go_duration(wait),
                        self.name,
                        pod.full_name
                    ),
                    until: at + wait,
                })
            }
        }
    }

    fn enter_backoff(
        &mut self,
        reason: &'static str,
        message: String,
        until: Instant,
        fx: &mut Vec<Effect>,
    ) {
        if reason == "ImagePullBackOff" {
            fx.push(event(false, "BackOff", message.clone()));
            fx.push(event(true, "Failed", "Error: ImagePullBackOff".into()));
        } else {
            fx.push(event(
                true,
                "BackOff",
                "Back-off restarting failed container".into(),
            ));
        }
        self.state = State::Waiting {
            reason,
            message,
            until,
            then: Then::Attempt,
        };
    }

    fn probe(&mut self, outcome: &Outcome, pod: &PodCtx<'_>, now: Now, fx: &mut Vec<Effect>) {
        let Outcome::Runs {
            ready,
            probe_failure,
        } = outcome
        else {
            return;
        };
        self.ready = *ready;
        match (probe_failure, self.next_probe) {
            (Some(message), Some(due)) if !ready && due <= now.instant => {
                fx.push(event(true, "Unhealthy", message.clone()));
                self.next_probe = Some(now.instant + pod.timing.probe_period);
            }
            (Some(_), None) if !ready => self.next_probe = Some(now.instant),
            _ if *ready => self.next_probe = None,
            _ => {}
        }
    }

    fn pulled(&self, fx: &mut Vec<Effect>) {
        let image = &self.image;
        if self.pull_always {
            fx.push(event(
                false,
                "Pulling",
                format!("Pulling image \"{image}\""),
            ));
            fx.push(event(
                false,
                "Pulled",
                format!("Successfully pulled image \"{image}\" in 1.042158706s"),
            ));
        } else {
            fx.push(event(
                false,
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            ));
        }
    }

    fn new_instance(&mut self, pod: &PodCtx<'_>) -> String {
        if self.instances > 0 {
            self.restart_count += 1;
        }
        let id = images::container_id(pod.uid, &self.name, self.instances);
        self.instances += 1;
        id
    }
}

enum Next {
    Done(Termination),
    Restart,
    BackOff(Then),
}

/// The current back-off, then doubled (capped) for next time.
fn next_backoff(slot: &mut Option<Duration>, t: &SimTiming) -> Duration {
    let wait = slot.unwrap_or(t.backoff_base);
    *slot = Some((wait * 2).min(t.backoff_max));
    wait
}

fn event(warning: bool, reason: &'static str, message: String) -> Effect {
    Effect::Event {
        warning,
        reason,
        message,
    }
}

/// A duration as Go prints it (`10s`, `1m20s`, `5m0s`, `200ms`, `1.6s`): back-off messages
/// carry it.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let frac = d.subsec_millis();
    let (m, s) = (secs / 60, secs % 60);
    let seconds = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0'))
    };
    match (m / 60, m % 60) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
#[path = "tests/container.rs"]
mod tests;
