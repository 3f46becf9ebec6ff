"""`python -m benchmarks`: the harness's command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import ROOT, profiling, wrk
from benchmarks.report import render, write_docs
from benchmarks.runner import Options, run
from benchmarks.scenarios import all_scenarios, parse_scenarios

DOCS = ROOT / "docs" / "performance.md"


def build_parser() -> argparse.ArgumentParser:
    names = [s.name for s in all_scenarios()]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the bridge against aiokafka directly, on the same broker.",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=names,
        metavar="NAME",
        help=f"which to run (default: all): {', '.join(names)}",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds measured per produce run and side (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of load before each measured run, not counted (default 2)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="HTTP connections, and aiokafka's concurrent sends (default 16)",
    )
    parser.add_argument(
        "--value-size", type=int, default=100, help="bytes per record value (default 100)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="interleaved rounds; the report gives medians (default 2)",
    )
    parser.add_argument(
        "--consume-records",
        type=int,
        default=600_000,
        help="records read in the consume scenario (1.5 times as many are pre-loaded)",
    )
    parser.add_argument(
        "--idle-consumers",
        type=int,
        default=200,
        help="consumer instances created to measure memory per instance (0: skip)",
    )
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic")
    parser.add_argument(
        "--load-client",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="what drives produce requests and steady consume reads: wrk when installed "
        "(auto), else an aiohttp client in its own process",
    )
    parser.add_argument(
        "--bridge-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a bridge setting, passed as -D KEY=VALUE (repeatable)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the bridge with py-spy in round 1; one file per scenario",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write raw figures here")
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the results into {DOCS.relative_to(ROOT)}"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenarios = parse_scenarios(args.scenarios)
    except ValueError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    client = args.load_client
    if client == "auto":
        client = "wrk" if wrk.available() else "aiohttp"
    elif client == "wrk" and not wrk.available():
        print("benchmarks: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if args.profile and not profiling.available():
        print("benchmarks: --profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return 2
    options = Options(
        scenarios=scenarios,
        duration_s=args.duration,
        warmup_s=args.warmup,
        concurrency=args.concurrency,
        value_size=args.value_size,
        rounds=args.rounds,
        consume_records=args.consume_records,
        idle_consumers=args.idle_consumers,
        partitions=args.partitions,
        load_client=client,
        bridge_sets=args.bridge_set,
        profile_dir=args.profile,
    )
    measured = asyncio.run(run(options))
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    client_name = wrk.version() if client == "wrk" else "aiohttp client (benchmarks/http_load.py)"
    results = render(options, measured, command, client_name)
    print(results)
    if args.json:
        args.json.write_text(json.dumps(measured.to_json(), indent=2))
    if args.write_docs:
        write_docs(DOCS, results)
        print(f"wrote {DOCS}", file=sys.stderr)
    return 0
