"""Command-line and environment options shared by the three services.

Every option has a flag and an environment variable; the flag wins. The
``--help`` text of each states its unit and default.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
        type=str.upper,
        default=env.get("LOG_LEVEL", "INFO"),
        help=env.help("lowest level logged", "LOG_LEVEL", "INFO"),
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=env.get("LOG_FORMAT", "text"),
        help=env.help("log line format", "LOG_FORMAT", "text"),
    )
    metrics_var = f"{prefix}_METRICS_ADDR"
    parser.add_argument(
        "--metrics-address",
        default=env.get(metrics_var, metrics_default),
        help=env.help(
            "host:port for Prometheus metrics over HTTP; empty turns metrics off",
            metrics_var,
            metrics_default,
        ),
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=float(env.get("SHUTDOWN_GRACE", "5")),
        help=env.help(
            "seconds in-flight calls get to finish on SIGTERM or Ctrl-C",
            "SHUTDOWN_GRACE",
            "5",
        ),
    )


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
    if not sep or not port.isdigit():
        raise ValueError(
            f"invalid address {address!r}: expected host:port, e.g. 127.0.0.1:9151"
        )
    return host.strip("[]"), int(port)
