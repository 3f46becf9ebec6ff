"""`python -m benchmarks` runs the harness's command line."""

from benchmarks.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
