import ipaddress

import pytest

from saekdam_backbone.notifications.url_guard import (
    UrlNotAllowed,
    check_shape,
    checked_target,
    refusal,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "169.254.10.10",
        "fd00:ec2::254",
        "fe80::1",
        "fc00::1",
        "0.0.0.0",
        "::",
        "224.0.0.251",
        "ff02::1",
        "240.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert refusal(ipaddress.ip_address(address), allow_loopback=False) is None


def test_the_embedded_mode_allows_loopback_but_nothing_else_private():
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::1"), allow_loopback=True) is None
    for address in ("10.0.0.1", "169.254.169.254", "fd00:ec2::254"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


def test_only_http_and_https_urls_with_a_host_are_taken():
    assert check_shape("https://example.com/x") == ("https", "example.com", 443)
    assert check_shape("http://example.com:8080") == ("http", "example.com", 8080)
    for url in (
        "ftp://example.com",
        "javascript:alert(1)",
        "http://",
        "https://a:b@c.d/",
        "http://example.com:99999/",
        "https://example.com/" + "a" * 2048,
    ):
        with pytest.raises(UrlNotAllowed):
            check_shape(url)


async def test_one_bad_address_among_many_refuses_the_host():
    async def resolve(host, port):
        return ["93.184.215.14", "::ffff:127.0.0.1"]

    with pytest.raises(UrlNotAllowed, match="127.0.0.1"):
        await checked_target("https://example.test/", allow_loopback=False, resolver=resolve)


async def test_the_checked_address_is_the_one_to_connect_to():
    async def resolve(host, port):
        assert (host, port) == ("example.test", 8443)
        return ["93.184.215.14"]

    target = await checked_target(
        "https://example.test:8443/h", allow_loopback=False, resolver=resolve
    )
    assert (target.host, target.port, target.address) == ("example.test", 8443, "93.184.215.14")


async def test_the_system_resolver_is_used_by_default():
    target = await checked_target("http://localhost:9/", allow_loopback=True)
    assert ipaddress.ip_address(target.address).is_loopback
    with pytest.raises(UrlNotAllowed):
        await checked_target("http://localhost:9/", allow_loopback=False)
