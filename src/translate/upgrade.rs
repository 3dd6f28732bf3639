//! `upgradeStrategy` -> the workload's update strategy, with Marathon's arithmetic
//! (docs/mapping.md, "Upgrades"): `minHealthy = ceil(n * minimumHealthCapacity)`,
//! `maxCapacity = floor(n * (1 + maximumOverCapacity))`.

use k8s_openapi::api::apps::v1::{
    DeploymentStrategy, RollingUpdateDeployment, RollingUpdateStatefulSetStrategy,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// What decides the strategy besides `upgradeStrategy` itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Kind {
    /// Local persistent volumes (a StatefulSet).
    pub resident: bool,
    /// Any external volume.
    pub external: bool,
    /// `MARATHON_SINGLE_INSTANCE_APP: "true"`.
    pub single_instance: bool,
}

/// Marathon's defaults when `upgradeStrategy` is absent: `{1, 1}`; resident and external-volume
/// apps `{0.5, 0}`; single-instance apps `{0, 0}` (the only strategy Marathon accepts for them).
pub(crate) fn defaults(kind: Kind) -> (f64, f64) {
    if kind.single_instance {
        (0.0, 0.0)
    } else if kind.resident || kind.external {
        (0.5, 0.0)
    } else {
        (1.0, 1.0)
    }
}

/// The Recreate strategy: every old pod stops before a new one starts.
pub(crate) fn recreate() -> DeploymentStrategy {
    DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None }
}

/// `(maxUnavailable, maxSurge)` for a known instance count, or `None` when Marathon would
/// stop everything first (`{0, 0}`).
pub(crate) fn budget(
    instances: i32,
    min_health: f64,
    over: f64,
    resident: bool,
) -> Option<(i32, i32)> {
    let min_health = min_health.clamp(0.0, 1.0);
    let over = over.clamp(0.0, 1.0);
    if min_health == 0.0 && over == 0.0 {
        return None;
    }
    let n = f64::from(instances.max(0));
    // Float products such as 3 * 0.7 must not round the wrong way: nudge before ceil/floor.
    let min_healthy = (n * min_health - 1e-9).ceil().max(0.0);
    let max_capacity = (n * (1.0 + over) + 1e-9).floor();
    let mut unavailable = (n - min_healthy).max(0.0) as i32;
    let mut surge = (max_capacity - n).max(0.0) as i32;
    // No room either way: Marathon adds one instance of over-capacity, or for resident apps
    // (which cannot surge) kills one below minHealthy.
    if unavailable == 0 && surge == 0 {
        if resident {
            unavailable = 1;
        } else {
            surge = 1;
        }
    }
    Some((unavailable, surge))
}

/// The Deployment strategy for `instances` replicas; both budgets 0 stop the old tasks first.
pub(crate) fn deployment_strategy(
    instances: i32,
    min_health: f64,
    over: f64,
) -> DeploymentStrategy {
    match budget(instances, min_health, over, false) {
        None => recreate(),
        Some((unavailable, surge)) => DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::Int(unavailable)),
                max_surge: Some(IntOrString::Int(surge)),
            }),
        },
    }
}

/// The StatefulSet strategy: no surge exists, so only `maxUnavailable` carries the budget
/// (at least 1, as Marathon kills one below minHealthy when there is no room).
pub(crate) fn stateful_set_strategy(instances: i32, min_health: f64) -> StatefulSetUpdateStrategy {
    let unavailable =
        budget(instances, min_health, 0.0, true).map_or(instances.max(1), |(u, _)| u).max(1);
    StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            max_unavailable: (unavailable > 1).then_some(IntOrString::Int(unavailable)),
            partition: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marathon_default_is_blue_green() {
        // {1, 1}: start all new instances before killing any old one.
        assert_eq!(budget(4, 1.0, 1.0, false), Some((0, 4)));
    }

    #[test]
    fn arithmetic_matches_marathon() {
        assert_eq!(budget(10, 0.5, 0.2, false), Some((5, 2)));
        assert_eq!(budget(3, 0.7, 0.0, false), Some((0, 1)), "ceil(2.1)=3: no room, +1 surge");
        assert_eq!(budget(3, 0.5, 0.0, true), Some((1, 0)));
        assert_eq!(budget(1, 1.0, 0.0, true), Some((1, 0)), "resident: one kill below");
    }

    #[test]
    fn defaults_follow_marathon() {
        let kind =
            |resident, external, single_instance| Kind { resident, external, single_instance };
        assert_eq!(defaults(kind(false, false, false)), (1.0, 1.0));
        assert_eq!(defaults(kind(true, false, false)), (0.5, 0.0));
        assert_eq!(defaults(kind(false, true, false)), (0.5, 0.0), "external volumes");
        assert_eq!(defaults(kind(false, false, true)), (0.0, 0.0), "single instance");
    }

    #[test]
    fn both_zero_stops_old_first() {
        assert_eq!(budget(5, 0.0, 0.0, false), None);
        let s = deployment_strategy(5, 0.0, 0.0);
        assert_eq!(s.type_.as_deref(), Some("Recreate"));
    }
}
