//! batch signals: a Job that failed (backoff limit, deadline), a CronJob whose most recent run
//! failed, and Jobs that cannot create pods (quota).

use chrono::{DateTime, Utc};

use crate::model::{CronJob, Job, MetaExt};

use super::detector::{Detection, Detector, Draft, Subject};
use super::events::{EventFact, FactKind};
use super::owners::OwnerLookup;
use super::signal::{Evidence, SignalName};

impl Detector {
    /// A failed Job persists until it is deleted or retried — except one run by a CronJob,
    /// which counts for `recent_failure_window` (its CronJob's `cronjob_failed` carries the
    /// lasting state: the history limit keeps old failed Jobs long after a later run passed).
    pub fn job(
        &self,
        job: &Job,
        facts: &[EventFact],
        lookup: &(impl OwnerLookup + ?Sized),
        now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        if job.is_deleting() || !self.scope.namespace_in_scope(job.namespace()) {
            return out;
        }
        let mut drafts = Vec::new();
        if let Some(failed) = job.failed() {
            let from_cronjob = job.controller().is_some_and(|c| c.kind == "CronJob");
            let counts = match failed.last_transition_time {
                Some(at) if from_cronjob => {
                    out.still_recent(at, self.config.recent_failure_window, now)
                }
                _ => true,
            };
            if counts {
                let fact = self.latest_fact(facts, job.uid(), &[FactKind::JobFailed], now);
                let message = match failed.message() {
                    "" => fact.map(|f| f.message.as_str()).unwrap_or_default(),
                    m => m,
                };
                let evidence = Evidence::new(failed.reason(), message)
                    .with_count(job.status.failed)
                    .with_since(failed.last_transition_time)
                    .with_detail("failed_pods", job.status.failed)
                    .with_detail("succeeded_pods", job.status.succeeded)
                    .with_detail(
                        "backoff_limit",
                        job.spec
                            .backoff_limit
                            .map(|b| b.to_string())
                            .unwrap_or_default(),
                    )
                    .with_detail("images", job.spec.template.images());
                drafts.push(Draft::new(SignalName::JobFailed, evidence));
            }
        } else if !job.finished() && job.spec.suspend != Some(true) {
            let wanted = job.spec.completions.unwrap_or(1) - job.status.succeeded;
            drafts.extend(self.create_failed(job.uid(), facts, wanted.max(1), now, &mut out));
        }
        let subject = Subject::new("Job", job).opted_out_if(job.spec.template.opted_out());
        self.finish(&mut out, drafts, subject, job, lookup);
        out
    }

    /// `cronjob_failed` when the most recent finished Job of the CronJob failed. `jobs` may be
    /// every Job of the namespace: those the CronJob does not control are skipped. A suspended
    /// CronJob raises nothing (suspending it is how people stop a failing one).
    pub fn cronjob<'a>(
        &self,
        cronjob: &CronJob,
        jobs: impl IntoIterator<Item = &'a Job>,
        lookup: &(impl OwnerLookup + ?Sized),
        _now: DateTime<Utc>,
    ) -> Detection {
        let mut out = Detection::default();
        let cj = cronjob;
        if cj.is_deleting() || cj.suspended() || !self.scope.namespace_in_scope(cj.namespace()) {
            return out;
        }
        let latest = jobs
            .into_iter()
            .filter(|j| controlled_by(j, cj) && j.finished())
            .max_by_key(|j| (j.status.start_time.or(j.created()), j.name().to_string()));
        let Some(job) = latest else {
            return out;
        };
        let Some(failed) = job.failed() else {
            return out;
        };
        let evidence = Evidence::new(failed.reason(), failed.message())
            .with_count(job.status.failed)
            .with_since(failed.last_transition_time)
            .with_detail("job", job.name())
            .with_detail("schedule", &cj.spec.schedule)
            .with_detail(
                "last_successful_time",
                cj.status
                    .last_successful_time
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default(),
            );
        let drafts = vec![Draft::new(SignalName::CronjobFailed, evidence)];
        let template = &cj.spec.job_template.spec.template;
        let subject = Subject::new("CronJob", cj).opted_out_if(template.opted_out());
        self.finish(&mut out, drafts, subject, cj, lookup);
        out
    }
}

fn controlled_by(job: &Job, cronjob: &CronJob) -> bool {
    job.namespace() == cronjob.namespace()
        && job.controller().is_some_and(|c| {
            c.kind == "CronJob"
                && c.name == cronjob.name()
                && cronjob
                    .uid()
                    .is_none_or(|uid| c.uid.is_empty() || c.uid == uid)
        })
}
