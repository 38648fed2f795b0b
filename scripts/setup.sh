#!/usr/bin/env bash
# Create VENV (default .venv) with the newest supported Python that runs here, and install anonlab editable with
# every extra this machine supports, at the exact pins of constraints.txt. Called by `make setup`.
#
# Interpreters are tried by running them, newest first: python3.13, python3.12, python3.11 on PATH, each followed
# by the pyenv versions of it (pyenv's shims are on PATH but fail unless pyenv selects a version), then python3. One is used when it
# runs, is 3.11-3.13 (what every pin has wheels for), can make a venv, and the install succeeds; otherwise the next
# is tried. PYTHON=/path/to/python forces one.
#
# The sdv extra (SDV, CTGAN, torch) is installed only where torch's small CPU build lies on this machine's disk
# (Python 3.11 here): elsewhere pip would download a CUDA build of several GB. SDV=yes forces it, SDV=no skips it.
set -uo pipefail

VENV=${VENV:-.venv}
SDV=${SDV:-auto}
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

candidates() {
    if [ -n "${PYTHON:-}" ]; then
        echo "$PYTHON"
        return
    fi
    local v pv
    for v in 3.13 3.12 3.11; do
        echo "python$v"
        if command -v pyenv >/dev/null 2>&1; then
            for pv in $(pyenv versions --bare 2>/dev/null | grep -E "^$v\.[0-9]+$" | sort -t. -k3,3nr); do
                echo "PYENV_VERSION=$pv python$v"
            done
        fi
    done
    echo python3
}

# prints the interpreter's real path when it runs and is a supported version
probe() {
    env $1 -c 'import sys, venv, ensurepip
if not (3, 11) <= sys.version_info[:2] <= (3, 13):
    raise SystemExit(1)
print(sys.executable)' 2>/dev/null
}

install() {
    local py=$1 extras=$2
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || return 1
    "$VENV/bin/python" -m pip install --quiet --upgrade pip==26.3 || return 1
    # sdv is opt-in (Business Source License 1.1) and needs torch's CPU build from this machine's disk
    if [ "$SDV" = yes ] || { [ "$SDV" = auto ] &&
        "$VENV/bin/python" -m pip install --quiet --no-index --no-deps torch==2.13.0 >/dev/null 2>&1; }; then
        extras=all
    fi
    say "installing anonlab[$extras] with $("$VENV/bin/python" -V) ($py)"
    "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[$extras]" || return 1
    if [ "$extras" != all ]; then
        say "the sdv extra (SDV/CTGAN baselines, Business Source License 1.1) was NOT installed: torch's CPU build"
        say "is not on this machine for $("$VENV/bin/python" -V) and pip would fetch a CUDA build of several GB."
        say "Its tests skip. To install it anyway: $VENV/bin/pip install -c constraints.txt -e '.[sdv]'"
        say "(or use Python 3.11 here: make setup PYTHON=python3.11)."
    fi
    return 0
}

tried=()
declare -A seen=()
while read -r cand; do
    exe=$(probe "$cand") || { tried+=("$cand (does not run or is not 3.11-3.13)"); continue; }
    [ -n "${seen[$exe]:-}" ] && continue
    seen[$exe]=1
    if install "$exe" all-but-sdv; then
        say "done: $VENV uses $exe"
        exit 0
    fi
    tried+=("$cand ($exe: the install failed, see above)")
    say "install with $exe failed; trying the next interpreter"
done < <(candidates)

rm -rf "$VENV"
say "no usable Python found. anonlab needs CPython 3.11, 3.12 or 3.13 with venv and pip (ensurepip)."
say "Install one (e.g. apt-get install python3.11-venv, or pyenv install 3.12), or name it: make setup PYTHON=/path/to/python3.12"
for t in "${tried[@]}"; do say "  tried: $t"; done
exit 1
