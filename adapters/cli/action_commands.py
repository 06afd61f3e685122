"""`bdbexport action ...`: the Actions API — every export, import and backup, followed
by its `action_uid` as Redis Software clients do (redisctl's `poll_action`)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from .errors import CliError
from .exit_codes import ExitCode
from .local_target import LocalTarget
from .remote_target import RemoteTarget
from .runtime import HELP_OPTIONS, State, open_target, progress_bar, run_command

action_app = typer.Typer(
    help="The Actions API: every export, import and backup.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
    rich_markup_mode=None,
)

FINISHED = {"completed", "failed", "cancelled"}
ACTION_COLUMNS = ["action_uid", "name", "status", "progress", "object_name", "start_time"]

ActionUid = Annotated[
    str, typer.Argument(help="The action's uid (a start's action_uid).", metavar="ACTION_UID")
]
Interval = Annotated[
    float, typer.Option(min=0.05, help="Seconds between polls (0.05 at least).", metavar="SECONDS")
]


def follow_action(
    state: State,
    target: LocalTarget | RemoteTarget,
    action_uid: str,
    interval: float,
    timeout: float | None = None,
) -> int | None:
    """Poll the action until it is completed, failed or cancelled; print it; 9 unless
    it completed."""
    action = wait_for_action(state, target, action_uid, interval, timeout)
    show_action(state, action)
    return None if action["status"] == "completed" else int(ExitCode.EXPORT_FAILED)


def wait_for_action(
    state: State,
    target: LocalTarget | RemoteTarget,
    action_uid: str,
    interval: float,
    timeout: float | None = None,
) -> dict[str, Any]:
    """The action once it is completed, failed or cancelled, polled under a progress
    bar; `wait_timeout` (exit 6) after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    action = target.get_action(action_uid)
    # 0 % is an action still `queued` or `starting`: for an export, Redis has not
    # started the snapshot yet (docs/exports.md).
    waiting = "waiting for its source to start"
    with progress_bar(state, f"action {action_uid}", waiting=waiting) as report:
        while action["status"] not in FINISHED:
            report(int(action["progress"]))
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    "wait_timeout",
                    f"action {action_uid} is still {action['status']} after {timeout:g}s",
                )
            time.sleep(interval)
            action = target.get_action(action_uid)
        report(int(action["progress"]))
    return action


def show_action(state: State, action: dict[str, Any]) -> None:
    if state.output.as_json:
        state.output.json(action)
        return
    text = (
        f"action {action['action_uid']}: {action['name']} of {action['object_name']}"
        f" {action['status']}, {action['progress']}%"
    )
    if action.get("error"):
        text += f" ({action['error']})"
    state.output.line(text)


@action_app.command("list")
def action_list(
    ctx: typer.Context,
    db: Annotated[
        int | None, typer.Option(help="Only this database's actions.", metavar="UID")
    ] = None,
) -> None:
    """Every export, import and backup the store remembers, newest first."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            actions = target.list_actions(db)
        finally:
            target.close()
        state.output.records(actions, ACTION_COLUMNS)

    run_command(ctx, body)


@action_app.command("show")
def action_show(ctx: typer.Context, action_uid: ActionUid) -> None:
    """One action: its status, progress and, once ended, how."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            action = target.get_action(action_uid)
        finally:
            target.close()
        show_action(state, action)

    run_command(ctx, body)


def already_ended(
    target: LocalTarget | RemoteTarget, action_uid: str, refusal: CliError
) -> CliError:
    """A cancel refused because the action has ended says so, and how it ended (the
    domain's refusal speaks of the bdb's status, `failed` even for a cancelled one)."""
    if refusal.code != "invalid_transition":
        return refusal
    try:
        action = target.get_action(action_uid)
    except CliError:
        return refusal
    if action["status"] not in FINISHED:
        return refusal
    return CliError(
        refusal.code,
        f"Action {action_uid} has already ended: {action['status']}; there is nothing to cancel.",
        exit_code=refusal.exit_code,
        hint=f"see how it ended: bdbexport action show {action_uid}",
    )


@action_app.command("cancel", short_help="Cancel a running export, import or backup.")
def action_cancel(ctx: typer.Context, action_uid: ActionUid) -> None:
    """Cancel a running export, import or backup (needs the permission to start it)."""

    def body(state: State) -> None:
        target = open_target(state)
        try:
            try:
                action = target.cancel_action(action_uid)
            except CliError as refusal:
                raise already_ended(target, action_uid, refusal) from None
        finally:
            target.close()
        show_action(state, action)

    run_command(ctx, body)


@action_app.command("wait", short_help="Wait until the action has ended (exit 0 if completed).")
def action_wait(
    ctx: typer.Context,
    action_uid: ActionUid,
    interval: Interval = 0.5,
    timeout: Annotated[
        float | None,
        typer.Option(min=0, help="Give up after this many seconds (exit 6).", metavar="SECONDS"),
    ] = None,
) -> None:
    """Wait until the action is completed (exit 0), failed or cancelled (exit 9)."""

    def body(state: State) -> int | None:
        target = open_target(state)
        try:
            return follow_action(state, target, action_uid, interval, timeout)
        finally:
            target.close()

    run_command(ctx, body)
