"""WeChat's callback protocol: URL verification, signature first, strict XML, AES in compat/safe, encrypted replies."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.credentials import Credentials
from bot.crypto import CryptoError, MessageCrypto, random_prefix, signature, signature_matches
from bot.message import Inbound, MalformedPush
from bot.store import Answer
from bot.xmlin import BadXml, parse_fields


class Rejected(Exception):
    """A push that is refused before any handler runs; ``status`` says how the web app answers."""

    status = "bad_request"


class Forbidden(Rejected):
    status = "forbidden"


class BadRequest(Rejected):
    status = "bad_request"


@dataclass(frozen=True)
class Result:
    body: str
    """What WeChat receives: reply XML (encrypted in compat/safe), or "" for no reply."""
    kind: str
    duplicate: bool = False


class Callback:
    """WeChat's side of a push: its signatures, XML and encryption; knows neither HTTP nor the dispatcher."""

    def __init__(
        self,
        credentials: Credentials,
        random: Callable[[], str] = random_prefix,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.crypto = (
            MessageCrypto(credentials.token, credentials.encoding_aes_key, credentials.app_id, random=random)
            if credentials.mode != "plain"
            else None
        )

    def check_origin(self, query: Mapping[str, str]) -> None:
        """The query ``signature`` (token, timestamp, nonce) proves WeChat sent it; checked before the body is read."""
        expected = signature(self.credentials.token, query.get("timestamp", ""), query.get("nonce", ""))
        if not signature_matches(expected, query.get("signature")):
            raise Forbidden("bad signature")

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET: the echostr, unencrypted in every mode, once the signature checks out."""
        self.check_origin(query)
        return query.get("echostr", "")

    def parse(self, query: Mapping[str, str], body: bytes) -> Inbound:
        """The push in a POST body (signature already checked), decrypted in compat/safe; :class:`Rejected` if bad."""
        try:
            fields = parse_fields(body)
            if self.crypto is not None:
                fields = parse_fields(self._decrypt(query, fields))
            return Inbound.from_fields(fields)
        except (BadXml, MalformedPush) as exc:
            raise BadRequest(str(exc)) from None

    def seal(self, query: Mapping[str, str], answer: Answer) -> Result:
        """What WeChat receives for ``answer``: the reply XML, encrypted in compat/safe mode."""
        if not answer.plaintext or self.crypto is None:
            return Result(answer.plaintext, answer.kind, answer.duplicate)
        timestamp = str(int(self.clock()))
        nonce = query.get("nonce") or random_prefix()
        return Result(self.crypto.envelope(answer.plaintext, timestamp, nonce), answer.kind, answer.duplicate)

    def _decrypt(self, query: Mapping[str, str], fields: dict[str, str]) -> str:
        assert self.crypto is not None
        encrypted = fields.get("Encrypt")
        if not encrypted:
            raise BadRequest(f"no Encrypt field in {self.credentials.mode} mode")
        expected = self.crypto.message_signature(query.get("timestamp", ""), query.get("nonce", ""), encrypted)
        if not signature_matches(expected, query.get("msg_signature")):
            raise Forbidden("bad msg_signature")
        try:
            return self.crypto.decrypt(encrypted)
        except CryptoError as exc:
            raise BadRequest(str(exc)) from None
