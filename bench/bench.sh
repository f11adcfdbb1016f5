#!/bin/sh
# make bench: bench/bench.sh BUNDLE_DIR. The benchmark is bench/bench.py (see bench/README.md);
# this wrapper only keeps the Makefile's recipe unchanged.
exec python3 "$(dirname "$0")/bench.py" "$@"
