"""``python -m producer --inbox DIR [--once]``: the producer without the rest of the CLI.

Settings come from the environment and ``spoolbridge.toml`` as usual; the flags override them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from producer.service import run
from schemas.errors import SpoolbridgeError
from schemas.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m producer", description=__doc__)
    parser.add_argument("--inbox", type=Path, default=None)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--settle-ms", type=int, default=None)
    parser.add_argument("--id-field", default=None)
    parser.add_argument("--records-path", default=None)
    parser.add_argument("--topic", default=None)
    parser.add_argument("--bootstrap-servers", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings(
            {
                "producer": {
                    "inbox": args.inbox,
                    "settle_ms": args.settle_ms,
                    "id_field": args.id_field,
                    "records_path": args.records_path,
                },
                "kafka": {"topic": args.topic, "bootstrap_servers": args.bootstrap_servers},
            }
        )
        return run(settings, once=args.once)
    except SpoolbridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
