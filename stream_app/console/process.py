"""`stream-app console` in a process of its own, beside the worker `stream-app dev` runs.

faust.Worker owns the dev process's event loop, so the console (like the simulator)
gets its own, with the same broker settings.
"""

from __future__ import annotations

import os
import subprocess
import sys

from stream_app.config.settings import Settings


def start_console(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "STREAM_APP_BROKER": settings.broker,
        "STREAM_APP_ENV": settings.env,
        "STREAM_APP_KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower(),
        "STREAM_APP_KAFKA_MAX_BATCH_BYTES": str(settings.kafka_max_batch_bytes),
        "STREAM_APP_DATA_DIR": str(settings.data_dir),
    }
    command = [sys.executable, "-m", "stream_app", "console", "--port", str(port)]
    # The dev broker is new each run: the read model starts over with it.
    return subprocess.Popen([*command, "--rebuild"], env=env)
