#!/bin/sh
# Installs the netagent index templates into Elasticsearch and the dashboard into Kibana.
# Run by the elk-setup service of docker-compose.yml; idempotent (safe to run again).
set -eu
ES=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
KIBANA=${KIBANA_URL:-http://kibana:5601}
DIR=$(dirname "$0")

until curl -fsS "$ES/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null; do
  echo "waiting for Elasticsearch at $ES"; sleep 3
done
curl -fsS -X PUT "$ES/_component_template/netagent-mappings" -H 'Content-Type: application/json' \
  --data-binary "@$DIR/component-template.json"; echo
curl -fsS -X PUT "$ES/_index_template/netagent" -H 'Content-Type: application/json' \
  --data-binary "@$DIR/index-template.json"; echo

until curl -fsS "$KIBANA/api/status" | grep -q '"level":"available"'; do
  echo "waiting for Kibana at $KIBANA"; sleep 5
done
curl -fsS -X POST "$KIBANA/api/saved_objects/_import?overwrite=true" -H 'kbn-xsrf: netagent' \
  --form "file=@$DIR/kibana/netagent-dashboard.ndjson"; echo
echo "netagent: templates and dashboard installed"
