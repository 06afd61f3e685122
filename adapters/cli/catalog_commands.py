"""`bdbexport module ...` and `bdbexport user ...`: the module catalog and the users
(adding writes the local store; `user unlock` also works against a server)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from .errors import CliError
from .runtime import HELP_OPTIONS, State, local_only, open_target, run_command

module_app = typer.Typer(
    help="The module catalog: list, add (local).",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
    rich_markup_mode=None,
)
user_app = typer.Typer(
    help="Users: add, set-password (local), unlock.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
    rich_markup_mode=None,
)


@module_app.command("list")
def module_list(ctx: typer.Context) -> None:
    """List the module catalog with capabilities."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            modules = target.list_modules()
        finally:
            target.close()
        rows = [{**m, "capabilities": ", ".join(m["capabilities"])} for m in modules]
        if state.output.as_json:
            state.output.json(modules)
        else:
            state.output.records(rows, ["module_name", "semantic_version", "capabilities"])

    run_command(ctx, body)


@module_app.command("add")
def module_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Module name, e.g. search.", metavar="NAME")],
    version: Annotated[str, typer.Option("--version", help="Semantic version.", metavar="VERSION")],
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", help="A capability (repeatable).", metavar="CAPABILITY"),
    ] = None,
) -> None:
    """Add (or replace) a module in the local catalog."""

    def body(state: State) -> None:
        target = local_only(state, "module add")
        try:
            module = target.add_module(name, version, capability or [])
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(module)
        else:
            state.output.line(
                f"module {module['module_name']} {module['semantic_version']}:"
                f" {', '.join(module['capabilities']) or 'no capabilities'}"
            )

    run_command(ctx, body)


@user_app.command("add", short_help="Add a user to the local store.")
def user_add(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(help="The user's email (the login name).", metavar="EMAIL")
    ],
    role: Annotated[
        str, typer.Option("--role", help="A built-in role, e.g. db_member.", metavar="ROLE")
    ],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (first line).")
    ] = False,
) -> None:
    """Add a user to the local store (the password is asked, never an argument)."""

    def body(state: State) -> None:
        password = new_password(password_stdin)
        target = local_only(state, "user add")
        try:
            user = target.add_user(email, role, password)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(user)
        else:
            state.output.line(f"user {user['email']} added with role {user['role']}")

    run_command(ctx, body)


@user_app.command("unlock", short_help="Lift a user's sign-in lock and forget the failures.")
def user_unlock(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(help="The user's email (the login name).", metavar="EMAIL")
    ],
) -> None:
    """Lift a user's sign-in lock (too many failed sign-ins) and forget the failures:
    in the store (local), or through the server (remote: POST /v1/users/unlock, admins
    only). Every replica on the store sees it at once."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            answer = target.unlock_user(email)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(answer)
        elif answer["was_locked"]:
            state.output.line(f"user {answer['email']}: unlocked")
        else:
            state.output.line(f"user {answer['email']}: was not locked (failures forgotten)")

    run_command(ctx, body)


@user_app.command("set-password", short_help="Give a user of the local store a new password.")
def user_set_password(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Argument(help="The user's email (the login name).", metavar="EMAIL")
    ],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (first line).")
    ] = False,
) -> None:
    """Give a user of the local store a new password (a lost admin password, say): a
    server on the same store takes it within a second."""

    def body(state: State) -> None:
        password = new_password(password_stdin)
        target = local_only(state, "user set-password")
        try:
            user = target.set_password(email, password)
        finally:
            target.close()
        if state.output.as_json:
            state.output.json(user)
        else:
            state.output.line(f"user {user['email']}: password changed")

    run_command(ctx, body)


def new_password(from_stdin: bool) -> str:
    """A password typed twice at the terminal, or the first line of stdin."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("invalid_argument", "no terminal to ask the password: use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != password:
        raise CliError("invalid_argument", "the passwords differ")
    return password
