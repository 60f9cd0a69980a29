"""The benchmark dataset (README "Benchmarks"): clients 10,000 rows and projects 1,000,000 rows in
a PostgreSQL schema, built with generate_series so it takes seconds. Idempotent: an existing,
complete dataset is kept.

    python bench/dataset.py [--url postgresql://postgres@127.0.0.1:5432/test] [--schema noco_bench]
"""

from __future__ import annotations

import argparse
import time

import psycopg

CLIENTS = 10_000
PROJECTS = 1_000_000


def build(url: str, schema: str, *, force: bool = False) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name IN ('clients', 'projects')",
            [schema],
        ).fetchone()[0]
        if exists == 2 and not force:
            n = conn.execute(
                f"SELECT reltuples::bigint FROM pg_class WHERE oid = '\"{schema}\".projects'::regclass"
            ).fetchone()[0]
            if n >= PROJECTS * 0.95:
                print(f"dataset present in schema {schema} ({n:,} projects)")
                return
        started = time.perf_counter()
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(
            """
            CREATE TABLE clients (
                id serial PRIMARY KEY,
                name varchar(120) NOT NULL,
                email varchar(200),
                city varchar(80),
                created_at timestamptz NOT NULL DEFAULT now()
            )"""
        )
        conn.execute(
            """
            INSERT INTO clients (name, email, city, created_at)
            SELECT 'Client ' || g, 'client' || g || '@example.com',
                   (ARRAY['Lisbon','Berlin','Nairobi','Osaka','Toronto','Lima'])[1 + g %% 6],
                   timestamptz '2020-01-01' + (g || ' hours')::interval
            FROM generate_series(1, %s) g""",
            [CLIENTS],
        )
        conn.execute(
            """
            CREATE TABLE projects (
                id bigserial PRIMARY KEY,
                name varchar(200) NOT NULL,
                status varchar(20) NOT NULL,
                priority integer NOT NULL,
                budget numeric(12, 2),
                due_date date,
                done boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL,
                client_id integer REFERENCES clients(id)
            )"""
        )
        conn.execute(
            """
            INSERT INTO projects (name, status, priority, budget, due_date, done, created_at, client_id)
            SELECT 'Project ' || g,
                   (ARRAY['planned','active','on_hold','done','cancelled'])[1 + (g * 7) %% 5],
                   1 + g %% 5,
                   ((g * 37) %% 100000) / 1.0 + 0.5,
                   date '2024-01-01' + (g %% 900),
                   (g * 7) %% 5 = 3,
                   timestamptz '2021-01-01' + (g || ' minutes')::interval,
                   1 + (g * 13) %% %s
            FROM generate_series(1, %s) g""",
            [CLIENTS, PROJECTS],
        )
        conn.execute(
            "CREATE INDEX projects_status_created ON projects (status, created_at)"
        )
        conn.execute("CREATE INDEX projects_client ON projects (client_id)")
        conn.execute("VACUUM ANALYZE clients")
        conn.execute("VACUUM ANALYZE projects")
        print(
            f"dataset built in schema {schema} in {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="noco_bench")
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    args = parser.parse_args()
    build(args.url, args.schema, force=args.force)
