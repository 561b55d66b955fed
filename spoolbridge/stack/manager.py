"""``spoolbridge stack up | down | status``: the local Kafka + OpenSearch, no Docker.

State, data, logs and certificates live under one folder (``StackSettings.dir``). ``up`` is idempotent:
a second call finds the recorded pids alive and says so. ``down`` stops exactly those pids and waits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from schemas.settings import Settings, StackSettings

from . import processes
from .services import JvmService, KafkaBroker, OpenSearchNode


@dataclass
class ServiceStatus:
    name: str
    version: str
    running: bool
    pid: int | None
    ports: dict[str, int]
    log_file: str
    rss_mb: float | None = None
    peak_rss_mb: float | None = None

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


@dataclass
class UpResult:
    already_running: list[str] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)  # name -> seconds to answer


class LocalStack:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.kafka = KafkaBroker(settings)
        self.opensearch = OpenSearchNode(settings)

    @property
    def services(self) -> tuple[JvmService, ...]:
        return (self.kafka, self.opensearch)

    def up(self) -> UpResult:
        """Start whatever is not running (both JVMs at once), and return when all answer.

        On failure, stops what this call started and re-raises.
        """
        result = UpResult()
        launched: dict[JvmService, int] = {}
        began = time.monotonic()
        to_start = [service for service in self.services if service.pid() is None]
        result.already_running = [service.name for service in self.services if service not in to_start]
        for service in to_start:
            service.check_ports()
        try:
            for service in to_start:
                launched[service] = service.launch()
            for service, pid in launched.items():
                service.wait_until_answering(pid)
                result.started[service.name] = time.monotonic() - began
        except BaseException:
            for service in launched:
                service.stop()
            raise
        return result

    def down(self) -> list[str]:
        """Stop the stack's processes; returns the names of those that were running."""
        return [service.name for service in reversed(self.services) if service.stop()]

    def running(self) -> bool:
        return all(service.pid() is not None for service in self.services)

    def status(self) -> list[ServiceStatus]:
        rows = []
        for service in self.services:
            pid = service.pid()
            memory = processes.rss_mb(pid) if pid is not None else None
            rows.append(
                ServiceStatus(
                    name=service.name,
                    version=service.version,
                    running=pid is not None,
                    pid=pid,
                    ports=service.ports,
                    log_file=str(service.log_file),
                    rss_mb=round(memory[0], 1) if memory else None,
                    peak_rss_mb=round(memory[1], 1) if memory else None,
                )
            )
        return rows

    def endpoint_settings(self, settings: Settings) -> Settings:
        """``settings`` with the stack's endpoints filled in where none are configured."""
        kafka = settings.kafka
        opensearch = settings.opensearch
        if kafka.bootstrap_servers is None:
            kafka = kafka.model_copy(update={"bootstrap_servers": self.kafka.bootstrap_servers})
        if opensearch.url is None:
            from pydantic import SecretStr

            # one node: replicas could never be assigned, so new indices would stay yellow
            replicas = 0 if opensearch.number_of_replicas is None else opensearch.number_of_replicas
            update: dict[str, object] = {
                "url": SecretStr(self.opensearch.url),
                "number_of_replicas": replicas,
            }
            if self.opensearch.secured:
                # as Aiven hands it out: https://user:password@host:port, verified by the stack's CA
                user = self.opensearch.client_user
                host = self.opensearch.url.removeprefix("https://")
                update["url"] = SecretStr(f"https://{user.username}:{user.password()}@{host}")
                if opensearch.ca_file is None:
                    update["ca_file"] = self.opensearch.ca_file
            opensearch = opensearch.model_copy(update=update)
        return settings.model_copy(update={"kafka": kafka, "opensearch": opensearch})


def endpoints_configured(settings: Settings) -> bool:
    return settings.kafka.bootstrap_servers is not None and settings.opensearch.url is not None
