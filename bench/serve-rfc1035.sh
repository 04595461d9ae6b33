#!/usr/bin/env bash
# Serves an RFC 1035 zone file with meridian (imports it first), so benchmark
# drivers that speak zone files (../shared/bench/peers.py --ours) can run us:
#   bench/serve-rfc1035.sh ZONEFILE ORIGIN PORT SCRATCHDIR [THREADS [MMDB]]
# With MMDB (peers.py --geo, placeholder {mmdb}) the zone also gets
# geo.ORIGIN A with the mapping peers.py gives gdnsd and PowerDNS:
# EU -> 192.0.2.1, NA -> 192.0.2.2, AS -> 192.0.2.3, anything else -> 192.0.2.4
# (bench/workload.py's GEO_MAP, written by its geo_record()).
set -euo pipefail
zone=$1 origin=$2 port=$3 dir=$4 threads=${5:-0} mmdb=${6:-}
bin=${MERIDIAN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/meridian}
mkdir -p "$dir/zones"
"$bin" import "$zone" --origin "$origin" > "$dir/zones/zone.toml"
printf '[server]\nzones = "zones"\nthreads = %s\n' "$threads" > "$dir/meridian.toml"
# A benchmark run as root (a throw-away VM or container) is on purpose.
if [ "$(id -u)" = 0 ]; then echo 'allow_root = true' >> "$dir/meridian.toml"; fi
if [ -n "$mmdb" ]; then
  printf '[geoip]\ndatabases = ["%s"]\n' "$mmdb" >> "$dir/meridian.toml"
  python3 "$(dirname "$0")/workload.py" geo-record >> "$dir/zones/zone.toml"
fi
exec "$bin" serve --config "$dir/meridian.toml" --listen "127.0.0.1:$port"
