"""Subcommands of the `rnnbench` CLI, one module each (see rnnbench/cli.py for the contract)."""
