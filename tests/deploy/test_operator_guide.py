"""Every command of docs/operator-guide.md, run against a fresh stack.

The guide prints the default addresses of ``make run``. The test starts
the three services on free ports with a fresh database, swaps the ports
into each grpcurl command, and runs the commands in the order printed
with the real grpcurl binary. A command passes when it exits 0, or with
the code and reason of the "# Fails with" comment above it. Watch
commands run in the background until they have printed a message.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from bank_common.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operator-guide.md"
GRPCURL = Path(sys.executable).parent / "grpcurl"

DEFAULT_GRPC = {
    "127.0.0.1:50051": "ledger",
    "127.0.0.1:50052": "accounts",
    "127.0.0.1:50053": "transactions",
}
DEFAULT_METRICS = {
    "127.0.0.1:9151": "ledger",
    "127.0.0.1:9152": "accounts",
    "127.0.0.1:9153": "transactions",
}
METRICS_SERVICES = {
    "all": ("ledger", "accounts", "transactions"),
    "ledger store": ("ledger",),
    "account, transaction": ("accounts", "transactions"),
}
FAILS = re.compile(r"# Fails with Code: (\w+), reason (\w+)")


@dataclass
class GuideCommand:
    line: int
    text: str
    expected_code: str | None = None
    expected_reason: str | None = None

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text.replace("\\\n", " "))

    @property
    def is_watch(self) -> bool:
        return "/Watch" in self.text


def sh_blocks(markdown: str) -> list[tuple[int, list[str]]]:
    """Return (first line number, lines) of every ```sh block."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(markdown.splitlines(), 1):
        if current is None and line.strip() == "```sh":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def guide_commands(markdown: str) -> list[GuideCommand]:
    """Split the sh blocks into shell commands, each with its expectation."""
    commands: list[GuideCommand] = []
    for start, lines in sh_blocks(markdown):
        pending: list[str] = []
        expectation: re.Match | None = None
        for offset, line in enumerate(lines):
            if not pending and line.startswith("#"):
                expectation = FAILS.match(line)
                continue
            pending.append(line)
            text = "\n".join(pending)
            if text.endswith("\\") or not _complete(text):
                continue
            command = GuideCommand(start + offset - len(pending) + 1, text)
            if expectation is not None:
                command.expected_code, command.expected_reason = expectation.groups()
            commands.append(command)
            pending, expectation = [], None
        assert not pending, f"unfinished command in the block at line {start}"
    return commands


def _complete(text: str) -> bool:
    try:
        shlex.split(text.replace("\\\n", " "))
    except ValueError:
        return False
    return True


def with_ports(argv: list[str], stack: LocalStack) -> list[str]:
    """Replace the grpcurl binary and the default addresses with the test's."""
    swapped = [str(GRPCURL), *argv[1:]]
    for index, arg in enumerate(swapped):
        if arg in DEFAULT_GRPC:
            swapped[index] = stack.ports.address(DEFAULT_GRPC[arg])
    return swapped


def metrics_url(url: str, stack: LocalStack) -> str:
    for default, service in DEFAULT_METRICS.items():
        url = url.replace(default, f"127.0.0.1:{stack.ports.metrics[service]}")
    return url


GRPC_CODES = {code.value[1].title().replace(" ", ""): code for code in grpc.StatusCode}


class Watch:
    """A grpcurl watch command running in the background."""

    def __init__(self, command: GuideCommand, argv: list[str]):
        self.command = command
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def wait_for_message(self, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith("}") for line in self.output):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._reader.join(5)


@pytest.fixture(scope="module")
def guide_stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guide")
    stack = LocalStack(db_path=folder / "ledger.duckdb", log_dir=folder / "logs")
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def guide_run(guide_stack) -> dict:
    """Run every grpcurl command of the guide once, in order."""
    markdown = GUIDE.read_text()
    results: list[tuple[GuideCommand, subprocess.CompletedProcess]] = []
    watches: list[Watch] = []
    try:
        for command in guide_commands(markdown):
            argv = command.argv
            if argv[0] != "grpcurl":
                continue
            argv = with_ports(argv, guide_stack)
            if command.is_watch:
                watch = Watch(command, argv)
                watches.append(watch)
                watch.wait_for_message()
                continue
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=30, check=False
            )
            results.append((command, result))
    finally:
        for watch in watches:
            watch.stop()
    return {"markdown": markdown, "results": results, "watches": watches}


# Ledger store writes that the guide explains by their front-end twins.
LEDGER_WRITES_SHOWN_ELSEWHERE = {
    "CreateCustomer",
    "UpdateCustomer",
    "DeleteCustomer",
    "OpenAccount",
    "UpdateAccount",
    "CloseAccount",
    "ReverseTransaction",
}


def served_methods(stack: LocalStack, service: str) -> set[tuple[str, str]]:
    """Return (service, method) of every project RPC the server lists."""

    def grpcurl_list(*args: str) -> list[str]:
        result = subprocess.run(
            [str(GRPCURL), "-plaintext", stack.ports.address(service), "list", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout.split()

    methods = set()
    for name in grpcurl_list():
        if name.startswith("bank."):
            methods |= {(name, full.rsplit(".", 1)[1]) for full in grpcurl_list(name)}
    return methods


def test_guide_has_command_for_every_rpc(guide_run, guide_stack):
    commands = [command for command, _ in guide_run["results"]]
    commands += [watch.command for watch in guide_run["watches"]]
    printed = {
        tuple(arg.split("/"))
        for command in commands
        for arg in command.argv
        if arg.startswith("bank.") and "/" in arg
    }

    for service in ("accounts", "transactions", "ledger"):
        missing = served_methods(guide_stack, service) - printed
        if service == "ledger":
            missing = {
                (name, method)
                for name, method in missing
                if method not in LEDGER_WRITES_SHOWN_ELSEWHERE
            }
        assert not missing, f"the guide has no grpcurl command for {missing}"
    for method in LEDGER_WRITES_SHOWN_ELSEWHERE:
        assert f"`{method}`" in guide_run["markdown"]


def test_every_grpcurl_command_succeeds(guide_run):
    for command, result in guide_run["results"]:
        if command.expected_code is not None:
            continue
        assert result.returncode == 0, (
            f"docs/operator-guide.md line {command.line}: {command.text}\n"
            f"{result.stdout}{result.stderr}"
        )


def test_documented_errors_happen(guide_run):
    failing = [
        (command, result)
        for command, result in guide_run["results"]
        if command.expected_code is not None
    ]

    assert failing, "the guide shows no failing command"
    for command, result in failing:
        code = GRPC_CODES[command.expected_code]
        where = f"docs/operator-guide.md line {command.line}"
        assert result.returncode == 64 + code.value[0], where
        assert f"Code: {command.expected_code}" in result.stderr, where
        assert f'"reason":"{command.expected_reason}"' in result.stderr, where


def test_printed_error_output_matches(guide_run):
    printed = re.findall(r"^  Message: (.+)$", guide_run["markdown"], re.MULTILINE)
    actual = "".join(result.stderr for _, result in guide_run["results"])

    assert printed, "the guide shows no error output"
    for message in printed:
        assert f"Message: {message}\n" in actual


def test_watch_commands_print_messages(guide_run):
    watches = guide_run["watches"]

    assert len(watches) == 3
    for watch in watches:
        text = "".join(watch.output)
        assert text.lstrip().startswith("{"), f"{watch.command.text}\n{text}"


def test_idempotent_retry_prints_first_result(guide_run):
    deposits = [
        result.stdout
        for command, result in guide_run["results"]
        if '"request_id": "post-0001"' in command.text
        and command.text.endswith("TransactionService/Deposit")
        and result.returncode == 0
    ]

    assert len(deposits) == 2
    assert deposits[0] == deposits[1]


def test_metrics_in_guide_are_served(guide_run, guide_stack):
    markdown = guide_run["markdown"]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([a-z, ]+) \|", markdown, re.MULTILINE)
    scrapes = {}
    for url in re.findall(r"http://127\.0\.0\.1:915\d/metrics", markdown):
        with urllib.request.urlopen(metrics_url(url, guide_stack), timeout=10) as r:
            port = url.split(":")[2].split("/")[0]
            scrapes[DEFAULT_METRICS[f"127.0.0.1:{port}"]] = r.read().decode()

    assert len(rows) >= 12
    assert set(scrapes) == set(DEFAULT_METRICS.values())
    for name, kind, services in rows:
        for service in METRICS_SERVICES[services]:
            body = scrapes[service]
            assert f"# TYPE {name} {kind}" in body, (
                f"{name} ({kind}) is not served by {service}"
            )
