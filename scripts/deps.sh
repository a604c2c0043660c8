#!/usr/bin/env bash
# Installs the servers and load tools scalelab runs, from Debian's packages,
# when any is missing: PostgreSQL, memcached, nginx, ab (apache2-utils), wrk.
# As root it runs apt-get; otherwise it uses sudo when there is one; on
# other systems it says what to install. When everything is there it says
# nothing and changes nothing (make test runs it every time).
#
# It touches only what it installed: Debian's postgresql package creates and
# starts a cluster of its own, which the lab (running its own private
# server) does not need, so the clusters that this install created are
# stopped; clusters that were there before are left alone.
#
# DEPS_PG_GLOB and DEPS_NGINX say where PostgreSQL's server and nginx are
# looked for outside PATH (for the script's test).
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_server() {
  have pg_config && [ -x "$(pg_config --bindir)/postgres" ] && return 0
  compgen -G "${DEPS_PG_GLOB:-/usr/lib/postgresql/*/bin/postgres}" >/dev/null
}

pg_server || missing+=(postgresql)
have memcached || missing+=(memcached)
have nginx || [ -x "${DEPS_NGINX:-/usr/sbin/nginx}" ] || missing+=(nginx)
have ab || missing+=(apache2-utils)
have wrk || missing+=(wrk)

[ ${#missing[@]} -eq 0 ] && exit 0

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

clusters() { have pg_lsclusters && pg_lsclusters -h 2>/dev/null | awk '{print $1 "/" $2}' || true; }
before=$(clusters)

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  for c in $(clusters); do
    if ! grep -qxF "$c" <<<"$before"; then
      echo "deps: stopping PostgreSQL cluster $c, which the package created (the lab runs its own server)"
      $sudo pg_ctlcluster "${c%%/*}" "${c#*/}" stop 2>/dev/null || true
    fi
  done
fi
echo "deps: done"
