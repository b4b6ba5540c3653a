"""`make run` allows the web client's websockets from wherever its page can be loaded."""

import socket

import psutil

from infra.devrun import page_origins


def test_on_this_machine_only_the_page_is_loaded_by_name_or_loopback_address():
    assert page_origins("9000", None) == ["http://127.0.0.1:9000", "http://localhost:9000"]


def test_listening_beyond_this_machine_every_ipv4_address_is_an_origin():
    origins = page_origins("9000", "0.0.0.0")
    addresses = {
        a.address
        for nic in psutil.net_if_addrs().values()
        for a in nic
        if a.family == socket.AF_INET
    }
    assert {f"http://{a}:9000" for a in addresses} <= set(origins)
    assert "http://0.0.0.0:9000" not in origins and len(origins) == len(set(origins))
