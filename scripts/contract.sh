#!/usr/bin/env bash
# The API contract test (backend/tests/contract.rs): the OpenAPI document served at
# /api/v1/openapi.json is checked against the OpenAPI 3.1 specification
# (openapi-spec-validator), and schemathesis explores every operation of it against a
# live `intake` server on 127.0.0.1: no 5xx, no undocumented status, no body or header
# that breaks the document. A fixed number of cases per operation and a fixed seed
# (INTAKE_CONTRACT_EXAMPLES, INTAKE_CONTRACT_SEED override them).
#
# Both tools come from PyPI, pinned, in a virtual environment under the target
# directory; skipped when already there. A machine whose python3 lacks the venv module
# (a bare Debian 12) gets Debian's python3-venv, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0
VENV="${CARGO_TARGET_DIR:-target}/contract-venv"

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION" || ! [ -x "$VENV/bin/openapi-spec-validator" ]; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
        else
            echo "contract.sh: python3 with the venv module is needed (apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$ST_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi

INTAKE_SCHEMATHESIS="$(cd "$VENV/bin" && pwd)/st" cargo test -p intake --locked --test contract -- --include-ignored
