#!/usr/bin/env bash
# Drive the compose stack in deploy/docker-compose.yml.
#
#   deploy/compose.sh up             build, start, wait until all three are healthy
#   deploy/compose.sh down           stop and remove the containers, keep the data
#   deploy/compose.sh contract-test  start a throw-away stack on free ports, run
#                                    tests/contract against it, remove it with its data
set -euo pipefail
cd "$(dirname "$0")/.."

FILE=deploy/docker-compose.yml
SERVICES=3
# A fixed project name gives the data volume a fixed name: bank-ledger_ledger-data.
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-bank-ledger}"
if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
else
    COMPOSE=(docker-compose)
fi

compose() {
    "${COMPOSE[@]}" -f "$FILE" "$@"
}

# Wait until every service container reports "healthy", at most $1 seconds.
wait_healthy() {
    local deadline=$((SECONDS + $1))
    while true; do
        local healthy=0 id status
        for id in $(compose ps -q); do
            status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
            if [ "$status" = healthy ]; then
                healthy=$((healthy + 1))
            fi
        done
        if [ "$healthy" -eq "$SERVICES" ]; then
            echo "all $SERVICES services are healthy"
            return 0
        fi
        if [ "$SECONDS" -gt "$deadline" ]; then
            echo "only $healthy of $SERVICES services healthy after $1 s" >&2
            compose ps >&2
            compose logs --tail 40 >&2
            return 1
        fi
        sleep 2
    done
}

free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for sock in sockets:
    sock.bind(("127.0.0.1", 0))
print(" ".join(str(sock.getsockname()[1]) for sock in sockets))
PY
}

contract_test() {
    export COMPOSE_PROJECT_NAME="bank-contract-$$"
    local ports
    read -r -a ports <<<"$(free_ports 6)"
    export LEDGER_PUBLISH="127.0.0.1:${ports[0]}"
    export ACCOUNTS_PUBLISH="127.0.0.1:${ports[1]}"
    export TRANSACTIONS_PUBLISH="127.0.0.1:${ports[2]}"
    export LEDGER_METRICS_PUBLISH="127.0.0.1:${ports[3]}"
    export ACCOUNTS_METRICS_PUBLISH="127.0.0.1:${ports[4]}"
    export TRANSACTIONS_METRICS_PUBLISH="127.0.0.1:${ports[5]}"
    trap 'compose down --volumes --remove-orphans' EXIT
    compose up -d --build
    wait_healthy 180
    ACCOUNTS_ADDR="$ACCOUNTS_PUBLISH" TRANSACTIONS_ADDR="$TRANSACTIONS_PUBLISH" \
        .venv/bin/python -m pytest tests/contract
}

case "${1:-}" in
    up)
        compose up -d --build
        wait_healthy 180
        ;;
    down)
        compose down
        ;;
    contract-test)
        contract_test
        ;;
    *)
        echo "usage: $0 up|down|contract-test" >&2
        exit 2
        ;;
esac
