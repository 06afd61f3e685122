"""`bdbexport explain`: the rules engine's decision, with every reason; changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.actions import RESET_ACTIONS, START_ACTIONS, Action
from bdbexport.domain.family import LIFECYCLES

from .errors import CliError
from .runtime import State, open_target, run_command

VERBS = ("reset", "start", "view")
KINDS = tuple(kind.value for kind in ActionKind)


def explained_action(kind: str, verb: str) -> Action:
    """The domain's action for `--kind` and `--action`, read from the family's tables
    (`RESET_ACTIONS`, `START_ACTIONS`): `export` + `start` is `start`, `import` +
    `start` is `start_import`, ... `view` reads the bdb, whatever the kind."""
    if verb not in VERBS:
        raise CliError("invalid_argument", f"--action must be one of {', '.join(VERBS)}")
    if kind not in KINDS:
        raise CliError("invalid_argument", f"--kind must be one of {', '.join(KINDS)}")
    if verb == "view":
        return Action.VIEW
    table = RESET_ACTIONS if verb == "reset" else START_ACTIONS
    return table[LIFECYCLES[ActionKind(kind)].name]


def explain(
    ctx: typer.Context,
    uid: Annotated[int, typer.Argument(help="Database uid.", metavar="UID")],
    action: Annotated[
        str,
        typer.Option(
            help="reset, start or view.", case_sensitive=False, metavar="reset|start|view"
        ),
    ] = "reset",
    kind: Annotated[
        str,
        typer.Option(
            help="The family member: export, import or backup.",
            case_sensitive=False,
            metavar="export|import|backup",
        ),
    ] = "export",
) -> None:
    """Ask the rules engine what would happen, with every reason; changes nothing.

    Exits 0 when the action would be allowed, else with the exit code of the refusal.
    Against a server (--url), reset and start are asked with `?dry_run=true`.
    """

    def body(state: State) -> int | None:
        asked = explained_action(kind.lower(), action.lower())
        if state.settings.remote and asked is Action.VIEW:
            raise CliError(
                "invalid_argument",
                "only reset and start can be explained against a server"
                " (explain --action view needs a local store: --store)",
            )
        target = open_target(state)
        try:
            decision = target.explain(uid, asked)
        finally:
            target.close()
        state.output.decision(decision)
        if decision["allowed"]:
            return None
        error = decision["error"]
        return int(CliError(error["error_code"], error["description"]).exit_code)

    run_command(ctx, body)
