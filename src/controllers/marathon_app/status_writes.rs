//! When to write an app's status. Pods coming up change the counts many times per rollout;
//! writing each change would cost a write per pod event. So while a rollout runs, status is
//! written at most once per interval (the first time one interval after the rollout was seen,
//! so a quick rollout costs one write: its end), and then only when it has news: tasks came
//! up, became healthy or unhealthy, or failed, or a task cannot be placed, or the app is
//! degraded. A rollout that only waits (thousands of apps applied at once, pods queued behind
//! the scheduler) is written once, at its end. When the rollout ends or nothing is rolling
//! out, status is written at once. A status that would not change is never written. An
//! interval of zero writes every change.
//!
//! Meanwhile readers still see the rollout: an app whose `generation` is ahead of
//! `status.observedGeneration` has a deployment pending (`crate::marathon::deployments`), and
//! the Marathon API computes tasks and deployments from the caches, not from `status`.

use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::controllers::memory::PerApp;
use crate::crd::MarathonAppStatus;
use crate::crd::condition::{DEGRADED, FALSE, SCHEDULED, TRUE};

/// What to do with a freshly built status.
#[derive(Debug, PartialEq, Eq)]
pub enum StatusWrite {
    /// It is what the app already reports.
    Skip,
    Now,
    /// Coalesced: look again after this long (or on the next change).
    Later(Duration),
}

/// Per app, since when status writes are held back (only while a rollout runs), and which
/// writes the cache does not show yet.
pub struct StatusWrites {
    interval: Duration,
    held_since: PerApp<Instant>,
    /// The app's `resourceVersion` a status write changed, until the cache is past it.
    unseen: PerApp<String>,
}

impl StatusWrites {
    pub fn new(interval: Duration) -> Self {
        Self { interval, held_since: PerApp::default(), unseen: PerApp::default() }
    }

    /// Whether the cached app (at `cached_version`) is older than this operator's last status
    /// write. A reconcile that runs before the watch brings the write in (another child
    /// changed meanwhile) would build its status on the old one and write it again.
    pub fn cache_behind(&self, key: &str, cached_version: &str) -> bool {
        self.unseen.with(|unseen| {
            let behind = unseen.get(key).is_some_and(|written_over| written_over == cached_version);
            if !behind {
                unseen.remove(key);
            }
            behind
        })
    }

    /// Records that a status write changed the app from `before` to `after` (versions).
    pub fn unseen(&self, key: &str, before: &str, after: Option<&str>) {
        if after != Some(before) {
            self.unseen.with(|unseen| unseen.insert(key.to_owned(), before.to_owned()));
        }
    }

    pub fn decide(
        &self,
        key: &str,
        previous: Option<&MarathonAppStatus>,
        next: &MarathonAppStatus,
        now: Instant,
    ) -> StatusWrite {
        let rolling_out = next.deployment.is_some();
        if !rolling_out {
            self.forget(key);
            return if previous == Some(next) { StatusWrite::Skip } else { StatusWrite::Now };
        }
        if previous == Some(next) {
            return StatusWrite::Skip;
        }
        if self.interval.is_zero() {
            return StatusWrite::Now;
        }
        let since = self.held_since.with(|held| *held.entry(key.to_owned()).or_insert(now));
        let due = since + self.interval;
        if now < due {
            StatusWrite::Later(due - now)
        } else if has_news(previous, next) {
            StatusWrite::Now
        } else {
            StatusWrite::Later(self.interval)
        }
    }

    /// Records a write made at `now`: during a rollout the next one waits an interval.
    pub fn written(&self, key: &str, rolling_out: bool, now: Instant) {
        if rolling_out {
            self.defer(key, now);
        } else {
            self.forget(key);
        }
    }

    /// Holds writes of `key` back from `since` on.
    pub fn defer(&self, key: &str, since: Instant) {
        self.held_since.with(|held| held.insert(key.to_owned(), since));
    }

    pub fn forget(&self, key: &str) {
        self.held_since.remove(key);
    }

    pub fn retain(&self, exists: &dyn Fn(&str) -> bool) {
        self.held_since.retain(exists);
        self.unseen.retain(exists);
    }

    pub fn knows(&self, key: &str) -> bool {
        self.held_since.with(|held| held.contains_key(key))
    }

    pub fn len(&self) -> usize {
        self.held_since.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a status written during a rollout tells a reader something the last written one
/// did not: task counts, a task failure, warnings, or a problem (a task that cannot be
/// placed, the app degraded). A new rollout that only waits has no news.
fn has_news(previous: Option<&MarathonAppStatus>, next: &MarathonAppStatus) -> bool {
    let empty = MarathonAppStatus::default();
    let previous = previous.unwrap_or(&empty);
    let counts = |s: &MarathonAppStatus| {
        [s.tasks_running, s.tasks_healthy, s.tasks_unhealthy].map(|n| n.unwrap_or(0))
    };
    counts(previous) != counts(next)
        || previous.last_task_failure != next.last_task_failure
        || previous.warnings != next.warnings
        || problem(previous, SCHEDULED, TRUE) != problem(next, SCHEDULED, TRUE)
        || problem(previous, DEGRADED, FALSE) != problem(next, DEGRADED, FALSE)
}

/// The condition `type_` when it is not in its healthy `status` (absent counts as healthy).
fn problem<'a>(
    status: &'a MarathonAppStatus,
    type_: &str,
    healthy: &str,
) -> Option<(&'a str, &'a str)> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c: &&Condition| c.type_ == type_ && c.status != healthy)
        .map(|c| (c.reason.as_str(), c.message.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{DeploymentStatus, MarathonAppStatus};

    fn status(tasks: i32, rolling_out: bool) -> MarathonAppStatus {
        let deployment = DeploymentStatus { id: "d".into(), ..DeploymentStatus::default() };
        MarathonAppStatus {
            tasks_running: Some(tasks),
            deployment: rolling_out.then(|| Box::new(deployment)),
            ..MarathonAppStatus::default()
        }
    }

    #[test]
    fn a_quick_rollout_costs_one_write_at_its_end() {
        let writes = StatusWrites::new(Duration::from_secs(10));
        let t0 = Instant::now();
        // Children created, no pod yet: held back for one interval.
        let first = writes.decide("ns/a", None, &status(0, true), t0);
        assert_eq!(first, StatusWrite::Later(Duration::from_secs(10)));
        let later = writes.decide("ns/a", None, &status(0, true), t0 + Duration::from_secs(4));
        assert_eq!(later, StatusWrite::Later(Duration::from_secs(6)));
        // The pod is up: the rollout is over, written at once, nothing held any more.
        let done = writes.decide("ns/a", None, &status(1, false), t0 + Duration::from_secs(5));
        assert_eq!(done, StatusWrite::Now);
        assert!(writes.is_empty());
        // The same status again is not written.
        let again = writes.decide("ns/a", Some(&status(1, false)), &status(1, false), t0);
        assert_eq!(again, StatusWrite::Skip);
    }

    #[test]
    fn a_long_rollout_writes_once_per_interval() {
        let writes = StatusWrites::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let _ = writes.decide("ns/a", None, &status(0, true), t0);
        let due = writes.decide("ns/a", None, &status(1, true), t0 + Duration::from_secs(10));
        assert_eq!(due, StatusWrite::Now);
        writes.written("ns/a", true, t0 + Duration::from_secs(10));
        let held = writes.decide(
            "ns/a",
            Some(&status(1, true)),
            &status(2, true),
            t0 + Duration::from_secs(12),
        );
        assert_eq!(held, StatusWrite::Later(Duration::from_secs(8)));
        // Another app is not held back by this one.
        let other = writes.decide("ns/b", None, &status(0, false), t0);
        assert_eq!(other, StatusWrite::Now);
    }

    #[test]
    fn a_rollout_that_only_waits_is_written_at_its_end() {
        let writes = StatusWrites::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let _ = writes.decide("ns/a", None, &status(0, true), t0);
        // Minutes later the pod still waits for the scheduler: nothing new to say.
        let minutes = t0 + Duration::from_secs(300);
        let waiting = writes.decide("ns/a", None, &status(0, true), minutes);
        assert_eq!(waiting, StatusWrite::Later(Duration::from_secs(10)));
        let done = writes.decide("ns/a", None, &status(1, false), minutes);
        assert_eq!(done, StatusWrite::Now);
    }

    #[test]
    fn a_task_that_cannot_be_placed_is_news() {
        let writes = StatusWrites::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let mut stuck = status(0, true);
        stuck.conditions = Some(vec![Condition {
            type_: SCHEDULED.into(),
            status: FALSE.into(),
            reason: "Unschedulable".into(),
            message: "1 task(s) cannot be placed: 0/3 nodes are available".into(),
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
            observed_generation: None,
        }]);
        let _ = writes.decide("ns/a", None, &stuck, t0);
        let due = writes.decide("ns/a", None, &stuck, t0 + Duration::from_secs(10));
        assert_eq!(due, StatusWrite::Now);
        // Once written, the same problem is no longer news.
        writes.written("ns/a", true, t0 + Duration::from_secs(10));
        let later = t0 + Duration::from_secs(30);
        assert_eq!(writes.decide("ns/a", Some(&stuck), &stuck, later), StatusWrite::Skip);
        let mut counted = stuck.clone();
        counted.tasks_staged = Some(1);
        assert_eq!(
            writes.decide("ns/a", Some(&stuck), &counted, later),
            StatusWrite::Later(Duration::from_secs(10))
        );
    }

    #[test]
    fn a_cache_behind_the_last_write_is_recognised_until_it_catches_up() {
        let writes = StatusWrites::new(Duration::from_secs(10));
        assert!(!writes.cache_behind("ns/a", "7"));
        writes.unseen("ns/a", "7", Some("8"));
        assert!(writes.cache_behind("ns/a", "7"), "the cache still shows version 7");
        assert!(!writes.cache_behind("ns/b", "7"), "other apps are not concerned");
        assert!(!writes.cache_behind("ns/a", "8"), "the write arrived");
        assert!(!writes.cache_behind("ns/a", "7"), "forgotten once seen");
        // A write that changed nothing leaves the cache current.
        writes.unseen("ns/a", "9", Some("9"));
        assert!(!writes.cache_behind("ns/a", "9"));
    }

    #[test]
    fn an_interval_of_zero_writes_every_change() {
        let writes = StatusWrites::new(Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(writes.decide("ns/a", None, &status(0, true), t0), StatusWrite::Now);
        let same = writes.decide("ns/a", Some(&status(0, true)), &status(0, true), t0);
        assert_eq!(same, StatusWrite::Skip);
    }
}
