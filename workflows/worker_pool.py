"""The SDK worker pool of a local engine session, listening on a port the kernel chose.

Beam's `worker_pool_main` wants its port on the command line. A port picked beforehand (bind
to port 0, read it, close) is free only at the moment it was picked, and gRPC servers bind with
SO_REUSEPORT: had another process's gRPC server taken that port in the meantime, both would
listen on it and the kernel would share incoming connections between them. Here the pool binds
port 0 itself and writes the port it got to `--port-file` (written whole, then renamed, so a
reader never sees a partial number); `workflows/engines.py` waits for that file.

Each worker the runner asks for is a process of `workflows/sdk_worker.py` (Beam's SdkHarness
with `workflows/output_spool.py` installed: a bundle's output waits on local disk until its
input has ended, which Beam's batch Flink and Spark stages need to finish large stages), run by
this environment's Python, with the pool's stdout and stderr.

    python -m corpusmill.workflows.worker_pool --port-file PATH    # as engines.py starts it
    python -m corpusmill.workflows.worker_pool --port 50000        # on a cluster's hosts
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import traceback

from apache_beam.portability.api import beam_fn_api_pb2
from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer


class WorkerPool(BeamFnExternalWorkerPoolServicer):
    """Beam's worker pool, starting `corpusmill.workflows.sdk_worker` processes."""

    def StartWorker(self, request: beam_fn_api_pb2.StartWorkerRequest, unused_context: object) -> beam_fn_api_pb2.StartWorkerResponse:
        try:
            command = [
                sys.executable,
                "-m",
                "corpusmill.workflows.sdk_worker",
                f"--control-endpoint={request.control_endpoint.url}",
                f"--worker-id={request.worker_id}",
                f"--state-cache-size={self._state_cache_size}",
            ]
            logging.info("starting SDK worker %s", request.worker_id)
            self._worker_processes[request.worker_id] = subprocess.Popen(command, close_fds=True)
            return beam_fn_api_pb2.StartWorkerResponse()
        except Exception:
            return beam_fn_api_pb2.StartWorkerResponse(error=traceback.format_exc())


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
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: one the kernel picks)")
    parser.add_argument("--port-file", help="where to write the port the pool listens on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One SDK worker process per StartWorker request, as worker_pool_main does.
    address, server = WorkerPool.start(use_process=True, port=args.port)
    port = int(address.rsplit(":", 1)[1])
    logging.info("SDK worker pool listening on port %d", port)
    if args.port_file:
        write_port(args.port_file, port)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
