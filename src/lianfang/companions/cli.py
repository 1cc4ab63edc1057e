"""``lianfang trace companions --pings FILE --out FILE [--cases CODE,…] [--engine duckdb|spark]``."""

from __future__ import annotations

from pathlib import Path

from lianfang.core.commands import command_group, fail, needs_database


def register(sub, tools) -> None:
    group = command_group(sub, "trace", "tracing: plans, companions (FORMATS.md)")
    p = group.add_parser(
        "companions", help="spatio-temporal companions (时空伴随) of the cases in telecom pings"
    )
    p.add_argument(
        "--pings", required=True, help="the pings: Parquet or CSV (person_key, cell_id, start, end)"
    )
    p.add_argument("--out", required=True, help="the companions.csv to write")
    p.add_argument("--cases", help="only these case codes, comma-separated (default: every case)")
    p.add_argument(
        "--engine", choices=["duckdb", "spark"], default="duckdb", help="duckdb (default) or spark (local)"
    )
    p.set_defaults(func=cmd_companions)


@needs_database
def cmd_companions(args) -> int:
    from lianfang.analytics.companions import EngineUnavailable
    from lianfang.companions.services import companions_export
    from lianfang.core.errors import Refused
    from lianfang.core.reader import ImportFileError

    codes = None
    if args.cases is not None:
        codes = [c.strip() for c in args.cases.split(",") if c.strip()]
        if not codes:
            return fail("--cases: no case code given / 未给出病例编号")
    try:
        written = companions_export(
            pings=Path(args.pings), out=Path(args.out), case_codes=codes, engine=args.engine
        )
    except Refused as exc:
        return fail(str(exc))
    except ImportFileError as exc:
        return fail(f"{args.pings}: {exc}")
    except EngineUnavailable as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write / 无法写入 {args.out}: {exc.strerror or exc}")
    print(
        f"{written.rows} companion rows for {written.cases} case(s) → {args.out} "
        f"(edition {written.edition}, engine {written.engine}) / 时空伴随 {written.rows} 行"
    )
    return 0
