#!/usr/bin/env bash
# Measures each stage's front page and a user's page with wrk (and ab -k
# for the user's page), one stage at a time on the lab's current dataset,
# plus the ceiling of nginx memcached_pass for the same page in the same
# run. Prints one line per measurement. Usage:
#   scripts/measure-pages.sh [STATE] [SECONDS] [CONNECTIONS]
set -euo pipefail
state=${1:-.lab}; secs=${2:-8}; conns=${3:-32}
bin=bin/scalelab
port=18300
user=/u/user000123
cleanup() { pkill -INT -f "scalelab serve .* --addr 127.0.0.1:$port" 2>/dev/null || true; [ -n "${ngx:-}" ] && kill "$(cat "$ngx/nginx.pid" 2>/dev/null)" 2>/dev/null || true; }
trap cleanup EXIT

wrk_rps() { wrk -t1 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non2xx=" $5 > "/dev/stderr"}'; }
ab_rps() { ab -k -q -c"$conns" -t"$secs" -n 100000000 "$1" 2>/dev/null | awk '/Requests per second/ {print $4}'; }

serve() { # stage args...
  $bin serve "$@" --state "$state" --addr 127.0.0.1:$port > /tmp/measure-serve.log 2>&1 &
  for _ in $(seq 1 600); do grep -q '^serving' /tmp/measure-serve.log && return 0; sleep 0.2; done
  cat /tmp/measure-serve.log; exit 1
}
stop() { pkill -INT -f "scalelab serve .* --addr 127.0.0.1:$port" || true; while pgrep -f "scalelab serve .* --addr 127.0.0.1:$port" >/dev/null; do sleep 0.2; done; }

$bin up --state "$state" >/dev/null
for st in 1 2 3 4 "4 --no-index"; do
  serve $st
  base=http://127.0.0.1:$port
  curl -s -o /dev/null "$base/"; curl -s -o /dev/null "$base$user"   # prime (stage 4 caches)
  echo "stage $st  front   wrk $(wrk_rps "$base/")"
  echo "stage $st  user    wrk $(wrk_rps "$base$user")"
  echo "stage $st  user    ab  $(ab_rps "$base$user")"
  if [ "$st" = 4 ]; then
    # The ceiling: a bare nginx doing only memcached_pass of the same page.
    mc=$($bin env --state "$state" | sed -n "s/^MEMCACHED_SERVERS='\(.*\)'/\1/p")
    ngx=$(mktemp -d); chmod 755 "$ngx"
    cat > "$ngx/nginx.conf" <<CONF
daemon on; worker_processes auto; pid $ngx/nginx.pid; error_log $ngx/error.log;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $ngx/b; proxy_temp_path $ngx/p; fastcgi_temp_path $ngx/f; uwsgi_temp_path $ngx/u; scgi_temp_path $ngx/s;
  keepalive_requests 1000000;
  upstream mc { server $mc; keepalive 64; }
  server { listen 127.0.0.1:18399; location / { set \$memcached_key "page:\$request_uri"; memcached_pass mc; default_type text/html; } } }
CONF
    nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log"
    sleep 0.5
    for r in 1 2 3; do
      echo "ceiling user  wrk $(wrk_rps "http://127.0.0.1:18399$user")   (nginx memcached_pass only, repeat $r)"
      echo "stage 4 user  wrk $(wrk_rps "$base$user")   (repeat $r)"
    done
    kill "$(cat "$ngx/nginx.pid")"; ngx=""
  fi
  stop
done
$bin serve 0 --state "$state" --addr 127.0.0.1:$port > /tmp/measure-serve.log 2>&1 &
for _ in $(seq 1 100); do grep -q '^serving' /tmp/measure-serve.log && break; sleep 0.2; done
urls=$(sed -n 's/^stage 0 (baselines): static by nginx \(\S*\), dynamic by Go \(\S*\), one query \(\S*\)$/\1 \2 \3/p' /tmp/measure-serve.log)
set -- $urls
echo "stage 0  static  wrk $(wrk_rps "$1")"
echo "stage 0  dynamic wrk $(wrk_rps "$2")"
echo "stage 0  query   wrk $(wrk_rps "$3")"
stop
