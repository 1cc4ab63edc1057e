import numpy as np

from lianfang.core.summary import ImportSummary


def wells_import(*, table, actor, source, progress=None):
    """A well with depth 0 is dry; every other row is accepted."""
    summary = ImportSummary(read=table.num_rows)
    outcomes = np.full(table.num_rows, "accepted", dtype=object)
    for i, depth in enumerate(table.column("depth").to_pylist()):
        if depth == "0":
            outcomes[i] = "dry_well"
            summary.reject("dry_well")
        else:
            summary.accepted += 1
    if progress:
        progress(table.num_rows, table.num_rows)
    return summary, outcomes


def register(sub, tools):
    p = sub.add_parser("wells", help="count the wells")
    p.add_argument("--depth", type=int, default=10, help="the depth to report")
    p.set_defaults(func=lambda args: print(f"wells at {args.depth} m") or 0)


def dry_wells(at=None):
    """The fact this app states for others: how many wells are dry."""
    return 3
