"""One SDK worker process of a local Flink/Spark engine session, started by the worker pool
(`workflows/worker_pool.py`): Beam's SdkHarness with output spooling installed
(`workflows/output_spool.py`), connected to the runner's control endpoint.

    python -m corpusmill.workflows.sdk_worker --control-endpoint=HOST:PORT --worker-id=ID
"""

from __future__ import annotations

import argparse
import logging

from apache_beam.runners.worker.sdk_worker import SdkHarness

from corpusmill.workflows import output_spool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control-endpoint", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--state-cache-size", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    output_spool.install()
    # data_buffer_time_limit_ms=0: size-based output streams (the ones output_spool replaces)
    SdkHarness(args.control_endpoint, worker_id=args.worker_id, state_cache_size=args.state_cache_size, data_buffer_time_limit_ms=0).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
