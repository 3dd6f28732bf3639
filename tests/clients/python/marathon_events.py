#!/usr/bin/env python3
"""Follows the event stream through the real `marathon` client (PyPI 0.13.0) while an app is
created, scaled and deleted, and checks the events arrive, parse into the client's models
(deployment plans with `original` and `target`) and come in Marathon's order.

    python marathon_events.py --url http://127.0.0.1:8080 [--app-id /marathon-clients/events]
"""

import argparse
import sys
import traceback

from marathon_support import EventFollower  # first: it lets marathon 0.13.0 import

from marathon import MarathonApp, MarathonClient  # noqa: E402  (after the shim on purpose)
from marathon.exceptions import MarathonError  # noqa: E402
from marathon.models.container import MarathonContainer, MarathonDockerContainer  # noqa: E402

IMAGE = "docker.io/library/nginx:1.25-alpine"


class EventFailure(Exception):
    """A missing, misshaped or misordered event."""


class EventCheck:
    def __init__(self, client, events, app_id):
        self.client, self.events, self.app_id = client, events, app_id
        self.await_event = events.await_event

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
    events = EventFollower(client, args.timeout, EventFailure)
    try:
        EventCheck(client, events, args.app_id).run()
    except (EventFailure, MarathonError, TypeError, ValueError, KeyError, AttributeError) as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 1
    print("ok   events passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
