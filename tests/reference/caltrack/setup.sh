#!/usr/bin/env bash
# Create (once) the CalTRACK reference venv at VENV_DIR.
#   tests/reference/caltrack/setup.sh VENV_DIR
# Then: VENV_DIR/bin/python export_samples.py OUT_DIR
#       VENV_DIR/bin/python reference_fit.py OUT_DIR/<sample>
# Idempotent: a marker holding the hash of requirements.txt makes a second
# call return at once; a changed requirements.txt re-installs.
# PYTHON may name the interpreter (CPython 3.9-3.11), default python3.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 VENV_DIR" >&2
    exit 2
fi
venv=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req="$here/requirements.txt"
marker="$venv/.neighborly-caltrack-ready"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$venv/bin/python" ]; then
    exit 0
fi

py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 11) else 1)'; then
    echo "setup.sh: $py is $("$py" -V 2>&1); the pins need CPython 3.9-3.11 (set PYTHON=...)" >&2
    exit 1
fi

rm -f "$marker"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# --no-compile: Python compiles the modules the reference imports when it
# first runs (the check below), not all of pandas, numpy and scipy: the
# install takes 25 s rather than 45.
"$venv/bin/python" -m pip install --quiet --no-compile --no-deps --only-binary=:all: -r "$req"
"$venv/bin/python" -m pip check >/dev/null
"$venv/bin/python" -W ignore -c 'import eemeter; assert eemeter.__version__ == "3.2.0", eemeter.__version__'
echo "$want" > "$marker"
