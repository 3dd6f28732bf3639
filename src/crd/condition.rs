//! Status conditions shared by the project's resources: type and reason names, and a pure
//! [`set_condition`] that keeps `lastTransitionTime` unless the status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The app serves: at least the minimum number of instances are running (and healthy).
pub const AVAILABLE: &str = "Available";
/// A rollout (a Marathon deployment) is in progress.
pub const PROGRESSING: &str = "Progressing";
/// Something is wrong: fewer instances than wanted, failed translation or apply, ...
pub const DEGRADED: &str = "Degraded";
/// Parts of the definition could not be translated faithfully; the message lists them.
pub const TRANSLATION_WARNINGS: &str = "TranslationWarnings";
/// Every task of the app has been placed on a node; when not, the message is the scheduler's
/// reason (the same reason `/v2/queue` reports).
pub const SCHEDULED: &str = "Scheduled";
/// A HostVolume is bound to its PersistentVolume and claim.
pub const BOUND: &str = "Bound";

/// Condition status `True`.
pub const TRUE: &str = "True";
/// Condition status `False`.
pub const FALSE: &str = "False";
/// Condition status `Unknown`.
pub const UNKNOWN: &str = "Unknown";

/// Sets `new` in `conditions` (keyed by `type`). When a condition of that type exists with the
/// same status, its `lastTransitionTime` is kept; reason, message and observedGeneration are
/// updated. Returns true when anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            let last_transition_time: Time = if existing.status == new.status {
                existing.last_transition_time.clone()
            } else {
                new.last_transition_time.clone()
            };
            let updated = Condition { last_transition_time, ..new };
            if *existing == updated {
                false
            } else {
                *existing = updated;
                true
            }
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

/// The condition of type `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn cond(status: &str, reason: &str, secs: i64) -> Condition {
        Condition {
            type_: AVAILABLE.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(Timestamp::from_second(secs).expect("valid")),
        }
    }

    #[test]
    fn keeps_transition_time_when_status_is_unchanged() {
        let mut all = vec![cond(TRUE, "A", 10)];
        assert!(set_condition(&mut all, cond(TRUE, "B", 20)));
        assert_eq!(all[0].reason, "B");
        assert_eq!(all[0].last_transition_time, cond(TRUE, "A", 10).last_transition_time);
        assert!(!set_condition(&mut all, cond(TRUE, "B", 30)));
    }

    #[test]
    fn updates_transition_time_when_status_changes() {
        let mut all = vec![cond(TRUE, "A", 10)];
        assert!(set_condition(&mut all, cond(FALSE, "A", 20)));
        assert_eq!(all[0].last_transition_time, cond(FALSE, "A", 20).last_transition_time);
        assert_eq!(all.len(), 1);
    }

    #[test]
    fn appends_new_types() {
        let mut all = vec![cond(TRUE, "A", 10)];
        let mut other = cond(TRUE, "A", 10);
        other.type_ = DEGRADED.into();
        assert!(set_condition(&mut all, other));
        assert_eq!(all.len(), 2);
        assert!(find_condition(&all, DEGRADED).is_some());
    }
}
