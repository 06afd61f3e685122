"""Global options anywhere on the command line: `bdbexport db show 1 --json`.

Click binds an option to the command it follows, so the options of the `bdbexport`
callback (`--url`, `--store`, `--json`, ...) were understood only before the subcommand;
after it Click said "No such option" (exit 2). People used to gh, kubectl or redisctl put
them anywhere. So before Click parses, `normalise_argv` walks the command tree along the
names the arguments give and moves every global option, with its value (`--opt value` or
`--opt=value`, and `-oVALUE` or `-o=VALUE` for a short one), to the front, where Click
expects it:

- the global options, and how many values each takes, are read from the root command's
  own parameters: a new option on the callback is covered with no change here;
- an option the command reached so far defines itself belongs to that command and stays:
  `export start 1 --url ftp://...` keeps `--url` as the export's destination, `serve
  --store` the server's store, `module add --version` the module's version; its value is
  skipped too, like Click does, even when it looks like an option;
- nothing after a literal `--` moves;
- a global option left without its value is moved last, after the other global options,
  and what followed it is dropped, so Click reports "requires an argument" exactly as it
  would at the front;
- clusters of short flags (`-ab`) are not split (no global option is a short flag).

`OptionsAnywhereGroup` is the root group class that applies it: its `main` is the one door
both the console script (`app()`) and `typer.testing.CliRunner` go through.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import typer
from typer.core import TyperGroup

from .errors import CliError
from .exit_codes import ExitCode
from .output import report_error


class Parameter(Protocol):
    """What is read of a Click parameter (an option or an argument)."""

    @property
    def opts(self) -> Sequence[str]: ...

    @property
    def secondary_opts(self) -> Sequence[str]: ...

    @property
    def nargs(self) -> int: ...

    @property
    def param_type_name(self) -> str: ...


class Command(Protocol):
    """What is read of a Click command or group (a group also has `commands`)."""

    @property
    def params(self) -> Sequence[Parameter]: ...


def options_of(command: Command) -> dict[str, int]:
    """Every option string of `command` (`--json`, `--no-debug`, `-o`) -> how many values
    it takes (0 for a flag)."""
    found: dict[str, int] = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
        for name in (*param.opts, *param.secondary_opts):
            found[name] = 0 if flag else param.nargs
    return found


def subcommands_of(command: Command) -> Mapping[str, Command]:
    commands = getattr(command, "commands", None)
    return commands if isinstance(commands, Mapping) else {}


def match(token: str, options: Mapping[str, int]) -> tuple[int, bool] | None:
    """If `token` is one of `options`: (values it takes, whether one is attached to it)."""
    if not token.startswith("-") or token == "-":
        return None
    name, equals, _ = token.partition("=")
    if name in options:
        return options[name], bool(equals)
    short = token[:2]
    if not token.startswith("--") and len(token) > 2 and options.get(short, 0) > 0:
        return options[short], True  # -oVALUE
    return None


def normalise_argv(root: Command, args: Sequence[str]) -> list[str]:
    """`args` (without the program name) with the global options of `root` moved first."""
    globals_ = options_of(root)
    hoisted: list[str] = []
    kept: list[str] = []
    command = root
    descending = True  # the next positional may still name a subcommand
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            kept.extend(args[i:])
            break
        own = match(token, options_of(command)) if command is not root else None
        if own is not None:
            values, attached = own
            taken = 1 + (0 if attached else values)
            kept.extend(args[i : i + taken])
            i += taken
            continue
        hit = match(token, globals_)
        if hit is not None:
            values, attached = hit
            taken = 1 + (0 if attached else values)
            if i + taken > len(args):
                return [*hoisted, token]  # missing value: let Click say so, at the front
            hoisted.extend([_without_short_equals(token), *args[i + 1 : i + taken]])
            i += taken
            continue
        if descending and not token.startswith("-"):
            sub = subcommands_of(command).get(token)
            if sub is None:
                descending = False  # an argument, or a command Click will refuse
            else:
                command = sub
        kept.append(token)
        i += 1
    return [*hoisted, *kept]


def _without_short_equals(token: str) -> str:
    """`-o=json` as `-ojson`: Click reads a short option's attached value verbatim
    (`=json`), while `--opt=value` is understood; people write both."""
    if not token.startswith("--") and len(token) > 2 and token[2] == "=":
        return token[:2] + token[3:]
    return token


class OptionsAnywhereGroup(TyperGroup):
    """The root group: normalises the arguments (`normalise_argv`), then runs as usual,
    except that a usage error Click finds (an unknown option or command, a bad value) is
    printed like every other error of the CLI: `error: invalid_argument: ...` and a
    `hint:` line (or the JSON error object with --json), not Rich's boxed "Error" panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        given = sys.argv[1:] if args is None else args
        normalised = normalise_argv(self, given)
        if not standalone_mode:
            return super().main(
                normalised,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        try:
            code = super().main(
                normalised,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except typer.TyperException as error:  # Click's errors (Typer vendors Click)
            if type(error).__name__ == "NoArgsIsHelpError":
                # `bdbexport`, `bdbexport db`: print the help, which is what
                # was asked for, as with `-h` (docs/cli.md: exit 0), not a usage error.
                ctx = getattr(error, "ctx", None)
                if ctx is not None:
                    typer.echo(ctx.get_help())
                sys.exit(int(ExitCode.OK))
            report_click_error(error, as_json=wants_json(normalised))
            sys.exit(error.exit_code)
        except typer.Abort:
            sys.stderr.write("interrupted\n")
            sys.exit(int(ExitCode.INTERRUPTED))
        sys.exit(code if isinstance(code, int) else 0)


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON (`--json`, `-o json`), read before Click
    could parse it: a usage error is reported in the format that was asked for."""
    for i, token in enumerate(args):
        if token == "--":
            break
        if token == "--json" or token in {"--output=json", "-ojson"}:
            return True
        if token in {"-o", "--output"} and args[i + 1 : i + 2] == ["json"]:
            return True
    return False


def report_click_error(error: typer.TyperException, *, as_json: bool) -> None:
    ctx = getattr(error, "ctx", None)
    hint = None
    if ctx is not None:
        usage = " ".join(str(ctx.get_usage()).split()).removeprefix("Usage: ")
        hint = f"usage: {usage} (more: {ctx.command_path} -h)"
    usage_error = CliError(
        "invalid_argument",
        error.format_message(),
        exit_code=ExitCode.USAGE if error.exit_code == ExitCode.USAGE else ExitCode.ERROR,
        hint=hint,
    )
    report_error(usage_error, as_json=as_json)
