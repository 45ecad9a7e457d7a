"""`python -m rnnbench` runs the CLI."""
import sys

from rnnbench.cli import main

sys.exit(main())
