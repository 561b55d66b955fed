"""The ``spoolbridge`` command line.

Every command reads settings the same way (flags > environment > ``spoolbridge.toml`` > defaults) and
reports problems as one line on stderr: exit code 2 for a bad setting, 1 for anything else; a traceback
only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.errors import ConfigError, SpoolbridgeError
from schemas.settings import DEFAULT_CONFIG_FILE, Settings, load_settings

from .logs import configure_logging

log = logging.getLogger("spoolbridge")

Handler = Callable[[argparse.Namespace, Settings], int]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    pass


def _default(setting: str, *, unset: str = "unset") -> str:
    """`` (default: X)`` for help texts: the settings model's default of ``section.name`` — the value a
    command uses when neither flag, environment nor config file sets it. (argparse's own defaults are
    None, so that an absent flag does not hide the environment or the config file.)"""
    section, name = setting.split(".")
    model = Settings.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    field = model.model_fields[name]
    value = field.get_default(call_default_factory=True)
    return f" (default: {unset if value is None else value})"


def _connection(parser: argparse.ArgumentParser) -> None:
    """Where Kafka and OpenSearch are, and the names used there (not for ``stack``, which serves them)."""
    group = parser.add_argument_group("connection (default: the local stack when unset)")
    group.add_argument(
        "--bootstrap-servers",
        default=None,
        help="Kafka host:port[,host:port]" + _default("kafka.bootstrap_servers", unset="the local stack"),
    )
    group.add_argument("--topic", default=None, help="Kafka topic" + _default("kafka.topic"))
    group.add_argument(
        "--opensearch-url",
        default=None,
        help="OpenSearch URL http(s)://[user:pass@]host:port"
        + _default("opensearch.url", unset="the local stack"),
    )
    group.add_argument(
        "--index",
        default=None,
        help="OpenSearch index" + _default("opensearch.index", unset="the topic name"),
    )
    group.add_argument("--group", default=None, help="Kafka consumer group" + _default("consumer.group"))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"TOML config file (default: ./{DEFAULT_CONFIG_FILE}, or $SPOOLBRIDGE_CONFIG)",
    )
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks")


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    get = args.__dict__.get
    return {
        "kafka": {"bootstrap_servers": get("bootstrap_servers"), "topic": get("topic")},
        "opensearch": {"url": get("opensearch_url"), "index": get("index")},
        "consumer": {"group": get("group")},
        "producer": {
            "inbox": get("inbox"),
            "settle_ms": get("settle_ms"),
            "id_field": get("id_field"),
            "records_path": get("records_path"),
        },
        "stack": {"dir": get("dir")},
        "metrics": {"port": get("metrics_port")},
        "web": {"host": get("host"), "port": get("port")},
    }


def _metrics_port(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help=f"serve /metrics, /healthz and /readyz on this port{what}"
        + _default("metrics.port", unset="off"),
    )


def _inbox(parser: argparse.ArgumentParser, text: str = "folder to watch") -> None:
    parser.add_argument("--inbox", type=Path, default=None, help=text + _default("producer.inbox"))


def _add_status(commands: Any) -> None:
    status = commands.add_parser(
        "status",
        help="per dataset and file: records read, produced, indexed, rejected, dead-lettered; lag",
        formatter_class=_HelpFormatter,
    )
    _inbox(status, "inbox whose done/ and failed/ are read")
    status.add_argument("--dataset", default=None, help="only this dataset ('(default)': files in the inbox)")
    status.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECS",
        help="first wait (at most this long) until every file in the inbox is read and every record "
        "indexed or dead-lettered; exit code 3 if that did not happen in time "
        "(default: show it as it is now)",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--connect-dlq",
        default=None,
        metavar="TOPIC",
        help="also count Kafka Connect's dead letters in TOPIC (connect-config prints it: <name>.dlq)",
    )
    _connection(status)
    _common(status)
    status.set_defaults(handler=_status)


def _add_dlq(commands: Any) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="dead letters: list them by dataset and reason, or replay them once the cause is fixed",
        formatter_class=_HelpFormatter,
    )
    dlq.add_argument("action", choices=["list", "replay"], help="list, or re-publish to the dataset's topic")
    dlq.add_argument("--dataset", default=None, help="only this dataset ('(default)': files in the inbox)")
    dlq.add_argument(
        "--reason", default=None, help="replay: only letters whose error type or reason has this"
    )
    dlq.add_argument("--dry-run", action="store_true", help="replay: count what would be replayed")
    dlq.add_argument(
        "--connect-dlq",
        default=None,
        metavar="TOPIC",
        help="Kafka Connect's dead-letter topic, not the datasets' (connect-config prints it: <name>.dlq)",
    )
    dlq.add_argument("--json", action="store_true", help="machine-readable output")
    _connection(dlq)
    _common(dlq)
    dlq.set_defaults(handler=_dlq)


def _add_forget(commands: Any) -> None:
    forget = commands.add_parser(
        "forget",
        help="remove every document of a file's versions from its dataset (the producer sends the deletes)",
        formatter_class=_HelpFormatter,
    )
    forget.add_argument(
        "source", metavar="DATASET/FILE", help="the file as status lists it, e.g. games/a.json"
    )
    _inbox(forget, "inbox the file was dropped into")
    forget.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=60.0,
        default=None,
        metavar="SECS",
        help="wait (at most SECS, 60 when not given) until the producer reports the removal done; "
        "exit code 3 if it did not in time (default: only ask)",
    )
    _common(forget)
    forget.set_defaults(handler=_forget)


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    from .forget import forget

    return forget(settings, args.source, args.wait)


def _add_web(commands: Any) -> None:
    web = commands.add_parser(
        "web",
        help="the upload and search page: drop JSON files into a dataset, watch them arrive, search them",
        formatter_class=_HelpFormatter,
    )
    _inbox(web, "inbox the uploads go to")
    web.add_argument("--host", default=None, help="address to bind" + _default("web.host"))
    web.add_argument(
        "--port", type=int, default=None, help="port to bind, 0 = any free" + _default("web.port")
    )
    web.add_argument("--socket-fd", type=int, default=None, help=argparse.SUPPRESS)  # from `run`
    _connection(web)
    _common(web)
    web.set_defaults(handler=_web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spoolbridge",
        description="JSON files in a folder -> Kafka -> OpenSearch: nothing lost, nothing duplicated.",
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="producer + consumer together; starts the local stack when no endpoints are configured",
        formatter_class=_HelpFormatter,
    )
    _inbox(run)
    _metrics_port(run, "; the producer and consumer use the next two")
    _connection(run)
    _common(run)
    run.set_defaults(handler=_run)

    produce = commands.add_parser(
        "produce", help="watch a folder and publish each record to Kafka", formatter_class=_HelpFormatter
    )
    _inbox(produce)
    produce.add_argument("--once", action="store_true", help="process the files there now, then exit")
    produce.add_argument(
        "--settle-ms",
        type=int,
        default=None,
        help="file must be unchanged this long (ms)" + _default("producer.settle_ms"),
    )
    produce.add_argument(
        "--id-field",
        default=None,
        help="record field to use as the document id"
        + _default("producer.id_field", unset="<file path>:<position>"),
    )
    produce.add_argument(
        "--records-path",
        default=None,
        help="dotted path to the records (e.g. features)"
        + _default("producer.records_path", unset="the top level"),
    )
    _metrics_port(produce)
    # `run` asks for events on stdout and draws the display itself
    produce.add_argument(
        "--progress", choices=["auto", "events", "off"], default="auto", help=argparse.SUPPRESS
    )
    _connection(produce)
    _common(produce)
    produce.set_defaults(handler=_produce)

    consume = commands.add_parser(
        "consume", help="index the topic into OpenSearch as a consumer group", formatter_class=_HelpFormatter
    )
    consume.add_argument(
        "--until-idle",
        type=float,
        default=None,
        metavar="SECS",
        help="exit once drained and quiet this long (s) (default: run until stopped)",
    )
    _metrics_port(consume)
    _connection(consume)
    _common(consume)
    consume.set_defaults(handler=_consume)

    _add_status(commands)

    check = commands.add_parser(
        "check",
        help="can this config reach and write to Kafka and OpenSearch? one line per step",
        formatter_class=_HelpFormatter,
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    _connection(check)
    _common(check)
    check.set_defaults(handler=_check)

    connect = commands.add_parser(
        "connect-config",
        help="print the equivalent Aiven OpenSearch sink connector JSON",
        formatter_class=_HelpFormatter,
    )
    connect.add_argument(
        "--name",
        default=None,
        help="connector name (default: <topic>-opensearch-sink); its dead letters go to <name>.dlq",
    )
    connect.add_argument(
        "--connector-version",
        default=None,
        metavar="X.Y.Z",
        help="version of Aiven's OpenSearch sink connector it is for, e.g. 4.1.0-SNAPSHOT (default: 3.1.1, "
        "the newest release that survives a refused document; before 4.0 the class is named "
        "OpensearchSinkConnector)",
    )
    _connection(connect)
    _common(connect)
    connect.set_defaults(handler=_connect_config)

    _add_web(commands)
    _add_dlq(commands)
    _add_forget(commands)

    stack = commands.add_parser(
        "stack",
        help="local Kafka + OpenSearch from Maven Central jars (no Docker)",
        formatter_class=_HelpFormatter,
    )
    stack.add_argument("action", choices=["up", "down", "status"], help="start, stop, or show the stack")
    stack.add_argument("--dir", type=Path, default=None, help="state folder" + _default("stack.dir"))
    stack.add_argument("--json", action="store_true", help="machine-readable output")
    _common(stack)
    stack.set_defaults(handler=_stack)
    return parser


_PASSTHROUGH = ("config", "bootstrap_servers", "topic", "opensearch_url", "index", "group")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .bridge import run_bridge

    flags: list[str] = []
    for name in _PASSTHROUGH:
        value = getattr(args, name, None)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    if args.debug:
        flags.append("--debug")
    return run_bridge(settings, flags)


def _web(args: argparse.Namespace, settings: Settings) -> int:
    from .web.server import serve

    return serve(_with_endpoints(settings), debug=args.debug, socket_fd=args.socket_fd)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from .status import WAIT_TIMED_OUT, collect_status
    from .status_text import print_status

    settings = _with_endpoints(settings)
    settings.kafka.check_files()  # a wrong TLS file is a setting error, before any client is made
    report = collect_status(settings, args.dataset, args.connect_dlq)
    deadline = time.monotonic() + (args.wait or 0)
    while not report.settled and time.monotonic() < deadline:
        time.sleep(1.0)
        report = collect_status(settings, args.dataset, args.connect_dlq)
    timed_out = bool(args.wait) and not report.settled
    if timed_out:
        print(f"spoolbridge: still in progress after {args.wait:g} s (shown as it is now)", file=sys.stderr)
    if args.json:
        print_json(report.as_dict())
    else:
        print_status(report)
    return WAIT_TIMED_OUT if timed_out else 0


def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from .serving import produce

    return produce(_with_endpoints(settings), once=args.once, progress=args.progress)


def _consume(args: argparse.Namespace, settings: Settings) -> int:
    from .serving import consume

    settings = _with_endpoints(settings)
    settings.kafka.check_files()
    return consume(settings, until_idle_secs=args.until_idle)


def _with_endpoints(settings: Settings) -> Settings:
    """Fill unset endpoints from a running local stack; say which setting is missing otherwise."""
    from .stack.manager import LocalStack, endpoints_configured

    if endpoints_configured(settings):
        return settings
    stack = LocalStack(settings.stack)
    if stack.running():
        return stack.endpoint_settings(settings)
    return settings  # the service reports the missing setting by name


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from .check import run_checks

    steps = run_checks(_with_endpoints(settings))
    if args.json:
        print_json([step.as_dict() for step in steps])
    else:
        for step in steps:
            mark = "FAIL" if not step.ok else "WARN" if step.warning else "ok  "
            print(f"{mark} {step.name}: {step.detail}" + (f"\n     fix: {step.fix}" if step.fix else ""))
    return 0 if steps and all(step.ok for step in steps) else 1


def _connect_config(args: argparse.Namespace, settings: Settings) -> int:
    from .connect_config import (
        DEFAULT_CONNECTOR_VERSION,
        connector_config,
        consumer_group,
        dead_letter_topic,
        parse_version,
        version_warnings,
    )

    version = args.connector_version or DEFAULT_CONNECTOR_VERSION
    try:
        parse_version(version)
    except ValueError as exc:
        raise ConfigError("--connector-version", str(exc)) from None
    try:
        config = connector_config(_with_endpoints(settings), name=args.name, connector_version=version)
    except ValueError as exc:
        raise ConfigError("--name", str(exc)) from None
    print_json(config)
    # stdout stays the JSON to post; what the user should know goes beside it.
    name = str(config["name"])
    for warning in version_warnings(version):
        print(f"spoolbridge: warning: {warning}", file=sys.stderr)
    print(
        f"spoolbridge: consumer group {consumer_group(name)}, dead-letter topic {dead_letter_topic(name)}",
        file=sys.stderr,
    )
    return 0


def _dlq(args: argparse.Namespace, settings: Settings) -> int:
    from .dead_letters import list_dead_letters, print_groups, print_replay, replay

    settings = _with_endpoints(settings)
    if args.connect_dlq is not None:
        return _connect_dlq(args, settings)
    if args.action == "list":
        groups = list_dead_letters(settings, args.dataset)
        if args.json:
            print_json([group.as_dict() for group in groups])
        else:
            print_groups(groups)
        return 0
    results = replay(settings, dataset=args.dataset, reason=args.reason, dry_run=args.dry_run)
    if args.json:
        print_json([result.as_dict() for result in results])
    else:
        print_replay(results, dry_run=args.dry_run)
    return 0


def _connect_dlq(args: argparse.Namespace, settings: Settings) -> int:
    from .connect_dead_letters import list_connect_letters, replay_connect_letters
    from .dead_letters import print_groups, print_replay

    topic = args.connect_dlq
    if args.action == "list":
        groups = list_connect_letters(settings, topic, args.dataset)
        if args.json:
            print_json([group.as_dict() for group in groups])
        else:
            print_groups(groups)
        return 0
    results = replay_connect_letters(
        settings, topic, dataset=args.dataset, reason=args.reason, dry_run=args.dry_run
    )
    if args.json:
        print_json([result.as_dict() for result in results])
    else:
        print_replay(results, dry_run=args.dry_run)
    return 0


def _stack(args: argparse.Namespace, settings: Settings) -> int:
    from .stack.commands import stack_command

    return stack_command(args.action, settings, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(debug=args.debug)
    handler: Handler = args.handler
    try:
        settings = load_settings(_overrides(args), config_file=args.config)
        return handler(args, settings)
    except SpoolbridgeError as exc:
        if args.debug:
            log.exception("failed")
        print(f"spoolbridge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or an unconverted library error: still one line, unless --debug
        if args.debug:
            raise
        setting_error = _tls_file_error(exc)
        if setting_error is not None:
            print(f"spoolbridge: error: {setting_error}", file=sys.stderr)
            return setting_error.exit_code
        print(
            f"spoolbridge: unexpected error: {type(exc).__name__}: {exc} (--debug shows where)",
            file=sys.stderr,
        )
        return 1


#: librdkafka's property -> the setting it comes from, for "Failed to create …: ssl.key.location failed: …"
_TLS_PROPERTIES = {
    "ssl.key.location": "kafka.ssl_keyfile",
    "ssl.certificate.location": "kafka.ssl_certfile",
    "ssl.ca.location": "kafka.ssl_cafile",
}


def _tls_file_error(exc: Exception) -> ConfigError | None:
    """librdkafka refusing a TLS file that :meth:`KafkaSettings.check_files` let through, as the setting."""
    text = str(exc)
    for prop, setting in _TLS_PROPERTIES.items():
        if f"{prop} failed" in text:
            reason = text.split(f"{prop} failed: ", 1)[-1].split('"', 1)[0]
            return ConfigError(setting, f"the Kafka client cannot use this file ({reason})")
    return None


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
