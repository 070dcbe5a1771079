#!/bin/bash
# Runs inside LocalStack once it is ready: the gateway's single table (pk/sk strings, on-demand, TTL on `ttl`),
# the same shape the CDK stack deploys.
set -euo pipefail
TABLE="${TABLE_NAME:-ai-gateway-local}"
if ! awslocal dynamodb describe-table --table-name "$TABLE" >/dev/null 2>&1; then
  awslocal dynamodb create-table --table-name "$TABLE" \
    --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
    --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
    --billing-mode PAY_PER_REQUEST
  awslocal dynamodb wait table-exists --table-name "$TABLE"
  awslocal dynamodb update-time-to-live --table-name "$TABLE" \
    --time-to-live-specification Enabled=true,AttributeName=ttl
fi
echo "gateway table $TABLE ready"
