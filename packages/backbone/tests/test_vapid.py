"""VAPID keys: made, read back (raw base64url or PEM), refused when malformed."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr

from saekdam_backbone.notifications import vapid


def test_a_new_key_is_32_raw_bytes_whose_public_half_is_an_uncompressed_point():
    private = vapid.generate_private_key()
    assert len(vapid.b64url_decode(private)) == 32 and "=" not in private
    point = vapid.b64url_decode(vapid.public_key(private))
    assert len(point) == 65 and point[0] == 0x04
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def test_a_pem_key_gives_the_same_public_key_as_its_raw_form():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    raw = vapid.b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    assert vapid.public_key(pem) == vapid.public_key(raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (vapid.b64url_encode(b"\x01" * 31), "32 raw bytes"),
        ("%%%not base64%%%", "base64url"),
        (
            ec.generate_private_key(ec.SECP384R1())
            .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            .decode(),
            "P-256",
        ),
    ],
)
def test_a_malformed_key_is_refused_saying_why(text, message):
    with pytest.raises(ValueError, match=message):
        vapid.load_private_key(text)


def test_an_empty_setting_means_no_push():
    assert vapid.configured_key(None) is None
    assert vapid.configured_key(SecretStr("  ")) is None
    assert vapid.configured_key(SecretStr(" abc ")) == "abc"


def test_the_command_prints_a_usable_pair(capsys):
    vapid.main()
    lines = capsys.readouterr().out.splitlines()
    private = lines[0].removeprefix("VAPID_PRIVATE_KEY=")
    assert vapid.public_key(private) in lines[1]
