"""airspeed velocity (asv) suites for rnnbench; asv.conf.json at the repository root points here.

Run them with `asv run` (see README, "Tracking speed"); tests/test_benchmarks.py runs each once.
"""
