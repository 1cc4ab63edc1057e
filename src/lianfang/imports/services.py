"""Running imports: the same path for the CLI and the web upload (a background task)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core import plugins
from lianfang.core.db import FULL, unavailable
from lianfang.core.errors import Refused
from lianfang.core.fields import run_with_rejected
from lianfang.core.reader import EXTRA_CELLS, ImportFileError, extra_cells, limits, read_table, write_rejects
from lianfang.core.summary import ImportSummary
from lianfang.imports.models import ImportJob, JobStatus, WorkerBeat

log = logging.getLogger(__name__)

DISK_FULL = (
    "数据库磁盘已满，本次导入未保存任何内容；请联系运维腾出空间后重新上传 / the database disk is full; "
    "nothing of this import was stored; ask the operator to free space, then upload it again"
)
INTERNAL_ERROR = "导入时发生内部错误，已记录，请联系管理员 / internal error during the import, logged; contact the administrator"

# Row outcomes that are not rejections (samples and results report them per row).
_KEPT = {"", "accepted", "duplicate", "held"}


def import_kinds() -> tuple[str, ...]:
    """Every kind an installed app declared (``persons``, ``samples`` …)."""
    return tuple(plugins.importers())


def import_file(
    *, kind: str, path, actor: Actor | None, rejects_path=None, fmt: str | None = None, progress=None
) -> ImportSummary:
    """Read a file (CSV/XLSX/Parquet) and import it as ``kind``; write the rejects file when asked.

    A CSV row with more cells than the header is ``extra_cells`` before any check of the
    importer's (FORMATS.md, General): it never reaches the importer, so nothing of it is stored,
    and it is counted and written to the rejects file here, for every kind.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    importer = plugins.importer(kind)
    run = plugins.resolve(importer.run)
    if importer.files == "many":
        return run(paths=[path], actor=actor, rejects_path=rejects_path)
    columns = getattr(run, "columns", None)  # the importer's declared columns (core.fields.screened)
    table = read_table(path, fmt=fmt, columns=columns() if columns else None)
    kwargs = {"progress": progress} if importer.progress else {}
    source = Path(str(path)).name
    shifted = extra_cells(table)
    if shifted is None:
        summary, outcomes = run(table=table, actor=actor, source=source, **kwargs)
    else:
        rejected = np.where(shifted.to_numpy(zero_copy_only=False), "extra_cells", "").astype(object)
        summary, outcomes = run_with_rejected(
            run, table.drop_columns([EXTRA_CELLS]), rejected, actor=actor, source=source, **kwargs
        )
    if rejects_path:
        mask = ~np.isin(outcomes.astype(str), list(_KEPT))
        write_rejects(rejects_path, table.filter(pa.array(mask)), list(outcomes[mask]))
    return summary


def _data_bytes() -> int:
    """The process's data segment now (VmData: the memory RLIMIT_DATA counts), 0 if unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def memory_ceiling(limit_mb: int | None = None):
    """Run an import with at most ``limit_mb`` MB more memory than the process has now.

    The CLI and the background worker run each import inside this (issue 10, item 5): a file that
    slips past the reader's caps still cannot take the machine's memory. It is RLIMIT_DATA (the
    heap and private mappings, which is where NumPy, Arrow and DuckDB allocate; not address space
    merely reserved, nor the memory-mapped input file), raised on entry from what the process
    already uses and put back on exit. Allocation past it fails (MemoryError, Arrow's and DuckDB's
    out-of-memory errors); the import's transaction is rolled back and it is refused as
    ``out_of_memory`` naming the limit. ``limit_mb`` defaults to ``LIANFANG_IMPORT_MEMORY_MB``
    from the environment, else :data:`lianfang.core.reader.limits.MAX_IMPORT_MEMORY_MB`; 0 turns
    the ceiling off. Linux only (elsewhere a no-op). Not used inside a web server process (an
    immediate task backend): the limit is the whole process's.
    """
    import resource

    if limit_mb is None:
        limit_mb = int(os.environ.get("LIANFANG_IMPORT_MEMORY_MB", limits.MAX_IMPORT_MEMORY_MB))
    used = _data_bytes()
    if limit_mb <= 0 or not used:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = used + (limit_mb << 20)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    try:
        yield
    except MemoryError as exc:
        raise limits._out_of_memory(limit_mb) from exc
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's
            raise limits._out_of_memory(limit_mb) from exc
        raise
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def import_job_create(*, actor: Actor, uploaded_file, kind: str = "persons") -> ImportJob:
    """Store the upload under the data directory and queue its import."""
    from lianfang.imports.tasks import run_import_job

    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    job = ImportJob(kind=kind, user=actor.user, ip=actor.ip, original_name=uploaded_file.name[:255])
    suffix = Path(uploaded_file.name).suffix.lower()[:10]
    target = folder / f"{job.id}{suffix}"
    with open(target, "wb") as out:
        for chunk in uploaded_file.chunks():
            out.write(chunk)
    job.file_path = str(target)
    job.save()
    transaction.on_commit(lambda: run_import_job.enqueue(str(job.id)))
    return job


def import_job_run(*, job_id: str) -> None:
    """Run a queued job (idempotent: a finished job is left alone)."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return
    job.status = JobStatus.RUNNING
    job.save(update_fields=["status"])
    actor = Actor.for_user(job.user, ip=job.ip)

    def progress(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed=done, total=total)

    rejects = Path(job.file_path).with_suffix(".rejects.csv")
    # A worker process of its own gets the memory ceiling; an immediate backend runs the task in
    # the web server's (or the tests') process, whose limit it must not change.
    in_worker = not settings.TASKS["default"]["BACKEND"].endswith("ImmediateBackend")
    try:
        with memory_ceiling() if in_worker else _nothing():
            summary = import_file(
                kind=job.kind,
                path=job.file_path,
                actor=actor,
                rejects_path=rejects,
                fmt=_fmt_of(job.original_name),
                progress=progress,
            )
    except (ImportFileError, Refused) as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
        return
    except Exception as exc:
        # A full disk is a known fault with a known outcome (the import's transaction rolled
        # back): the job says so; anything else is an internal error, re-raised for its traceback.
        full = unavailable(exc) == FULL
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=DISK_FULL if full else INTERNAL_ERROR,
            finished_at=timezone.now(),
        )
        if full:
            log.error("import job %s: database disk full: %s", job.pk, exc)
            return
        raise
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE,
        summary=summary.as_dict(),
        processed=summary.read,
        total=summary.read,
        rejects_path=str(rejects),
        finished_at=timezone.now(),
    )


@contextmanager
def _nothing():
    yield


# The file names an upload may have, and the format each is read as.
FORMAT_OF_SUFFIX = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
UPLOAD_SUFFIXES = tuple(FORMAT_OF_SUFFIX)


def upload_error(upload) -> str:
    """Why a posted file cannot become an import job (in the reader's language), or "": none
    chosen, not CSV / XLSX / Parquet by its name, or over ``IMPORT_MAX_UPLOAD_MB``."""
    from django.utils.translation import gettext as _

    if upload is None:
        return _("请选择要导入的文件（CSV、XLSX 或 Parquet）。")
    if not upload.name.lower().endswith(UPLOAD_SUFFIXES):
        return _("不支持的文件格式：%(name)s。请上传 CSV、XLSX 或 Parquet 文件。") % {"name": upload.name}
    if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        return _("文件过大（上限 %(mb)s MB）。") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}
    return ""


def _fmt_of(name: str) -> str | None:
    return FORMAT_OF_SUFFIX.get(Path(name).suffix.lower())


# --- the background worker's heartbeat --------------------------------------------------------

# A worker says it is alive this often; one not heard from for WORKER_SILENT is taken as gone.
WORKER_BEAT_SECONDS = 5
WORKER_SILENT_SECONDS = 30


def tasks_run_in_process() -> bool:
    """True when tasks run inside the request (tests, ``LIANFANG_TASKS_IMMEDIATE``): no worker needed."""
    return settings.TASKS["default"]["BACKEND"].endswith("ImmediateBackend")


def worker_beat(*, name: str, started_at) -> None:
    """Record that the worker ``name`` is alive now; forget workers silent for a day."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(name=name, defaults={"started_at": started_at, "seen_at": now})
    WorkerBeat.objects.filter(seen_at__lt=now - dt.timedelta(days=1)).delete()


def worker_gone(*, name: str) -> None:
    WorkerBeat.objects.filter(name=name).delete()


def worker_running() -> bool:
    """Whether queued jobs will be picked up: tasks run in process, or a worker beat recently."""
    if tasks_run_in_process():
        return True
    since = timezone.now() - dt.timedelta(seconds=WORKER_SILENT_SECONDS)
    return WorkerBeat.objects.filter(seen_at__gte=since).exists()
