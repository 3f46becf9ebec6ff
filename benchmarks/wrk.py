"""The load generator when `wrk` is installed: one C thread drives every connection, so on a
small machine the client takes little CPU from the bridge it measures.

Producing: a Lua script loads the body from a file and prints wrk's own figures in one
line, which are read back into a `RunResult`. A warm-up run comes first and is not counted.

Consuming: the aiohttp client (`benchmarks.http_load`) creates the instance, subscribes and
reads until the first records arrive, which times the group's forming; then wrk reads the
rest over one connection, as the aiohttp client would, counting the records of each
response in Lua, and stops once it has them all.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
from asyncio.subprocess import Process
from pathlib import Path

import aiohttp
import orjson

from benchmarks import http_load
from benchmarks.jobs import ConsumeJob, ProduceJob
from benchmarks.scenarios import ACCEPT, Scenario, produce_body
from benchmarks.stats import RunResult

_MARK = "WRK_RESULT"
_PRODUCE_SCRIPT = """
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


_CONSUME_SCRIPT = """
local target = {target}
local threads = {{}}
wrk.method = "GET"
wrk.headers["Accept"] = "{accept}"

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  records = 0
  failed = 0
  finished = false
end

-- Each record of the v2 binary format holds the key "offset" once; base64 never holds it.
local function count(body)
  local n, at = 0, 1
  while true do
    at = string.find(body, '"offset":', at, true)
    if not at then return n end
    n = n + 1
    at = at + 9
  end
end

function response(status, headers, body)
  if status == 200 then
    records = records + count(body)
  else
    failed = failed + 1
  end
  if (records >= target or failed > {max_errors}) and not finished then
    -- wrk runs until its -d is over: the harness notes the time of this line, stops wrk
    -- with SIGINT and reads its figures.
    finished = true
    io.write("{mark}_FINISHED\\n")
    io.flush()
    wrk.thread:stop()
  end
end

done = function(summary, latency, requests)
  local got, bad = 0, 0
  for _, thread in ipairs(threads) do
    got = got + thread:get("records")
    bad = bad + thread:get("failed")
  end
  local e = summary.errors
  io.write(string.format("{mark} %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, bad, got,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    """`wrk debian/4.1.0-3+b2` or the like: the first two words of `wrk --version`."""
    run = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return " ".join(run.stdout.split()[:2]) or "wrk"


async def start(url: str, script: Path, connections: int, seconds: int) -> Process:
    """wrk running `script` against `url`: one thread, its output piped."""
    return await asyncio.create_subprocess_exec(
        *("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"),
        *("-s", str(script), url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _wrk(url: str, script: Path, concurrency: int, seconds: int) -> list[float]:
    process = await start(url, script, concurrency, seconds)
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith(_MARK):
            return [float(field) for field in line.split()[1:]]
    raise RuntimeError(f"wrk printed no result (exit {process.returncode}):\n{text[-2000:]}")


def write_produce_script(
    folder: Path, scenario: Scenario, value_size: int, schema_id: int | None
) -> Path:
    """The Lua script that POSTs the scenario's body over and over, written into `folder`."""
    body = folder / "body.json"
    body.write_bytes(produce_body(scenario, value_size, schema_id))
    script = folder / "produce.lua"
    text = _PRODUCE_SCRIPT.format(
        body=body, content_type=scenario.content_type, accept=ACCEPT, mark=_MARK
    )
    script.write_text(text)
    return script


async def produce(job: ProduceJob) -> RunResult:
    assert job.bridge_url is not None
    url = f"{job.bridge_url}/topics/{job.topic}"
    with tempfile.TemporaryDirectory(prefix="kafka-bridge-wrk-") as folder:
        scenario = Scenario("", job.records_per_request, job.value_format)
        script = write_produce_script(Path(folder), scenario, job.value_size, job.value_schema_id)
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


async def consume(job: ConsumeJob) -> RunResult:
    """The consume conversation, read by wrk once the first records have arrived."""
    async with (
        aiohttp.ClientSession() as session,
        http_load.consumer_instance(session, job) as instance,
    ):
        subscribed = await http_load.subscribe(session, instance, job)
        deadline = subscribed + job.timeout_s
        first_batch = errors = 0
        while not first_batch:
            if time.perf_counter() > deadline:
                return RunResult(0, 0, 0.0, errors, None, None, None)
            status, payload = await http_load.read_once(session, instance)
            if status != 200:
                errors += 1
                if errors > http_load.MAX_READ_ERRORS:
                    raise RuntimeError(f"reading: {status} {payload[:500]!r}")
                continue
            first_batch = len(orjson.loads(payload))
            if payload.count(b'"offset":') != first_batch:
                raise RuntimeError("the records of a response cannot be counted as wrk counts them")
        first_at = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="kafka-bridge-wrk-") as folder:
            script = Path(folder) / "consume.lua"
            script.write_text(
                _CONSUME_SCRIPT.format(
                    target=job.records - first_batch,
                    accept=http_load.BINARY_RECORDS,
                    max_errors=http_load.MAX_READ_ERRORS,
                    mark=_MARK,
                )
            )
            seconds = max(1, round(deadline - time.perf_counter()))
            finished_at, figures = await _wrk_reads(
                http_load.records_url(instance), script, seconds
            )
    requests, _, failed, bad_status, records, p50, p90, p99 = figures
    return RunResult(
        requests=int(requests - bad_status),
        records=int(records),
        seconds=finished_at - first_at,
        errors=errors + int(failed + bad_status),
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
        first_record_s=round(first_at - subscribed, 3),
    )


async def _wrk_reads(url: str, script: Path, seconds: int) -> tuple[float, list[float]]:
    """Run the consume script over one connection: when it had every record (perf_counter),
    and wrk's figures. wrk's own duration is always its -d, however early the script stops."""
    process = await start(url, script, 1, seconds)
    assert process.stdout is not None
    finished_at = None
    lines: list[str] = []
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        if line == f"{_MARK}_FINISHED" and finished_at is None:
            finished_at = time.perf_counter()
            process.send_signal(signal.SIGINT)  # wrk then prints its figures and exits
        lines.append(line)
    await process.wait()
    for line in lines:
        if line.startswith(f"{_MARK} "):
            if finished_at is None:
                raise RuntimeError("wrk's -d ran out before every record was read")
            return finished_at, [float(field) for field in line.split()[1:]]
    text = "\n".join(lines)
    raise RuntimeError(f"wrk printed no result (exit {process.returncode}):\n{text[-2000:]}")
