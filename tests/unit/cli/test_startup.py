"""Every `stream-app` command starts without importing the LLM client.

The openai package takes 2-5 s to import; the CLI imports every command's module, so
one module importing it at the top made `console`, `report`, `send` and each test's
worker start that much slower. Only a worker configured for the OpenAI provider
imports it.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_and_the_worker_app_do_not_import_openai() -> None:
    probe = (
        "import sys, stream_app.cli.app, stream_app.worker.app; "
        "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
