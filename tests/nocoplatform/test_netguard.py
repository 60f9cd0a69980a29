"""The one SSRF classification (nocoplatform.netguard) that webhooks and data sources share:
every spelling of a non-public address is refused, public ones pass, metadata always refused."""

import pytest

from nocoplatform import netguard

NOT_PUBLIC = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated, still parsed)
    ("::ffff:0:127.0.0.1", "loopback"),  # SIIT IPv4-translated
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 well-known prefix
    ("64:ff9b::10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"),  # 6to4
    ("64:ff9b:1::7f00:1", "NAT64"),  # local-use NAT64 prefix (RFC 8215)
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.0.10", "private"),
    ("::ffff:192.168.0.10", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%lo", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("2001:db8::1", "reserved"),
    ("100::1", "reserved"),
    ("4000::1", "reserved"),
]
ALWAYS = [
    ("169.254.169.254", "metadata"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("::169.254.169.254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("::2", "unspecified"),  # IPv4-compatible form of 0.0.0.2
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("::ffff:224.0.0.1", "multicast"),
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:1.1.1.1",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


@pytest.mark.parametrize("address, kind", NOT_PUBLIC)
def test_not_public_refused_unless_private_allowed(address, kind):
    assert netguard.refusal(address, allow_private=False), address
    assert netguard.refusal(address, allow_private=True) is None, address


@pytest.mark.parametrize("address, kind", ALWAYS)
def test_metadata_multicast_unspecified_always_refused(address, kind):
    assert netguard.refusal(address, allow_private=True), address
    assert netguard.refusal(address, allow_private=False), address


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert netguard.refusal(address, allow_private=False) is None


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "localhost", "::1"]
)
def test_numeric_spellings_resolve_to_what_they_mean(host):
    addresses = netguard.resolve(host, 5432)
    assert addresses and all(
        netguard.refusal(a, allow_private=False) for a in addresses
    )


def test_unresolvable_names_raise():
    with pytest.raises(netguard.Unresolvable):
        netguard.resolve("no-such-host.invalid", 5432)
