"""Java and Maven: find them, resolve the stack's classpaths, compile the OpenSearch launcher.

Jars come from Maven Central through the machine's Maven and stay in its local repository (``~/.m2``);
the resolved classpath is cached in the stack folder, so a second ``stack up`` needs no network and no
Maven run at all.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from schemas.errors import StackError

log = logging.getLogger(__name__)

MIN_JAVA = 17
_JAVA_HINT = "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)"
_MAVEN_HINT = "install Maven (Debian: apt-get install maven)"


def resource_text(name: str) -> str:
    return resources.files("spoolbridge.stack").joinpath("resources", name).read_text(encoding="utf-8")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"the local stack needs `{name}`, which is not on PATH: {hint}")
    return path


def java_major_version(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match is None:
        raise StackError(f"cannot tell the Java version from `java -version`: {_JAVA_HINT}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> str:
    java = require_tool("java", _JAVA_HINT)
    version = java_major_version(java)
    if version < MIN_JAVA:
        raise StackError(f"the local stack needs Java {MIN_JAVA} or newer, found {version}: {_JAVA_HINT}")
    return java


def resolve_classpath(pom_resource: str, work_dir: Path) -> str:
    """Classpath (``:``-joined jar paths) for one of the stack's POMs, cached in ``work_dir``.

    The cache is used when every jar it names still exists; otherwise Maven resolves again.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    pom = work_dir / pom_resource
    pom_text = resource_text(pom_resource)
    cache = work_dir / (pom_resource.removesuffix(".xml") + ".classpath")
    if cache.is_file() and pom.is_file() and pom.read_text(encoding="utf-8") == pom_text:
        cached = cache.read_text(encoding="utf-8").strip()
        if cached and all(Path(jar).is_file() for jar in cached.split(":")):
            return cached
    pom.write_text(pom_text, encoding="utf-8")
    mvn = require_tool("mvn", _MAVEN_HINT)
    log.info(
        "resolving jars with Maven pom=%s (first run downloads them; later runs use the cache)", pom.name
    )
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={cache}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not cache.is_file():
        detail = _first_maven_error(result.stdout + result.stderr)
        raise StackError(
            f"Maven could not resolve the jars for {pom.name}: {detail}; check that Maven Central is "
            "reachable (or a mirror is set in ~/.m2/settings.xml)"
        )
    return cache.read_text(encoding="utf-8").strip()


def _first_maven_error(output: str) -> str:
    for line in output.splitlines():
        if "[ERROR]" in line:
            return line.replace("[ERROR]", "").strip()[:300]
    return (output.strip().splitlines() or ["no output"])[-1][:300]


def compile_launcher(work_dir: Path, classpath: str) -> Path:
    """Compile ``OpenSearchLauncher.java`` once into ``work_dir/launcher``; returns that directory."""
    out_dir = work_dir / "launcher"
    source = work_dir / "OpenSearchLauncher.java"
    text = resource_text("OpenSearchLauncher.java")
    compiled = out_dir / "OpenSearchLauncher.class"
    if compiled.is_file() and source.is_file() and source.read_text(encoding="utf-8") == text:
        return out_dir
    source.write_text(text, encoding="utf-8")
    javac = require_tool("javac", _JAVA_HINT)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [javac, "-nowarn", "-cp", classpath, "-d", str(out_dir), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"javac could not compile the OpenSearch launcher: {result.stderr.strip()[:300]}")
    return out_dir


def unpack_zip(pom_resource: str, work_dir: Path, out_dir: Path) -> Path:
    """Unpack the zip a POM of the stack depends on into ``out_dir`` (once: a folder holding jars is
    reused, with no Maven run); returns ``out_dir``."""
    pom = work_dir / pom_resource
    pom_text = resource_text(pom_resource)
    if out_dir.is_dir() and any(out_dir.glob("*.jar")) and pom.is_file() and pom.read_text() == pom_text:
        return out_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    pom.write_text(pom_text, encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    mvn = require_tool("mvn", _MAVEN_HINT)
    log.info("unpacking with Maven pom=%s (first run downloads it)", pom.name)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom), "dependency:unpack-dependencies", f"-DoutputDirectory={out_dir}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not any(out_dir.glob("*.jar")):
        detail = _first_maven_error(result.stdout + result.stderr)
        raise StackError(
            f"Maven could not fetch the zip of {pom.name}: {detail}; check that Maven Central is "
            "reachable (or a mirror is set in ~/.m2/settings.xml)"
        )
    return out_dir
