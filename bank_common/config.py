"""Command-line and environment options shared by the three services.

Every option has a flag and an environment variable; the flag wins. The
``--help`` text of each states its unit and default.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class CommonConfig:
    """Options every service takes."""

    log_level: str
    """Lowest level logged: DEBUG, INFO, WARNING or ERROR."""
    log_format: str
    """"text" for one readable line per record, "json" for JSON lines."""
    metrics_address: str
    """host:port of the Prometheus metrics endpoint; empty turns it off."""
    shutdown_grace: float
    """Seconds that in-flight calls get to finish after SIGTERM or Ctrl-C."""


class EnvDefaults:
    """Reads option defaults from the environment and names the variable in help."""

    def __init__(self, env: Mapping[str, str]):
        self._env = env

    def get(self, name: str, default: str) -> str:
        return self._env.get(name, default)

    @staticmethod
    def help(text: str, name: str, default: str) -> str:
        shown = default if default else "empty"
        return f"{text} (env {name}, default {shown})"


def add_common_arguments(
    parser: argparse.ArgumentParser,
    env: EnvDefaults,
    *,
    prefix: str,
    metrics_default: str,
) -> None:
    """Add --log-level, --log-format, --metrics-address and --shutdown-grace."""
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=log_level,
        default=env.get("LOG_LEVEL", "INFO"),
        help=env.help("lowest level logged", "LOG_LEVEL", "INFO"),
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        type=log_format,
        default=env.get("LOG_FORMAT", "text"),
        help=env.help(
            "text for one readable line per record, json for one JSON object per line",
            "LOG_FORMAT",
            "text",
        ),
    )
    metrics_var = f"{prefix}_METRICS_ADDR"
    parser.add_argument(
        "--metrics-address",
        metavar="HOST:PORT",
        type=optional_address,
        default=env.get(metrics_var, metrics_default),
        help=env.help(
            "host:port for Prometheus metrics over HTTP at /metrics; empty turns "
            "metrics off",
            metrics_var,
            metrics_default,
        ),
    )
    parser.add_argument(
        "--shutdown-grace",
        metavar="SECONDS",
        type=non_negative_float,
        default=env.get("SHUTDOWN_GRACE", "5"),
        help=env.help(
            "seconds in-flight calls get to finish on SIGTERM or Ctrl-C",
            "SHUTDOWN_GRACE",
            "5",
        ),
    )


# Argument types. argparse also runs them on string defaults, so a value
# taken from an environment variable is checked like one given as a flag,
# and a bad one ends the program with a usage message, not a traceback.


def address(value: str) -> str:
    """Check a "host:port" address and return it unchanged."""
    try:
        split_host_port(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def optional_address(value: str) -> str:
    """Check a "host:port" address; empty is allowed and means "off"."""
    return address(value) if value else value


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"invalid log level {value!r}: use one of {', '.join(LOG_LEVELS)}"
        )
    return level


def log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise argparse.ArgumentTypeError(
            f"invalid log format {value!r}: use one of {', '.join(LOG_FORMATS)}"
        )
    return value


def positive_int(value: str) -> int:
    number = _number(value, int, "a whole number")
    if number < 1:
        raise argparse.ArgumentTypeError(f"invalid value {value!r}: use 1 or more")
    return number


def positive_float(value: str) -> float:
    number = _number(value, float, "a number")
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid value {value!r}: use a number above 0"
        )
    return number


def non_negative_float(value: str) -> float:
    number = _number(value, float, "a number")
    if number < 0:
        raise argparse.ArgumentTypeError(f"invalid value {value!r}: use 0 or more")
    return number


def _number(value: str, kind: type, expected: str):
    try:
        number = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {value!r}: expected {expected}"
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(
            f"invalid value {value!r}: expected a finite number"
        )
    return number


def common_config(args: argparse.Namespace) -> CommonConfig:
    return CommonConfig(
        log_level=args.log_level,
        log_format=args.log_format,
        metrics_address=args.metrics_address,
        shutdown_grace=args.shutdown_grace,
    )


def split_host_port(address: str) -> tuple[str, int]:
    """Split "host:port" (IPv6 hosts in brackets) into its parts."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"invalid address {address!r}: expected host:port, e.g. 127.0.0.1:50051"
        )
    return host.strip("[]"), int(port)
