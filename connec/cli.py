"""The `connec` command line. Every command takes --data-dir (default ./var)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
import timeit
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connec.settings import DEFAULT_DATA_DIR, Settings, load_settings

if TYPE_CHECKING:
    from connec.accounts import AccountsMade

# Piped into a file or a test, rich would cut long paths at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)


class Refusal(Exception):
    """Something the operator can put right, said in plain words instead of a traceback."""


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    """The settings of the data folder; a file connec cannot use is refused in words."""
    import tomllib

    from pydantic import ValidationError

    config = Path(args.data_dir).expanduser().resolve() / "connec.toml"
    try:
        return load_settings(args.data_dir, **overrides)
    except tomllib.TOMLDecodeError as error:
        raise Refusal(
            f"{config} cannot be read: it is not valid TOML ({error}). Correct that line; "
            "`connec doctor` checks the file again."
        ) from None
    except UnicodeDecodeError:
        raise Refusal(f"{config} cannot be read: it is not UTF-8 text.") from None
    except ValidationError as error:
        wrong = "\n".join(
            f"  {'.'.join(str(part) for part in e['loc']) or 'connec.toml'}: {e['msg']}"
            for e in error.errors()
        )
        raise Refusal(
            f"{config} (or a CONNEC_* environment variable) holds a value connec cannot "
            f"use:\n{wrong}\nCorrect it; `connec doctor` checks the file again."
        ) from None


def _running_settings(args: argparse.Namespace) -> Settings:
    """Settings that reach the stack as it runs now (`connec up` may have chosen ports)."""
    from connec.stack import as_running

    return as_running(_settings(args))


def cmd_init(args: argparse.Namespace) -> int:
    from connec.provision import init

    overrides: dict[str, object] = {}
    synapse: dict[str, object] = {}
    if args.server_name:
        synapse["server_name"] = args.server_name
    if args.public_url:
        synapse["public_url"] = args.public_url
    if synapse:
        overrides["synapse"] = synapse
    settings = _settings(args, **overrides)
    existing = settings.paths.config.exists()
    if existing and args.server_name:
        on_file = load_settings(args.data_dir).synapse.server_name
        if on_file != args.server_name:
            console.print(
                f"[red]This data folder already belongs to {on_file}. A server "
                "name cannot change once accounts exist.[/red]"
            )
            return 2
    facts = asyncio.run(init(settings))
    console.print(f"connec is initialised in {settings.data_dir}")
    console.print(f"Coordinators' room: {facts['coordinators_room_id']}")
    console.print(f"The first coordinator's password is in {settings.paths.coordinator_password}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from connec.data_lock import DataFolderLock, FolderInUse
    from connec.processes import StartError
    from connec.stack import Stack, with_free_ports

    overrides: dict[str, object] = {}
    if args.synapse_port is not None:
        overrides["synapse"] = {"port": args.synapse_port}
    if args.portal_port is not None:
        overrides["portal"] = {"port": args.portal_port}
    settings = _settings(args, **overrides)
    if not settings.paths.secrets.exists():
        raise Refusal(
            f"{settings.data_dir} is not a connec data folder yet: run "
            f"`connec init --data-dir {args.data_dir}` first."
        )
    # Before anything else: a second `connec up` on this folder changes nothing.
    lock = DataFolderLock(settings.data_dir)
    try:
        lock.acquire()
    except FolderInUse as in_use:
        raise Refusal(str(in_use)) from None
    assert lock.fd is not None
    settings = with_free_ports(settings)
    stack = Stack(settings)
    stack.keep_open(lock.fd)  # the parts hold the folder while they run
    try:
        stack.start()
    except StartError as exc:
        console.print(f"[red]connec could not start.[/red] {escape(str(exc))}")
        console.print("Run `connec doctor` for help.")
        return 1
    described = stack.describe()
    table = Table(title="connec", show_header=False)
    table.add_row("Homeserver", described["client_url"])
    table.add_row("Portal", described["portal_url"])
    table.add_row("Matchmaker", described["bots"]["matchmaker"]["user_id"])
    table.add_row("Scheduler", described["bots"]["scheduler"]["user_id"])
    table.add_row("Coordinator", described["coordinator"]["user_id"])
    table.add_row("Coordinator's password", described["coordinator"]["password_file"])
    table.add_row("Element config", described["element_config"])
    table.add_row("Stack file", str(settings.paths.stack))
    console.print(table)
    print("connec is ready", flush=True)
    gave_up = stack.supervise()
    if gave_up is not None:
        # Not 0: systemd's Restart=on-failure starts connec again (docs/production.md).
        console.print(f"[red]connec has stopped: {escape(gave_up)}[/red]")
        return 1
    console.print("connec has stopped.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from connec.stack import stack_status

    statuses = stack_status(Path(args.data_dir).resolve())
    if statuses is None:
        console.print("connec is not running here (no stack.json). Start it with `make run`.")
        return 1
    table = Table("part", "PID", "running", "answering", "where")
    for status in statuses:
        table.add_row(
            status.name, str(status.pid), _yes(status.running), _yes(status.answering), status.url
        )
    console.print(table)
    return 0 if all(s.running and s.answering for s in statuses) else 1


def _yes(value: bool) -> str:
    return "[green]yes[/green]" if value else "[red]no[/red]"


def cmd_doctor(args: argparse.Namespace) -> int:
    from connec.doctor import Severity, examine

    findings = examine(Path(args.data_dir))
    marks = {
        Severity.OK: "[green]✓[/green]",
        Severity.WARNING: "[yellow]![/yellow]",
        Severity.PROBLEM: "[red]✗[/red]",
    }
    for finding in findings:
        console.print(f"{marks[finding.severity]} {finding.what}")
        if finding.advice:
            console.print(f"    {finding.advice}")
    return 1 if any(f.severity is Severity.PROBLEM for f in findings) else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from connec.db import migrate

    migrate(_running_settings(args).db_url)
    console.print("connec's database is up to date.")
    return 0


def cmd_bot(args: argparse.Namespace) -> int:
    from bots.common.store_key import StoreLocked

    settings = _settings(args)
    if args.name == "matchmaker":
        from bots.matchmaker.main import main as run
    else:
        from bots.scheduler.main import main as run
    try:
        run(settings)
    except StoreLocked as locked:
        raise Refusal(str(locked)) from None
    return 0


def cmd_portal(args: argparse.Namespace) -> int:
    from portal.main import main as run

    run(_settings(args))
    return 0


def cmd_people_import(args: argparse.Namespace) -> int:
    from connec.people_csv import import_file, print_report
    from connec.synapse_admin import SynapseError, SynapseUnavailable

    settings = _running_settings(args)
    report = asyncio.run(import_file(settings, Path(args.file)))
    print_report(report, console)
    if not args.create_accounts:
        return 0 if not report.errors else 1
    path = settings.paths.first_passwords
    try:
        outcome = asyncio.run(
            _create_accounts(settings, report.created + report.updated + report.unchanged)
        )
    except (SynapseUnavailable, SynapseError) as problem:
        console.print(
            f"[red]Synapse stopped answering while accounts were made ({problem}).[/red] "
            f"Every first password written so far is safe in {path}. Run the same "
            "command again when Synapse is back: it finishes the accounts with those "
            "passwords."
        )
        return 1
    except OSError as problem:
        console.print(
            f"[red]{path} cannot be written ({problem.strerror or problem}),[/red] so no "
            "account was made: a first password is always written down before its account."
        )
        return 1
    if outcome.made:
        console.print(
            f"{len(outcome.made)} accounts made; their first passwords are in {path} "
            "(only you can read it: hand each on, then delete the file)."
        )
    if outcome.waiting or outcome.lost:
        table = Table("account", "first password", title="Nobody has signed in to these yet")
        for user_id in outcome.waiting:
            table.add_row(user_id, f"in {path.name}: hand it on")
        for user_id in outcome.lost:
            table.add_row(
                user_id,
                f"no longer in {path.name}: give a new one (citizens: their welcome letter "
                "on the portal)",
            )
        console.print(table)
    return 0 if not report.errors else 1


async def _create_accounts(settings: Settings, user_ids: list[str]) -> AccountsMade:
    from sqlalchemy import select

    from connec.accounts import create_missing_accounts
    from connec.db import Database
    from connec.first_passwords import FirstPasswords
    from connec.models import Person
    from connec.secrets import load_secrets
    from connec.synapse_admin import SynapseAdmin

    db = Database(settings.db_url)
    async with db.session() as session:
        rows = await session.execute(
            select(Person.matrix_id, Person.display_name).where(Person.matrix_id.in_(user_ids))
        )
        names = {matrix_id: name for matrix_id, name in rows}
    await db.close()
    secrets = load_secrets(settings.paths.secrets)
    async with SynapseAdmin(settings.synapse.url, admin_token=secrets.admin_access_token) as admin:
        return await create_missing_accounts(
            admin,
            [(u, names.get(u, "")) for u in user_ids],
            server_name=settings.synapse.server_name,
            passwords=FirstPasswords(settings.paths.first_passwords),
        )


def cmd_staff_add(args: argparse.Namespace) -> int:
    from connec.staff import add_staff

    settings = _running_settings(args)
    try:
        added = asyncio.run(
            add_staff(
                settings,
                display_name=args.name,
                role=args.role,
                municipality=args.municipality,
                matrix_id=args.matrix_id,
                phone=args.phone,
            )
        )
    except (ValueError, LookupError) as problem:
        console.print(f"[red]{problem}[/red]")
        return 2
    console.print(
        f"{args.name} is {args.role} as {added.user_id}"
        + (f" in {args.municipality}." if args.municipality else ".")
    )
    if added.password:
        console.print(f"First password (shown once): [bold]{added.password}[/bold]")
    if added.invited:
        console.print("Invited into the coordinators' room, with a coordinator's power.")
    return 0


def cmd_people_export(args: argparse.Namespace) -> int:
    from connec.people_csv import export_file

    count = asyncio.run(
        export_file(_running_settings(args), Path(args.file) if args.file else None)
    )
    if args.file:
        console.print(f"{count} people written to {args.file}")
    return 0


def cmd_match_run(args: argparse.Namespace) -> int:
    from bots.matchmaker.matching import print_round, run_round_from_cli

    result = asyncio.run(run_round_from_cli(_running_settings(args)))
    print_round(result, console)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from connec.evidence.demo import NotForDemo, seed_demo

    settings = _settings(args)
    try:
        seeded = asyncio.run(seed_demo(settings))
    except NotForDemo as refused:
        raise Refusal(str(refused)) from None
    if seeded.already:
        console.print(f"The made-up people are already here ({seeded.people}); nothing changed.")
    else:
        console.print(
            f"{seeded.people} made-up people, {seeded.friendships} friendships and "
            f"{seeded.answers} loneliness answers added (all on the server demo.invalid; "
            "the bots leave them alone). Sign in as the coordinator and open /koordinator/rapport."
        )
    return 0


def reference_ms() -> float:
    """How long this machine takes for a fixed piece of Python (best of 5), in ms.

    Printed beside benchmark figures: shared virtual machines change speed over the
    day, and a benchmark's figures move with it.
    """
    work = "sorted(str(n * 7919 % 1009) for n in range(20_000))"
    return min(timeit.repeat(work, number=5, repeat=5)) / 5 * 1000


def cmd_bench(args: argparse.Namespace) -> int:
    console.print(
        f"machine: {os.cpu_count()} cores; reference {reference_ms():.1f} ms (lower is faster)"
    )
    if args.part == "scheduler" and args.real:
        from bots.scheduler.bench_real import main as real

        return real(_settings(args), console, args.real, args.crash, args.postgres, args.redis)
    if args.part == "federation":
        from bots.matchmaker.bench_federation import main as bench_federation

        return bench_federation(_settings(args), console, outage=args.outage)
    if args.part == "match" and args.circles:
        from bots.matchmaker.bench_circles import main as bench_circles

        return bench_circles(console, size=args.size)
    if args.part == "faults":
        from connec.faults import main as faults

        return faults(console, people=args.people, kills=args.kills, seed=args.seed, only=args.only)
    if args.part == "match":
        from bots.matchmaker.bench import main as bench_match

        return bench_match(console, size=args.size, compare=args.compare)
    if args.part == "scheduler":
        from bots.scheduler.bench import main as bench
    elif args.part == "reading":
        from bots.scheduler.bench_reading import main as bench
    elif args.part == "first-contact":
        from bots.matchmaker.bench_first_contact import main as bench
    else:
        from portal.bench import main as bench
    return int(bench(_settings(args), console) or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    """Two deployments federating on this machine, until Ctrl-C."""
    import signal
    import time

    from connec import demo

    root = Path(args.data_dir).expanduser().resolve() / "federation"
    console.print(f"Two connec deployments in {root}: the municipality and an organisation.")
    pair = demo.deployments(args.first_port)
    settings = demo.prepare(root, pair)
    demo.init_both(settings)
    processes = []
    try:
        for deployment in pair:
            log = root / f"{deployment.name}.log"
            processes.append(demo.start_up(deployment.folder(root), log))
        for deployment, process in zip(pair, processes, strict=True):
            demo.wait_ready(process, root / f"{deployment.name}.log", deployment.name)
        console.print(demo.organisation_coordinator_joins(settings), markup=False)
        table = Table("", *(d.name for d in pair))
        table.add_row("server name", *(s.synapse.server_name for s in settings))
        table.add_row("homeserver URL", *(s.synapse.client_url for s in settings))
        table.add_row("federation (TLS)", *(f"https://{s.synapse.server_name}" for s in settings))
        table.add_row("portal", *(s.portal.client_url for s in settings))
        table.add_row("Element config", *(str(s.paths.element / "config.json") for s in settings))
        table.add_row("coordinator", *(s.user_id(s.coordinator_localpart) for s in settings))
        table.add_row("password in", *(str(s.paths.coordinator_password) for s in settings))
        console.print(table)
        console.print(
            "Both deployments federate. Open one Element window per deployment "
            "(docs/element.md); the organisation's coordinator is invited into the "
            "municipality's coordinators' room. Ctrl-C stops both."
        )
        stopping = False

        def on_signal(_signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except RuntimeError as problem:
        console.print(str(problem), style="red", markup=False)
        return 1
    finally:
        demo.stop(processes)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connec", description="Online befriending on Matrix.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", default=str(DEFAULT_DATA_DIR), help="the data folder (default: ./var)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", parents=[common], help="make a data folder ready")
    init.add_argument("--server-name", help="the homeserver's name (default localhost)")
    init.add_argument("--public-url", help="how clients reach the homeserver")
    init.set_defaults(run=cmd_init)

    up = sub.add_parser("up", parents=[common], help="start everything on loopback")
    up.add_argument("--synapse-port", type=int, help="Synapse's port (0: any free port)")
    up.add_argument("--portal-port", type=int, help="the portal's port (0: any free port)")
    up.set_defaults(run=cmd_up)

    sub.add_parser(
        "status", parents=[common], help="is each part running and answering?"
    ).set_defaults(run=cmd_status)
    sub.add_parser(
        "doctor", parents=[common], help="explain what is wrong, in plain words"
    ).set_defaults(run=cmd_doctor)
    sub.add_parser(
        "migrate", parents=[common], help="bring connec's database up to date"
    ).set_defaults(run=cmd_migrate)

    people = sub.add_parser("people", help="import and export people")
    people_sub = people.add_subparsers(dest="people_command", required=True)
    imp = people_sub.add_parser("import", parents=[common], help="load people from a CSV file")
    imp.add_argument("file")
    imp.set_defaults(run=cmd_people_import)
    exp = people_sub.add_parser("export", parents=[common], help="write people to a CSV file")
    exp.add_argument("file", nargs="?", help="the file (default: standard output)")
    exp.set_defaults(run=cmd_people_export)

    imp.add_argument(
        "--create-accounts",
        action="store_true",
        help="make Matrix accounts for imported people on this server who have none",
    )
    staff = sub.add_parser("staff", help="frontline workers and coordinators")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", parents=[common], help="add a staff member")
    add.add_argument("name", help='their name, e.g. "Mette Holm"')
    add.add_argument("--role", choices=["frontline", "coordinator"], required=True)
    add.add_argument("--municipality", help="the municipality they work for (frontline: required)")
    add.add_argument("--matrix-id", help="an existing account; otherwise one is made")
    add.add_argument("--phone", help="their own phone number, printed on their welcome letters")
    add.set_defaults(run=cmd_staff_add)

    match = sub.add_parser("match", help="matching")
    match_sub = match.add_subparsers(dest="match_command", required=True)
    match_sub.add_parser("run", parents=[common], help="run a matching round now").set_defaults(
        run=cmd_match_run
    )

    demo = sub.add_parser("demo", help="try connec: made-up people, or two federating deployments")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    demo_sub.add_parser(
        "data",
        parents=[common],
        help="fill a data folder for trying connec with made-up people (never a real one)",
    ).set_defaults(run=cmd_demo_data)
    federation = demo_sub.add_parser(
        "federation", parents=[common], help="two deployments federating on this machine"
    )
    federation.add_argument(
        "--first-port",
        type=int,
        default=8440,
        help="the municipality's ports start here, the organisation's ten up (default 8440)",
    )
    federation.set_defaults(run=cmd_demo)

    bench = sub.add_parser("bench", parents=[common], help="measure speed and memory")
    bench.add_argument(
        "part",
        choices=[
            "scheduler",
            "portal",
            "reading",
            "first-contact",
            "match",
            "federation",
            "faults",
        ],
    )
    bench.add_argument(
        "--outage",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="federation: how long the organisation's server is down (default 60)",
    )
    bench.add_argument(
        "--real",
        type=int,
        metavar="N",
        help="scheduler: N visits due at one minute, through a throw-away Synapse",
    )
    bench.add_argument(
        "--crash", action="store_true", help="with --real: the scheduler is killed mid-burst"
    )
    bench.add_argument(
        "--postgres",
        metavar="URL",
        help="with --real: Synapse on PostgreSQL, as in production (a throw-away database "
        "is made on the server at URL, e.g. postgresql://postgres@127.0.0.1:5432/test)",
    )
    bench.add_argument(
        "--redis",
        metavar="URL",
        help="with --real and --postgres: a Synapse worker beside the main process, joined "
        "through Redis at URL (e.g. redis://127.0.0.1:6379/0), which answers the people's "
        "syncs, as docs/production.md routes them",
    )
    bench.add_argument(
        "--size", choices=["1k", "10k", "100k"], default="10k", help="match: citizens (default 10k)"
    )
    bench.add_argument(
        "--compare", action="store_true", help="match: also the anchors, in the same run"
    )
    bench.add_argument(
        "--circles", action="store_true", help="match: form circles for the waiting citizens"
    )
    bench.add_argument(
        "--kills", type=int, default=50, help="faults: SIGKILLs per scenario (default 50)"
    )
    bench.add_argument(
        "--people", type=int, default=200, help="faults: people greeted (half as many pairs)"
    )
    bench.add_argument("--seed", type=int, help="faults: repeat a run's random kills")
    bench.add_argument(
        "--only", choices=["kills", "outage", "rate-limits"], help="faults: one part alone"
    )
    bench.set_defaults(run=cmd_bench)

    bot = sub.add_parser("bot", parents=[common], help="run one bot (connec up does this)")
    bot.add_argument("name", choices=["matchmaker", "scheduler"])
    bot.set_defaults(run=cmd_bot)
    sub.add_parser(
        "portal", parents=[common], help="run the portal (connec up does this)"
    ).set_defaults(run=cmd_portal)
    return parser


WRITE_PROBLEMS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def main(argv: list[str] | None = None) -> int:
    # Whatever connec and the parts it starts write (databases, logs, stores, Synapse's
    # media) is readable by connec's user alone; see connec.private_files.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    from connec.secrets import SecretsUnreadable

    try:
        return int(args.run(args))
    except (Refusal, SecretsUnreadable) as refusal:
        console.print(str(refusal), style="red", markup=False, highlight=False)
        return 2
    except OSError as error:
        if error.errno not in WRITE_PROBLEMS:
            raise
        where = error.filename or args.data_dir
        console.print(
            f"connec cannot write {where}: {error.strerror}. connec keeps its configuration, "
            f"database, logs and the bots' keys in the data folder "
            f"({Path(args.data_dir).resolve()}); it must be writable by the user that runs "
            "connec (and the disk must have room). Nothing was started.",
            style="red",
            markup=False,
            highlight=False,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
