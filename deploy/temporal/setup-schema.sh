#!/bin/sh
# Creates the Temporal server's two databases if missing and brings their schemas to the server's version, with the
# server's own temporal-sql-tool. Every step is idempotent: run it before every start. Used by the `temporal-schema`
# job in docker-compose.yml (admin-tools image) and by infra/temporal-server.ts (npm run test:production).
#   SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD   the Postgres server and a role that may create databases
#   SCHEMA_DIR     the schema/postgresql/v12 directory of the same server version (admin-tools: /etc/temporal/schema/…)
#   SQL_TOOL       temporal-sql-tool (default: on PATH)
set -eu
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"
: "${SQL_TOOL:=temporal-sql-tool}"
export SQL_PLUGIN=postgres12
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  kind=${pair#*:}
  "$SQL_TOOL" --db "$db" create-database
  "$SQL_TOOL" --db "$db" setup-schema -v 0.0
  "$SQL_TOOL" --db "$db" update-schema -d "$SCHEMA_DIR/$kind/versioned"
done
echo "temporal-schema: databases temporal and temporal_visibility are at the schema of this server version"
