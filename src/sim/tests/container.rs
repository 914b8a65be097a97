//! Unit tests of `sim::container`.

use super::*;

fn timing() -> SimTiming {
    SimTiming {
        sync: Duration::from_millis(100),
        crash_after: Duration::from_millis(1000),
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(40),
        probe_period: Duration::from_secs(10),
        ..SimTiming::default()
    }
}

struct Run {
    c: ContainerRt,
    t: SimTiming,
    start: Instant,
    fx: Vec<Effect>,
}

impl Run {
    fn new() -> Self {
        Self {
            c: ContainerRt::new("app", "nginx:1.25", ContainerKind::App, false),
            t: timing(),
            start: Instant::now(),
            fx: Vec::new(),
        }
    }
    fn at(&mut self, ms: u64, outcome: &Outcome, restart: Restart) {
        let ctx = PodCtx {
            uid: "uid-1",
            full_name: "web-1_shop(uid-1)",
            restart,
            timing: &self.t,
        };
        let now = Now {
            instant: self.start + Duration::from_millis(ms),
            wall: Timestamp::UNIX_EPOCH + Duration::from_millis(ms),
        };
        self.c.step(outcome, &ctx, now, &mut self.fx);
    }
    fn reasons(&mut self) -> Vec<&'static str> {
        let r = self
            .fx
            .iter()
            .filter_map(|e| match e {
                Effect::Event { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        self.fx.clear();
        r
    }
    fn waiting(&self) -> (&'static str, String) {
        match &self.c.state {
            State::Waiting {
                reason, message, ..
            } => (reason, message.clone()),
            other => panic!("not waiting: {other:?}"),
        }
    }
}

const OOM: Outcome = Outcome::OomKilled { need: 2, limit: 1 };

#[test]
fn oom_crash_loop_restarts_once_then_backs_off_doubling() {
    let mut r = Run::new();
    r.at(0, &OOM, Restart::Always);
    assert!(r.c.is_running());
    assert_eq!(r.reasons(), ["Pulled", "Created", "Started"]);

    // First crash: immediate restart.
    r.at(1000, &OOM, Restart::Always);
    assert!(r.c.is_running());
    assert_eq!(r.c.restart_count, 1);
    assert_eq!(r.c.last.as_ref().unwrap().reason, "OOMKilled");
    assert_eq!(r.c.last.as_ref().unwrap().exit_code, 137);

    // Second crash: 10s back-off.
    r.at(2000, &OOM, Restart::Always);
    let (reason, message) = r.waiting();
    assert_eq!(reason, "CrashLoopBackOff");
    assert_eq!(
        message,
        "back-off 10s restarting failed container=app pod=web-1_shop(uid-1)"
    );
    assert!(r.reasons().contains(&"BackOff"));
    r.at(11_000, &OOM, Restart::Always);
    assert_eq!(r.waiting().0, "CrashLoopBackOff");
    r.at(12_000, &OOM, Restart::Always);
    assert!(r.c.is_running());
    assert_eq!(r.c.restart_count, 2);

    // Third crash: 20s, then capped at 40s.
    r.at(13_000, &OOM, Restart::Always);
    assert!(r.waiting().1.starts_with("back-off 20s"));
    r.at(33_000, &OOM, Restart::Always);
    r.at(34_000, &OOM, Restart::Always);
    assert!(r.waiting().1.starts_with("back-off 40s"));
    r.at(74_000, &OOM, Restart::Always);
    r.at(75_000, &OOM, Restart::Always);
    assert!(r.waiting().1.starts_with("back-off 40s"));
    assert_eq!(r.c.restart_count, 4);
}

#[test]
fn image_pull_alternates_err_image_pull_and_back_off() {
    let fails = Outcome::PullFails {
        message: "not found".into(),
    };
    let mut r = Run::new();
    r.at(0, &fails, Restart::Always);
    assert_eq!(r.waiting(), ("ErrImagePull", "not found".into()));
    assert_eq!(r.reasons(), ["Pulling", "Failed", "Failed"]);
    r.at(100, &fails, Restart::Always);
    assert_eq!(
        r.waiting(),
        (
            "ImagePullBackOff",
            "Back-off pulling image \"nginx:1.25\"".into()
        )
    );
    assert_eq!(r.reasons(), ["BackOff", "Failed"]);
    r.at(10_000, &fails, Restart::Always);
    assert_eq!(r.waiting().0, "ErrImagePull");
    assert!(!r.c.ever_created());
    assert_eq!(r.c.restart_count, 0);
}

#[test]
fn config_error_retries_until_fixed() {
    let broken = Outcome::ConfigError {
        message: "configmap \"cfg\" not found".into(),
    };
    let mut r = Run::new();
    r.at(0, &broken, Restart::Always);
    assert_eq!(r.waiting().0, "CreateContainerConfigError");
    r.at(100, &broken, Restart::Always);
    assert_eq!(r.waiting().0, "CreateContainerConfigError");
    let fixed = Outcome::Runs {
        ready: true,
        probe_failure: None,
    };
    r.at(200, &fixed, Restart::Always);
    assert!(r.c.is_running() && r.c.ready);
    assert_eq!(r.c.restart_count, 0);
}

#[test]
fn run_error_shows_then_backs_off() {
    let fails = Outcome::RunFails {
        message: "exec failed".into(),
    };
    let mut r = Run::new();
    r.at(0, &fails, Restart::Always);
    assert_eq!(r.waiting().0, "RunContainerError");
    assert_eq!(r.c.last.as_ref().unwrap().reason, "ContainerCannotRun");
    r.at(100, &fails, Restart::Always);
    assert_eq!(r.waiting().0, "RunContainerError");
    assert_eq!(r.c.restart_count, 1);
    r.at(200, &fails, Restart::Always);
    assert_eq!(r.waiting().0, "CrashLoopBackOff");
}

#[test]
fn exits_follow_the_restart_policy() {
    let fail = Outcome::Exits {
        code: 2,
        after: Some(Duration::from_millis(500)),
    };
    let mut r = Run::new();
    r.at(0, &fail, Restart::Never);
    r.at(600, &fail, Restart::Never);
    match &r.c.state {
        State::Done(t) => assert_eq!((t.reason, t.exit_code), ("Error", 2)),
        other => panic!("{other:?}"),
    }
    let ok = Outcome::Exits {
        code: 0,
        after: None,
    };
    let mut r = Run::new();
    r.at(0, &ok, Restart::OnFailure);
    r.at(1000, &ok, Restart::OnFailure);
    assert!(r.c.succeeded());
}

#[test]
fn failing_readiness_reports_unhealthy_each_period() {
    let unready = Outcome::Runs {
        ready: false,
        probe_failure: Some(
            "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
        ),
    };
    let mut r = Run::new();
    r.at(0, &unready, Restart::Always);
    assert!(r.c.is_running() && !r.c.ready);
    assert_eq!(r.reasons(), ["Pulled", "Created", "Started", "Unhealthy"]);
    r.at(5_000, &unready, Restart::Always);
    assert!(r.reasons().is_empty());
    r.at(10_000, &unready, Restart::Always);
    assert_eq!(r.reasons(), ["Unhealthy"]);
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(Duration::from_secs(10)), "10s");
    assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
    assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    assert_eq!(go_duration(Duration::from_millis(200)), "200ms");
    assert_eq!(go_duration(Duration::from_millis(1600)), "1.6s");
}
