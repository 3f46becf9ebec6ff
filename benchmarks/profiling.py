"""Sampling the bridge with py-spy while a scenario runs, and summing up where the time went.

`python -m benchmarks --profile DIR` records one file per scenario (py-spy's raw collapsed
stacks, one `frame;frame;... count` line per distinct stack, aggregated by function);
`python -m benchmarks.profiling FILE...` prints the hot spots: the functions of the bridge
with the largest share of samples that include them, and the functions of any code where
the samples themselves fall.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
#: How py-spy names the bridge's files (relative to their import root, or in full).
_OWN_CODE = re.compile(r"(^|/)(bridge|codecs|bridge_codecs)/")
#: Frames on every stack of the bridge process: the command line that runs the server.
_ENTRY = ("bridge/__main__.py", "bridge/cli.py")


def _binary() -> str | None:
    """py-spy on PATH, or beside this interpreter (a virtualenv that is not activated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def available() -> bool:
    return _binary() is not None


async def record(pid: int, seconds: float, output: Path) -> asyncio.subprocess.Process:
    """Start sampling `pid` for `seconds` into `output`; await the process's `wait()`."""
    binary = _binary()
    assert binary is not None, "py-spy is not installed"
    return await asyncio.create_subprocess_exec(
        binary,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        "100",
        # Pauses the bridge for each sample: without that, many stacks come out truncated.
        "--function",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


#: Where a sample's time went: the first stage, in this order, that names a function on the
#: sample's stack (function name, and a fragment of its file; "" matches any function).
STAGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("access-log line", (("_log", "bridge/access_log.py"),)),
    ("body validation (jsonschema)", (("validate", "bridge/validation.py"),)),
    ("body JSON parsing", (("parse_json", "bridge/validation.py"),)),
    ("records encoded (ProducePipeline.prepare)", (("ProducePipeline.prepare", "bridge/"),)),
    ("records handed to aiokafka (send_all)", (("SharedProducer.send_all", "bridge/"),)),
    ("records decoded (decode_records)", (("decode_records", "bridge/consumers/"),)),
    (
        "records as JSON objects (records_body)",
        (("V2Dialect.records_body", "bridge/"), ("V1Dialect.records_body", "bridge/")),
    ),
    ("aiokafka getmany (ConsumerInstance._fill)", (("ConsumerInstance._fill", "bridge/"),)),
    (
        "response written (aiohttp)",
        (("StreamResponse.prepare", "aiohttp/"), ("StreamResponse.write_eof", "aiohttp/")),
    ),
    ("rest of the handler and middlewares", (("Application._handle", "aiohttp/"),)),
    ("aiohttp outside handlers (HTTP parsing, connections)", (("", "aiohttp/"),)),
    ("aiokafka outside requests (sender, fetcher, connections)", (("", "aiokafka/"),)),
    ("event loop and the rest", (("", ""),)),
)


def _stage(frames: list[tuple[str, str]]) -> str:
    for label, names in STAGES:
        for function, fragment in names:
            if any((not function or f == function) and fragment in w for f, w in frames):
                return label
    raise AssertionError("the last stage matches every stack")


@dataclass(frozen=True)
class HotSpot:
    function: str
    where: str
    share: float


@dataclass(frozen=True)
class Profile:
    samples: int
    #: Functions of the bridge, by the share of samples whose stack includes them.
    inclusive: list[HotSpot]
    #: Functions of any code, by the share of samples taken inside them.
    own_time: list[HotSpot]
    #: Top-level packages (or standard-library modules), by the share of samples inside them.
    packages: list[tuple[str, float]]
    #: The STAGES, by the share of samples that went to each.
    stages: list[tuple[str, float]]


def _own(where: str) -> bool:
    return _OWN_CODE.search(where) is not None and not where.startswith(_ENTRY)


def _package(where: str) -> str:
    path = where.rsplit(":", 1)[0]
    if _OWN_CODE.search(path):
        return "bridge (ours)"
    head = path.split("/", 1)[0]
    return head.removesuffix(".py")


def summarise(text: str, top: int = 15) -> Profile:
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    packages: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames: list[tuple[str, str]] = []
        for text_frame in stack.split(";"):
            match = _FRAME.match(text_frame)
            if match:
                frames.append((match["function"], f"{match['file']}:{match['line']}"))
        if not frames:
            continue
        own[frames[-1]] += count
        packages[_package(frames[-1][1])] += count
        stages[_stage(frames)] += count
        for function, where in set(frames):
            if _own(where):
                inclusive[function, where] += count

    def spots(counter: Counter[tuple[str, str]]) -> list[HotSpot]:
        return [
            HotSpot(function, where, count / total)
            for (function, where), count in counter.most_common(top)
        ]

    if not total:
        return Profile(0, [], [], [], [])
    shares = [(name, count / total) for name, count in packages.most_common(top)]
    by_stage = [(label, stages[label] / total) for label, _ in STAGES if stages[label]]
    return Profile(total, spots(inclusive), spots(own), shares, by_stage)


def render(name: str, profile: Profile) -> str:
    lines = [f"### {name} ({profile.samples} samples)", "", "| share | stage |", "|---:|---|"]
    lines += [f"| {share:.1%} | {label} |" for label, share in profile.stages]
    lines.append("")
    for title, spots in (
        ("bridge functions, share of samples that include them", profile.inclusive),
        ("where the samples fall (self time), any code", profile.own_time),
    ):
        lines += [f"{title}:", "", "| share | function | file:line |", "|---:|---|---|"]
        lines += [f"| {s.share:.1%} | `{s.function}` | `{s.where}` |" for s in spots]
        lines.append("")
    lines.append(
        "self time by package: "
        + ", ".join(f"{name} {share:.0%}" for name, share in profile.packages)
    )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sum up py-spy raw profiles of the bridge.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    for path in args.files:
        print(render(path.stem, summarise(path.read_text(), args.top)))


if __name__ == "__main__":
    main()
