#!/bin/sh
# ragline in a container: one replica per container (the Dockerfile's ENTRYPOINT).
#
#   entrypoint.sh [serve [ARGS]]  apply the store's migrations (an advisory lock on
#                                 PostgreSQL: replicas starting together queue), then
#                                 run `ragline serve` on 0.0.0.0:$RAGLINE_PORT
#   entrypoint.sh healthcheck     exit 0 when /readyz answers 200 (the HEALTHCHECK;
#                                 503 while starting, draining or when the store is down)
#   entrypoint.sh model-check     embed one sentence with the bundled model, offline
#   entrypoint.sh ARGS...         any other ragline command (`ingest /data`, `doctor`)
#
# Configuration: $RAGLINE_PROJECT is the project folder (its ragline.yaml is optional);
# RAGLINE_* variables override it (RAGLINE_STORE=postgresql://…, RAGLINE_SERVER__DRAIN_S=5,
# RAGLINE_INSTANCE=ragline-1; see the README's "Several replicas" section).
set -eu

PROJECT="${RAGLINE_PROJECT:-/srv/ragline}"
PORT="${RAGLINE_PORT:-8000}"

case "${1:-serve}" in
serve)
    if [ "$#" -gt 0 ]; then shift; fi
    mkdir -p "$PROJECT"
    ragline -C "$PROJECT" migrate
    exec ragline -C "$PROJECT" serve --host 0.0.0.0 --port "$PORT" "$@"
    ;;
healthcheck)
    exec python -c "
import sys, urllib.request
try:
    urllib.request.urlopen('http://127.0.0.1:$PORT/readyz', timeout=3)
except Exception as e:
    sys.exit(f'not ready: {e}')
"
    ;;
model-check)
    exec python -c "
from ragline.embed import make_embedder
e = make_embedder('minilm')
print(e.name, len(e.embed_query('The embedding model is baked into the image.')))
"
    ;;
*)
    exec ragline -C "$PROJECT" "$@"
    ;;
esac
