//! Job and CronJob signals.

use super::*;

#[test]
fn running_and_completed_jobs_raise_nothing() {
    assert_eq!(
        detector().job(&Job::test("migrate"), &[], &Cache::new(), t(5)),
        Detection::default()
    );
    let done = Job::test("migrate").succeeded_at(t(3));
    assert_eq!(
        detector().job(&done, &[], &Cache::new(), t(5)),
        Detection::default()
    );
}

#[test]
fn a_job_that_reached_its_backoff_limit_failed_until_someone_acts() {
    let job = Job::test("migrate")
        .in_ns("shop")
        .failed_with("BackoffLimitExceeded", t(4));
    let d = detector().job(&job, &[], &Cache::new(), t(5));
    assert_eq!(names(&d), ["job_failed"]);
    let s = &d.signals[0];
    assert_eq!(s.owner, ObjectRef::namespaced("Job", "shop", "migrate"));
    assert_eq!(s.evidence.reason, "BackoffLimitExceeded");
    assert_eq!(
        s.evidence.message,
        "Job has reached the specified backoff limit"
    );
    assert_eq!(s.evidence.since, Some(t(4)));
    assert_eq!(s.evidence.detail("failed_pods"), Some("7"));
    assert_eq!(d.recheck_at, None);

    assert_eq!(
        names(&detector().job(&job, &[], &Cache::new(), t(5000))),
        ["job_failed"]
    );
}

#[test]
fn a_failed_run_of_a_cronjob_belongs_to_the_cronjob_and_counts_for_a_while() {
    let job = Job::test("backup-28574520")
        .owned_by("CronJob", "backup")
        .failed_with("DeadlineExceeded", t(4));
    let d = detector().job(&job, &[], &Cache::new(), t(5));
    assert_eq!(names(&d), ["job_failed"]);
    assert_eq!(
        d.signals[0].owner,
        ObjectRef::namespaced("CronJob", "default", "backup")
    );
    assert_eq!(d.signals[0].evidence.reason, "DeadlineExceeded");
    assert_eq!(d.recheck_at, Some(t(34)));

    assert!(
        detector()
            .job(&job, &[], &Cache::new(), t(34))
            .signals
            .is_empty()
    );
}

#[test]
fn a_job_refused_pods_by_a_quota_is_a_replica_failure() {
    let job = Job::test("report").in_ns("batch");
    let refused = Event::warning(
        "FailedCreate",
        "Error creating: pods \"report-x2x1q\" is forbidden: exceeded quota: batch-quota, requested: pods=1, used: pods=10, limited: pods=10",
    )
    .about("Job", "batch", "report");
    let d = detector().job(&job, &facts(&[refused]), &Cache::new(), t(1));
    assert_eq!(names(&d), ["replica_failure"]);
    assert_eq!(
        d.signals[0].cause.as_ref().unwrap().to_string(),
        "quota batch/batch-quota exhausted"
    );
}

fn run(name: &str, started: i64) -> Job {
    Job::test(name)
        .owned_by("CronJob", "backup")
        .started_at(t(started))
}

#[test]
fn a_cronjob_whose_last_run_failed_has_failed() {
    let cronjob = CronJob::test("backup");
    let jobs = [
        run("backup-1", -120).succeeded_at(t(-119)),
        run("backup-2", -60).failed_with("BackoffLimitExceeded", t(-55)),
    ];
    let d = detector().cronjob(&cronjob, &jobs, &Cache::new(), t(0));
    assert_eq!(names(&d), ["cronjob_failed"]);
    let s = &d.signals[0];
    assert_eq!(
        s.object,
        ObjectRef::namespaced("CronJob", "default", "backup")
    );
    assert_eq!(s.evidence.detail("job"), Some("backup-2"));
    assert_eq!(s.evidence.detail("schedule"), Some("0 2 * * *"));
    assert_eq!(s.evidence.since, Some(t(-55)));
}

#[test]
fn a_cronjob_clears_when_a_later_run_succeeds_and_holds_while_one_runs() {
    let cronjob = CronJob::test("backup");
    let failed = run("backup-2", -60).failed_with("BackoffLimitExceeded", t(-55));

    let passed = [failed.clone(), run("backup-3", -10).succeeded_at(t(-9))];
    assert!(
        detector()
            .cronjob(&cronjob, &passed, &Cache::new(), t(0))
            .signals
            .is_empty()
    );

    let running = [failed.clone(), run("backup-3", -1)];
    assert_eq!(
        names(&detector().cronjob(&cronjob, &running, &Cache::new(), t(0))),
        ["cronjob_failed"]
    );

    let others = [Job::test("other-1")
        .owned_by("CronJob", "other")
        .failed_with("BackoffLimitExceeded", t(-1))];
    assert!(
        detector()
            .cronjob(&cronjob, &others, &Cache::new(), t(0))
            .signals
            .is_empty()
    );

    let suspended = CronJob::test("backup").suspend();
    assert!(
        detector()
            .cronjob(&suspended, &[failed], &Cache::new(), t(0))
            .signals
            .is_empty()
    );
}
