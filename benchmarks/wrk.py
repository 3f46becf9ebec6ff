"""The produce load generator when `wrk` is installed: one C thread drives every connection,
so on a small machine the client takes little CPU from the bridge it measures.

A Lua script loads the body from a file and prints wrk's own figures in one line, which are
read back into a `RunResult`. A warm-up run comes first and is not counted.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchmarks.jobs import ProduceJob
from benchmarks.scenarios import ACCEPT, Scenario, produce_body
from benchmarks.stats import RunResult

_MARK = "WRK_RESULT"
_SCRIPT = """
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["Accept"] = "{accept}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("{mark} %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    """`wrk debian/4.1.0-3+b2` or the like: the first two words of `wrk --version`."""
    run = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return " ".join(run.stdout.split()[:2]) or "wrk"


async def _wrk(url: str, script: Path, concurrency: int, seconds: int) -> list[float]:
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith(_MARK):
            return [float(field) for field in line.split()[1:]]
    raise RuntimeError(f"wrk printed no result (exit {process.returncode}):\n{text[-2000:]}")


def _write_script(folder: Path, job: ProduceJob) -> Path:
    scenario = Scenario("", job.records_per_request, job.value_format)
    body = folder / "body.json"
    body.write_bytes(produce_body(scenario, job.value_size, job.value_schema_id))
    script = folder / "produce.lua"
    script.write_text(
        _SCRIPT.format(body=body, content_type=scenario.content_type, accept=ACCEPT, mark=_MARK)
    )
    return script


async def produce(job: ProduceJob) -> RunResult:
    assert job.bridge_url is not None
    url = f"{job.bridge_url}/topics/{job.topic}"
    with tempfile.TemporaryDirectory(prefix="kafka-bridge-wrk-") as folder:
        script = _write_script(Path(folder), job)
        if job.warmup_s > 0:
            await _wrk(url, script, job.concurrency, max(1, round(job.warmup_s)))
        seconds = max(1, round(job.duration_s))
        requests, duration_us, failed, bad_status, p50, p90, p99 = await _wrk(
            url, script, job.concurrency, seconds
        )
    ok = int(requests - bad_status)
    return RunResult(
        requests=ok,
        records=ok * job.records_per_request,
        seconds=duration_us / 1e6,
        errors=int(failed + bad_status),
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
    )
