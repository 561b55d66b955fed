"""One Kafka Connect standalone worker for ``bench.connect_check``: its jars from Maven Central, its
start against the local stack with the user's connector plugin, its REST API, and its stop by pid."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Worker", "cpu_seconds", "fetch_worker_jars", "wait_for"]

_WORKER_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>connect-worker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-transforms</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
"""
_LOG4J = """status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
"""
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def fetch_worker_jars(work: Path, kafka_version: str) -> Path:
    lib = work / f"connect-{kafka_version}" / "lib"
    if lib.is_dir() and any(lib.glob("connect-runtime-*.jar")):
        return lib
    lib.parent.mkdir(parents=True, exist_ok=True)
    (lib.parent / "pom.xml").write_text(_WORKER_POM.format(v=kafka_version))
    command = ["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={lib}"]
    subprocess.run(command, cwd=lib.parent, check=True)
    return lib


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """One Kafka Connect standalone worker, started and stopped by its pid."""

    def __init__(self, lib: Path, plugin_dir: Path, bootstrap: str, work: Path) -> None:
        self.port = _free_port()
        self.log = work / "worker.log"
        properties = work / "worker.properties"
        properties.write_text(
            f"bootstrap.servers={bootstrap}\n"
            "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
            "value.converter=org.apache.kafka.connect.json.JsonConverter\n"
            f"offset.storage.file.filename={work / 'offsets'}\n"
            f"plugin.path={plugin_dir.resolve().parent}\n"
            f"listeners=http://127.0.0.1:{self.port}\n"
        )
        (work / "log4j2.properties").write_text(_LOG4J.format(log=self.log))
        command = [
            "java",
            "-Xms256m",
            "-Xmx1g",
            f"-Dlog4j2.configurationFile={work / 'log4j2.properties'}",
            "-cp",
            f"{lib}/*",
            "org.apache.kafka.connect.cli.ConnectStandalone",
            str(properties),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, 120, "the Connect worker's REST port")

    def _answers(self) -> bool:
        try:
            self.request("GET", "/connector-plugins")
            return True
        except OSError:
            assert self.process.poll() is None, f"the worker exited; see {self.log}"
            return False

    def request(self, method: str, path: str, body: object = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def task_state(self, name: str) -> str:
        try:
            tasks = self.request("GET", f"/connectors/{name}/status")["tasks"]
        except OSError:
            return "ABSENT"
        return str(tasks[0]["state"]) if tasks else "NO TASK"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def wait_for(condition: Callable[[], bool], timeout_secs: float, what: str, step_secs: float = 0.2) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_secs:
            raise TimeoutError(f"{what}: not within {timeout_secs:g} s")
        time.sleep(step_secs)
    return time.monotonic() - start
