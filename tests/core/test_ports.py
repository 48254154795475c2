"""bench/ports.py: ports picked before a stack binds them, out of the kernel's reach and
disjoint between pytest-xdist workers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bench import ports


def test_each_xdist_worker_has_a_block_of_its_own_below_the_kernels_range() -> None:
    floor = 32_768
    blocks = [ports.port_block(ports.worker_slot(f"gw{n}"), floor) for n in range(8)]
    blocks.append(ports.port_block(ports.worker_slot(""), floor))  # no xdist
    assert all(block is not None for block in blocks)
    taken = [set(block) for block in blocks if block is not None]
    assert sum(map(len, taken)) == len(set().union(*taken)), "two workers share a port"
    assert max(max(block) for block in taken) < floor
    assert min(min(block) for block in taken) >= ports.FIRST_PORT


def test_the_kernels_range_is_read_from_proc(tmp_path: Path) -> None:
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("40000\t60999\n")
    assert ports.ephemeral_floor(range_file) == 40_000
    assert ports.ephemeral_floor(tmp_path / "missing") == ports.LINUX_EPHEMERAL_FLOOR


def test_no_block_when_the_kernels_range_leaves_no_room() -> None:
    assert ports.port_block(0, ports.FIRST_PORT + ports.BLOCK_SIZE - 1) is None
    allocator = ports.PortAllocator(None)
    port = allocator.take()  # the kernel's pick, as before this module
    assert 0 < port < 65_536


def test_one_worker_hands_out_each_port_once_before_it_wraps() -> None:
    allocator = ports.PortAllocator(range(30_000, 30_050))
    handed = [allocator.take() for _ in range(40)]
    assert len(set(handed)) == len(handed)
    assert all(30_000 <= port < 30_050 for port in handed)


def test_a_port_someone_listens_on_is_skipped() -> None:
    # 31,9xx: the block of slot 11, which no run here has (the Makefile runs 5 workers).
    with socket.create_server(("127.0.0.1", 31_905)):
        with pytest.raises(RuntimeError, match="in use"):
            ports.PortAllocator(range(31_905, 31_906)).take()
        assert {ports.PortAllocator(range(31_905, 31_907)).take() for _ in range(5)} == {31_906}


def test_the_dev_stacks_ports_are_never_handed_out() -> None:
    allocator = ports.PortAllocator(range(9_092, 9_094))
    with pytest.raises(RuntimeError):
        allocator.take()


def test_the_tests_free_ports_come_from_this_workers_block() -> None:
    from tests.helpers import free_port

    block = ports.port_block(ports.worker_slot(), ports.ephemeral_floor())
    assert block is not None
    handed = {free_port() for _ in range(20)}
    assert len(handed) == 20
    assert all(port in block for port in handed), sorted(handed)
