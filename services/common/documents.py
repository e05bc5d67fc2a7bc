"""What every printed document of the platform shares: the QR code that opens its verification
page, and that page's whole address on the configured public base URL (``SHILIU_PUBLIC_URL``):
a PDF leaves the browser, so a path alone, or the host a request came through (web's own call
into a service), would not lead a reader back."""

from __future__ import annotations

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing


def qr(url: str, size: float) -> Drawing:
    """A QR code of ``url``, ``size`` points square (error correction level M)."""
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def public_address(base_url: str, path: str) -> str:
    """``path`` on the public base URL: ``https://city.example/volunteering/verify/CODE``."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")
