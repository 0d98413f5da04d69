"""The sandbox's signing/AES against the official vectors of the reference (§1.7)."""

from __future__ import annotations

from wechatpy.crypto import PrpCrypto

from sandbox import Platform, PlatformConfig
from sandbox.replies import classify_reply
from sandbox.wxcrypto import CryptoFailure, MessageCipher, sign

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
V1_ENCRYPT = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
V4_ENCRYPT = (
    "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7g"
    "omZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0"
    "hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvf"
    "T8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4="
)
V10_PLAIN = (
    "<xml><ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></ToUserName><FromUserName><![CDATA[gh_10f6c3c3ac5a]]>"
    "</FromUserName><CreateTime>1409735669</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]>"
    "</Content></xml>"
)
V10_ENCRYPT = (
    "jn1L23DB+6ELqJ+6bruv21YlImyg655L0pzu4wzr1EI/1ELf0N6D8IOi7XSAJxDhr8sw1Qg+DBsbNkk8HefZUetqFqcfOZs7NxWF4zu+rM9d03x8"
    "bvQI0v8ZnIMczIMASBrl6g6vTtXXVt3KbKBSLcr6mAMqoMfDkCD8ug2YUbwK3jAu+dNYjGjQYCVt6xgbpZlM4z5Dae4s1NCgn/GTKVZVVLFlJBxR"
    "DYLuQQcl5wE76dW+U7Kc9IgfvXzwg1TvJuCl3iWzfWfX1N3fty9I39qrxdhHCklSG7u5k06yuzbDuX0Avu5kPlw4heRdKElUpcdOYXKzSxPcuemf"
    "NsEc02WixO1kEIYADrQL5YCAL1ZE7rN7rQX3EVKsXzzT6zLg"
)


class FixedPrp(PrpCrypto):
    """The official samples' fixed random prefix."""

    def get_random_string(self) -> str:
        return "aaaabbbbccccdddd"


def test_signatures() -> None:
    assert sign("pamtest", "1409304348", "xxxxxx") == "76480565cbe296026c53aaacd1ad523a1ddba24f"
    assert sign("pamtest", "1409304348", "xxxxxx", V1_ENCRYPT) == "82c962d39941aa48552f90ef55aa323dc620cc10"
    assert sign("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert sign("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"
    assert sign("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert sign("spamtest", "1410349438", "298025754", V4_ENCRYPT) == "003fee52ecc56afb46c00b5c7721be87860ce785"


def test_aes_matches_official_samples() -> None:
    cipher = MessageCipher(KEY, "wxb11529c136998cb6", crypto_class=FixedPrp)
    assert cipher.encrypt("我是中文abcd123") == V1_ENCRYPT
    assert cipher.decrypt(V1_ENCRYPT) == "我是中文abcd123"
    v4 = MessageCipher(KEY, "wx2c2769f8efd9abc2").decrypt(V4_ENCRYPT)
    assert "<Content><![CDATA[abcdteT]]></Content>" in v4 and "6057404712141979648" in v4
    assert MessageCipher(KEY, "wx2c2769f8efd9abc2", crypto_class=FixedPrp).encrypt(V10_PLAIN) == V10_ENCRYPT
    v5r = MessageCipher("A" * 43, "wx134c8103faa5a59e").decrypt(
        "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WE"
        "LwqrGd7jMnV0zv3Zc9Nq7"
    )
    assert v5r == "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>"


def test_wrong_appid_is_rejected() -> None:
    try:
        MessageCipher(KEY, "wxSOMEONEELSE00000").decrypt(V4_ENCRYPT)
    except CryptoFailure as exc:
        assert "appid" in str(exc)
    else:
        raise AssertionError("decrypt with the wrong appid must fail")


def test_v10_encrypted_reply_is_accepted() -> None:
    platform = Platform(
        PlatformConfig(
            token="spamtest",
            encoding_aes_key=KEY,
            app_id="wx2c2769f8efd9abc2",
            original_id="gh_10f6c3c3ac5a",
            message_mode="safe",
        )
    )
    body = (
        f"<xml><Encrypt><![CDATA[{V10_ENCRYPT}]]></Encrypt><MsgSignature><![CDATA["
        "7644f55a123e5aee2a9bf2535b6ca5bf076f2aef]]></MsgSignature><TimeStamp>1409735669</TimeStamp>"
        "<Nonce><![CDATA[1320562132]]></Nonce></xml>"
    )
    reply = classify_reply(platform, body.encode(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "text")
    assert reply.kind == "message" and reply.encrypted
    assert reply.msgtype == "text" and reply.payload == {"content": "你好"}
    tampered = body.replace("7644f55a", "0000f55a")
    bad = classify_reply(platform, tampered.encode(), "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "text")
    assert bad.kind == "invalid" and "MsgSignature" in (bad.error or "")
