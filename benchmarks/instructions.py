"""Instructions per one-record produce request: the bridge under valgrind's callgrind, driven
by wrk, counted over a window in the middle of the load.

On a shared machine, CPU time per request moves by 10-40 % from one run to the next; the
instructions the bridge executes per request move by well under 1 %. They miss what the
kernel does (the socket writes) and what cache misses cost, but they show at once what a
change to the bridge's own Python saves.

    python -m benchmarks.instructions                 # the working tree
    python -m benchmarks.instructions --connections 16 -D log.access=false

With one connection (the default) each request is one produce request to Kafka, so
aiokafka's work per request does not depend on how records happen to be batched, which
moves with the speed of the run; the figure is then deterministic. With 16 connections it
is closer to the harness's load, but moves by several percent between runs.

Needs `valgrind` and `wrk`. The bridge's periodic memory release and the access log's
timed flush are switched off in the measured process: under valgrind the bridge runs about
50 times slower, and what happens every few seconds would weigh 50 times as much.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import uuid
from pathlib import Path

import aiohttp

from benchmarks import probes, wrk
from benchmarks.environment import BridgeProcess, bridge_arguments, free_port, kafka
from benchmarks.scenarios import Scenario

_START = (
    "import bridge.memory, bridge.log_format, runpy; "
    "bridge.memory.TRIM_INTERVAL_S = bridge.log_format.FLUSH_INTERVAL_S = 1e9; "
    "runpy.run_module('bridge', run_name='__main__', alter_sys=True)"
)
_PRODUCED = re.compile(
    r'^kafka_bridge_http_requests_total\{[^}]*route="/topics/\{topic\}"[^}]*\} (\S+)$', re.M
)


async def _produce_requests(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    return sum(float(count) for count in _PRODUCED.findall(text))


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError(f"{argv[0]} failed")


async def _count(
    args: argparse.Namespace, bridge: BridgeProcess, topic: str, folder: Path
) -> float:
    """Produce requests served while instrumentation was on."""
    script = wrk.write_produce_script(folder, Scenario("", 1, args.format), args.value_size, None)
    seconds = round(args.warmup + args.window + 30)
    load = await wrk.start(f"{bridge.url}/topics/{topic}", script, args.connections, seconds)
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.sleep(args.warmup)
            before = await _produce_requests(session, bridge.url)
            await _run("callgrind_control", "-i", "on", str(bridge.pid))
            await asyncio.sleep(args.window)
            await _run("callgrind_control", "-i", "off", str(bridge.pid))
            return await _produce_requests(session, bridge.url) - before
    finally:
        load.kill()
        await load.communicate()


async def measure(args: argparse.Namespace) -> None:
    with kafka() as target, tempfile.TemporaryDirectory(prefix="kafka-bridge-cg-") as name:
        folder = Path(name)
        topic = f"bench-instructions-{uuid.uuid4().hex[:8]}"
        async with probes.Topics(target.bootstrap_servers) as topics:
            await topics.create(topic, 3)
        port = free_port()
        argv = bridge_arguments(target, port, None, [f"-D{s}" for s in args.bridge_set])
        log = folder / "valgrind.log"
        valgrind = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--log-file={log}")
        command = (*valgrind, f"--callgrind-out-file={folder / 'out'}", sys.executable, "-c")
        bridge = BridgeProcess(argv, port, command=(*command, _START))
        await bridge.start(timeout_s=180)  # about 20 s under valgrind
        try:
            requests = await _count(args, bridge, topic, folder)
        finally:
            await bridge.stop()
        text = log.read_text(errors="replace")
        collected = re.findall(r"Collected : (\d+)", text)
        if not collected or requests <= 0:
            raise RuntimeError(f"nothing measured:\n{text[-2000:]}")
        print(
            f"{int(collected[-1]) / requests:,.0f} instructions per {args.format} one-record "
            f"produce request ({requests:.0f} requests, {args.connections} connection(s))"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--format", default="binary", choices=("binary", "json"))
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before counting")
    parser.add_argument("--window", type=float, default=12.0, help="seconds counted")
    parser.add_argument(
        "-D", dest="bridge_set", action="append", default=[], help="a bridge setting KEY=VALUE"
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
