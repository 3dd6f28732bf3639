#!/usr/bin/env python3
"""Drives a group through the real `marathon` client (PyPI 0.13.0) while following the event
stream: create a group of two apps where one depends on the other (one deployment whose second
step, the dependent, starts after its dependency runs), list the tree, scale it by 2, update it without one app (gone),
delete it; `event_stream()` must show the deployments and task updates of those steps in order.

    python marathon_groups.py --url http://127.0.0.1:8080 [--group /marathon-clients/groups]
"""

import argparse
import sys
import time
import traceback

from marathon_support import EventFollower, step  # first: it lets marathon 0.13.0 import

from marathon import MarathonApp, MarathonClient  # noqa: E402  (after the shim on purpose)
from marathon.exceptions import MarathonError, NotFoundError  # noqa: E402
from marathon.models.container import MarathonContainer, MarathonDockerContainer  # noqa: E402
from marathon.models.group import MarathonGroup  # noqa: E402

IMAGE = "docker.io/library/nginx:1.25-alpine"


class GroupFailure(Exception):
    """A wrong answer or a missing, misordered event."""


def expect(condition, message):
    if not condition:
        raise GroupFailure(message)


def app(app_id, dependencies=None):
    return MarathonApp(
        id=app_id, instances=1, cpus=0.01, mem=16, cmd="sleep 100000", dependencies=dependencies,
        container=MarathonContainer(type="DOCKER", docker=MarathonDockerContainer(image=IMAGE)),
    )


class GroupCheck:
    def __init__(self, client, events, group, timeout):
        self.client, self.timeout = client, timeout
        self.await_event = events.await_event
        self.group = group
        self.db, self.web = f"{group}/db", f"{group}/web"

    def success_of(self, result):
        deployment = result["deploymentId"]
        return lambda e: e.event_type == "deployment_success" and e.id == deployment

    def step_of(self, result, app_id):
        deployment = result["deploymentId"]
        return lambda e: (e.event_type == "deployment_info" and e.plan.id == deployment
                          and e.current_step["actions"][0]["app"] == app_id)

    def terminated(self, app_id):
        return lambda e: e.event_type == "app_terminated_event" and e.app_id == app_id

    def wait_running(self, app_id, instances):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            current = self.client.get_app(app_id)
            running = [t for t in current.tasks if t.state == "TASK_RUNNING"]
            if current.instances == instances and len(running) == instances:
                return current
            time.sleep(0.5)  # poll interval; the exit condition is the server's state
        raise GroupFailure(f"{app_id} did not run {instances} tasks within {self.timeout}s")

    def run(self):
        self.await_event("event_stream_attached", lambda e: e.event_type == "event_stream_attached")
        group = MarathonGroup(id=self.group, apps=[app("db"), app("web", dependencies=["db"])])
        created = self.client.create_group(group)
        self.await_event("api_post_event (db first)", lambda e: e.event_type == "api_post_event"
                         and e.app_definition["id"] == self.db)
        # One deployment for the group, its steps in dependency order.
        info = self.await_event("deployment_info (step 1: db)", self.step_of(created, self.db))
        steps = [[a.app for a in s.actions] for s in info.plan.steps]
        expect(steps == [[self.db], [self.web]], f"the group deployment's steps are {steps}")
        self.await_event("status_update_event db TASK_RUNNING", lambda e: e.event_type
                         == "status_update_event" and e.app_id == self.db
                         and e.task_status == "TASK_RUNNING")
        self.await_event("deployment_step_success (db)", lambda e: e.event_type
                         == "deployment_step_success"
                         and e.plan.id == created["deploymentId"])
        self.await_event("deployment_info (step 2: web)", self.step_of(created, self.web))
        self.await_event("status_update_event web TASK_RUNNING", lambda e: e.event_type
                         == "status_update_event" and e.app_id == self.web
                         and e.task_status == "TASK_RUNNING")
        self.await_event("deployment_success (create)", self.success_of(created))
        db, web = self.wait_running(self.db, 1), self.wait_running(self.web, 1)
        expect(min(t.staged_at for t in web.tasks) >= max(t.started_at for t in db.tasks),
               "web was staged before db ran")
        step("create_group", "web started after db ran")

        tree = self.client.list_groups()
        mine = [g for g in tree if self.group.startswith(g.id)]
        expect(mine, f"list_groups lacks {self.group}: {[g.id for g in tree]}")
        fetched = self.client.get_group(self.group)
        expect(sorted(a.id for a in fetched.apps) == [self.db, self.web],
               f"get_group apps {[a.id for a in fetched.apps]}")
        step("list_groups and get_group", f"{len(fetched.apps)} apps")

        scaled = self.client.scale_group(self.group, 2)
        self.await_event("deployment_success (scale)", self.success_of(scaled))
        self.wait_running(self.db, 2)
        self.wait_running(self.web, 2)
        step("scale_group by 2")

        updated = self.client.update_group(self.group, MarathonGroup(apps=[app("db")]), force=True)
        self.await_event("app_terminated_event web", self.terminated(self.web))
        self.await_event("deployment_success (update)", self.success_of(updated))
        try:
            self.client.get_app(self.web)
            raise GroupFailure(f"{self.web} still exists after the update left it out")
        except NotFoundError:
            step("update_group without web", "web is gone")

        deleted = self.client.delete_group(self.group, force=True)
        self.await_event("app_terminated_event db", self.terminated(self.db))
        self.await_event("deployment_success (delete)", self.success_of(deleted))
        step("delete_group")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--group", default="/marathon-clients/groups")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    client = MarathonClient(args.url, timeout=10)
    events = EventFollower(client, args.timeout, GroupFailure)
    try:
        GroupCheck(client, events, args.group, args.timeout).run()
    except (GroupFailure, MarathonError, TypeError, ValueError, KeyError, AttributeError) as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 1
    print("ok   groups passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
