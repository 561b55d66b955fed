"""``python -m consumer [--until-idle SECS]``: the consumer alone, configured by environment/config file.

``spoolbridge consume`` is the user-facing command; this entry point exists so the consumer can run (and
be killed) as a process of its own without the rest of the CLI.
"""

from __future__ import annotations

import argparse
import logging
import sys

from consumer.service import run
from schemas.errors import ConfigError
from schemas.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumer", description=__doc__)
    parser.add_argument("--until-idle", type=float, metavar="SECS", help="exit once drained and quiet")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.exit_code
    return run(settings, until_idle_secs=args.until_idle)


if __name__ == "__main__":
    sys.exit(main())
