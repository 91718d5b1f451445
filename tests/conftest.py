"""Shared fixtures. Real data from ../shared/data when present; otherwise those tests skip."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_DATA = Path(os.environ.get("CORPUSMILL_SHARED_DATA", ROOT.parent / "shared" / "data"))
# A separate venv with Hugging Face `datasets`, as a training job would have it (`make hf`). It
# cannot live in the project's venv: `datasets` needs multiprocess, which needs dill >= 0.3.5,
# and Beam 2.62 pins dill < 0.3.2.
HF_PYTHON = Path(os.environ.get("CORPUSMILL_HF_PYTHON", ROOT / ".venv-hf" / "bin" / "python"))

# Tests never touch the network: no GX analytics, no hub downloads.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real third-party files); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not available at {SHARED_DATA} (only developers and CI have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """A real S3-compatible server (moto's) on 127.0.0.1, for the whole session; yields the
    Beam pipeline options that reach it (`args`) and its endpoint. Stopped at the end."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        endpoint = f"http://{host}:{port}"
        credentials = {"access_key": "corpusmill-test", "secret_key": "corpusmill-test-secret"}
        args = [
            f"--s3_endpoint_url={endpoint}",
            f"--s3_access_key_id={credentials['access_key']}",
            f"--s3_secret_access_key={credentials['secret_key']}",
            "--s3_region_name=us-east-1",
        ]
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=credentials["access_key"], aws_secret_access_key=credentials["secret_key"],
        )
        yield {"endpoint": endpoint, "args": args, "client": client}
    finally:
        server.stop()


@pytest.fixture(scope="session")
def hf_datasets() -> Callable[[str, dict[str, Any]], Any]:
    """Run a script in the Hugging Face `datasets` venv (`make hf`; skips when it is absent):
    `hf_datasets(script, args)` executes `script` with `datasets` imported and the JSON-able
    `args` bound to `args`; the script sets `result`, which comes back through JSON."""
    if not HF_PYTHON.is_file():
        pytest.skip(f"no Hugging Face datasets venv at {HF_PYTHON} (`make hf` creates it; `make test` does)")

    def run(script: str, args: dict[str, Any]) -> Any:
        program = (
            "import json, sys\nimport datasets\nargs = json.load(sys.stdin)\nresult = None\n"
            + script
            + "\nprint(json.dumps(result))\n"
        )
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        proc = subprocess.run([str(HF_PYTHON), "-c", program], input=json.dumps(args), capture_output=True,
                              text=True, timeout=240, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run
