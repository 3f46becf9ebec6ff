"""`python -m benchmarks.worker`: one workload in a process of its own.

Reads a job (see `benchmarks.jobs`) as JSON on stdin and writes its result as JSON on
stdout. Each side of a comparison runs in a fresh process, so neither shares an interpreter
or an event loop with the harness or with the other side.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from benchmarks import ROOT, direct, http_load
from benchmarks.jobs import ConsumeJob, Job, PreloadJob, ProduceJob, decode_job, encode_job


async def run(job: Job) -> dict[str, Any]:
    if isinstance(job, PreloadJob):
        return await direct.preload(job)
    if isinstance(job, ProduceJob):
        side = http_load.produce if job.bridge_url else direct.produce
        return (await side(job)).to_json()
    assert isinstance(job, ConsumeJob)
    reader = http_load.consume if job.bridge_url else direct.consume
    return (await reader(job)).to_json()


def main() -> None:
    job = decode_job(json.loads(sys.stdin.read()))
    result = asyncio.run(run(job))
    sys.stdout.write(json.dumps(result) + "\n")


async def spawn(job: Job, timeout_s: float) -> dict[str, Any]:
    """Run `job` in a fresh `python -m benchmarks.worker` process and return its result."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.worker",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate(json.dumps(encode_job(job)).encode())
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"a worker took longer than {timeout_s:g} s: {job}") from None
    if process.returncode != 0:
        raise RuntimeError(f"a worker failed ({process.returncode}):\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out)
    return result


if __name__ == "__main__":
    main()
