#!/bin/sh
# Installs the netagent dashboard into Kibana. Run by the kibana-setup service of docker-compose.yml
# once `netagent setup elasticsearch` (the es-setup service) has installed the templates; idempotent.
set -eu
KIBANA=${KIBANA_URL:-http://kibana:5601}
DIR=$(dirname "$0")

until curl -fsS "$KIBANA/api/status" | grep -q '"level":"available"'; do
  echo "waiting for Kibana at $KIBANA"; sleep 5
done
curl -fsS -X POST "$KIBANA/api/saved_objects/_import?overwrite=true" -H 'kbn-xsrf: netagent' \
  --form "file=@$DIR/kibana/netagent-dashboard.ndjson"; echo
echo "netagent: dashboard installed"
