"""ISO 11783-10 TASKDATA reader (ISOXML with binary TLG time logs).

Decisions
---------
* **Parts**: one leaf file per task (``TSK``) that references at least one time log
  (part id = the task id, e.g. ``"TSK1"``); all of the task's logs are concatenated in
  document order. Time-log files in the folder that no task references become one part
  each (part id = the log name, e.g. ``"TLG00007"``). A TASKDATA.XML that cannot be
  parsed gives ``[None]`` and :meth:`IsoxmlReader.read` raises ``CorruptFile``.
* **Columns**: ``lon``, ``lat``, ``timestamp`` and, per logged PTN field, ``PTN_up`` (mm,
  mapped to elevation), ``PTN_status``, ``PTN_pdop``, ``PTN_hdop``, ``PTN_satellites``,
  ``PTN_gps_utc_time``, ``PTN_gps_utc_date``. One column per DLV, named ``DDI`` + the
  4 hex digits of the DDI as written in the header (``DDI0054`` is DDI 84); when a task
  logs the same DDI on several device elements every such column gets the element id
  (``DDI0043_DET2``, non-alphanumerics removed), and PGN-based DLVs get
  ``_PGN<n>_<start>_<stop>``. Values are ``raw x resolution`` in the dictionary unit
  (``ddi.json``); proprietary DDIs (>= 0xDFFF) stay raw and unmapped.
* **Fill forward**: a DLV is only written when it changes, so each DLV column is filled
  forward within its time log from its first logged value (before it: the header's
  DLV value if given, else null). Logs are never filled across each other.
* **Sections**: a mapped DDI logged on one element maps that column directly. Logged on
  several elements, the non-section element (device/function/bin) wins when there is
  exactly one; otherwise an aggregate column is added: ``agg_<prop>`` = for widths
  (DDI 67) the sum over sections whose work state (DDI 141 on that element) is on
  (all sections when no work state is logged), for every other value the mean over
  working sections (all sections when none is working).
  ``recordingStatus`` (column ``recordingStatus``) is "On" when the top-level work state
  (DDI 141) is 1, or any section's 141 is 1, or any 2-bit field of the condensed work
  state (DDI 161) is 1; "Off" otherwise; null when no work state is logged.
* **Per-record quantities from totals**: deltas of the running totals DDI 90 (yield mass,
  kg -> wetMass), 89 (yield volume, L -> wetVolume), 116 (area, m2 -> area),
  117 (effective distance, mm -> distance), 148 (fuel, ml -> fuelUsed), 183 (dry mass)
  become ``delta_<column>`` columns; the first record of a log is 0, negative steps
  (counter resets) are 0. Summed over sections when logged per section.
* **"Total" of a DLV** (machine_totals): the task's ``TIM`` DLV values (scaled); when a
  task has several ``TIM`` the last one that carries the DDI wins. Known totals appear
  under their summary key (``totalWetMass`` for DDI 90, ``totalArea`` for 116, ...) and
  every TIM value also under ``DDIxxxx``. DDIs that are logged in the task's time logs
  but absent from its ``TIM`` are added as ``DDIxxxx`` (``"source": "TLG"``) so nothing
  is lost: for running totals (dictionary name contains "Total" but not "Lifetime")
  the *increase over each log* (last - first logged value, summed over the task's logs),
  for everything else the last logged value. The increase is what the task controller
  reports as the task total: TLG00002 of the CCI set logs DDI 90 from 20 to 242,481 kg,
  an increase of 242,461 kg = its TIM total (the sum of the ``wetMass`` deltas is the
  same number).
* **Operation type** from content, never the file name: the mapped standard properties
  vote (harvest yields/moisture -> harvested; count per area/seeding depth -> planted;
  volume/mass per area -> applied; tillage depth -> tillage), ties broken in that
  order; without any evidence the device class of the logging devices (ISO NAME in DVC
  D: 2/3 tillage, 4 planters, 5 fertilizers, 6 sprayers, 7-9 harvesters) decides.
* **Failures**: a log whose header or binary cannot be decoded, or that has no usable
  record, fails alone; its reason goes to ``RawRead.issues`` and ``meta["failed_logs"]``.
  When every log of a part fails, ``read`` raises ``CorruptFile`` naming each log and
  reason.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from leafnb.errors import CorruptFile, SkippedRecordsWarning
from leafnb.formats.base import Column, RawRead, Reader
from leafnb.formats.isoxml import ddi as D
from leafnb.formats.isoxml.taskdata import ROOT_TAG, Taskdata, find_file, load_taskdata
from leafnb.formats.isoxml.tlg import (
    PTN_FIELDS,
    DecodedLog,
    decode_tlg,
    parse_tlg_header,
)
from leafnb.formats.members import check_member_name

__all__ = ["IsoxmlReader"]

_TLG_RE = re.compile(r"^TLG\d+\.xml$", re.IGNORECASE)

#: substrings of TaskControllerManufacturer / ManagementSoftwareManufacturer -> Leaf provider
_PROVIDERS = (
    ("cnh", "CNHI"),
    ("case ih", "CNHI"),
    ("new holland", "CNHI"),
    ("john deere", "JohnDeere"),
    ("deere", "JohnDeere"),
    ("trimble", "Trimble"),
    ("ag leader", "AgLeader"),
    ("agleader", "AgLeader"),
    ("raven", "RavenSlingshot"),
    ("stara", "Stara"),
)

_PTN_COLUMNS = {
    "C": ("PTN_up", Column("elevation", "mm")),
    "D": ("PTN_status", None),
    "E": ("PTN_pdop", None),
    "F": ("PTN_hdop", None),
    "G": ("PTN_satellites", None),
    "H": ("PTN_gps_utc_time", None),
    "I": ("PTN_gps_utc_date", None),
}

_DET_SECTION = "4"


def _alnum(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", s)


def _float(s: str | None) -> float | None:
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


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
        out = [t.get("A") for t in td.all("TSK") if t.findall("TLG") and t.get("A")]
        out.extend(sorted(_orphan_logs(td)))
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
        facts["provider"] = _provider(td)
        task = td.get(part) if part else None
        # the logged DDIs (TLG headers only: cheap) decide, as in read(); then device classes
        names = (
            [t.get("A") for t in task.findall("TLG")]
            if task is not None
            else ([part] if part else [])
        )
        props = []
        for name in names:
            try:
                xml = (
                    find_file(td.folder, f"{name}.xml", what="TLG reference")
                    if name
                    else None
                )
                if xml is None:
                    continue
                header = parse_tlg_header(xml, name)
            except CorruptFile:
                continue
            props.extend(D.POINT_PROPERTIES.get(d.ddi, "") for d in header.dlvs)
            props.extend(D.DELTA_PROPERTIES.get(d.ddi, "") for d in header.dlvs)
        devices = (
            _task_devices(td, task)
            if task is not None
            else [d.get("A") for d in td.all("DVC")]
        )
        optype = _optype_from_properties(props) or _optype_from_devices(td, devices)
        if optype:
            facts["operation_type"] = optype
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
        if part is None:
            parts = [p for p in self.parts(path) if p is not None]
            if not parts:
                raise CorruptFile(
                    f"{path.name}: no task with a time log (TLG)",
                    path=path,
                    reader=self.name,
                )
            part = parts[0]
        task = (
            td.get(part)
            if not _TLG_RE.match(part + ".xml") or td.get(part) is not None
            else None
        )
        if task is not None and task.tag == "TSK":
            # a reference that is a path, not a name, refuses the whole task (security)
            log_names = [
                check_member_name(t.get("A"), what="TLG reference")
                for t in task.findall("TLG")
                if t.get("A")
            ]
        elif part in _orphan_logs(td):
            log_names = [part]
        else:
            raise CorruptFile(
                f"{path.name}: no task or time log {part!r}",
                path=path,
                reader=self.name,
            )

        logs: list[DecodedLog] = []
        failures: list[tuple[str, str]] = []
        for name in log_names:
            try:
                logs.append(_decode_log(td.folder, name))
            except CorruptFile as exc:
                failures.append((name, str(exc)))
        if not logs:
            detail = "; ".join(f"{n}: {why}" for n, why in failures)
            raise CorruptFile(
                f"{path.name} {part}: no time log could be decoded ({detail})",
                path=path,
                reader=self.name,
            )
        table, columns, extra = _build_table(td, logs)
        skipped = sum(log.skipped for log in logs)
        issues = [f"time log {n} failed: {why}" for n, why in failures]
        for log in logs:
            issues.extend(f"{log.header.name}: {note}" for note in log.notes)
        if skipped:
            warnings.warn(
                f"{path.name} {part}: {skipped} malformed or unplaceable records skipped",
                SkippedRecordsWarning,
                stacklevel=2,
            )
        meta: dict[str, Any] = {
            "columns": columns,
            "record_count": sum(log.n_framed for log in logs),
            "skipped_records": skipped,
            "file_format": self.file_format,
            "time_logs": [
                {
                    "name": log.header.name,
                    "records": log.n_framed,
                    "kept": log.n,
                    "skipped": log.skipped,
                }
                for log in logs
            ],
            "failed_logs": [{"name": n, "reason": why} for n, why in failures],
        }
        provider = _provider(td)
        if provider:
            meta["provider"] = provider
        optype = _optype_from_properties([c.property for c in columns.values()])
        if optype is None:
            optype = _optype_from_devices(
                td, _task_devices(td, task) if task is not None else []
            )
        if optype:
            meta["operation_type"] = optype
        if task is not None:
            _task_meta(td, task, meta, logs, extra)
        return RawRead(table=table, meta=meta, issues=tuple(issues))


# ---------------------------------------------------------------------------------------
# helpers


def _orphan_logs(td: Taskdata) -> set[str]:
    referenced = {t.get("A") for task in td.all("TSK") for t in task.findall("TLG")}
    out = set()
    for p in td.folder.iterdir():
        if _TLG_RE.match(p.name):
            stem = p.name[:-4]
            if stem not in referenced and stem.upper() not in {
                r.upper() for r in referenced if r
            }:
                out.add(stem)
    return out


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
    return decode_tlg(binp, header)


def _provider(td: Taskdata) -> str | None:
    for key in ("TaskControllerManufacturer", "ManagementSoftwareManufacturer"):
        val = (td.attrib.get(key) or "").lower()
        for needle, provider in _PROVIDERS:
            if needle in val:
                return provider
    return None


def _device_class(dvc) -> int | None:
    name = dvc.get("D") or ""
    try:
        return (int(name, 16) >> 49) & 0x7F
    except ValueError:
        return None


def _task_devices(td: Taskdata, task) -> list[str]:
    if task is None:
        return []
    out = [d.get("C") for d in task.iter("DAN") if d.get("C")]
    return out


def _optype_from_devices(td: Taskdata, device_ids: list[str]) -> str | None:
    votes: dict[str, int] = {}
    for dvc_id in device_ids:
        dvc = td.get(dvc_id)
        if dvc is None:
            continue
        cls = _device_class(dvc)
        opt = D.DEVICE_CLASS_OPTYPE.get(cls) if cls is not None else None
        if opt:
            votes[opt] = votes.get(opt, 0) + 1
    return _best(votes)


_ORDER = ("harvested", "planted", "applied", "tillage")


def _best(votes: dict[str, int]) -> str | None:
    if not votes:
        return None
    return max(votes, key=lambda t: (votes[t], -_ORDER.index(t)))


def _optype_from_properties(props: list[str]) -> str | None:
    votes: dict[str, int] = {}
    for p in set(props):
        opt = D.OPTYPE_EVIDENCE.get(p)
        if opt:
            votes[opt] = votes.get(opt, 0) + 1
    return _best(votes)


def _det_types(td: Taskdata) -> dict[str, tuple[str, str | None, str | None]]:
    """DET id -> (type C, designator D, DVC id)."""
    out = {}
    for dvc in td.all("DVC"):
        for det in dvc.findall("DET"):
            if det.get("A"):
                out[det.get("A")] = (det.get("C") or "", det.get("D"), dvc.get("A"))
    return out


def _dlv_key(dlv) -> tuple:
    return (dlv.ddi, dlv.det, dlv.pgn, dlv.start_bit, dlv.stop_bit)


def _column_names(logs: list[DecodedLog]) -> dict[tuple, str]:
    keys: list[tuple] = []
    for log in logs:
        for dlv in log.header.dlvs:
            k = _dlv_key(dlv)
            if k not in keys:
                keys.append(k)
    per_ddi: dict[int, int] = {}
    for k in keys:
        per_ddi[k[0]] = per_ddi.get(k[0], 0) + 1
    names: dict[tuple, str] = {}
    used: set[str] = set()
    for k in keys:
        ddi, det, pgn, sb, eb = k
        name = f"DDI{ddi:04X}"
        if per_ddi[ddi] > 1 and det:
            name += "_" + _alnum(det)
        if pgn is not None:
            name += f"_PGN{pgn}_{sb}_{eb}"
        base, n = name, 2
        while name in used:
            name = f"{base}_{n}"
            n += 1
        used.add(name)
        names[k] = name
    return names


def _build_table(td: Taskdata, logs: list[DecodedLog]):
    names = _column_names(logs)
    det_types = _det_types(td)
    n_total = sum(log.n for log in logs)
    lat_parts, lon_parts, t_parts = [], [], []
    per_log: list[dict[str, np.ndarray]] = []
    order: list[str] = []
    last_values: dict[tuple, float] = {}
    for log in logs:
        lat, lon = log.lat_lon()
        lat_parts.append(lat)
        lon_parts.append(lon)
        t_parts.append(log.time_ms)
        present: dict[str, np.ndarray] = {}
        for attr, (col, _) in _PTN_COLUMNS.items():
            if attr in log.ptn:
                present[col] = log.ptn[attr].astype(np.float64) * PTN_FIELDS[attr][2]
            elif attr in log.header.constants:
                present[col] = np.full(log.n, log.header.constants[attr])
        for i, dlv in enumerate(log.header.dlvs):
            entry = D.ddi_entry(dlv.ddi)
            col = log.filled(i, entry.resolution)
            nm = names[_dlv_key(dlv)]
            present[nm] = col
            if len(log.dlv_val[i]):
                k = _dlv_key(dlv)
                first, last = float(log.dlv_val[i][0]), float(log.dlv_val[i][-1])
                if _is_running_total(entry):
                    prev = last_values.get(k, 0.0)
                    last_values[k] = prev + (last - first) * entry.resolution
                else:
                    last_values[k] = last * entry.resolution
            if dlv.ddi in D.DELTA_PROPERTIES:
                d = np.diff(col, prepend=np.nan)
                d[~(d > 0)] = 0.0  # first record of the log and counter resets
                d[np.isnan(col)] = np.nan
                present["delta_" + nm] = d
        for nm in present:
            if nm not in order:
                order.append(nm)
        per_log.append(present)

    data: dict[str, Any] = {
        "lon": np.concatenate(lon_parts),
        "lat": np.concatenate(lat_parts),
        "timestamp": pa.array(np.concatenate(t_parts), type=pa.int64()).cast(
            pa.timestamp("ms", tz="UTC")
        ),
    }
    ptn_names = [c for c, _ in _PTN_COLUMNS.values()]
    order.sort(key=lambda nm: (0, ptn_names.index(nm)) if nm in ptn_names else (1, 0))
    for nm in order:
        data[nm] = np.concatenate(
            [
                p.get(nm, np.full(log.n, np.nan))
                for p, log in zip(per_log, logs, strict=True)
            ]
        )
    columns: dict[str, Column] = {}
    for col, mapping in _PTN_COLUMNS.values():
        if col in data and mapping is not None:
            columns[col] = mapping
    key_of = {nm: k for k, nm in names.items()}

    # -- standard mapping --------------------------------------------------------------
    by_ddi: dict[int, list[str]] = {}
    for nm, k in key_of.items():
        by_ddi.setdefault(k[0], []).append(nm)

    def is_section(nm: str) -> bool:
        det = key_of[nm][1]
        return det_types.get(det, ("",))[0] == _DET_SECTION

    def work_on(nm: str) -> np.ndarray | None:
        det = key_of[nm][1]
        for other in by_ddi.get(D.WORK_STATE, []):
            if key_of[other][1] == det:
                return data[other] == 1
        return None

    def choose(cols: list[str]) -> list[str]:
        if len(cols) <= 1:
            return cols
        top = [c for c in cols if not is_section(c)]
        return top if len(top) == 1 else cols

    def aggregate(prop: str, cols: list[str], kind: str) -> str:
        stack = np.vstack([data[c] for c in cols])
        masks = [work_on(c) for c in cols]
        if any(m is not None for m in masks):
            on = np.vstack(
                [m if m is not None else np.ones(n_total, bool) for m in masks]
            )
        else:
            on = np.ones_like(stack, dtype=bool)
        name = f"agg_{prop}"
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "sum":
                vals = np.where(on, stack, 0.0)
                out = np.where(
                    np.isnan(stack).all(axis=0), np.nan, np.nansum(vals, axis=0)
                )
            else:
                cnt = (on & ~np.isnan(stack)).sum(axis=0)
                s_on = np.nansum(np.where(on, stack, 0.0), axis=0)
                mean_on = s_on / cnt
                mean_all = (
                    np.nanmean(np.where(np.isnan(stack), np.nan, stack), axis=0)
                    if stack.size
                    else stack
                )
                out = np.where(cnt > 0, mean_on, mean_all)
        data[name] = out
        return name

    for ddi_num, prop in D.POINT_PROPERTIES.items():
        cols = choose(by_ddi.get(ddi_num, []))
        if not cols:
            continue
        entry = D.ddi_entry(ddi_num)
        unit = entry.unit
        if prop in ("seedRate", "seedRateTarget") and unit == "1/m**2":
            unit = "seeds/m**2"
        if len(cols) == 1:
            src = cols[0]
        else:
            src = aggregate(prop, cols, "sum" if ddi_num == 67 else "mean")
        if prop in {c.property for c in columns.values()}:
            continue  # e.g. volume and mass rates both logged: the first (volume) wins
        columns[src] = Column(prop, unit)
    for ddi_num, prop in D.DELTA_PROPERTIES.items():
        cols = choose(by_ddi.get(ddi_num, []))
        if not cols or prop in {c.property for c in columns.values()}:
            continue
        entry = D.ddi_entry(ddi_num)
        dcols = ["delta_" + c for c in cols]
        if len(dcols) == 1:
            src = dcols[0]
        else:
            src = f"agg_{prop}"
            data[src] = np.nansum(np.vstack([data[c] for c in dcols]), axis=0)
        columns[src] = Column(prop, entry.unit)
    # dry mass from DDI 183 deltas (no DELTA_PROPERTIES entry: not every reader has it)
    # recording status from work states
    ws_cols = choose(by_ddi.get(D.WORK_STATE, []))
    cws_cols = by_ddi.get(D.CONDENSED_WORK_STATE, [])
    if ws_cols or cws_cols:
        known = np.zeros(n_total, bool)
        on = np.zeros(n_total, bool)
        for c in ws_cols:
            v = data[c]
            known |= ~np.isnan(v)
            on |= v == 1
        for c in cws_cols:
            v = data[c]
            ok = ~np.isnan(v)
            known |= ok
            iv = np.where(ok, v, 0).astype(np.int64) & 0xFFFFFFFF
            for s in range(16):
                on |= ((iv >> (2 * s)) & 3) == 1
        status = np.where(on, "On", "Off").astype(object)
        status[~known] = None
        data["recordingStatus"] = pa.array(status, type=pa.string())
        columns["recordingStatus"] = Column("recordingStatus", None)

    extra = {"last_values": last_values, "names": names}
    table = pa.table(
        {k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in data.items()}
    )
    return table, columns, extra


def _task_meta(
    td: Taskdata, task, meta: dict[str, Any], logs: list[DecodedLog], extra: dict
) -> None:
    # machinery from the task's device allocations
    machinery = []
    seen = set()
    for dvc_id in _task_devices(td, task) or sorted(_logged_devices(td, logs)):
        if dvc_id in seen:
            continue
        seen.add(dvc_id)
        dvc = td.get(dvc_id)
        if dvc is None:
            continue
        cls = _device_class(dvc)
        item = {
            "name": (dvc.get("B") or dvc_id).strip(),
            "type": "machine" if cls in (0, 1, 7, 8, 9) else "implement",
            "brand": _brand(dvc),
        }
        if dvc.get("E"):
            item["serialNumber"] = dvc.get("E").strip()
        machinery.append(item)
    if machinery:
        meta["machinery"] = machinery
    # operators
    ops = []
    for wan in task.iter("WAN"):
        wkr = td.get(wan.get("E"))
        if wkr is not None:
            name = " ".join(x for x in (wkr.get("C"), wkr.get("B")) if x).strip()
            ops.append({"id": wkr.get("A"), "name": name or wkr.get("A")})
    if ops:
        meta["operators"] = ops
    # products (PAN in task, or product allocations), with a rate from TZN/PDV if any
    products = []
    pdt_ids = [pan.get("A") for pan in task.iter("PAN") if pan.get("A")]
    for pdv in task.iter("PDV"):
        if pdv.get("C") and pdv.get("C") not in pdt_ids:
            pdt_ids.append(pdv.get("C"))
    for pid in dict.fromkeys(pdt_ids):
        pdt = td.get(pid)
        if pdt is None:
            continue
        prod: dict[str, Any] = {
            "name": pdt.get("B") or pid,
            "type": "Component" if pdt.get("F") == "2" else "Product",
        }
        for pdv in task.iter("PDV"):
            if pdv.get("C") == pid and pdv.get("A") and pdv.get("B"):
                entry = D.ddi_entry(int(pdv.get("A"), 16))
                prod["rate"] = {
                    "value": int(pdv.get("B")) * entry.resolution,
                    "unit": entry.unit,
                }
                break
        products.append(prod)
    if products:
        meta["products"] = products
    # crop / variety (task CTP ref in vendor attrs is rare: use CVT via product, else single CTP)
    ctp = td.get(task.get("P094_Crop_Type")) if task.get("P094_Crop_Type") else None
    ctps = td.all("CTP")
    if ctp is None:
        for cvt_owner in ctps:
            for cvt in cvt_owner.findall("CVT"):
                if cvt.get("C") and cvt.get("C") in pdt_ids:
                    ctp = cvt_owner
                    meta["variety"] = cvt.get("B")
    if ctp is None and len(ctps) == 1:
        ctp = ctps[0]
        cvts = ctp.findall("CVT")
        if len(cvts) == 1 and cvts[0].get("B"):
            meta.setdefault("variety", cvts[0].get("B"))
    if ctp is not None and ctp.get("B"):
        meta["crop"] = ctp.get("B")
    # farm / field / customer
    ood: dict[str, Any] = {}
    pfd = td.get(task.get("E"))
    frm = td.get(task.get("D")) or (td.get(pfd.get("F")) if pfd is not None else None)
    ctr = td.get(task.get("C")) or (td.get(pfd.get("E")) if pfd is not None else None)
    if frm is not None and frm.get("B"):
        ood["originalOperationFarm"] = frm.get("B")
    if pfd is not None and pfd.get("C"):
        ood["originalOperationField"] = pfd.get("C")
    if ctr is not None:
        grower = " ".join(x for x in (ctr.get("C"), ctr.get("B")) if x).strip()
        if grower:
            ood["originalOperationGrower"] = grower
    if task.get("B"):
        ood["originalOperationTask"] = task.get("B")
    meta["original_operation_data"] = ood
    # partfields
    feats = []
    pfds = [pfd] if pfd is not None else []
    for p in pfds:
        feat = _partfield_feature(p)
        if feat:
            feats.append(feat)
    if feats:
        meta["partfields"] = feats
    # machine totals
    totals: dict[str, dict[str, Any]] = {}
    tim_values: dict[tuple, tuple[int, float]] = {}
    for tim in task.findall("TIM"):
        for dlv in tim.findall("DLV"):
            try:
                ddi = int(dlv.get("A") or "", 16)
                raw = int(dlv.get("B") or "")
            except ValueError:
                continue
            tim_values[(ddi, dlv.get("C"))] = (
                ddi,
                raw * D.ddi_entry(ddi).resolution,
            )  # last TIM wins
    used_keys: set[str] = set()
    for (ddi, det), (_, value) in tim_values.items():
        entry = D.ddi_entry(ddi)
        key = f"DDI{ddi:04X}"
        if key in used_keys and det:
            key += "_" + _alnum(det)
        used_keys.add(key)
        unit = _total_unit(entry.unit)
        totals[key] = {"value": value, "unit": unit}
        summary = D.TOTAL_KEYS.get(ddi)
        if summary and summary not in totals:
            totals[summary] = {"value": value, "unit": unit}
    for k, value in extra["last_values"].items():
        ddi, det = k[0], k[1]
        if any(d == ddi for d, _ in tim_values):
            continue
        key = f"DDI{ddi:04X}"
        if key in totals:
            key += (
                "_"
                + _alnum(det or "")
                + (f"_PGN{k[2]}_{k[3]}_{k[4]}" if k[2] is not None else "")
            )
        entry = D.ddi_entry(ddi)
        totals[key] = {"value": value, "unit": _total_unit(entry.unit), "source": "TLG"}
        summary = D.TOTAL_KEYS.get(ddi)
        if summary and summary not in totals:
            totals[summary] = {
                "value": value,
                "unit": _total_unit(entry.unit),
                "source": "TLG",
            }
    if totals:
        meta["machine_totals"] = totals


def _is_running_total(entry) -> bool:
    name = entry.name.lower()
    return "total" in name and "lifetime" not in name


def _total_unit(unit: str | None) -> str | None:
    return {"m**2": "m2", "m**3": "m3"}.get(unit, unit) if unit else None


def _logged_devices(td: Taskdata, logs: list[DecodedLog]) -> set[str]:
    det_types = _det_types(td)
    return {
        det_types[d.det][2]
        for log in logs
        for d in log.header.dlvs
        if d.det in det_types
    }


def _brand(dvc) -> str:
    """Brand of a device: not derivable reliably from the ISOXML (NAME manufacturer codes
    need the SAE J1939 code table, which leafnb does not ship), so ``"unknown"``."""
    return "unknown"


def _partfield_feature(pfd) -> dict | None:
    rings_outer, rings_inner = [], []
    for pln in pfd.findall("PLN"):
        if pln.get("A") not in ("1", None):  # 1 = boundary
            continue
        for lsg in pln.findall("LSG"):
            ring = []
            for pnt in lsg.findall("PNT"):
                lat, lon = _float(pnt.get("C")), _float(pnt.get("D"))
                if lat is not None and lon is not None:
                    ring.append([lon, lat])
            if len(ring) < 3:
                continue
            if ring[0] != ring[-1]:
                ring.append(ring[0])
            (rings_outer if lsg.get("A") == "1" else rings_inner).append(ring)
    if not rings_outer:
        return None
    polys = [[outer] for outer in rings_outer]
    if rings_inner:
        polys[0].extend(rings_inner)
    geom = (
        {"type": "Polygon", "coordinates": polys[0]}
        if len(polys) == 1
        else {"type": "MultiPolygon", "coordinates": polys}
    )
    area = _float(pfd.get("D"))
    return {
        "type": "Feature",
        "geometry": geom,
        "properties": {"id": pfd.get("A"), "name": pfd.get("C"), "area": area},
    }
