"""The SDK worker pool of a local engine session, listening on a port the kernel chose.

Beam's `worker_pool_main` wants its port on the command line. A port picked beforehand (bind
to port 0, read it, close) is free only at the moment it was picked, and gRPC servers bind with
SO_REUSEPORT: had another process's gRPC server taken that port in the meantime, both would
listen on it and the kernel would share incoming connections between them. Here the pool binds
port 0 itself and writes the port it got to `--port-file` (written whole, then renamed, so a
reader never sees a partial number); `workflows/engines.py` waits for that file.

    python -m corpusmill.workflows.worker_pool --port-file PATH
"""

from __future__ import annotations

import argparse
import logging
import os

from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer


def write_port(path: str, port: int) -> None:
    """Write `port` to `path` atomically (temporary file, then rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def read_port(path: str) -> int | None:
    """The port in `path`, or None while the file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as f:
            return int(f.read().strip())
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True, help="where to write the port the pool listens on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One SDK worker process per StartWorker request, as worker_pool_main does.
    address, server = BeamFnExternalWorkerPoolServicer.start(use_process=True, port=0)
    write_port(args.port_file, int(address.rsplit(":", 1)[1]))
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
