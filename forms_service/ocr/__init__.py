"""OCR engines. The reader asks for an engine; only ``tesseract.py`` runs tesseract."""
