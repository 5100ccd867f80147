"""What `make test` runs on: PostgreSQL and Redis when they answer locally, else SQLite.

The Makefile evaluates what this prints (``export`` lines for the shell) before it starts
pytest, and this prints to stderr the one line that says what the tests run on.
DATABASE_URL and REDIS_URL given in the environment win; otherwise PostgreSQL on
127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379 are used when they answer,
each with a database of the tests' own. Without them the tests run on SQLite with Celery
in-process, and the tests that need the missing service are skipped (the pytest summary
counts them).
"""

import os
import shlex
import sys

POSTGRES_PROBE = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/portal_test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/14"


def postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_PROBE).close()
    except psycopg.Error:
        return False
    return True


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(REDIS_HOST, REDIS_PORT, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def choose(environ) -> tuple[dict[str, str], str]:
    """The variables to set, and the line that says what the tests run on."""
    chosen = {}
    if environ.get("DATABASE_URL"):
        engine = "PostgreSQL" if environ["DATABASE_URL"].startswith("postgres") else "SQLite"
        database = f"{engine} (DATABASE_URL, as given)"
    elif postgres_answers():
        chosen["DATABASE_URL"] = POSTGRES_URL
        database = f"PostgreSQL ({POSTGRES_URL})"
    else:
        database = "SQLite (no PostgreSQL answers on 127.0.0.1:5432 for user postgres)"
    if "REDIS_URL" in environ:
        broker = (
            "Redis (REDIS_URL, as given)" if environ["REDIS_URL"] else "no Redis (REDIS_URL empty)"
        )
    elif redis_answers():
        chosen["REDIS_URL"] = REDIS_URL
        broker = f"Redis ({REDIS_URL})"
    else:
        broker = f"no Redis (none answers on {REDIS_HOST}:{REDIS_PORT})"
    return chosen, f"Tests run on {database} and {broker}."


def main() -> None:
    chosen, line = choose(os.environ)
    for name, value in chosen.items():
        print(f"export {name}={shlex.quote(value)}")
    print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
