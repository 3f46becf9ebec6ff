"""The benchmark harness: what the bridge adds on top of talking to Kafka with aiokafka.

Not part of the test suite. Run it with `python -m benchmarks` from the repository root;
`benchmarks/README.md` says what it measures and how.
"""

from pathlib import Path

#: The repository root: workers and the bridge run from here, so that `benchmarks` and
#: `tests` import the same way they do for `python -m benchmarks`.
ROOT = Path(__file__).resolve().parent.parent
