#!/usr/bin/env python3
"""Side-by-side translation benchmark: marathon-operator `convert` against dcos-migrate.

Run through bench/dcos-migrate.sh, which fetches dcos-migrate (d2iq-ps/dcos-migrate @ e3e3f97,
Apache-2.0) into a cache outside this repository and prepares a venv with PyYAML. This driver:

1. proves the dcos-migrate code it is given is the tool's own: it translates every dcos-migrate
   fixture app and compares the result with the generated outputs in
   ../shared/migration-fixtures/dcos-migrate/*.k8s.generated.yaml;
2. collects the Marathon apps of ../shared/marathon-examples and ../shared/migration-fixtures/
   dcos-migrate, keeps the distinct ones both tools translate without error, and repeats them
   with varied ids into one /v2/apps dump (as benches/convert.rs does);
3. times both tools end to end on that dump (JSON text in, Kubernetes YAML out): dcos-migrate
   in this process (json.loads, then per app translate_app + translate_service and its
   manifest writer), marathon-operator as a child process, and prints medians and ratios.
"""

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dcos_migrate_shim import load_translator

REPO = Path(__file__).resolve().parents[2]
FIXTURES = "migration-fixtures/dcos-migrate"
# Key order of dcos-migrate's Manifest.dumps (src/dcos_migrate/system/manifest.py).
MANIFEST_KEY_ORDER = ["apiVersion", "kind", "metadata", "type", "spec", "data", "stringData"]
# Settings its `migrate` command hard-codes (MarathonMigrator.translate_marathon).
DEFAULT_IMAGE, FETCH_WORKDIR = "alpine:latest", "/"


class DcosMigrate:
    """dcos-migrate's Marathon translation, called the way its migrate command calls it."""

    def __init__(self, src: Path):
        self.app_translator, self.service_translator, self.app_secrets = load_translator(src)
        import yaml

        self.yaml = yaml

    def translate(self, app: dict) -> tuple:
        """(documents, warnings) for one app; no documents for an app the command skips."""
        if app.get("labels", {}).get("DCOS_PACKAGE_FRAMEWORK_NAME"):
            return [], ["skipped: runs a Mesos framework"]
        documents, warnings = self.translate_app_and_service(app)
        return documents, [w for _, w in warnings]

    def translate_app_and_service(self, app: dict) -> tuple:
        """translate_app then translate_service, with the command's settings and its per-app
        secret mapping: (documents, [(kind, warning)])."""
        at = self.app_translator
        settings = at.Settings(
            container_defaults=at.ContainerDefaults(DEFAULT_IMAGE, FETCH_WORKDIR),
            app_secret_mapping=self.app_secrets.TrackingAppSecretMapping(app["id"], app.get("secrets", {})),
        )
        translated = at.translate_app(app, settings)
        kind = translated.deployment["kind"]
        warnings = [(kind, w) for w in translated.warnings]
        label = translated.deployment["metadata"]["labels"]["app"]
        service, service_warnings = self.service_translator.translate_service(label, app)
        warnings += [("Service", w) for w in service_warnings]
        return [translated.deployment] + ([service] if service else []), warnings

    def dumps(self, documents: list, dumper=None) -> str:
        """The YAML of one manifest, as Manifest.dumps writes it (yaml.dump, fixed key order);
        `dumper` swaps PyYAML's pure-Python emitter for another (libyaml's, for comparison)."""
        docs = []
        for doc in documents:
            ordered = {k: doc[k] for k in MANIFEST_KEY_ORDER if k in doc}
            docs.append(self.yaml.dump(ordered, sort_keys=False, Dumper=dumper or self.yaml.Dumper))
        return "---\n" + "\n---\n".join(docs)


# ---------------------------------------------------------------------------------------------
# Inputs


def apps_in(value, group_id: str = "/") -> list:
    """The app definitions in one JSON document: an app, a list, a /v2/apps dump, {"app": ...},
    or a group (ids relative to the group, as Marathon resolves them)."""
    if isinstance(value, list):
        return [app for item in value for app in apps_in(item, group_id)]
    if not isinstance(value, dict):
        return []
    if "app" in value and isinstance(value["app"], dict):
        return apps_in(value["app"], group_id)
    if "apps" in value or "groups" in value:
        base = absolute(value.get("id", group_id), group_id)
        apps = [a for app in value.get("apps") or [] for a in apps_in(app, base)]
        return apps + [a for g in value.get("groups") or [] for a in apps_in(g, base)]
    if isinstance(value.get("id"), str) and "containers" not in value:
        return [dict(value, id=absolute(value["id"], group_id))]
    return []


def absolute(app_id: str, group_id: str) -> str:
    return app_id if app_id.startswith("/") else group_id.rstrip("/") + "/" + app_id


def corpus_apps(shared: Path) -> list:
    """(source file, app) for every app of the two corpora, distinct by content."""
    files = sorted((shared / "marathon-examples").glob("*.json"))
    files += sorted((shared / FIXTURES).glob("*.app.json"))
    files += sorted((shared / FIXTURES).glob("marathon-app.*.json"))
    seen, out = set(), []
    for path in files:
        for app in apps_in(json.loads(path.read_text())):
            key = json.dumps(app, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append((path, app))
    return out


def ours_accepts(binary: str, app: dict, work: Path) -> bool:
    """marathon-operator converts the app alone (exit 0; warnings allowed)."""
    path = work / "one.json"
    path.write_text(json.dumps(app))
    cmd = [binary, "convert", "--output", "k8s", str(path)]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def theirs_accepts(dm: DcosMigrate, app: dict) -> bool:
    """dcos-migrate translates the app without an exception (and does not skip it)."""
    try:
        documents, _ = dm.translate(json.loads(json.dumps(app)))
        return bool(documents)
    except Exception:  # noqa: BLE001 - any exception is the tool refusing the app
        return False


def build_dump(templates: list, count: int) -> str:
    apps = []
    for i in range(count):
        app = json.loads(json.dumps(templates[i % len(templates)]))
        app["id"] = "/bench/team-{}/app-{}".format(i % 50, i)
        apps.append(app)
    return json.dumps({"apps": apps})


# ---------------------------------------------------------------------------------------------
# Fidelity check against the generated fixtures


def fixture_expectation(text: str) -> tuple:
    """(documents, comment lines) of a *.k8s.generated.yaml file."""
    import yaml

    comments = [line for line in text.splitlines() if line.startswith("#")]
    return [d for d in yaml.safe_load_all(text) if d is not None], comments


def reproduces(dm: DcosMigrate, source: Path, expected: str) -> tuple:
    """(ok, what we got): same documents and every translator warning in the recorded comments,
    or the same exception as recorded. Fixture inputs may be one-element lists (a /v2/apps
    export); they were translated directly, so apps the command skips are translated too."""
    documents, comments = fixture_expectation(expected)
    value = json.loads(source.read_text())
    app = value[0] if isinstance(value, list) else value
    try:
        got, warnings = dm.translate_app_and_service(app)
    except Exception as err:  # noqa: BLE001 - compared with the recorded exception
        raised = "#   translator raised {}: {}".format(type(err).__name__, err)
        return raised in comments, raised
    lines = ["#   " + line for kind, w in warnings for line in "[{}] {}".format(kind, w).split("\n")]
    return got == documents and all(line in comments for line in lines), got


def check_fixtures(dm: DcosMigrate, shared: Path) -> int:
    """Compares dcos-migrate's output on each fixture app with the generated file; returns the
    number of mismatches (each printed)."""
    expected = sorted((shared / FIXTURES).glob("*.k8s.generated.yaml"))
    mismatches = 0
    for path in expected:
        stem = path.name[: -len(".k8s.generated.yaml")]
        source = shared / FIXTURES / (stem + (".app.json" if stem.startswith("inline.") else ".json"))
        ok, got = reproduces(dm, source, path.read_text())
        if not ok:
            mismatches += 1
            print("  MISMATCH {}: got {!r}".format(path.name, got), file=sys.stderr)
    print("fixtures: {} of {} generated outputs reproduced (objects and warnings)".format(
        len(expected) - mismatches, len(expected)))
    return mismatches


# ---------------------------------------------------------------------------------------------
# Measurement


def time_dcos_migrate(dm: DcosMigrate, dump_path: Path, writer: str = "yaml.dump") -> dict:
    """One end-to-end run in this process: read the dump, json.loads, translate and write every
    app's manifest into a buffer. `writer`: "yaml.dump" (as the migrate command), "libyaml"
    (PyYAML's C emitter instead) or "none" (translation only, no YAML)."""
    dumper = dm.yaml.CDumper if writer == "libyaml" else None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    apps = json.loads(dump_path.read_text())["apps"]
    out, documents = io.StringIO(), 0
    for app in apps:
        docs, _warnings = dm.translate(app)
        documents += len(docs)
        if writer != "none":
            out.write(dm.dumps(docs, dumper))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu, "bytes": len(out.getvalue().encode()), "documents": documents}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_ours(binary: str, output: str, dump_path: Path, threads) -> dict:
    """One run of `marathon-operator convert --output <output> dump.json > /dev/null`."""
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    cmd = [binary, "convert", "--output", output, str(dump_path)]
    cpu0, wall0 = children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall, cpu = time.perf_counter() - wall0, children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit("{} exited with {}".format(" ".join(cmd), done.returncode))
    return {"wall": wall, "cpu": cpu}


def our_output_size(binary: str, dump_path: Path) -> tuple:
    """(bytes, documents) of our --output k8s on the dump."""
    done = subprocess.run(
        [binary, "convert", "--output", "k8s", str(dump_path)], capture_output=True, check=True
    )
    documents = sum(1 for line in done.stdout.splitlines() if line.startswith(b"kind: "))
    return len(done.stdout), documents


def summarise(runs: list) -> dict:
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "wall_min": min(r["wall"] for r in runs),
        "cpu_min": min(r["cpu"] for r in runs),
    }


def measure(dm: DcosMigrate, binary: str, dump_path: Path, runs: int) -> dict:
    """Median (and best) of `runs` runs of each configuration, after one warm-up run each, the
    configurations interleaved so a change in the machine's load hits all of them alike."""
    configs = {
        "dcos-migrate": lambda: time_dcos_migrate(dm, dump_path),
        "dcos-migrate, libyaml emitter": lambda: time_dcos_migrate(dm, dump_path, "libyaml"),
        "dcos-migrate, translation only": lambda: time_dcos_migrate(dm, dump_path, "none"),
        "ours k8s": lambda: time_ours(binary, "k8s", dump_path, None),
        "ours k8s 1 thread": lambda: time_ours(binary, "k8s", dump_path, 1),
        "ours marathonapp": lambda: time_ours(binary, "marathonapp", dump_path, None),
        "ours marathonapp 1 thread": lambda: time_ours(binary, "marathonapp", dump_path, 1),
    }
    results = {name: [] for name in configs}
    for run in configs.values():
        run()
    for _ in range(runs):
        for name, run in configs.items():
            results[name].append(run())
    return {name: dict(summarise(r), runs=r) for name, r in results.items()}


def print_table(results: dict, apps: int) -> None:
    theirs = results["dcos-migrate"]
    print()
    print("| run | wall (median) | apps/s (wall) | us/app wall | us/app CPU | ratio ours/theirs, wall | "
          "ratio ours/theirs, CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        ratio_wall = "-" if name.startswith("dcos-migrate") else "{:.4f}".format(r["wall"] / theirs["wall"])
        ratio_cpu = "-" if name.startswith("dcos-migrate") else "{:.4f}".format(r["cpu"] / theirs["cpu"])
        print("| {} | {:.3f} s | {:,.0f} | {:.1f} | {:.1f} | {} | {} |".format(
            name, r["wall"], apps / r["wall"], r["wall"] * 1e6 / apps, r["cpu"] * 1e6 / apps,
            ratio_wall, ratio_cpu))
    print()
    for name, r in results.items():
        runs = ", ".join("{:.3f}/{:.3f}".format(x["wall"], x["cpu"]) for x in r["runs"])
        print("{}: wall/CPU s per run: {}; best wall {:.3f} s, best CPU {:.3f} s".format(
            name, runs, r["wall_min"], r["cpu_min"]))
    print()
    print("speed-up (theirs/ours, medians): --output k8s {:.1f}x wall, {:.1f}x CPU; one thread "
          "{:.1f}x wall, {:.1f}x CPU".format(
              theirs["wall"] / results["ours k8s"]["wall"], theirs["cpu"] / results["ours k8s"]["cpu"],
              theirs["wall"] / results["ours k8s 1 thread"]["wall"],
              theirs["cpu"] / results["ours k8s 1 thread"]["cpu"]))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split(" ")[:3])


def select_templates(dm: DcosMigrate, binary: str, shared: Path, work: Path) -> list:
    candidates = corpus_apps(shared)
    ours = [(p, a) for p, a in candidates if ours_accepts(binary, a, work)]
    theirs = [(p, a) for p, a in candidates if theirs_accepts(dm, a)]
    ours_keys = {json.dumps(a, sort_keys=True) for _, a in ours}
    both = [(p, a) for p, a in theirs if json.dumps(a, sort_keys=True) in ours_keys]
    print("distinct apps in the corpora: {}; marathon-operator accepts {}, dcos-migrate {}, "
          "both {}".format(len(candidates), len(ours), len(theirs), len(both)))
    theirs_keys = {json.dumps(a, sort_keys=True) for _, a in theirs}
    for label, group in (("both", both), ("only marathon-operator", [x for x in ours if key(x) not in theirs_keys]),
                         ("only dcos-migrate", [x for x in theirs if key(x) not in ours_keys])):
        for path, app in group:
            print("  {}: {} {}".format(label, path.relative_to(shared), app["id"]))
    return [app for _, app in both]


def key(item: tuple) -> str:
    return json.dumps(item[1], sort_keys=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, type=Path, help="dcos-migrate source tree")
    parser.add_argument("--binary", required=True, help="marathon-operator binary")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    dm = DcosMigrate(args.src)
    if check_fixtures(dm, args.shared):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        templates = select_templates(dm, args.binary, args.shared, work)
        dump_path = work / "dump.json"
        dump_path.write_text(build_dump(templates, args.apps))
        print("dump: {} apps from {} templates, {:.1f} MiB of JSON".format(
            args.apps, len(templates), dump_path.stat().st_size / 1048576))
        our_bytes, our_docs = our_output_size(args.binary, dump_path)
        their = time_dcos_migrate(dm, dump_path)
        print("output: marathon-operator {} documents, {:.1f} MiB; dcos-migrate {} documents, "
              "{:.1f} MiB".format(our_docs, our_bytes / 1048576, their["documents"],
                                  their["bytes"] / 1048576))
        print("load average before: {}".format(loadavg()))
        results = measure(dm, args.binary, dump_path, args.runs)
        print("load average after: {}".format(loadavg()))
        print_table(results, args.apps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
