"""`bdbexport explain`: the rules engine's decision, with every reason; changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from bdbexport.domain.actions import Action

from .errors import CliError
from .runtime import State, open_target, run_command


def explain(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.", metavar="UID")],
    action: Annotated[
        str,
        typer.Option(
            help="reset, start or view.", case_sensitive=False, metavar="reset|start|view"
        ),
    ] = "reset",
) -> None:
    """Ask the rules engine what would happen, with every reason; changes nothing.

    Exits 0 when the action would be allowed, else with the exit code of the refusal.
    Against a server (--url), reset and start are asked with `?dry_run=true`.
    """
    actions = {"reset": Action.RESET, "start": Action.START, "view": Action.VIEW}

    def body(state: State) -> int | None:
        if action.lower() not in actions:
            raise CliError("invalid_argument", f"--action must be one of {', '.join(actions)}")
        if state.settings.remote and actions[action.lower()] is Action.VIEW:
            raise CliError(
                "invalid_argument",
                "only reset and start can be explained against a server"
                " (explain --action view needs a local store: --store)",
            )
        target = open_target(state)
        try:
            decision = target.explain(uid, actions[action.lower()])
        finally:
            target.close()
        state.output.decision(decision)
        if decision["allowed"]:
            return None
        error = decision["error"]
        return int(CliError(error["error_code"], error["description"]).exit_code)

    run_command(ctx, body)
