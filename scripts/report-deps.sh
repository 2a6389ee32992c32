#!/usr/bin/env bash
# Install what the report rendering test needs: LibreOffice (headless Writer) to turn the
# generated .docx into PDF, and poppler-utils (pdfinfo, pdftotext, pdftoppm) to read the PDF.
# CJK fonts come from e2e-deps.sh (Noto CJK). Idempotent: apt is skipped when both are present.
set -euo pipefail

if command -v soffice >/dev/null && command -v pdfinfo >/dev/null && command -v pdftotext >/dev/null; then
  echo "report-deps: LibreOffice and poppler-utils already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends libreoffice-writer-nogui poppler-utils fonts-noto-cjk
