-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
-- The validator and the worker API each get their own database: both have a `tasks` table and
-- both keep their migration state in Alembic's default `alembic_version` table.
CREATE DATABASE dojo_validator OWNER dojo;
CREATE DATABASE dojo_worker OWNER dojo;
