import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter: the test process has long since loaded the views.
START_UP = """
import gc, json, sys
import django
django.setup()
before = "instances.api.views" in sys.modules
from spotopt.runtime import startup_objects_freeze
startup_objects_freeze()
cycle = []
cycle.append(cycle)
print(json.dumps({
    "views_before": before,
    "views_after": "instances.api.views" in sys.modules,
    "frozen": gc.get_freeze_count(),
    "new_cycle_collectable": any(o is cycle for o in gc.get_objects(0)),
}))
"""


def test_start_up_loads_the_views_and_freezes_what_it_made():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "spotopt.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", START_UP], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["views_before"] is False
    assert seen["views_after"] is True
    assert seen["frozen"] > 10_000
    assert seen["new_cycle_collectable"] is True
