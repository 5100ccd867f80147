"""What the PostgreSQL benchmarks share: logging, the load average, their database.

Each benchmark creates a throwaway database of its own (``args.pg_url`` and
``args.db_name``), measures, and drops it.
"""

import os
import time

import psycopg


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def admin_connection(args) -> psycopg.Connection:
    return psycopg.connect(f"{args.pg_url}/postgres", autocommit=True)


def bench_connection(args) -> psycopg.Connection:
    return psycopg.connect(f"{args.pg_url}/{args.db_name}", autocommit=True)


def recreate_database(args) -> None:
    with admin_connection(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db_name}"')


def drop_database(args) -> None:
    with admin_connection(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')


def database_exists(args) -> bool:
    with admin_connection(args) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db_name])
        return found.fetchone() is not None


def timed_sql(args, *statements: str) -> float:
    started = time.perf_counter()
    with bench_connection(args) as conn:
        for statement in statements:
            conn.execute(statement)
    return time.perf_counter() - started


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())
