#!/usr/bin/env python3
"""Follows the event stream through the real `marathon` client (PyPI 0.13.0) while an app is
created, scaled and deleted, and checks the events arrive, parse into the client's models
(deployment plans with `original` and `target`) and come in Marathon's order.

    python marathon_events.py --url http://127.0.0.1:8080 [--app-id /marathon-clients/events]
"""

import argparse
import collections
import collections.abc
import queue
import sys
import threading
import time
import traceback

# marathon 0.13.0 still uses the aliases removed from `collections` in Python 3.10.
for _name in ("Iterable", "Mapping", "MutableMapping", "Sequence"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from marathon import MarathonApp, MarathonClient  # noqa: E402  (after the shim on purpose)
from marathon.exceptions import MarathonError  # noqa: E402
from marathon.models.container import MarathonContainer, MarathonDockerContainer  # noqa: E402

IMAGE = "docker.io/library/nginx:1.25-alpine"


class EventFailure(Exception):
    """A missing, misshaped or misordered event."""


def step(name, detail=""):
    print(f"ok   {name}{': ' + detail if detail else ''}", flush=True)


def follow(client, events, errors):
    """Pushes every event of the stream onto `events` (runs in a thread)."""
    try:
        for event in client.event_stream():
            events.put(event)
    except Exception as e:  # the stream ended or an event did not parse: the check fails
        errors.put(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


class EventCheck:
    def __init__(self, client, events, errors, app_id, timeout):
        self.client, self.events, self.errors = client, events, errors
        self.app_id, self.timeout = app_id, timeout
        self.seen = []  # (eventType, detail) of every event, in order

    def next_event(self, deadline):
        while time.monotonic() < deadline:
            if not self.errors.empty():
                raise EventFailure(f"the event stream failed: {self.errors.get()}")
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(event.event_type)
            return event
        raise EventFailure(f"no event within {self.timeout}s; seen so far: {self.seen[-30:]}")

    def await_event(self, what, match):
        """Reads events until `match` accepts one; returns it."""
        deadline = time.monotonic() + self.timeout
        while True:
            event = self.next_event(deadline)
            if match(event):
                step(what, event.event_type)
                return event

    def ours(self, event):
        return getattr(event, "app_id", None) == self.app_id

    def deployment(self, event_type, deployment_id):
        def match(event):
            if event.event_type != event_type:
                return False
            plan = getattr(event, "plan", None)
            if event_type == "deployment_success":
                return event.id == deployment_id
            # marathon-python builds plan.original and plan.target: they must be there.
            return (plan is not None and plan.id == deployment_id
                    and plan.original is not None and plan.target is not None)
        return match

    def run(self):
        self.await_event("event_stream_attached",
                         lambda e: e.event_type == "event_stream_attached")
        app = MarathonApp(
            id=self.app_id, instances=1, cpus=0.01, mem=16, cmd="sleep 100000",
            container=MarathonContainer(type="DOCKER", docker=MarathonDockerContainer(image=IMAGE)),
        )
        created = self.client.create_app(self.app_id, app)
        if not created:
            raise EventFailure("create_app did not answer 201")
        create_id = created.deployments[0].id
        self.await_event("api_post_event", lambda e: e.event_type == "api_post_event"
                         and e.app_definition["id"] == self.app_id)
        self.await_event("group_change_success", lambda e: e.event_type == "group_change_success")
        self.await_event("deployment_info (create)", self.deployment("deployment_info", create_id))
        self.await_event("status_update_event TASK_RUNNING", lambda e: self.ours(e)
                         and e.event_type == "status_update_event"
                         and e.task_status == "TASK_RUNNING")
        self.await_event("deployment_success (create)",
                         self.deployment("deployment_success", create_id))

        scaled = self.client.scale_app(self.app_id, instances=2)
        scale_id = scaled["deploymentId"]
        self.await_event("deployment_info (scale)", self.deployment("deployment_info", scale_id))
        self.await_event("deployment_success (scale)",
                         self.deployment("deployment_success", scale_id))

        deleted = self.client.delete_app(self.app_id, force=True)
        delete_id = deleted["deploymentId"]
        self.await_event("app_terminated_event", lambda e: self.ours(e)
                         and e.event_type == "app_terminated_event")
        self.await_event("deployment_success (delete)",
                         self.deployment("deployment_success", delete_id))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--app-id", default="/marathon-clients/events")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds each awaited event may take")
    args = parser.parse_args()
    client = MarathonClient(args.url, timeout=10)
    events, errors = queue.Queue(), queue.Queue()
    threading.Thread(target=follow, args=(client, events, errors), daemon=True).start()
    try:
        EventCheck(client, events, errors, args.app_id, args.timeout).run()
    except (EventFailure, MarathonError, TypeError, ValueError, KeyError, AttributeError) as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 1
    print("ok   events passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
