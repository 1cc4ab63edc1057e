"""``lianfang demo`` and ``lianfang simulate``: the synthetic Quanzhou."""

from __future__ import annotations

import sys
import time

from lianfang.core.commands import PortInUse, fail, needs_database, require_free_port

# What a user whose port is taken runs instead (they started the demo with `make demo`).
RETRY = 'make demo ARGS="--port {port}"'


def register(sub, tools) -> None:
    p = sub.add_parser("demo", help="prepare a synthetic Quanzhou and serve it")
    p.add_argument("--persons", type=int, default=100_000, help="synthetic people (default 100,000)")
    p.add_argument("--seed", type=int, default=2022, help="random seed (the same seed, the same city)")
    p.add_argument("--password", default="lianfang-demo", help="password of every demo login")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on")
    p.add_argument("--port", type=int, default=8000, help="port to serve on")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=8, help="threads per worker (1: plain sync workers)")
    p.add_argument("--no-serve", action="store_true", help="prepare only (no server, no worker)")
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="serve without the background-task worker (uploads then wait for `lianfang worker`)",
    )
    p.set_defaults(func=lambda args: cmd_demo(args, tools))

    p = sub.add_parser("simulate", help="generate and load a synthetic population")
    p.add_argument("--persons", type=int, default=100_000, help="synthetic people to add")
    p.add_argument("--seed", type=int, default=2022, help="random seed")
    p.add_argument("--replace", action="store_true", help="delete the registry first")
    p.set_defaults(func=cmd_simulate)


@needs_database
def cmd_simulate(args) -> int:
    from lianfang.simulate.services import population_load

    started = time.perf_counter()
    count = population_load(persons=args.persons, seed=args.seed, replace=args.replace)
    print(f"{count} people generated and loaded in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_demo(args, tools) -> int:
    from lianfang.simulate.services import demo_prepare

    started = time.perf_counter()
    try:
        # Before anything is prepared, and again before "ready": a demo already serving there (or
        # anything else) is said at once, and nothing claims to be ready that cannot serve.
        if not args.no_serve:
            require_free_port(args.host, args.port, RETRY)
        tools.init(False)
        logins = demo_prepare(persons=args.persons, seed=args.seed, password=args.password)
        if not args.no_serve:
            require_free_port(args.host, args.port, RETRY)
    except PortInUse as exc:
        return fail(str(exc))
    url = f"http://{args.host}:{args.port}/"
    print(f"\n联防 Lianfang demo ready in {time.perf_counter() - started:.0f} s — {url}\n")
    print(f"{'username':<22} {'password':<16} role / jurisdiction")
    for login in logins:
        print(f"{login['username']:<22} {args.password:<16} {login['role']} / {login['jurisdiction']}")
    print()
    sys.stdout.flush()
    if args.no_serve:
        return 0
    return tools.serve(
        args.host, args.port, args.workers, args.threads, worker=not args.no_worker, retry=RETRY
    )
