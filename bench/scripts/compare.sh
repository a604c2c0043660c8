#!/usr/bin/env bash
# compare.sh: scalelab load against wrk -t1 and ab -k on a private nginx
# (one worker) serving a 2 KB file on the loopback, the same 64 connections,
# in turns, ROUNDS times. Prints req/s and client CPU-s per 100k requests of
# each run, then the medians. The portable engine (--portable) runs too.
# With PIN=1, nginx's worker runs on CPU 0 and every client on CPU 1, which
# takes the scheduler's placement out of the comparison.
# Each line also shows nginx's worker CPU-s per 100k requests (the server's
# cost under that client, from /proc). TOOLS chooses the tools (default:
# "scalelab wrk ab portable"); SCALELAB2 adds a second scalelab binary,
# "scalelab2", to compare two builds in the same rounds.
# Usage: [PIN=1] [TOOLS="scalelab wrk"] bench/scripts/compare.sh [ROUNDS] [SECONDS]
# Run from the repository's root; needs Go, nginx, wrk, ab and curl.
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-10}
PORT=${PORT:-18089}
TMP=$(mktemp -d)
BIN=${SCALELAB:-$TMP/scalelab}
[ -n "${SCALELAB:-}" ] || go build -o "$BIN" ./cmd/scalelab
chmod 755 "$TMP"
mkdir -p "$TMP/html"
head -c 2048 /dev/zero | tr '\0' 'x' > "$TMP/html/2k.txt"
chmod -R a+rX "$TMP"
cat > "$TMP/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/client_temp;
  proxy_temp_path $TMP/proxy_temp;
  fastcgi_temp_path $TMP/fastcgi_temp;
  uwsgi_temp_path $TMP/uwsgi_temp;
  scgi_temp_path $TMP/scgi_temp;
  server { listen 127.0.0.1:$PORT; root $TMP/html; }
}
CONF
nginx -p "$TMP" -c "$TMP/nginx.conf" &
NGINX=$!
trap 'kill $NGINX 2>/dev/null; wait $NGINX 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/2k.txt" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/2k.txt"
PINC=()
WORKERS=$(pgrep -P "$NGINX")
if [ "${PIN:-0}" = 1 ]; then
	for w in $WORKERS; do taskset -pc 0 "$w" >/dev/null; done
	PINC=(taskset -c 1)
fi
TOOLS=${TOOLS:-scalelab wrk ab portable}
[ -z "${SCALELAB2:-}" ] || TOOLS="$TOOLS scalelab2"

# nginxticks: the CPU ticks (user+system) of nginx's workers so far.
nginxticks() {
	local t=0 w
	for w in $WORKERS; do t=$((t + $(awk '{print $14+$15}' "/proc/$w/stat"))); done
	echo "$t"
}

# run NAME CMD...: prints NAME req/s cpu-s-per-100k
run() {
	local name=$1; shift
	local cpu reqs rps n0 n1
	n0=$(nginxticks)
	/usr/bin/time -f '%U %S' -o "$TMP/time" "${PINC[@]}" "$@" > "$TMP/out" 2>&1
	n1=$(nginxticks)
	cpu=$(awk '{print $1+$2}' "$TMP/time")
	case $name in
	wrk) reqs=$(awk '/requests in/{print $1}' "$TMP/out"); rps=$(awk '/Requests\/sec/{print $2}' "$TMP/out") ;;
	ab) reqs=$(awk '/Complete requests/{print $3}' "$TMP/out"); rps=$(awk '/Requests per second/{print $4}' "$TMP/out") ;;
	*) reqs=$(awk '/requests /{gsub(",","",$2); print $2}' "$TMP/out"); rps=$(awk '/requests /{gsub(",","",$7); print $7}' "$TMP/out") ;;
	esac
	printf '%-10s %10.0f req/s  %5.2f CPU-s/100k  nginx %5.2f\n' "$name" "$rps" \
		"$(echo "$cpu*100000/$reqs" | bc -l)" \
		"$(echo "($n1-$n0)/$(getconf CLK_TCK)*100000/$reqs" | bc -l)" | tee -a "$TMP/all"
}
for r in $(seq "$ROUNDS"); do
	echo "round $r"
	for tool in $TOOLS; do
		case $tool in
		scalelab) run scalelab "$BIN" load "$URL" -c 64 -d "${SECS}s" ;;
		scalelab2) run scalelab2 "$SCALELAB2" load "$URL" -c 64 -d "${SECS}s" ;;
		wrk) run wrk wrk -t1 -c64 -d"${SECS}s" "$URL" ;;
		ab) run ab ab -k -c64 -t"$SECS" -n 100000000 "$URL" ;;
		portable) run portable "$BIN" load "$URL" -c 64 -d "${SECS}s" --portable ;;
		esac
	done
done
# Each round's scalelab/wrk ratio, since rounds differ more than tools do.
ratio() {
	awk -v a="$1" '$1 == a {s = $2} $1 == "wrk" {print s / $2}' "$TMP/all" | sort -n |
		awk -v a="$1" '{r[NR]=$1; l = l " " sprintf("%.3f", $1)} END {if (NR) printf "%s/wrk req/s ratio, median of rounds: %.3f  (sorted:%s)\n", a, r[int((NR+1)/2)], l}'
}
case " $TOOLS " in *" wrk "*)
	for name in scalelab scalelab2; do
		case " $TOOLS " in *" $name "*) ratio "$name" ;; esac
	done ;;
esac
echo "medians of $ROUNDS rounds of ${SECS}s:"
for name in $TOOLS; do
	awk -v n="$name" '$1 == n {print $2, $4}' "$TMP/all" | sort -n -k1 | awk '{r[NR]=$1} END {printf "%-10s %10.0f req/s", "'"$name"'", r[int((NR+1)/2)]}'
	awk -v n="$name" '$1 == n {print $4}' "$TMP/all" | sort -n | awk '{c[NR]=$1} END {printf "  %5.2f CPU-s/100k", c[int((NR+1)/2)]}'
	awk -v n="$name" '$1 == n {print $7}' "$TMP/all" | sort -n | awk '{c[NR]=$1} END {printf "  nginx %5.2f\n", c[int((NR+1)/2)]}'
done
