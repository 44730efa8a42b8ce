"""The `agora` command: serve, migrate, set-role, trust, seed, schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from domain import Role
from settings import Settings, StartupFailure, load_settings_or_exit

Command = Callable[[Settings, argparse.Namespace], int]


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from logs import configure_logging

    # Before uvicorn logs anything (with several workers, its supervisor logs here).
    configure_logging(settings.log_level, json=settings.is_production)
    workers = args.workers
    if workers > 1:
        single = single_process_parts(settings)
        if single:
            return refuse(
                f"agora serve: --workers {workers} needs PostgreSQL, MongoDB and Redis, but "
                f"{', '.join(single)} can serve only one process (set DATABASE_URL to a "
                "postgresql:// URL, MONGODB_URL and REDIS_URL, or drop --workers)",
                settings,
            )
    host, port = args.host or settings.host, args.port or settings.port
    try:
        check_address(host, port)
        asyncio.run(check_datastores(settings))
    except StartupFailure as failure:
        return refuse(f"agora serve: {failure}", settings)
    with shared_metrics_folder(workers):
        uvicorn.run(
            "app:app",
            host=host,
            port=port,
            workers=workers,
            # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only.
            proxy_headers=False,
            ws_max_size=settings.ws_max_message_bytes,
            ws_per_message_deflate=settings.ws_per_message_deflate,
            log_level=settings.log_level.lower(),
            # Logging is logs.configure_logging's; the access line is web.access_log's.
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    return 0


def single_process_parts(settings: Settings) -> list[str]:
    """The configured datastores that only one process may use."""
    parts = []
    if settings.sqlalchemy_url.startswith("sqlite"):
        parts.append("the SQLite file")
    if not settings.mongodb_url:
        parts.append("the embedded document server")
    if not settings.redis_url:
        parts.append("the in-process event bus")
    return parts


@contextlib.contextmanager
def shared_metrics_folder(workers: int) -> Iterator[None]:
    """With several workers, metrics are summed through files in one folder
    (prometheus-client's multiprocess mode): PROMETHEUS_MULTIPROC_DIR if set, emptied
    first (a previous run's samples would be added in), otherwise a temporary folder
    removed afterwards."""
    if workers <= 1:
        yield
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield
        return
    made = tempfile.mkdtemp(prefix="agora-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        yield
    finally:
        shutil.rmtree(made, ignore_errors=True)


def check_address(host: str, port: int) -> None:
    """HOST resolves to an address of this machine and PORT is free on it."""
    # The address family uvicorn binds: IPv6 only for a host written with colons.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        addresses = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else "not a valid name"
        raise StartupFailure(
            f"HOST={host} does not resolve to an address ({reason}); set HOST to "
            "an address of this machine, such as 127.0.0.1 or 0.0.0.0"
        ) from None
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupFailure(
                    f"port {port} on {host} is in use by another process; stop it, or "
                    "set PORT (or --port) to a free port"
                ) from None
            if error.errno == errno.EADDRNOTAVAIL:
                raise StartupFailure(
                    f"HOST={host} is not an address of this machine; set HOST to one, "
                    "such as 127.0.0.1 or 0.0.0.0"
                ) from None
            raise StartupFailure(f"cannot listen on {host}:{port} ({error.strerror})") from None


async def check_datastores(settings: Settings) -> None:
    """What would otherwise fail during start-up, or at the first request."""
    from datasources.data_folder import hold_data_folder, uses_data_folder
    from datasources.reachability import check_reachable
    from datasources.relational import open_relational_store
    from datasources.relational.migrate import check_migrated

    if uses_data_folder(settings.sqlalchemy_url, settings.mongodb_url):
        # Held by this process, which is the server: released when it exits.
        hold_data_folder(settings.data_dir)
    await check_reachable(settings)
    if settings.is_production:
        store = open_relational_store(settings.sqlalchemy_url)
        try:
            await check_migrated(store)
        finally:
            await store.close()


def refuse(line: str, settings: Settings) -> int:
    """An operational error: one line on stderr (JSON in production), exit code 2."""
    from logs import report_failure

    report_failure(line, json=settings.is_production)
    return 2


def print_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    from datasources.reachability import reason
    from datasources.relational import open_relational_store
    from datasources.relational.migrate import describe_database, upgrade

    async def run() -> None:
        store = open_relational_store(settings.sqlalchemy_url)
        try:
            await upgrade(store, args.revision)
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except Exception as error:
        return refuse(
            f"agora migrate: could not migrate {describe_database(settings.sqlalchemy_url)}: "
            f"{reason(error)}",
            settings,
        )
    print(f"migrated {describe_database(settings.sqlalchemy_url)} to {args.revision}")
    return 0


def set_role(settings: Settings, args: argparse.Namespace) -> int:
    from datasources.relational import open_relational_store

    async def run() -> bool:
        store = open_relational_store(settings.sqlalchemy_url)
        try:
            return await store.users.set_role(args.handle, args.role)
        finally:
            await store.close()

    if not asyncio.run(run()):
        print(f"no user with handle {args.handle!r}", file=sys.stderr)
        return 1
    # Servers check each access token's user and role through a cache that lives a few
    # seconds (resolvers.context.TOKEN_CHECK_TTL_SECONDS), so no sign-in again is needed.
    print(f"{args.handle} is now {args.role} (signed-in sessions follow within seconds)")
    return 0


def seed_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console

    import seed
    from logs import configure_logging

    # The progress bars say what happens; start-up chatter only with LOG_LEVEL=DEBUG.
    configure_logging(
        "DEBUG" if settings.log_level == "DEBUG" else "WARNING", json=settings.is_production
    )

    given = {
        name: getattr(args, name)
        for name in ("users", "posts", "comments", "seed", "password")
        if getattr(args, name) is not None
    }
    options = seed.SeedOptions(**given)
    try:
        options.check()
        summary = asyncio.run(seed.seed(settings, options, show_progress=True))
    except (seed.SeedRefused, ValueError) as error:
        print(f"agora seed: {error}", file=sys.stderr)
        return 1
    except StartupFailure as failure:
        return refuse(f"agora seed: {failure}", settings)
    Console().print(seed.summary_table(summary))
    return 0


def recount(settings: Settings, args: argparse.Namespace) -> int:
    from datasources.reachability import reason
    from datasources.relational.counters import recount as recount_relational
    from datasources.stores import open_datastores_for

    async def run() -> int:
        stores = await open_datastores_for(settings, time_limits=False)
        try:
            await recount_relational(stores.relational)
            return await stores.documents.post_counts.recount()
        finally:
            await stores.close()

    try:
        posts = asyncio.run(run())
    except StartupFailure as failure:
        return refuse(f"agora recount: {failure}", settings)
    except Exception as error:
        return refuse(f"agora recount: {reason(error)}", settings)
    print(f"recounted follows, published posts, and comments and reactions ({posts} posts)")
    return 0


def trust(settings: Settings, args: argparse.Namespace) -> int:
    """Adds documents to the trusted-documents manifest."""
    from web.persisted_documents import add_to_manifest

    manifest = Path(args.manifest) if args.manifest else settings.trusted_documents_file
    if manifest is None:
        print("agora trust: give --manifest or set TRUSTED_DOCUMENTS_FILE", file=sys.stderr)
        return 2
    try:
        added = add_to_manifest(manifest, [Path(source) for source in args.files])
    except (OSError, ValueError) as error:
        print(f"agora trust: {error}", file=sys.stderr)
        return 1
    for digest, source in added:
        print(f"{digest}  {source}")
    print(f"{len(added)} document(s) trusted in {manifest}")
    return 0


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}")
        return number

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agora", description="Agora GraphQL API server")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        run: Command, name: str, summary: str, description: str | None = None
    ) -> argparse.ArgumentParser:
        """The subcommand `name`, which calls `run`; `summary` is its line in `agora -h`."""
        found = commands.add_parser(name, help=summary, description=description)
        found.set_defaults(run=run)
        return found

    serve_cmd = command(serve, "serve", "serve the API (HOST/PORT from the environment)")
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=bounded(1, 65535))
    serve_cmd.add_argument(
        "--workers",
        type=bounded(1, 256),
        default=1,
        help="worker processes (more than 1 needs DATABASE_URL, MONGODB_URL and REDIS_URL)",
    )

    command(print_schema, "schema", "print the GraphQL schema (SDL), as in schema.graphql")

    migrate_cmd = command(migrate, "migrate", "apply database migrations")
    migrate_cmd.add_argument("--revision", default="head")

    role_cmd = command(set_role, "set-role", "give a user a role")
    role_cmd.add_argument("handle")
    role_cmd.add_argument("role", choices=[role.value for role in Role])

    command(
        recount,
        "recount",
        "count follows, posts, comments and reactions again into the kept counts",
        "Recount the counts the API keeps instead of counting on every read (followers, "
        "following, published posts, each post's comments and reactions) from the data. "
        "Run it while the API takes no writes: after restoring a backup, or if a process "
        "died between writing a comment or reaction and counting it.",
    )

    trust_cmd = command(
        trust,
        "trust",
        "add documents to the trusted-documents manifest",
        "Add GraphQL documents (.graphql files, or JSON manifests such as GraphQL Codegen's "
        "persisted-documents.json) to the manifest that TRUSTED_DOCUMENTS_ONLY=true limits "
        "the server to.",
    )
    trust_cmd.add_argument("files", nargs="+", help=".graphql or .json files")
    trust_cmd.add_argument("--manifest", help="default: TRUSTED_DOCUMENTS_FILE")

    # Defaults live in seed.SeedOptions (importing seed here would slow every command).
    seed_cmd = command(
        seed_demo_data,
        "seed",
        "fill empty datastores with a deterministic demo data set",
        "Fill empty datastores (those the configuration points at) with a deterministic demo "
        "data set: users and profiles, follows, posts, threaded comments, reactions and "
        "notifications. The same --seed and sizes give the same data. Refuses (exit code 1) "
        "when the datastores already hold data.",
    )
    seed_cmd.add_argument("--users", type=int, help="how many users (default: 200)")
    seed_cmd.add_argument("--posts", type=int, help="how many posts (default: 1000)")
    seed_cmd.add_argument("--comments", type=int, help="how many comments (default: 10000)")
    seed_cmd.add_argument("--seed", type=int, help="random seed (default: 42)")
    seed_cmd.add_argument(
        "--password", help="every demo user's password (default: agora-demo-password)"
    )

    args = parser.parse_args(argv)
    settings = load_settings_or_exit()
    return int(args.run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
