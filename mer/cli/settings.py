"""``python -m mer settings``: every environment variable mer reads, with the value this process sees."""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from ..settings import describe
from .common import print_json

__all__ = ["add_settings_command"]


def _cmd_settings(args: argparse.Namespace) -> int:
    values = describe()
    if args.json:
        print_json({"settings": [v.to_dict() for v in values]})
    else:
        for v in values:
            shown = "invalid" if v.error else v.value if v.raw is not None else f"{v.value or '-'} (default)"
            print(f"{v.name:<18} {shown}\n{'':<18} {v.doc}")
    wrong = [v.error for v in values if v.error]
    if wrong:  # the one error line the command line ends with, naming the first
        raise ConfigError(wrong[0])
    return 0


def add_settings_command(sub) -> None:
    p = sub.add_parser("settings", help="the environment variables mer reads and the values it sees")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_settings)
