"""Render a QR ticket's URL as a PNG with qrcode's pure-Python (pypng) backend."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.pure import PyPNGImage


def qr_png(data: str, box_size: int = 8, border: int = 2) -> bytes:
    """PNG bytes of a QR code encoding `data`."""
    qr = qrcode.QRCode(box_size=box_size, border=border, image_factory=PyPNGImage)
    qr.add_data(data)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()
