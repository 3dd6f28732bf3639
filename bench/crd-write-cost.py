#!/usr/bin/env python3
"""The API server's CPU per MarathonApp write (issue 13): the CRD's CEL rules run on every
write of a MarathonApp, its status writes included.

Usage: bench/crd-write-cost.py KUBECONFIG APISERVER_PID [N]   (env SSA=1, REVISIONS=1)

On a test bed with the CRDs installed and nothing else running: creates N bench apps (the app
of benches/support/apps.rs) in namespace crd-write-cost, writes each one's status twice (merge
patches; server-side applies with SSA=1), and with REVISIONS=1 creates N ControllerRevisions as
the operator records a first version. Prints the kube-apiserver's CPU milliseconds (from
/proc/APISERVER_PID/stat) and the wall milliseconds per request. The CPU figure is noisy on a
shared machine; for a stable measure of the rules' cost, diff the API server's allocation
profile (`kubectl get --raw /debug/pprof/allocs`) taken before and after a run.
"""
import base64
import json
import os
import sys
import tempfile
import time

import requests
import yaml

NAMESPACE = "crd-write-cost"
GROUP = "apis/marathon-operator.dev/v1alpha1"


def session(kubeconfig):
    cfg = yaml.safe_load(open(kubeconfig))
    cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
    tmp = tempfile.mkdtemp()

    def dump(name, data):
        path = os.path.join(tmp, name)
        open(path, "wb").write(base64.b64decode(data))
        return path

    s = requests.Session()
    s.trust_env = False
    # The test bed's CA chain is not one requests accepts; this runs on loopback only.
    s.verify = False
    requests.packages.urllib3.disable_warnings()
    s.cert = (dump("crt", user["client-certificate-data"]), dump("key", user["client-key-data"]))
    return s, cluster["server"]


def app(i):
    return {"apiVersion": "marathon-operator.dev/v1alpha1", "kind": "MarathonApp",
            "metadata": {"name": f"app-{i:05}"},
            "spec": {"id": f"/bench/app-{i:05}",
                     "container": {"type": "DOCKER", "docker": {"image": "nginx:1.27"}},
                     "instances": 1, "cpus": 0.01, "mem": 16,
                     "portDefinitions": [{"port": 0, "name": "http"}],
                     "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/", "portIndex": 0}],
                     "labels": {"team": "bench"}}}


def status(round_, i):
    return {"tasksRunning": round_ + 1, "tasksStaged": i % 3, "observedGeneration": 1,
            "conditions": [{"type": t, "status": "True", "reason": "Test", "message": "m",
                            "lastTransitionTime": "2026-11-30T16:00:0%dZ" % round_}
                           for t in ("Available", "Progressing")]}


def main():
    kubeconfig, pid = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    s, base = session(kubeconfig)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_ms():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / ticks

    def timed(label, call):
        c0, t0 = cpu_ms(), time.time()
        for i in range(n):
            r = call(i)
            if r.status_code >= 300:
                sys.exit(f"{label} {i}: {r.status_code} {r.text[:300]}")
        c1, t1 = cpu_ms(), time.time()
        print(f"{label}: {(c1 - c0) / n:.2f} ms API server CPU each, "
              f"{(t1 - t0) * 1000 / n:.2f} ms wall each ({n})")

    s.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
    apps = f"{base}/{GROUP}/namespaces/{NAMESPACE}/marathonapps"
    try:
        timed("create", lambda i: s.post(apps, json=app(i)))
        for round_ in range(2):
            if os.environ.get("SSA"):
                url = "{}/app-{:05}/status?fieldManager=bench&force=true"
                headers = {"Content-Type": "application/apply-patch+yaml"}
                body = lambda i: {"apiVersion": "marathon-operator.dev/v1alpha1",
                                  "kind": "MarathonApp", "metadata": {"name": f"app-{i:05}"},
                                  "status": status(round_, i)}
            else:
                url = "{}/app-{:05}/status"
                headers = {"Content-Type": "application/merge-patch+json"}
                body = lambda i: {"status": status(round_, i)}
            timed(f"status write {round_ + 1}", lambda i: s.patch(
                url.format(apps, i), headers=headers, data=json.dumps(body(i))))
        if os.environ.get("REVISIONS"):
            revisions = f"{base}/apis/apps/v1/namespaces/{NAMESPACE}/controllerrevisions"
            timed("revision create", lambda i: s.post(revisions, json={
                "apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": f"app-{i:05}-v1"}, "revision": 1,
                "data": {"spec": app(i)["spec"], "version": "2026-11-30T16:00:00.000Z",
                         "lastConfigChangeAt": "2026-11-30T16:00:00.000Z"}}))
    finally:
        s.delete(f"{base}/api/v1/namespaces/{NAMESPACE}")


if __name__ == "__main__":
    main()
