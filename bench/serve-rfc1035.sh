#!/usr/bin/env bash
# Serves an RFC 1035 zone file with meridian (imports it first), so benchmark
# drivers that speak zone files (../shared/bench/peers.py --ours) can run us:
#   bench/serve-rfc1035.sh ZONEFILE ORIGIN PORT SCRATCHDIR [THREADS]
set -euo pipefail
zone=$1 origin=$2 port=$3 dir=$4 threads=${5:-0}
bin=${MERIDIAN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/meridian}
mkdir -p "$dir/zones"
"$bin" import "$zone" --origin "$origin" > "$dir/zones/zone.toml"
printf '[server]\nzones = "zones"\nthreads = %s\n' "$threads" > "$dir/meridian.toml"
exec "$bin" serve --config "$dir/meridian.toml" --listen "127.0.0.1:$port"
