#!/usr/bin/env bash
# Builds `harmony` and `harmonyd` in release mode and installs them into PREFIX/bin (default /usr/local).
#
#   Samples/install.sh                       # portable build (any x86-64), into /usr/local/bin
#   Samples/install.sh --prefix "$HOME/.local"
#   Samples/install.sh --native              # tuned for this machine's CPU (AVX2/FMA): faster, not portable
#
# The portable build runs on any x86-64 CPU. --native compiles the numeric code for Haswell-class CPUs (AVX2,
# FMA), as `HARMONY_NATIVE=1 swift build -c release` on such a machine does: fits about 1.8x faster, but the
# binaries stop with an illegal instruction on older CPUs, so copy them only to machines like this one.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
native=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --native) native=1; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! command -v swift >/dev/null 2>&1; then
    echo "install: the Swift 6 toolchain is needed and 'swift' is not on the PATH." >&2
    echo "         Install it (https://www.swift.org/install/linux/) and add its usr/bin to PATH, then run again." >&2
    exit 1
fi
Samples/setup.sh
build=(swift build -c release --product harmony)
build_d=(swift build -c release --product harmonyd)
scratch=.build-portable
unset HARMONY_NATIVE
if [ "$native" -eq 1 ]; then
    export HARMONY_NATIVE=1
    scratch=.build
fi
"${build[@]}" --scratch-path "$scratch"
"${build_d[@]}" --scratch-path "$scratch"
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
mkdir -p "$prefix/bin"
install -m 0755 "$bin/harmony" "$bin/harmonyd" "$prefix/bin/"
echo "installed $prefix/bin/harmony and $prefix/bin/harmonyd ($([ "$native" -eq 1 ] && echo "tuned for this CPU" || echo "portable x86-64"))"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "note: $prefix/bin is not on your PATH" ;; esac
