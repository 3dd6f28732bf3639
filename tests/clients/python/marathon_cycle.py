#!/usr/bin/env python3
"""Drives a full Marathon app cycle through the real `marathon` client (PyPI 0.13.0).

Every answer is checked; the first wrong one ends the run with exit code 1 and a message saying
what was expected. One line is printed per step. Waits end on the server's own state (the
deployment gone from GET /v2/deployments and the app's tasks running), never on a fixed sleep.

    python marathon_cycle.py --url http://127.0.0.1:8080 [--user U --password P]
"""

import argparse
import importlib.metadata
import re
import sys
import time
import traceback

from marathon_support import step  # first: it lets marathon 0.13.0 import

from marathon import MarathonClient, MarathonApp  # noqa: E402  (after the shim on purpose)
from marathon.exceptions import ConflictError, MarathonError, NotFoundError  # noqa: E402
from marathon.models.app import MarathonHealthCheck  # noqa: E402
from marathon.models.container import (  # noqa: E402
    MarathonContainer,
    MarathonContainerPortMapping,
    MarathonDockerContainer,
)

IMAGE_V1 = "docker.io/library/nginx:1.25-alpine"
IMAGE_V2 = "docker.io/library/nginx:1.27-alpine"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KNOWN_ACTIONS = {
    "StartApplication", "StopApplication", "ScaleApplication", "RestartApplication",
    "ResolveArtifacts",
}


class CycleFailure(Exception):
    """A wrong answer from the server."""


def expect(condition, message):
    if not condition:
        raise CycleFailure(message)


class Cycle:
    def __init__(self, client, app_id, timeout):
        self.client = client
        self.app_id = app_id
        self.timeout = timeout
        self.versions_seen = []  # `version` of every deployment result, in order
        self.deployments_observed = 0

    # ----------------------------------------------------------------------------------------
    # Waiting on the server's state

    def check_deployment_shape(self, deployment):
        """Validates a deployment of this app seen in GET /v2/deployments."""
        d = deployment
        expect(self.app_id in (d.affected_apps or []),
               f"deployment {d.id}: affectedApps {d.affected_apps} lacks {self.app_id}")
        expect(isinstance(d.total_steps, int) and d.total_steps >= 1,
               f"deployment {d.id}: totalSteps {d.total_steps!r} is not a positive integer")
        expect(len(d.steps) == d.total_steps,
               f"deployment {d.id}: {len(d.steps)} steps but totalSteps {d.total_steps}")
        expect(isinstance(d.current_step, int) and 0 <= d.current_step <= d.total_steps,
               f"deployment {d.id}: currentStep {d.current_step!r} outside 0..{d.total_steps}")
        expect(TIMESTAMP.match(d.version or ""),
               f"deployment {d.id}: version {d.version!r} is not Marathon's timestamp format")
        for s in d.steps:
            for action in s.actions:
                expect(action.action in KNOWN_ACTIONS,
                       f"deployment {d.id}: unknown action {action.action!r}")
        self.deployments_observed += 1

    def deployment_running(self, deployment_id):
        running = False
        for d in self.client.list_deployments():
            if self.app_id in (d.affected_apps or []):
                self.check_deployment_shape(d)
            running = running or d.id == deployment_id
        return running

    def wait_deployed(self, deployment_id, instances):
        """Waits until `deployment_id` is gone and `instances` tasks run; returns the app."""
        deadline = time.monotonic() + self.timeout
        last = "nothing seen yet"
        while time.monotonic() < deadline:
            if not self.deployment_running(deployment_id):
                app = self.client.get_app(self.app_id, embed_tasks=True, embed_counts=True)
                running = [t for t in app.tasks if t.state == "TASK_RUNNING"]
                last = (f"deployment gone; instances={app.instances} "
                        f"tasksRunning={app.tasks_running} tasks={len(app.tasks)}")
                if (app.instances == instances and app.tasks_running == instances
                        and len(app.tasks) == instances and len(running) == instances):
                    return app
            else:
                last = f"deployment {deployment_id} still listed in GET /v2/deployments"
            time.sleep(0.5)  # poll interval; the exit condition is the server's state
        raise CycleFailure(f"timed out after {self.timeout}s waiting for deployment "
                           f"{deployment_id} with {instances} running tasks ({last})")

    def deployment_result(self, what, result):
        """Checks a `{deploymentId, version}` answer and records its version."""
        expect(isinstance(result, dict), f"{what}: answer {result!r} is not a JSON object")
        dep, version = result.get("deploymentId"), result.get("version")
        expect(isinstance(dep, str) and dep, f"{what}: no deploymentId in {result!r}")
        expect(isinstance(version, str) and TIMESTAMP.match(version),
               f"{what}: version {version!r} is not Marathon's timestamp format")
        self.versions_seen.append(version)
        return dep, version

    def expect_current_version(self, what, app, version):
        expect(app.version == version,
               f"{what}: app version {app.version!r}, the deployment answered {version!r}")

    # ----------------------------------------------------------------------------------------
    # The cycle

    def absent(self):
        try:
            self.client.get_app(self.app_id)
        except NotFoundError as e:
            # Marathon's body is {"message": "App '/id' does not exist"}, not a bare route 404.
            message = getattr(e, "error_message", "")
            expect(self.app_id in message,
                   f"get_app before create: the 404 message {message!r} does not name the app")
            step("get_app before create", f"404 NotFoundError: {message}")
            return
        raise CycleFailure(f"app {self.app_id} exists before the test created it")

    def create(self):
        app = MarathonApp(
            cpus=0.1, mem=32, instances=2, labels={"suite": "clients-python"},
            container=MarathonContainer(
                type="DOCKER",
                docker=MarathonDockerContainer(image=IMAGE_V1),
                port_mappings=[MarathonContainerPortMapping(
                    name="http", container_port=80, host_port=0, protocol="tcp")],
            ),
            networks=[{"mode": "container/bridge"}],
            health_checks=[MarathonHealthCheck(
                protocol="HTTP", path="/", port_index=0, grace_period_seconds=30,
                interval_seconds=10, timeout_seconds=5, max_consecutive_failures=3)],
        )
        created = self.client.create_app(self.app_id, app)
        expect(created is not False, "create_app: status was not 201")
        expect(created.id == self.app_id, f"create_app: id {created.id!r}")
        expect(created.instances == 2, f"create_app: instances {created.instances!r}")
        expect(created.container.docker.image == IMAGE_V1,
               f"create_app: image {created.container.docker.image!r}")
        ports = [pm.container_port for pm in created.container.port_mappings]
        expect(ports == [80], f"create_app: containerPorts {ports}")
        expect(len(created.health_checks) == 1,
               f"create_app: {len(created.health_checks)} health checks")
        expect(created.deployments and created.deployments[0].id,
               f"create_app: no deployments[0].id in {created.deployments!r}")
        expect(TIMESTAMP.match(created.version or ""),
               f"create_app: version {created.version!r} is not Marathon's timestamp format")
        self.versions_seen.append(created.version)
        self.first_version = created.version
        deployment = created.deployments[0].id
        step("create_app", f"201, deployment {deployment}, version {created.version}")

        try:
            self.client.create_app(self.app_id, app)
            raise CycleFailure("create_app of an existing id did not answer 409")
        except ConflictError:
            step("create_app again", "409 ConflictError")

        app = self.wait_deployed(deployment, 2)
        self.expect_current_version("create_app", app, created.version)
        step("wait for create", f"{app.tasks_running} tasks running")

    def list_and_get(self):
        apps = self.client.list_apps(embed_tasks=True, embed_counts=True,
                                     embed_deployments=True, embed_last_task_failure=True)
        mine = [a for a in apps if a.id == self.app_id]
        expect(len(mine) == 1, f"list_apps(embed): {len(mine)} entries for {self.app_id}")
        expect(len(mine[0].tasks) == 2 and mine[0].tasks_running == 2,
               f"list_apps(embed): tasks={len(mine[0].tasks)} running={mine[0].tasks_running}")
        step("list_apps embed app.tasks/counts/deployments/lastTaskFailure", f"{len(apps)} apps")

        plain = [a for a in self.client.list_apps(app_id=self.app_id) if a.id == self.app_id]
        expect(len(plain) == 1, f"list_apps(id=...): {len(plain)} entries")
        expect(plain[0].tasks == [], "list_apps without embed: tasks are embedded anyway")
        expect(plain[0].tasks_running == 2,
               f"list_apps without embed: tasksRunning {plain[0].tasks_running!r} (always embedded)")
        step("list_apps id filter without embed", "counts, no tasks")

        labelled = self.client.list_apps(label="suite==clients-python")
        expect(self.app_id in [a.id for a in labelled],
               f"list_apps(label=suite==clients-python): {[a.id for a in labelled]}")
        strays = [a.id for a in labelled if a.labels.get("suite") != "clients-python"]
        expect(not strays, f"list_apps(label=suite==clients-python) also lists {strays}")
        step("list_apps label filter", self.app_id)

        app = self.client.get_app(self.app_id, embed_tasks=True, embed_counts=True,
                                  embed_deployments=True)
        expect(len(app.tasks) == 2, f"get_app(embed): {len(app.tasks)} tasks")
        for t in app.tasks:
            expect(t.id and t.host, f"get_app: task without id or host: {t}")
            expect(t.app_id == self.app_id, f"get_app: task appId {t.app_id!r}")
            expect(t.state == "TASK_RUNNING", f"get_app: task state {t.state!r}")
            expect(t.started_at is not None and t.staged_at is not None,
                   f"get_app: running task {t.id} without stagedAt/startedAt")
        bare = self.client.get_app(self.app_id)
        expect(len(bare.tasks) == 2, f"get_app without embed: {len(bare.tasks)} tasks (always)")
        step("get_app with embedded tasks", ", ".join(t.id for t in app.tasks))

    def scale(self, expected, **kwargs):
        result = self.client.scale_app(self.app_id, **kwargs)
        dep, version = self.deployment_result("scale_app", result)
        app = self.wait_deployed(dep, expected)
        self.expect_current_version("scale_app", app, version)
        step(f"scale_app {kwargs}", f"deployment {dep}, {app.tasks_running} tasks running")

    def update_image(self):
        app = self.client.get_app(self.app_id)
        old_tasks = {t.id for t in app.tasks}
        app.container.docker.image = IMAGE_V2
        # The fetched app goes back as it is, read-only fields included, as scripts do.
        dep, version = self.deployment_result("update_app",
                                              self.client.update_app(self.app_id, app))
        app = self.wait_deployed(dep, 2)
        self.expect_current_version("update_app", app, version)
        expect(app.container.docker.image == IMAGE_V2,
               f"update_app: image {app.container.docker.image!r}")
        expect(not old_tasks & {t.id for t in app.tasks},
               f"update_app: tasks {old_tasks & {t.id for t in app.tasks}} survived the change")
        for t in app.tasks:
            expect(t.version, f"update_app: task {t.id} has no version")
            image = self.client.get_version(self.app_id, t.version).container.docker.image
            expect(image == IMAGE_V2, f"update_app: task {t.id} runs version {t.version} "
                                      f"whose image is {image!r}")
        step("update_app image", f"deployment {dep}, tasks replaced")

    def versions(self):
        versions = self.client.list_versions(self.app_id)
        for v in versions:
            expect(TIMESTAMP.match(v), f"list_versions: {v!r} is not Marathon's timestamp format")
        missing = [v for v in self.versions_seen if v not in versions]
        expect(not missing, f"list_versions: {versions} lacks versions answered earlier {missing}")
        expect(min(versions) == self.first_version,
               f"list_versions: oldest {min(versions)!r}, created as {self.first_version!r}")
        first = self.client.get_version(self.app_id, self.first_version)
        expect(first.container.docker.image == IMAGE_V1 and first.instances == 2,
               f"get_version(first): image {first.container.docker.image!r}, "
               f"instances {first.instances!r}")
        step("list_versions", f"{len(versions)} versions")

    def rollback(self):
        result = self.client.rollback_app(self.app_id, self.first_version)
        dep, version = self.deployment_result("rollback_app", result)
        expect(version != self.first_version, "rollback_app: answered the old version itself")
        app = self.wait_deployed(dep, 2)
        self.expect_current_version("rollback_app", app, version)
        expect(app.container.docker.image == IMAGE_V1,
               f"rollback_app: image {app.container.docker.image!r}")
        step("rollback_app to the first version", f"deployment {dep}, new version {version}")

    def restart(self):
        old_tasks = {t.id for t in self.client.get_app(self.app_id).tasks}
        dep, version = self.deployment_result("restart_app",
                                              self.client.restart_app(self.app_id))
        app = self.wait_deployed(dep, 2)
        self.expect_current_version("restart_app", app, version)
        expect(not old_tasks & {t.id for t in app.tasks},
               f"restart_app: tasks {old_tasks & {t.id for t in app.tasks}} were not replaced")
        step("restart_app", f"deployment {dep}, tasks replaced")

    def kill_with_scale(self):
        tasks = sorted(t.id for t in self.client.get_app(self.app_id).tasks)
        expect(len(tasks) == 2, f"kill_task: expected 2 tasks before, got {tasks}")
        victim, survivor = tasks
        result = self.client.kill_task(self.app_id, victim, scale=True)
        dep, version = self.deployment_result("kill_task(scale=True)", result)
        app = self.wait_deployed(dep, 1)
        self.expect_current_version("kill_task(scale=True)", app, version)
        expect([t.id for t in app.tasks] == [survivor],
               f"kill_task(scale=True): tasks {[t.id for t in app.tasks]}, expected only "
               f"{survivor} (killed {victim})")
        step("kill_task scale=True", f"{victim} gone, instances 1, {survivor} kept")

    def no_deployments_left(self):
        mine = [d.id for d in self.client.list_deployments()
                if self.app_id in (d.affected_apps or [])]
        expect(not mine, f"list_deployments: finished deployments still listed: {mine}")
        step("list_deployments", f"none left for {self.app_id}; "
                                 f"{self.deployments_observed} running ones seen and checked")

    def delete(self):
        dep, _ = self.deployment_result("delete_app", self.client.delete_app(self.app_id))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                self.client.get_app(self.app_id)
            except NotFoundError:
                if not self.deployment_running(dep):
                    break
            time.sleep(0.5)
        else:
            raise CycleFailure(f"delete_app: app still there or deployment {dep} still "
                               f"running after {self.timeout}s")
        expect(self.app_id not in [a.id for a in self.client.list_apps()],
               "delete_app: list_apps still lists the app")
        step("delete_app", f"deployment {dep}, GET answers 404")

    def run(self):
        self.absent()
        self.create()
        self.list_and_get()
        self.scale(3, instances=3)
        self.scale(2, delta=-1)
        self.update_image()
        self.versions()
        self.rollback()
        self.restart()
        self.kill_with_scale()
        self.no_deployments_left()
        self.delete()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="Marathon URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--app-id", default="/marathon-clients/python")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds each deployment may take")
    args = parser.parse_args()

    version = importlib.metadata.version("marathon")
    print(f"marathon-python {version} against {args.url}", flush=True)
    if version != "0.13.0":
        print(f"FAIL this cycle is for marathon 0.13.0, not {version}", flush=True)
        return 1
    client = MarathonClient(args.url, username=args.user, password=args.password, timeout=10)
    try:
        Cycle(client, args.app_id, args.timeout).run()
    except CycleFailure as e:
        print(f"FAIL {e}", flush=True)
        return 1
    except MarathonError as e:
        # Error statuses (MarathonHttpError and its kin) and unreachable servers.
        print(f"FAIL the client raised {type(e).__name__}: {e}", flush=True)
        return 1
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        # The client's strict models refuse JSON with unknown keys or bad values this way.
        print(f"FAIL the client could not take an answer: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 1
    print("ok   full cycle passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
