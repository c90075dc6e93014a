"""`flask ledger ...`: sign tree heads of the public ledger, verify a ledger from outside, start it."""

from __future__ import annotations

import base64
import json
import os

import click
from flask.cli import AppGroup

from clients import ledger_verifier

cli = AppGroup("ledger", help="The public carbon ledger: sign its tree head, verify a ledger, start it.")


@cli.command("sign")
def sign() -> None:
    """Sign a tree head if the ledger grew since the last one (the worker does it every minute)."""
    from services.ledger.tree_heads import sign_if_grown

    result = sign_if_grown()
    if result.signed:
        click.echo(
            f"signed the head of {result.tree_size} entries ({result.subtree_hashes} subtree hashes stored)"
        )
    else:
        click.echo(f"the head of {result.tree_size} entries is current")


@cli.command("public-key")
def public_key() -> None:
    """Print the public key (base64, raw 32 bytes) that checks this service's tree heads."""
    from services.ledger.keys import public_key_bytes

    click.echo(base64.b64encode(public_key_bytes()).decode())


@cli.command("backfill")
def backfill() -> None:
    """Start an empty ledger from the pool as it is: its batches, valid certificates, retirements
    (the first change after an upgrade does it too, if this is not run)."""
    from services.ledger.recording import backfill as start

    click.echo(f"{start()} entries written; sign a head with `flask ledger sign`")


@cli.command("verify")
@click.option("--url", required=True, help="The ledger's service, e.g. https://carbon.example.cn")
@click.option("--head", "head_path", type=click.Path(dir_okay=False), help="A head saved by an earlier run")
@click.option("--save-head", type=click.Path(dir_okay=False), help="Where to save the head once all checks")
@click.option("--public-key", "pinned_key", help="The log's public key (base64) to pin")
@click.option(
    "--copy", "copy_path", type=click.Path(dir_okay=False), help="A local copy of the log (JSON lines)"
)
def verify(
    url: str, head_path: str | None, save_head: str | None, pinned_key: str | None, copy_path: str | None
) -> None:
    """Check a ledger from outside, as clients/ledger_verifier.py does (exit 1 on any problem)."""
    argv = ["--url", url]
    for flag, value in (("--save-head", save_head), ("--public-key", pinned_key), ("--copy", copy_path)):
        if value:
            argv += [flag, value]
    if head_path:
        if not os.path.exists(head_path):
            raise click.ClickException(f"no saved head at {head_path}")
        with open(head_path, encoding="utf-8") as handle:
            try:  # refuse a file that is not a head before any request is made
                problem = ledger_verifier.head_problem(json.load(handle))
            except ValueError as exc:
                problem = f"it is not JSON ({exc})"
        if problem:
            raise click.ClickException(f"the saved head at {head_path} is not a tree head: {problem}")
        argv += ["--head", head_path]
    code = ledger_verifier.main(argv)
    if code:
        raise SystemExit(code)
