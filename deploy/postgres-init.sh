#!/bin/sh
# Runs once, when the pgvector container creates its data folder
# (/docker-entrypoint-initdb.d): an ordinary role for ragline, so row-level security
# keeps tenants apart (it never binds the superuser), and its database with pgvector
# (creating the extension needs the superuser).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE ragline LOGIN PASSWORD '${RAGLINE_DB_PASSWORD}';
CREATE DATABASE ragline OWNER ragline;
\connect ragline
CREATE EXTENSION IF NOT EXISTS vector;
SQL
