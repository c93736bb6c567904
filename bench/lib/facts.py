"""The machine and the versions a run measured with (the report's "Machine and versions")."""

import os
import platform
import re
import subprocess


def _ver(argv, pat=None):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        s = [l for l in (out.stdout + out.stderr).strip().splitlines() if l.strip()]
        if pat:
            s = [l for l in s if re.search(pat, l)] or s
        return s[0].strip() if s else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_facts(source, vegeta_version):
    """[(name, value)] in report order. source: what the services were built from."""
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return [
        ("nproc", os.cpu_count()), ("CPU", cpu), ("memory", f"{int(mem) // 1024} MiB"),
        ("kernel", platform.release()), ("load average at start", " ".join(load)),
        ("gcc", _ver(["gcc", "--version"])), ("Kafka", "3.9.2 (scripts/kafka), JVM: " + _ver(["java", "-version"])),
        ("librdkafka", _ver(["sh", "-c", "dpkg-query -W librdkafka1 librdkafka++1 2>/dev/null | head -1"])),
        ("libmicrohttpd", _ver(["sh", "-c", "dpkg-query -W 'libmicrohttpd*' 2>/dev/null | head -1"])),
        ("libcurl", _ver(["sh", "-c", "dpkg-query -W libcurl4 2>/dev/null"])),
        ("wrk", _ver(["sh", "-c", "dpkg-query -W wrk"])), ("nginx", _ver(["nginx", "-v"])),
        ("vegeta", f"{vegeta_version} (go install)"), ("Go", _ver(["go", "version"])),
        ("services built from", source),
        ("librdkafka settings given to the services (KAFKA_*)",
         ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                   if k.startswith("KAFKA_")) or "none (their defaults)"),
    ]
