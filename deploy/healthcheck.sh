#!/bin/sh
# Container health check for `custos serve`: GET /healthz on loopback, healthy on HTTP 200 only.
#
# The port follows $CUSTOS_BIND (default 8080); the scheme follows $CUSTOS_TLS_CERT. Certificate
# checks are skipped (--insecure) because the probe talks to its own process over loopback, sends
# no credentials and reads nothing but the status: the certificate names the public host, not
# 127.0.0.1. TLS configured only in custos.toml (not through the environment) is not seen here:
# configure TLS through CUSTOS_TLS_CERT / CUSTOS_TLS_KEY in containers.
set -eu

bind="${CUSTOS_BIND:-0.0.0.0:8080}"
port="${bind##*:}"
case "$port" in
    '' | *[!0-9]*) echo "custos-healthcheck: cannot read a port from CUSTOS_BIND='$bind'" >&2; exit 1 ;;
esac

scheme=http
if [ -n "${CUSTOS_TLS_CERT:-}" ]; then
    scheme=https
fi

exec curl --fail --silent --show-error --insecure --max-time 4 --output /dev/null \
    "$scheme://127.0.0.1:$port/healthz"
