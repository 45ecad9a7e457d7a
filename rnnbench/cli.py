"""`rnnbench` command line: one subcommand per module in rnnbench/commands/.

Each command module defines HELP, add_arguments(parser) and run(args) -> exit code, and imports its heavy
dependencies inside run() so `rnnbench --help` stays fast. Bad input is one line on stderr and exit code 2.
"""
import argparse
import importlib
import os
import sys

from rnnbench.errors import InputError

COMMANDS = [
    "sweep",
    "runs",
    "train",
    "gradnorm",
    "bench",
    "report",
    "reproduce",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints the whole usage block; users get one line naming the problem, and the command it
        # came from (main prints the "rnnbench: error:" before it)
        command = self.prog.removeprefix("rnnbench").strip()
        raise InputError(f"{command}: {message}" if command else message)


def build_parser():
    parser = _Parser(prog="rnnbench", description="Benchmark and compare recurrent cells.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"rnnbench.commands.{name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "_run", None):
            build_parser().print_help()
            return 2
        return args._run(args) or 0
    except InputError as e:
        print(f"rnnbench: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`rnnbench runs | head`): silence the flush at exit, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("rnnbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
