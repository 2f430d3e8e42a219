"""The ``tracedrop`` command: up, api, worker, beat, read, keygen."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import click

from worker.settings import load_settings_or_exit


@click.group()
def main() -> None:
    """tracedrop: every LLM request trace into your own object storage."""


@main.command()
@click.option("--data", default="tracedrop-data", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the settings, Redis's and the bucket's data and the logs.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the api listens on.")
@click.option("--port", default=8080, show_default=True, type=int, help="The api's port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=0), help="Delivery workers.")
@click.option("--local-bucket", is_flag=True, help="Also run a SeaweedFS S3 bucket, with its data in --data.")
def up(data: Path, host: str, port: int, workers: int, local_bucket: bool) -> None:
    """Run tracedrop on this machine: its own Redis, the api, workers (and a bucket), until Ctrl-C."""
    from worker.up import Options, UpError, run

    try:
        run(Options(data=data, host=host, port=port, workers=workers, local_bucket=local_bucket))
    except UpError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
def api(host: str, port: int, workers: int) -> None:
    """Serve the ingest and admin API."""
    settings = load_settings_or_exit()
    import uvicorn

    from api.server import uvicorn_options
    from worker.logs import configure_logging

    configure_logging()
    proxies = settings.proxies()  # uvicorn believes 127.0.0.1's X-Forwarded-* unless told: only these
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False,
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies, **uvicorn_options(settings))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a delivery worker; extra options go to ``celery worker``."""
    load_settings_or_exit()
    from worker.celery_app import app, configure
    from worker.logs import configure_logging

    configure_logging()
    configure()
    # gossip and mingle coordinate Celery features tracedrop does not use; without them a worker is one consumer
    app.worker_main(["worker", "--loglevel=INFO", "--without-gossip", "--without-mingle", *ctx.args])


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Run the scheduler: reconciler, probes, batch export cycles."""
    load_settings_or_exit()
    from worker.celery_app import app, configure
    from worker.logs import configure_logging

    configure_logging()
    configure()
    schedule = os.path.join(tempfile.mkdtemp(prefix="tracedrop-beat-"), "schedule")
    app.start(["beat", "--loglevel=INFO", f"--schedule={schedule}", *ctx.args])


@main.command()
def keygen() -> None:
    """Print a new random key: for TRACEDROP_SECRET_KEY or TRACEDROP_ADMIN_TOKEN."""
    import secrets

    click.echo(secrets.token_urlsafe(32))


@main.command("rotate-secret-key")
def rotate_secret_key() -> None:
    """Encrypt every stored destination secret under TRACEDROP_SECRET_KEY instead of TRACEDROP_OLD_SECRET_KEY (both
    from the environment, never the command line); run it with every api and worker stopped, then start them with
    the new key. Running it again finishes a run cut short."""
    import os

    from worker import redis_client, store
    from worker.crypto import SecretUnreadable

    settings = load_settings_or_exit()
    old_key = os.environ.get("TRACEDROP_OLD_SECRET_KEY", "")
    if not old_key:
        raise click.ClickException("set TRACEDROP_OLD_SECRET_KEY to the key the secrets are stored under now")
    redis = redis_client.connect(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    try:
        rotated, already = store.reencrypt_destinations(redis, old_key=old_key,
                                                        new_key=settings.secret_key.get_secret_value())
    except SecretUnreadable:
        raise click.ClickException("a destination's secrets decrypt under neither key: check TRACEDROP_OLD_SECRET_KEY "
                                   "(the destinations rotated so far keep the new key)") from None
    click.echo(f"{rotated} destinations now under the new key ({already} already were)")


@main.command()
@click.argument("source", metavar="FILE_OR_S3_URL")
@click.option("--endpoint", default=None, metavar="URL",
              help="S3-compatible endpoint for s3:// sources (credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
def read(source: str, endpoint: str | None) -> None:
    """Print an exported file (.cbor.zstd, .jsonl.gz or .parquet) or a per-trace object as JSON lines."""
    from worker.errors import DeliveryError
    from worker.kinds.s3.client import read_url
    from worker.reader import json_lines

    try:
        data = read_url(source, endpoint=endpoint) if source.startswith("s3://") else Path(source).read_bytes()
        out = sys.stdout.buffer
        for line in json_lines(data):
            out.write(line + b"\n")
    except (DeliveryError, OSError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        _exit_now(1)
    _exit_now(0)


def _exit_now(status: int) -> NoReturn:
    """End the process with its output flushed and without the interpreter's teardown, where pyarrow's thread pools
    (loaded to read Parquet) now and then abort it: "terminate called without an active exception", a complete
    read ending with SIGABRT (apache/arrow#34314)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
