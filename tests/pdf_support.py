"""Reading a PDF as its reader would: its text (pypdf) and the QR codes a phone would scan on
its pages (rendered by pdfium, decoded by ZXing)."""

from __future__ import annotations

import io

import pypdfium2
import zxingcpp
from pypdf import PdfReader


def pdf_text(pdf: bytes) -> str:
    """Every page's text, joined."""
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def qr_codes(pdf: bytes) -> list[str]:
    """What the QR codes on the document's pages say, page by page."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        found = []
        for page in document:
            image = page.render(scale=3).to_pil()
            found += [
                code.text
                for code in zxingcpp.read_barcodes(image)
                if code.format == zxingcpp.BarcodeFormat.QRCode
            ]
        return found
    finally:
        document.close()
