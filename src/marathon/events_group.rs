//! The events of group deployments. A group deployment's progress is computed from all of
//! its apps (`deployments::group_deployment`), so its events cannot come from one app's
//! change alone: the stream remembers the step it announced for each group deployment and
//! says what changed since (each step's start and end once, then the end of the whole).

use std::collections::HashMap;

use super::{Event, Sides};
use crate::crd::{DeploymentStatus, MarathonApp};
use crate::marathon::deployments::{
    GroupDeployment, GroupMark, STOP, group_deployment, group_deployment_ids,
};

/// What the stream said last of one group deployment.
#[derive(Clone, Debug)]
enum Said {
    /// Its step `n` started (`deployment_info`); the status as it was then.
    Step(i32, DeploymentStatus),
    /// It succeeded or failed.
    Over,
}

/// What the event stream has announced of each group deployment.
#[derive(Debug, Default)]
pub struct GroupProgress {
    said: HashMap<String, Said>,
}

/// The status as it is at step `step` (1-based): that step's actions are the current ones.
fn at_step(status: &DeploymentStatus, step: i32) -> DeploymentStatus {
    let steps = status.steps.clone().unwrap_or_default();
    let actions = steps.get(step as usize - 1).map(|s| s.actions.clone()).unwrap_or_default();
    DeploymentStatus { current_step: Some(step), current_actions: Some(actions), ..status.clone() }
}

fn sides(deployment: &DeploymentStatus) -> Sides<'_> {
    Sides { deployment, original: None, target: None }
}

/// `deployment_info` and `deployment_step_success` of the steps `from..to` (1-based, `to`
/// excluded) of `status`: steps that started and ended between two observations.
fn passed_steps(status: &DeploymentStatus, from: i32, to: i32, now: &str) -> Vec<Event> {
    (from..to)
        .flat_map(|step| {
            let at = at_step(status, step);
            [sides(&at).info(now), sides(&at).step_success(now)]
        })
        .collect()
}

/// Whether `old` was a member of `id` that left it before its action was done: deleted
/// (other than stopped by it) or changed again.
fn left(id: &str, old: Option<&MarathonApp>, new: Option<&MarathonApp>) -> bool {
    let Some(mark) = old.and_then(GroupMark::of).filter(|m| m.id == id) else { return false };
    match new {
        None => mark.action != STOP,
        Some(new) => GroupMark::of(new).is_none_or(|m| m.id != id),
    }
}

impl GroupProgress {
    /// Takes what `apps` show as already said (a stream starting or catching up): no event
    /// repeats what a subscriber could have seen before.
    pub fn remember(&mut self, apps: &[&MarathonApp]) {
        self.said.clear();
        for id in group_deployment_ids(apps.iter().copied()) {
            if let Some(view) = group_deployment(&id, apps) {
                let said = if view.succeeded() {
                    Said::Over
                } else {
                    let step = view.status.current_step.unwrap_or(1);
                    Said::Step(step, view.status)
                };
                self.said.insert(id, said);
            }
        }
    }

    /// The group deployment events of one app's change (`old` -> `new`); `apps` is every app
    /// after the change.
    pub fn app_changed(
        &mut self,
        old: Option<&MarathonApp>,
        new: Option<&MarathonApp>,
        apps: &[&MarathonApp],
        now: &str,
    ) -> Vec<Event> {
        let mut ids: Vec<String> =
            old.into_iter().chain(new).filter_map(GroupMark::of).map(|m| m.id).collect();
        ids.dedup();
        let mut events = Vec::new();
        for id in ids {
            let view = group_deployment(&id, apps);
            events.extend(self.progress(&id, view.as_ref(), left(&id, old, new), now));
        }
        events
    }

    fn progress(
        &mut self,
        id: &str,
        view: Option<&GroupDeployment>,
        abandoned: bool,
        now: &str,
    ) -> Vec<Event> {
        let said = self.said.get(id).cloned();
        if matches!(said, Some(Said::Over)) {
            if view.is_none() {
                self.said.remove(id);
            }
            return Vec::new();
        }
        let last = match (&said, view) {
            (Some(Said::Step(_, status)), _) => Some(status.clone()),
            (_, Some(view)) => Some(view.status.clone()),
            _ => None,
        };
        let Some(last) = last else { return Vec::new() };
        let announced = match &said {
            Some(Said::Step(step, _)) => *step,
            _ => 0,
        };
        let mut events = Vec::new();
        if abandoned {
            let at = at_step(&last, announced.max(1));
            if announced == 0 {
                events.push(sides(&at).info(now));
            }
            events
                .extend(sides(&at).aborted("an app of the deployment was changed or deleted", now));
            self.said.insert(id.to_owned(), Said::Over);
            return events;
        }
        // Its plan is told only once every app of it is written (the facade writes them one
        // after the other, within milliseconds).
        if view.is_some_and(|v| !v.complete) {
            return events;
        }
        // No member left: the last ones were stopped (or the plan was only stops).
        let succeeded = view.is_none_or(GroupDeployment::succeeded);
        let status = view.map_or(last, |v| v.status.clone());
        let total = status.total_steps.unwrap_or(1).max(1);
        if succeeded {
            events.extend(self.close_step(&status, announced, now));
            events.extend(passed_steps(&status, announced + 1, total + 1, now));
            events.push(sides(&status).success(now));
            self.said.insert(id.to_owned(), Said::Over);
            return events;
        }
        let Some(view) = view.filter(|v| v.running()) else { return events };
        let step = view.status.current_step.unwrap_or(1);
        if step > announced {
            events.extend(self.close_step(&status, announced, now));
            events.extend(passed_steps(&status, announced + 1, step, now));
            events.push(sides(&at_step(&status, step)).info(now));
            self.said.insert(id.to_owned(), Said::Step(step, status));
        }
        events
    }

    /// `deployment_step_success` of the step announced last (none before the first).
    fn close_step(&self, status: &DeploymentStatus, announced: i32, now: &str) -> Vec<Event> {
        if announced == 0 {
            return Vec::new();
        }
        vec![sides(&at_step(status, announced)).step_success(now)]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crd::{MarathonAppSpec, MarathonAppStatus};
    use crate::marathon::deployments::{ANNOTATION_GROUP_DEPLOYMENT, deployment};

    const V: &str = "2026-01-01T00:00:00.000Z";

    fn mark(step: i32, action: &str, stopped: &[&str]) -> GroupMark {
        GroupMark {
            id: "g".into(),
            version: V.into(),
            step,
            action: action.into(),
            from: 0,
            apps: 2 + stopped.len(),
            stopped: stopped.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `id` marked with `mark`: created (generation 1), observed or not, rolling out or not.
    fn app(id: &str, mark: Option<&GroupMark>, observed: bool, rolling: bool) -> MarathonApp {
        let spec: MarathonAppSpec =
            serde_json::from_value(json!({"id": id, "cmd": "sleep 1"})).unwrap();
        let mut app = MarathonApp::new("x", spec);
        app.metadata.generation = Some(1);
        if let Some(mark) = mark {
            app.metadata.annotations =
                Some([(ANNOTATION_GROUP_DEPLOYMENT.to_owned(), mark.annotation())].into());
        }
        app.status = Some(MarathonAppStatus {
            observed_generation: Some(i64::from(observed)),
            deployment: rolling.then(|| Box::new(deployment(id, "u", 1, V, "StartApplication"))),
            ..MarathonAppStatus::default()
        });
        app
    }

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type).collect()
    }

    #[test]
    fn each_step_is_announced_once_and_the_deployment_ends_once() {
        let (db_mark, web_mark) =
            (mark(1, "StartApplication", &[]), mark(2, "StartApplication", &[]));
        let db_new = app("/s/db", Some(&db_mark), false, false);
        let web_new = app("/s/web", Some(&web_mark), false, false);
        let db_done = app("/s/db", Some(&db_mark), true, false);
        let web_rolling = app("/s/web", Some(&web_mark), true, true);
        let web_done = app("/s/web", Some(&web_mark), true, false);
        let mut progress = GroupProgress::default();

        // Nothing before the whole plan is written.
        assert!(progress.app_changed(None, Some(&db_new), &[&db_new], V).is_empty());
        let all = [&db_new, &web_new];
        let events = progress.app_changed(None, Some(&web_new), &all, V);
        assert_eq!(types(&events), ["deployment_info"]);
        assert_eq!(events[0].data["plan"]["id"], "g");
        assert_eq!(events[0].data["plan"]["steps"].as_array().unwrap().len(), 2);
        assert_eq!(events[0].data["currentStep"]["actions"][0]["app"], "/s/db");
        let events = progress.app_changed(Some(&db_new), Some(&db_done), &[&db_done, &web_new], V);
        assert_eq!(types(&events), ["deployment_step_success", "deployment_info"]);
        assert_eq!(events[0].data["currentStep"]["actions"][0]["app"], "/s/db");
        assert_eq!(events[1].data["currentStep"]["actions"][0]["app"], "/s/web");
        assert_eq!(events[1].data["plan"]["steps"].as_array().unwrap().len(), 2);
        let all = [&db_done, &web_rolling];
        assert!(progress.app_changed(Some(&web_new), Some(&web_rolling), &all, V).is_empty());
        let all = [&db_done, &web_done];
        let events = progress.app_changed(Some(&web_rolling), Some(&web_done), &all, V);
        assert_eq!(types(&events), ["deployment_step_success", "deployment_success"]);
        assert_eq!(events[1].data["id"], "g");
        // Later status changes of its apps say nothing more; a stream catching up neither.
        assert!(progress.app_changed(Some(&web_done), Some(&web_done), &all, V).is_empty());
        progress.remember(&all);
        assert!(progress.app_changed(Some(&web_done), Some(&web_done), &all, V).is_empty());
    }

    #[test]
    fn a_deployment_seen_only_when_done_reports_every_step_and_its_end() {
        let (db_mark, web_mark) =
            (mark(1, "StartApplication", &[]), mark(2, "StartApplication", &[]));
        let db = app("/s/db", Some(&db_mark), true, false);
        let web = app("/s/web", Some(&web_mark), true, false);
        let mut progress = GroupProgress::default();
        let events = progress.app_changed(None, Some(&web), &[&db, &web], V);
        assert_eq!(
            types(&events),
            [
                "deployment_info",
                "deployment_step_success",
                "deployment_info",
                "deployment_step_success",
                "deployment_success"
            ]
        );
    }

    #[test]
    fn a_member_deleted_or_changed_during_the_deployment_fails_it() {
        let (db_mark, web_mark) =
            (mark(1, "StartApplication", &[]), mark(2, "StartApplication", &[]));
        let db = app("/s/db", Some(&db_mark), true, true);
        let web = app("/s/web", Some(&web_mark), false, false);
        let mut progress = GroupProgress::default();
        progress.remember(&[&db, &web]);
        let events = progress.app_changed(Some(&web), None, &[&db], V);
        assert_eq!(types(&events), ["deployment_step_failure", "deployment_failed"]);
        assert_eq!(events[1].data["id"], "g");
        let unmarked = app("/s/db", None, true, true);
        assert!(progress.app_changed(Some(&db), Some(&unmarked), &[&unmarked], V).is_empty());
    }

    #[test]
    fn stopping_apps_ends_when_the_last_one_is_gone() {
        let stop = GroupMark { apps: 2, ..mark(1, STOP, &["/s/a", "/s/b"]) };
        let a = app("/s/a", Some(&stop), true, false);
        let b = app("/s/b", Some(&stop), true, false);
        let mut progress = GroupProgress::default();
        let events = progress.app_changed(None, Some(&a), &[&a, &b], V);
        assert_eq!(types(&events), ["deployment_info"]);
        assert_eq!(events[0].data["currentStep"]["actions"][0]["action"], STOP);
        assert!(progress.app_changed(Some(&a), None, &[&b], V).is_empty());
        let events = progress.app_changed(Some(&b), None, &[], V);
        assert_eq!(types(&events), ["deployment_step_success", "deployment_success"]);
    }
}
