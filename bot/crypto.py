"""WeChat's message signatures and AES envelope (WXBizMsgCrypt), strict on decrypt."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 32


class CryptoError(ValueError):
    """The ciphertext cannot be decrypted or does not belong to this account."""


def signature(*parts: str) -> str:
    """SHA1 hex of the parts sorted and joined (plain signature: token, timestamp, nonce; + Encrypt for messages)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a hostile query would raise).
    return given is not None and hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))


_PREFIXES: list[str] = []
_PREFIXES_LOCK = threading.Lock()
_PREFIXES_PER_DRAW = 256


def random_prefix() -> str:
    """16 random letters and digits (hex), as the official samples and wechatpy put before the message.

    Drawn from the OS CSPRNG 256 at a time: ``os.urandom`` releases the GIL, and with the request threads and the
    group-commit writer all waiting for it, winning it back cost ~40 µs per push. ``list.pop`` is atomic under the
    GIL; a forked worker starts with an empty pool, so no two processes hand out the same prefixes.
    """
    while True:
        try:
            return _PREFIXES.pop()
        except IndexError:
            with _PREFIXES_LOCK:
                if not _PREFIXES:
                    pool = secrets.token_hex(8 * _PREFIXES_PER_DRAW)
                    _PREFIXES.extend(pool[i : i + 16] for i in range(0, len(pool), 16))


os.register_at_fork(after_in_child=_PREFIXES.clear)


class MessageCrypto:
    """AES-256-CBC with IV = key[:16], PKCS#7 padding to 32 bytes, ``random16 | len | msg | appid``."""

    def __init__(
        self, token: str, encoding_aes_key: str, app_id: str, random: Callable[[], str] = random_prefix
    ) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("EncodingAESKey is not valid base64") from None
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.app_id = app_id
        self._key = key
        self._random = random
        # The key and IV never change: one Cipher, a fresh encryptor/decryptor context per message.
        self._aes = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return self._aes

    def encrypt(self, plaintext: str) -> str:
        """Base64 ciphertext of ``plaintext`` (the Encrypt field)."""
        msg = plaintext.encode("utf-8")
        raw = self._random().encode("utf-8")[:16] + struct.pack(">I", len(msg)) + msg + self._app_id
        pad = _BLOCK - len(raw) % _BLOCK
        raw += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(raw) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt_b64: str) -> str:
        """The message inside ``encrypt_b64``; :class:`CryptoError` on any inconsistency."""
        try:
            data = base64.b64decode(encrypt_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher().decryptor()
        raw = dec.update(data) + dec.finalize()
        pad = raw[-1]
        if not 1 <= pad <= _BLOCK or pad > len(raw) or raw[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        content = raw[16:-pad]
        if len(content) < 4:
            raise CryptoError("ciphertext too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise CryptoError("length prefix exceeds the ciphertext")
        try:
            message = content[4 : 4 + length].decode("utf-8")
            app_id = content[4 + length :].decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError("message is not UTF-8") from None
        if app_id != self.app_id:
            raise CryptoError("ciphertext belongs to another AppID")
        return message

    def message_signature(self, timestamp: str, nonce: str, encrypt_b64: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt_b64)

    def envelope(self, plaintext: str, timestamp: str, nonce: str) -> str:
        """The encrypted passive reply: Encrypt, MsgSignature, TimeStamp, Nonce."""
        encrypted = self.encrypt(plaintext)
        sig = self.message_signature(timestamp, nonce, encrypted)
        return (
            f"<xml>\n<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
        )
