#!/usr/bin/env bash
# `make run`: the TrueType Chinese font the monthly reports and the certificates embed in
# their PDFs (Debian's fonts-wqy-zenhei; see lianxin/fonts.py). Installed with apt-get when
# this machine can (root, apt); otherwise the system still runs, and a PDF answers 503
# naming the package — said here, once, before the services start.
set -euo pipefail
FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
[ -n "${LIANXIN_PDF_FONT:-}" ] && [ -f "$LIANXIN_PDF_FONT" ] && exit 0
[ -f "$FONT" ] && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing fonts-wqy-zenhei (the Chinese font embedded in PDFs) with apt-get ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei >/dev/null 2>&1; } \
    || echo "warning: could not install fonts-wqy-zenhei; reports and certificates (PDF) will answer 503 until it is installed" >&2
else
  echo "warning: fonts-wqy-zenhei is not installed (apt-get install -y fonts-wqy-zenhei, or LIANXIN_PDF_FONT=<a .ttf/.ttc>); PDFs will answer 503 until then" >&2
fi
