"""Callback signatures (SHA1 of sorted parts) and WXBizMsgCrypt AES via wechatpy's PrpCrypto."""

from __future__ import annotations

import base64
import hashlib

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException


def sign(*parts: str) -> str:
    """`sha1("".join(sorted(parts)))` hex — plain signature (3 parts) or msg_signature (4 parts)."""
    data = sorted(p.encode("utf-8") for p in parts)
    return hashlib.sha1(b"".join(data)).hexdigest()


class CryptoFailure(Exception):
    """Ciphertext that does not decrypt to a message for this appid."""


class MessageCipher:
    """AES-256-CBC with the EncodingAESKey, PKCS#7-32 padding and the appid suffix."""

    def __init__(self, encoding_aes_key: str, app_id: str, crypto_class: type[PrpCrypto] = PrpCrypto) -> None:
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.app_id = app_id
        self.crypto_class = crypto_class

    def encrypt(self, text: str) -> str:
        """Base64 ciphertext of `text`."""
        out = self.crypto_class(self.key).encrypt(text, self.app_id)
        return out.decode("ascii") if isinstance(out, bytes) else str(out)

    def decrypt(self, encrypted: str) -> str:
        """Plaintext of base64 `encrypted`; CryptoFailure on a bad key, padding or appid."""
        try:
            out = self.crypto_class(self.key).decrypt(encrypted, self.app_id)
        except InvalidAppIdException as exc:
            raise CryptoFailure("appid mismatch") from exc
        except Exception as exc:
            raise CryptoFailure(f"cannot decrypt: {exc}") from exc
        return out.decode("utf-8") if isinstance(out, bytes) else str(out)
