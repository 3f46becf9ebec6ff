"""`python -m bridge` runs the same command line as the `kafka-bridge` script."""

from bridge.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
