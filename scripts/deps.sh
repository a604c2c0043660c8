#!/usr/bin/env bash
# Installs the servers and load tools scalelab runs, from Debian's packages,
# when any is missing: PostgreSQL, memcached, nginx, ab (apache2-utils), wrk.
# As root it runs apt-get; otherwise it uses sudo when there is one; on
# other systems it says what to install.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_server() {
  have pg_config && [ -x "$(pg_config --bindir)/postgres" ] && return 0
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

pg_server || missing+=(postgresql)
have memcached || missing+=(memcached)
have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
have ab || missing+=(apache2-utils)
have wrk || missing+=(wrk)

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: PostgreSQL, memcached, nginx, ab and wrk are installed"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if ! have apt-get; then
  echo "deps: no apt-get here: install ${missing[*]} with your package manager (PostgreSQL 13 or newer)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then sudo="sudo"; else
    echo "deps: run as root, or install sudo, to apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package may start a system-wide cluster; the lab runs its own
# private server and needs none.
if have pg_lsclusters; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    $sudo pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
echo "deps: done"
