#!/bin/sh
# The official image runs this once, when it initialises the primary's data directory: the
# application user may also stream WAL (for the postgres-replica service's pg_basebackup).
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "ALTER ROLE \"$POSTGRES_USER\" WITH REPLICATION"
echo "host replication $POSTGRES_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
