"""A server worker freezes what it made while starting (config/memory.py): the full garbage
collections that walked those 300,000 objects were every page's p95 over 150 ms at 10 M people."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_server_worker_freezes_its_start_up_objects_with_the_views_imported(tmp_path):
    code = (
        "import gc, sys\n"
        "import lianfang.config.wsgi\n"
        "print(gc.get_freeze_count(), 'lianfang.web.views' in sys.modules, 'lianfang.screening.views.areas' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANFANG_", "DJANGO_"))}
    env["LIANFANG_DATA_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    frozen, web_views, screening_views = out.stdout.split()
    assert int(frozen) > 50_000
    assert web_views == screening_views == "True"
