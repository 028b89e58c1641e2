"""The embedded Ray of `zeroplay train` listens on loopback only, with token authentication on."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import pytest
import ray

from cluster.train import connect

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")


@ray.remote
class _Probe:
    def pid(self) -> int:
        return os.getpid()


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
    """inode -> local address of every listening TCP socket on the machine."""
    out = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A":  # LISTEN
                continue
            raw = bytes.fromhex(local.split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out[inode] = str(ipaddress.ip_address(words))
    return out


def test_embedded_ray_listens_on_loopback_only() -> None:
    assert connect(None, num_cpus=1)
    try:
        ray.get(_Probe.remote().pid.remote())  # a worker process with its own server is up
        listening = _listening()
        ours = []
        for pid in _descendants(os.getpid()):
            ours += [listening[i] for i in _socket_inodes(pid) if i in listening]
        assert len(ours) >= 3, ours  # GCS, raylet, workers at least
        for text in ours:
            address = ipaddress.ip_address(text)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            assert address.is_loopback, f"a Ray process of the embedded instance listens on {text}"
        token_file = os.path.expanduser("~/.ray/auth_token")
        assert os.environ.get("RAY_AUTH_MODE", "token") == "token"
        assert os.environ.get("RAY_AUTH_TOKEN") or os.path.isfile(token_file), "token authentication is off"
    finally:
        ray.shutdown()
