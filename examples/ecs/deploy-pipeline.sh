#!/usr/bin/env bash
# Deploy a new revision of an ECS service behind gw, and take the old
# revision out of the gateway as soon as the new one is healthy in it,
# before ECS stops the old tasks (their sidecars then only deregister).
#
#   GW_ADMIN_URL=http://gateway.internal:8001 GW_ADMIN_TOKEN=... ./deploy-pipeline.sh prod users 3
#
# Needs: aws CLI, jq, gw-agent (npm i -g gw-agent).
set -euo pipefail

CLUSTER=${1:?cluster}
SERVICE=${2:?service}
DESIRED=${3:-2}
: "${GW_ADMIN_URL:?set GW_ADMIN_URL to the gateway Admin API}"

# deployments are ECS family:revision (what the sidecar tags targets with)
OLD=$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].taskDefinition' --output text)
OLD=${OLD##*/}
NEW_ARN=$(aws ecs register-task-definition --cli-input-json file://task-definition.json --query 'taskDefinition.taskDefinitionArn' --output text)
NEW=${NEW_ARN##*/}
echo "deploying $SERVICE: $OLD -> $NEW"
aws ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --task-definition "$NEW_ARN" >/dev/null

# wait (up to 10 minutes) until the gateway routes to enough tasks of the new revision
healthy_new() {
  gw-agent status --service "$SERVICE" --json |
    jq --arg d "$NEW" '[.targets[] | select(.deployment == $d and .state == "healthy")] | length'
}
for _ in $(seq 1 120); do
  [ "$(healthy_new)" -ge "$DESIRED" ] && break
  sleep 5
done
[ "$(healthy_new)" -ge "$DESIRED" ] || { echo "new revision $NEW never became healthy in the gateway" >&2; exit 1; }

# no new requests to the old revision; wait for its in-flight requests (exit 1 on timeout)
gw-agent drain --service "$SERVICE" --deployment "$OLD" --timeout 2m --json > "drain-$OLD.jsonl"

aws ecs wait services-stable --cluster "$CLUSTER" --services "$SERVICE"
gw-agent status --service "$SERVICE"
