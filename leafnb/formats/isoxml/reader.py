"""ISO 11783-10 TASKDATA reader (ISOXML with binary TLG time logs).

The ISOXML semantics live in the modules named for them; this module finds the parts of
a TASKDATA and assembles a :class:`~leafnb.formats.base.RawRead`:

* :mod:`.taskdata` — the XML, parsed once per upload;
* :mod:`.tlg` — one binary time log; :mod:`.timelogs` — a task's logs, parallel logs
  joined by time;
* :mod:`.devices` — the device trees and the working width; :mod:`.worktime` — work
  states and the recording status;
* :mod:`.practice` — the operation type; :mod:`.properties` — DDIs to standard
  properties; :mod:`.totals` — running totals and the controller's task totals;
* :mod:`.table` — the raw table; :mod:`.context` — machinery, products, field...

Decisions
---------
* **Parts**: one leaf file per task (``TSK``) that references at least one time log
  (part id = the task id, e.g. ``"TSK1"``). Time-log files in the folder that no task
  references become one part each (part id = the log name, e.g. ``"TLG00007"``). A
  TASKDATA.XML that cannot be parsed gives ``[None]`` and :meth:`IsoxmlReader.read`
  raises ``CorruptFile``.
* **Records**: ``record_count`` counts the task's records — one per instant when
  parallel logs are joined (:mod:`.timelogs`), plus the records dropped for an
  impossible position; ``time_logs`` keeps each log's own count (what isoxml-js counts).
* **Failures**: a log whose header or binary cannot be decoded, or that has no usable
  record, fails alone; its reason goes to ``RawRead.issues`` and ``meta["failed_logs"]``.
  When every log of a part fails, ``read`` raises ``CorruptFile`` naming each log and
  reason. A task whose logs hold no field operation — only a tractor's or a console's
  values (speed, attitude), no work state, width, rate or yield of any implement — is
  refused with ``FormatError`` saying what the logs hold. A log without positions fails
  in :mod:`.tlg` ("header has no position").
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from leafnb.errors import CorruptFile, FormatError, SkippedRecordsWarning
from leafnb.formats.base import NotRanged, RawRead, Reader
from leafnb.formats.isoxml.context import provider, task_context
from leafnb.formats.isoxml.devices import task_devices, working_devices
from leafnb.formats.isoxml.practice import decide_operation_type
from leafnb.formats.isoxml.properties import EVIDENCE, ratio_exponent
from leafnb.formats.isoxml.ranges import estimate_records, plan_task
from leafnb.formats.isoxml.table import (
    AREA_MODEL,
    WORK_DDIS,
    TaskTable,
    build_table,
    channel_label,
)
from leafnb.formats.isoxml.taskdata import ROOT_TAG, Taskdata, find_file, load_taskdata
from leafnb.formats.isoxml.timelogs import TaskRecords, join_logs
from leafnb.formats.isoxml.tlg import (
    DecodedLog,
    decode_tlg,
    frame_log,
    kernel_available,
    parse_tlg_header,
)
from leafnb.formats.isoxml.totals import machine_totals
from leafnb.formats.members import check_member_name

__all__ = ["IsoxmlReader"]

_TLG_RE = re.compile(r"^TLG\d+$", re.IGNORECASE)


class IsoxmlReader(Reader):
    """ISO 11783-10 TASKDATA.XML with TLG time logs."""

    name: ClassVar[str] = "isoxml"
    description: ClassVar[str] = (
        "ISO 11783-10 TASKDATA (ISOXML) with binary TLG time logs"
    )
    url: ClassVar[str] = "https://www.isobus.net/isobus/"
    provider: ClassVar[str | None] = None
    file_format: ClassVar[str] = "ISO11783"
    extensions: ClassVar[tuple[str, ...]] = (".xml",)
    #: XML by the standard library's parser; TLG binaries by the kernel, which checks
    #: every record against the buffer's bounds (or by numpy without it)
    in_process_safe: ClassVar[bool] = True

    # -- detection -------------------------------------------------------------------
    def sniff(self, path: Path) -> float:
        try:
            if path.name.lower() != "taskdata.xml" or not path.is_file():
                return 0.0
            with open(path, "rb") as fh:
                head = fh.read(4096)
            text = head.decode("utf-8", errors="replace")
            # first element that is not a declaration, comment or PI
            m = re.search(
                r"<\s*([A-Za-z_][\w.\-]*)",
                re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.S),
            )
            return 1.0 if m and m.group(1) == ROOT_TAG else 0.0
        except Exception:
            return 0.0

    def sidecars(self, path: Path) -> list[Path]:
        folder = path.parent
        return sorted(p for p in folder.rglob("*") if p.is_file() and p != path)

    def parts(self, path: Path) -> list[str | None]:
        try:
            td = load_taskdata(path)
        except CorruptFile:
            return [None]
        out: list[str | None] = [
            t.get("A") for t in td.all("TSK") if t.findall("TLG") and t.get("A")
        ]
        out.extend(td.orphan_logs)
        return out or [None]

    def describe(self, path: Path, part: str | None = None) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "provider": self.provider,
            "file_format": self.file_format,
        }
        try:
            td = load_taskdata(path)
        except CorruptFile:
            return facts
        facts["provider"] = provider(td)
        task, names = _part(td, part)
        # headers only (cheap): which DDIs are logged on which elements
        logged: list[int] = []
        dets: list[str | None] = []
        for name in names:
            try:
                xml = find_file(td.folder, f"{name}.xml", what="TLG reference")
                header = parse_tlg_header(xml, name) if xml is not None else None
            except CorruptFile:
                continue
            if header is None:
                continue
            logged.extend(d.ddi for d in header.dlvs)
            dets.extend(d.det for d in header.dlvs if d.det and d.ddi in WORK_DDIS)
        devices = task_devices(td, task, dets)
        working = working_devices(devices, dets)
        decision = decide_operation_type(
            td, task, working, properties=[EVIDENCE[d] for d in logged if d in EVIDENCE]
        )
        if decision.operation_type:
            facts["operation_type"] = decision.operation_type
        return facts

    # -- reading ---------------------------------------------------------------------
    def read(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RawRead:
        td = load_taskdata(path)  # raises CorruptFile with the reason
        part = part or self._first_part(path)
        if part is None:
            raise CorruptFile(
                f"{path.name}: no task with a time log (TLG)",
                path=path,
                reader=self.name,
            )
        task, log_names = _part(td, part)
        if task is None and not log_names:
            raise CorruptFile(
                f"{path.name}: no task or time log {part!r}",
                path=path,
                reader=self.name,
            )
        where = f"{path.name} {part}"
        logs: list[DecodedLog] = []
        failures: list[tuple[str, str]] = []
        for name in dict.fromkeys(log_names):  # a log named twice is read once
            try:
                logs.append(_decode_log(td.folder, name))
            except CorruptFile as exc:
                failures.append((name, str(exc)))
        if not logs:
            detail = "; ".join(f"{n}: {why}" for n, why in failures)
            raise CorruptFile(
                f"{where}: no time log could be decoded ({detail})",
                path=path,
                reader=self.name,
            )
        records = join_logs(logs)
        built = build_table(td, task, records)
        if built.operation_type is None:
            raise FormatError(
                f"{where}: not a field operation: {_what_is_logged(td, records, built)}",
                path=path,
                reader=self.name,
            )
        skipped = sum(log.skipped for log in logs)
        # records of the task: one per instant of a group of parallel logs, plus those
        # dropped for an impossible position (parallel logs drop them at shared instants)
        by_name = {log.header.name: log for log in logs}
        dropped = sum(
            max(by_name[n].n_framed - by_name[n].n for n in group)
            for group in records.groups
        )
        issues = [f"time log {n} failed: {why}" for n, why in failures]
        for log in logs:
            issues.extend(f"{log.header.name}: {note}" for note in log.notes)
        if skipped:
            warnings.warn(
                f"{where}: {skipped} malformed or unplaceable records skipped",
                SkippedRecordsWarning,
                stacklevel=2,
            )
        time_logs = [
            {
                "name": log.header.name,
                "records": log.n_framed,
                "kept": log.n,
                "skipped": log.skipped,
            }
            for log in logs
        ]
        meta = self._meta(
            td, task, built, records, time_logs, failures, records.n + dropped, skipped
        )
        return RawRead(table=built.table, meta=meta, issues=tuple(issues))

    def _meta(
        self,
        td: Taskdata,
        task,
        built: TaskTable,
        records: TaskRecords,
        time_logs: list[dict[str, Any]],
        failures: list[tuple[str, str]],
        record_count: int,
        skipped: int,
    ) -> dict[str, Any]:
        """The metadata of a task's table (*records*: what its machine totals read)."""
        meta: dict[str, Any] = {
            "columns": built.columns,
            "record_count": record_count,
            "skipped_records": skipped,
            "file_format": self.file_format,
            "operation_type": built.operation_type,
            "time_logs": time_logs,
            "failed_logs": [{"name": n, "reason": why} for n, why in failures],
            "isoxml": built.facts,
        }
        if mapping := built.facts.pop("column_mapping", None):
            meta["column_mapping"] = mapping  # why no actual rate (failure message)
        if built.facts.get("area") == AREA_MODEL:
            meta["modelled_properties"] = ["area"]
        if p := provider(td):
            meta["provider"] = p
        if task is not None:
            task_context(td, task, built.devices, meta)
            totals = machine_totals(
                task,
                records,
                built.names,
                td.devices,
                built.working,
                built.operation_type,
            )
            if totals:
                meta["machine_totals"] = totals
        return meta

    def _first_part(self, path: Path) -> str | None:
        """The part read when none is named: the first task (or orphan log) with a log."""
        return next((p for p in self.parts(path) if p is not None), None)

    # -- record ranges (module :mod:`.ranges`) ----------------------------------------
    def record_count(self, path: Path, part: str | None = None) -> int | None:
        """The records of a task's time logs, each estimated from its first MiB.

        None (read whole) without the C kernel, or when a log's file is missing. No
        *part*: the one :meth:`read` reads.
        """
        try:
            found = _task_logs(path, part or self._first_part(path))
            if found is None:
                return None
            counts = [estimate_records(binp, header) for header, binp in found[3]]
            return None if None in counts else sum(counts)  # type: ignore[arg-type]
        except Exception:  # the whole read reports what is wrong
            return None

    def read_ranges(
        self,
        path: Path,
        *,
        part: str | None = None,
        options: Mapping[str, Any] | None = None,
        rows: int,
    ) -> Iterator[RawRead]:
        """The task's records in ranges of *rows*, each exactly as the whole read's rows.

        See :mod:`.ranges`; raises :class:`~leafnb.formats.base.NotRanged` (read whole) when a
        range cannot decide as the whole task does.
        """
        part = part or self._first_part(path)
        found = _task_logs(path, part)
        if found is None:
            raise NotRanged(f"{path.name} {part}: no time log to read in ranges")
        td, task, where, logs = found
        framings = []
        for header, binp in logs:
            framing = frame_log(binp, header)
            if framing is None or not framing.clean or not framing.n_framed:
                raise NotRanged(f"{where}: records are skipped (read whole)")
            framings.append(framing)
        plan = plan_task(framings, rows)
        time_logs = [
            {
                "name": f.header.name,
                "records": f.n_framed,
                "kept": f.n_kept,
                "skipped": 0,
            }
            for f in framings
        ]
        summary = plan.summary()  # what the machine totals read: the whole task's
        ratios: list = []
        windows = list(plan.windows())
        built = plan.build(td, task, *windows[0], ratios=ratios)
        resolution = None
        if ratios:  # the actual rate's resolution: a median over every record
            for k, window in windows[1:]:
                plan.build(td, task, k, window, ratios=ratios)
            resolution = ratio_exponent(np.concatenate(ratios))
            del ratios
            built = None
        for k, window in windows:
            if built is None:
                built = plan.build(td, task, k, window, resolution=resolution)
            if built.operation_type is None:
                raise NotRanged(f"{where}: not a field operation (read whole)")
            rows_in = window.end - window.start
            table = built.table.slice(window.start - window.lo, rows_in)
            meta = self._meta(td, task, built, summary, time_logs, [], rows_in, 0)
            built = None
            yield RawRead(table=table, meta=meta)


# ---------------------------------------------------------------------------------------
# helpers


def _part(td: Taskdata, part: str | None):
    """The task of *part* (or None for an orphan log) and the log names to read."""
    if part is None:
        return None, []
    task = td.get(part)
    if task is not None and task.tag == "TSK":
        # a reference that is a path, not a name, refuses the whole task (security)
        return task, [
            check_member_name(t.get("A") or "", what="TLG reference")
            for t in task.findall("TLG")
            if t.get("A")
        ]
    if _TLG_RE.match(part) and part in td.orphan_logs:
        return None, [part]
    return None, []


def _task_logs(path: Path, part: str | None):
    """``(taskdata, task, where, [(header, binary), ...])`` of a part's time logs, or None.

    The logs in task order, each once. None without the C kernel (:mod:`.ranges`), for
    a part without logs, or when a log's file is missing (the whole read reports it).
    """
    if not kernel_available():
        return None
    td = load_taskdata(path)
    task, names = _part(td, part)
    logs = []
    for name in dict.fromkeys(names):
        xml = find_file(td.folder, name + ".xml", what="TLG reference")
        binp = find_file(td.folder, name + ".bin", what="TLG reference")
        if xml is None or binp is None:
            return None
        logs.append((parse_tlg_header(xml, name), binp))
    if not logs:
        return None
    return td, task, f"{path.name} {part}", logs


def _decode_log(folder: Path, name: str) -> DecodedLog:
    xml = find_file(folder, name + ".xml", what="TLG reference")
    if xml is None:
        raise CorruptFile(
            f"{name}: header file {name}.xml is missing",
            path=folder / (name + ".xml"),
            reader="isoxml",
        )
    binp = find_file(folder, name + ".bin", what="TLG reference")
    if binp is None:
        raise CorruptFile(
            f"{name}: binary file {name}.bin is missing",
            path=folder / (name + ".bin"),
            reader="isoxml",
        )
    header = parse_tlg_header(xml, name)
    if binp.stat().st_size == 0:
        raise CorruptFile(
            f"{name}: binary file {binp.name} is empty (0 bytes): the log holds no record",
            path=binp,
            reader="isoxml",
        )
    return decode_tlg(binp, header)


def _what_is_logged(td: Taskdata, records: TaskRecords, built) -> str:
    """Why a task is not an operation: its devices and the values its logs hold."""
    devices = built.devices
    who = ", ".join(d.label() for d in devices) if devices else "none described"
    values = [ch for ch in records.channels.values() if len(ch.val) and ch.ddi < 0xDFFF]
    shown = "; ".join(channel_label(ch, td) for ch in values[:6])
    more = f" and {len(values) - 6} more" if len(values) > 6 else ""
    return (
        f"its logs hold {shown or 'no values'}{more}; devices: {who}; no implement logs "
        "a work state, working width, application or seeding rate, or yield, and no "
        "device says it seeds, applies, harvests or tills"
    )
