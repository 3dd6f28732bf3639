"""Imports dcos-migrate's Marathon translator modules without its plugin framework.

In the dcos-migrate repository, `dcos_migrate/plugins/marathon/__init__.py` imports the Marathon
plugin and migrator, which pull in the kubernetes client, the DC/OS CLI library (dcos==0.6.1)
and the rest of the migration framework; none of that takes part in translating an app. This
module registers `dcos_migrate`, `dcos_migrate.plugins` and `dcos_migrate.plugins.marathon` as
plain packages over the source directories (their `__init__.py` is not run), so the translator
modules (app_translator, service_translator, ...) import exactly as they are, with only PyYAML
installed. Loaded by the benchmark driver, and by pytest (`-p dcos_migrate_shim`) for
dcos-migrate's own translator tests; set DCOS_MIGRATE_SRC to the source tree.
"""

import importlib
import os
import sys
import types
from pathlib import Path

PACKAGES = ["dcos_migrate", "dcos_migrate.plugins", "dcos_migrate.plugins.marathon"]


def register_packages(src: Path) -> None:
    """Makes the three packages importable from `src/src/...` without running their __init__."""
    root = Path(src) / "src"
    for name in PACKAGES:
        if name in sys.modules:
            continue
        package = types.ModuleType(name)
        package.__path__ = [str(root.joinpath(*name.split(".")))]
        sys.modules[name] = package
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, package)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def load_translator(src: Path) -> tuple:
    """(app_translator, service_translator, app_secrets) modules of the dcos-migrate tree."""
    register_packages(src)
    return tuple(
        importlib.import_module("dcos_migrate.plugins.marathon." + name)
        for name in ("app_translator", "service_translator", "app_secrets")
    )


# As a pytest plugin (`-p dcos_migrate_shim`): register before the tests import the modules.
if os.environ.get("DCOS_MIGRATE_SRC"):
    register_packages(Path(os.environ["DCOS_MIGRATE_SRC"]))
