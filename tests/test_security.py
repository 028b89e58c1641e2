"""Nothing zeroplay starts listens beyond loopback, and token authentication stays on.

These tests run the real ``zeroplay train`` command as a user does (a subprocess with the
user's environment, nothing set by the test harness) and read every listening socket of
its whole process tree from Linux's ``/proc``.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from training_helpers import TINY_RUN, metrics_records
from zeroplay_command import start_zeroplay, zeroplay_env

from cluster.runtime.ray_setup import AUTH_MODE_VARIABLE, LOOPBACK_VARIABLE

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc"),
    pytest.mark.slow,
]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in found]
        found.update(children)
        frontier += children
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _listening() -> dict[str, str]:
    """inode -> local address of every listening TCP socket (and bound UDP socket) on the machine."""
    out = {}
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if table.startswith("tcp") and state != "0A":  # LISTEN
                continue
            raw = bytes.fromhex(local.split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out[inode] = str(ipaddress.ip_address(words))
    return out


def _tree_addresses(pid: int) -> list[str]:
    listening = _listening()
    return [listening[i] for p in _descendants(pid) for i in _socket_inodes(p) if i in listening]


def _assert_loopback(addresses: list[str]) -> None:
    assert len(addresses) >= 3, addresses  # GCS, raylet, workers at least
    for text in addresses:
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        assert address.is_loopback, f"a process of the run listens on {text}: {sorted(set(addresses))}"


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the command and the Ray instance it started
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@pytest.mark.parametrize("inherited", [None, "1"], ids=["clean-environment", "inherited-cluster-setting"])
def test_zeroplay_train_listens_on_loopback_only(tmp_path: Path, inherited: str | None) -> None:
    run_dir = tmp_path / "run"
    extra = {LOOPBACK_VARIABLE: inherited} if inherited is not None else {}
    args = ["train", "--game", "tictactoe", "--minutes", "2", "--run-dir", str(run_dir)]
    args += [x for item in TINY_RUN for x in ("--set", item)]
    process = start_zeroplay(*args, env=extra, drop=[LOOPBACK_VARIABLE],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not metrics_records(run_dir):  # the run is up: actors have played and reported
            assert process.poll() is None, f"zeroplay train exited: {process.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "no metrics record within 120 s"
            time.sleep(0.5)
        addresses = _tree_addresses(process.pid)
        # Ray 2.60 turns token authentication on for a new local instance and keeps the token here.
        assert Path("~/.ray/auth_token").expanduser().is_file(), "token authentication is off"
    finally:
        _stop(process)
    _assert_loopback(addresses)


def test_connect_from_python_listens_on_loopback_only_even_after_ray_was_imported() -> None:
    """A script that imports Ray first, then starts zeroplay's embedded instance."""
    script = (
        "import ray, sys, time\n"
        "from cluster.runtime.ray_setup import connect\n"
        "assert connect(None, 1)\n"
        "@ray.remote\n"
        "def pid(): import os; return os.getpid()\n"
        "ray.get(pid.remote())\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=zeroplay_env(drop=[LOOPBACK_VARIABLE]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stdout.readline()
        assert line.strip() == "up", process.stderr.read()[-2000:]
        addresses = _tree_addresses(process.pid)
    finally:
        _stop(process)
    _assert_loopback(addresses)



def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if b"=" in item)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("inherited", [None, "disabled"], ids=["clean-environment", "inherited-opt-out"])
def test_an_embedded_instance_requires_its_token(inherited: str | None) -> None:
    """The driver and Ray's own servers run in token mode, and Ray's how-to-opt-out warning is gone."""
    script = (
        "import ray, time\n"
        "from ray._raylet import AuthenticationMode, get_authentication_mode\n"
        "from cluster.runtime.ray_setup import connect\n"
        "assert connect(None, 1)\n"
        "print('token' if get_authentication_mode() == AuthenticationMode.TOKEN else 'off', flush=True)\n"
        "time.sleep(60)\n"
    )
    extra = {AUTH_MODE_VARIABLE: inherited} if inherited is not None else {}
    process = subprocess.Popen([sys.executable, "-c", script], env=zeroplay_env(extra, drop=[AUTH_MODE_VARIABLE]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = process.stdout.readline()
        servers = {pid: _command(pid) for pid in _descendants(process.pid)
                   if Path(_command(pid).split(" ")[0]).name in ("gcs_server", "raylet")}
        server_modes = {_environ(pid).get(AUTH_MODE_VARIABLE) for pid in servers}
    finally:
        _stop(process)
    err = process.stderr.read()
    assert line.strip() == "token", err[-2000:]
    assert servers and server_modes == {"token"}, (servers, server_modes)
    assert "to opt out" not in err  # Ray's warning that tells how to switch authentication off
    if inherited is not None:
        assert f"{AUTH_MODE_VARIABLE}=disabled ignored: an embedded Ray requires its token" in err
