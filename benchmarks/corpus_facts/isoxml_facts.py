"""Facts about an ISOXML TASKDATA set, read with a plain XML parser and isoxml-js — never leafnb.

* The task controller's own totals: every ``DLV`` with a value inside a task's ``TIM``
  (ISO 11783-10 "Time" element with totals), scaled by the DDI's resolution from the
  ISO 11783-11 data dictionary (as shipped with isoxml-js).
* The device description: each ``DVC`` with the device class decoded from its ISO NAME
  (bits 49-55 of the 64-bit NAME, ISO 11783-5; names as in isoxml-dotnet's
  ``DeviceClass``), and its element tree (``DET`` type, parent).
* Per time log (``TLGnnnnn.xml`` + ``.bin``), isoxml-js counts: records, DLVs in the
  header, per ``<DDI>_<DET>`` count/min/max, first/last time, position bounds and the
  longest step between consecutive positions (``isoxml_facts.mjs``).

Example::

    facts = taskdata_facts(Path("/work/corpus-data/topcon_case2150s_planter"))
    facts["tasks"][0]["timTotals"]
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# ISO 11783-1/-5 device classes (industry group 2), as isoxml-dotnet's DeviceClass enum.
DEVICE_CLASSES = {
    0: "Non-specific system",
    1: "Tractor",
    2: "Primary soil tillage",
    3: "Secondary soil tillage",
    4: "Planters/Seeders",
    5: "Fertilizers",
    6: "Sprayers",
    7: "Harvesters",
    8: "Root harvesters",
    9: "Forage harvesters",
    10: "Irrigation",
    11: "Transport/Trailers",
    12: "Farmyard work",
    13: "Powered auxiliary units",
    14: "Special crops",
    15: "Municipal work",
    17: "Sensor systems",
    19: "Timber harvesters",
    20: "Forwarders",
    21: "Timber loaders",
    22: "Timber processing machines",
    23: "Mulchers",
    24: "Utility vehicles",
    25: "Feeders/Mixers",
    26: "Slurry applicators",
    27: "Weeders",
}

# DET C attribute (ISO 11783-10 DeviceElementType)
DET_TYPES = {
    1: "device",
    2: "function",
    3: "bin",
    4: "section",
    5: "unit",
    6: "connector",
    7: "navigation",
}


def oracle_dir() -> Path:
    """Folder whose node_modules hold isoxml-js (tests/oracle after ``./run test``)."""
    return Path(os.environ.get("ISOXML_ORACLE_DIR", REPO / "tests" / "oracle"))


@lru_cache(maxsize=1)
def ddi_dictionary() -> dict[int, dict[str, Any]]:
    """The ISO 11783-11 data dictionary shipped with isoxml-js: {ddi: {name, unit, resolution}}."""
    out = subprocess.run(
        ["node", str(oracle_dir() / "isoxml_oracle.mjs"), "ddi"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {e["ddi"]: e for e in json.loads(out)}


def ddi_info(ddi: int) -> dict[str, Any]:
    """Name, unit and resolution of *ddi* ("proprietary" outside the dictionary)."""
    entry = ddi_dictionary().get(ddi)
    if entry is None:
        return {
            "name": "proprietary" if ddi >= 0xE000 else "unknown",
            "unit": None,
            "resolution": 1,
        }
    return {
        "name": entry["name"],
        "unit": entry["unit"],
        "resolution": entry["resolution"],
    }


def device_class(name_hex: str) -> int | None:
    """Device class from a DVC's ISO NAME (hex string), None when absent or malformed."""
    try:
        return (int(name_hex, 16) >> 49) & 0x7F
    except (TypeError, ValueError):
        return None


def find_taskdata(folder: Path) -> list[Path]:
    """Every TASKDATA.XML under *folder* (any case)."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name.lower() == "taskdata.xml"
    )


def _find_case_insensitive(folder: Path, name: str) -> Path | None:
    for p in folder.iterdir():
        if p.name.lower() == name.lower():
            return p
    return None


def load_root(taskdata: Path) -> ET.Element:
    """TASKDATA.XML with its XFR external files (``XFC`` roots) merged in."""
    root = ET.parse(taskdata).getroot()
    for xfr in list(root.findall("XFR")):
        ext = _find_case_insensitive(taskdata.parent, xfr.get("A", "") + ".XML")
        if ext is not None:
            for child in ET.parse(ext).getroot():
                root.append(child)
    return root


def _element_depths(dvc: ET.Element) -> dict[str, int]:
    """DET id -> depth in the device element tree (root device element = 0)."""
    by_no = {det.get("E"): det for det in dvc.findall("DET")}
    depths: dict[str, int] = {}
    for det in dvc.findall("DET"):
        depth, node, seen = 0, det, set()
        while (
            node.get("F") not in (None, "0", node.get("E")) and node.get("F") in by_no
        ):
            if node.get("E") in seen:
                break
            seen.add(node.get("E"))
            node = by_no[node.get("F")]
            depth += 1
        depths[det.get("A")] = depth
    return depths


def devices(root: ET.Element) -> list[dict[str, Any]]:
    """Each DVC: id, designator, ISO NAME, device class, elements with type/parent/depth/widths."""
    out = []
    for dvc in root.iter("DVC"):
        dc = device_class(dvc.get("D", ""))
        dpt = {o.get("A"): o for o in dvc.findall("DPT")}
        dpd = {o.get("A"): o for o in dvc.findall("DPD")}
        depths = _element_depths(dvc)
        elements = []
        for det in dvc.findall("DET"):
            objs = [dor.get("A") for dor in det.findall("DOR")]
            widths = {}
            for o in objs:
                if o in dpt and dpt[o].get("B", "").upper() in ("0043", "0046"):
                    widths["DPT" + dpt[o].get("B").upper()] = (
                        int(dpt[o].get("C")) / 1000
                    )
            elements.append(
                {
                    "id": det.get("A"),
                    "designator": det.get("D"),
                    "type": DET_TYPES.get(int(det.get("C", "0") or 0), det.get("C")),
                    "number": det.get("E"),
                    "parent": det.get("F"),
                    "depth": depths.get(det.get("A")),
                    "processData": sorted(
                        {dpd[o].get("B").upper() for o in objs if o in dpd}
                    ),
                    "widthsM": widths,
                }
            )
        out.append(
            {
                "id": dvc.get("A"),
                "designator": dvc.get("B"),
                "isoName": dvc.get("D"),
                "deviceClass": dc,
                "deviceClassName": DEVICE_CLASSES.get(dc) if dc is not None else None,
                "elements": elements,
            }
        )
    return out


def tim_totals(tsk: ET.Element) -> list[dict[str, Any]]:
    """Every valued DLV of the task's TIM elements (one row per TIM × DLV), scaled to DDI units."""
    rows = []
    for i, tim in enumerate(tsk.findall("TIM")):
        for dlv in tim.findall("DLV"):
            raw = dlv.get("B")
            if raw in (None, ""):
                continue
            ddi = int(dlv.get("A"), 16)
            info = ddi_info(ddi)
            rows.append(
                {
                    "tim": i,
                    "start": tim.get("A"),
                    "stop": tim.get("B"),
                    "type": tim.get("D"),
                    "ddi": f"{ddi:04X}",
                    "det": dlv.get("C"),
                    "raw": int(raw),
                    "value": int(raw) * info["resolution"],
                    "unit": info["unit"],
                    "name": info["name"],
                }
            )
    return rows


def run_isoxml_js(pairs: list[tuple[Path, Path]]) -> list[dict[str, Any]]:
    """isoxml-js facts per (TLG.xml, TLG.bin) pair (see isoxml_facts.mjs)."""
    if not pairs:
        return []
    args = [str(p) for pair in pairs for p in pair]
    out = subprocess.run(
        ["node", str(HERE / "isoxml_facts.mjs"), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "ISOXML_ORACLE_DIR": str(oracle_dir())},
    ).stdout
    return json.loads(out)


# bytes of each TIM/PTN attribute when the header leaves it empty (ISO 11783-10 binary TLG)
_PTN_BYTES = {"A": 4, "B": 4, "C": 4, "D": 1, "E": 2, "F": 2, "G": 1, "H": 4, "I": 2}


def walk_tlg(xml_path: Path, bin_path: Path, confirm: int = 20) -> dict[str, Any]:
    """Count the records of a binary TLG with a plain byte walk that re-synchronises.

    A second decoder for logs isoxml-js stops on: a record is time (6 bytes when the
    header's TIM A is empty) + the empty PTN attributes + a DLV count + count × (1-byte
    index + 4-byte value). A record is accepted when its DLV indices are below the header's
    DLV count and the next *confirm* records parse too; otherwise the walk moves one byte
    on. Returns records, records with a position other than (0, 0), bytes passed over.
    """
    head = ET.parse(xml_path).getroot()
    ptn = head.find("PTN")
    fields = [a for a in "ABCDEFGHI" if ptn is not None and ptn.get(a) == ""]
    pre = (6 if head.get("A") == "" else 0) + sum(_PTN_BYTES[a] for a in fields)
    lat_at = (6 if head.get("A") == "" else 0) if "A" in fields else None
    lon_at = None if "B" not in fields else (lat_at or 0) + (4 if "A" in fields else 0)
    n_dlv = len(head.findall("DLV"))
    data = bin_path.read_bytes()

    def end_of(p: int) -> int | None:
        if p + pre + 1 > len(data):
            return None
        count = data[p + pre]
        end = p + pre + 1 + 5 * count
        if count > n_dlv or end > len(data):
            return None
        if any(data[p + pre + 1 + 5 * i] >= n_dlv for i in range(count)):
            return None
        return end

    def confirmed(p: int) -> bool:
        q = p
        for _ in range(confirm):
            if q == len(data):
                return True
            q = end_of(q)
            if q is None:
                return False
        return True

    p = records = valid = skipped = 0
    while p < len(data):
        end = end_of(p)
        if end is None or not confirmed(p):
            p += 1
            skipped += 1
            continue
        records += 1
        if lat_at is not None and lon_at is not None:
            lat = int.from_bytes(
                data[p + lat_at : p + lat_at + 4], "little", signed=True
            )
            lon = int.from_bytes(
                data[p + lon_at : p + lon_at + 4], "little", signed=True
            )
            valid += int(lat != 0 or lon != 0)
        p = end
    return {"records": records, "validPositions": valid, "bytesSkipped": skipped}


def _tlg_files(folder: Path, name: str) -> tuple[Path | None, Path | None]:
    return (
        _find_case_insensitive(folder, name + ".xml"),
        _find_case_insensitive(folder, name + ".bin"),
    )


def taskdata_facts(folder: Path) -> dict[str, Any]:
    """All facts for every TASKDATA.XML under *folder* (see module docstring)."""
    result: dict[str, Any] = {"taskdata": []}
    for td in find_taskdata(folder):
        root = load_root(td)
        devs = devices(root)
        det_device = {e["id"]: d for d in devs for e in d["elements"]}
        tasks = []
        for tsk in root.iter("TSK"):
            names = [tlg.get("A") for tlg in tsk.findall("TLG")]
            present, missing = [], []
            for n in names:
                x, b = _tlg_files(td.parent, n)
                (present if x and b and b.stat().st_size > 0 else missing).append(
                    (n, x, b)
                )
            logs = run_isoxml_js([(x, b) for _, x, b in present])
            for log, (_, x, b) in zip(logs, present, strict=True):
                if log["errors"]:
                    log["byteWalk"] = walk_tlg(x, b)
            dets = set()
            for _, x, _ in present:
                head = ET.parse(x).getroot()
                dets |= {d.get("C") for d in head.findall("DLV")}
            task_devices = sorted(
                {det_device[d]["id"] for d in dets if d in det_device}
            )
            tasks.append(
                {
                    "id": tsk.get("A"),
                    "name": tsk.get("B"),
                    "status": tsk.get("G"),
                    "timeLogs": names,
                    "timeLogsMissing": [
                        {
                            "name": n,
                            "reason": "no .xml" if not x else "no or empty .bin",
                        }
                        for n, x, b in missing
                    ],
                    "devicesLogged": task_devices,
                    "deviceClassesLogged": sorted(
                        {
                            d["deviceClassName"]
                            for d in devs
                            if d["id"] in task_devices and d["deviceClassName"]
                        }
                    ),
                    "timTotals": tim_totals(tsk),
                    "logs": logs,
                    "records": task_records(logs),
                }
            )
        result["taskdata"].append(
            {
                "path": td.relative_to(folder).as_posix(),
                "versionMajor": root.get("VersionMajor"),
                "versionMinor": root.get("VersionMinor"),
                "taskControllerManufacturer": root.get("TaskControllerManufacturer"),
                "taskControllerVersion": root.get("TaskControllerVersion"),
                "managementSoftwareManufacturer": root.get(
                    "ManagementSoftwareManufacturer"
                ),
                "devices": devs,
                "tasks": tasks,
            }
        )
    return result


def log_records(log: dict[str, Any]) -> int:
    """Records of one log that carry a position (not 0,0): isoxml-js, or the byte walk
    when isoxml-js stopped on an error."""
    if log.get("byteWalk"):
        return log["byteWalk"]["validPositions"]
    return log["positions"]["valid"]


def task_records(logs: list[dict[str, Any]]) -> int:
    """Placeable records of one task: parallel logs (same count, first and last time) once.

    A controller that logs more than 255 DLVs writes several TLGs at the same instants
    (ISO 11783-10: at most 255 DLVs per header), so their records are one set of instants.
    """
    groups: dict[tuple, int] = {}
    for log in logs:
        key = (log["records"], log["firstTime"], log["lastTime"])
        groups[key] = log_records(log)
    return sum(groups.values())


# ------------------------------------------------------------------ controller totals
# TIM DDI -> (leafnb summary key, SI unit, factor from the DDI unit, how carriers combine)
TOTAL_DDIS = {
    "005A": ("totalWetMass", "kg", 1.0, "sum"),  # 90 Yield Total Mass [kg]
    "00B7": ("totalDryMass", "kg", 1.0, "sum"),  # 183 Yield Total Dry Mass [kg]
    "0074": ("totalArea", "m2", 1.0, "max"),  # 116 Total Area [m²]
    "0050": ("totalApplied", "L", 1.0, "sum"),  # 80 Application Total Volume [L]
    "0051": ("totalApplied", "kg", 1.0, "sum"),  # 81 Application Total Mass [kg]
    "0052": ("totalPlanted", "seeds", 1.0, "sum"),  # 82 Application Total Count
}


def controller_totals(
    taskdata: dict[str, Any], tasks: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Controller totals for comparison, summed over *tasks* (default: tasks with logs).

    A TIM's DLVs are the task's totals up to the end of that TIM (cumulative), so per DET
    the value of the latest effective TIM (D=4) that carries the DDI is the task total —
    as isoxml-dotnet's ``TryGetTotalValue``. Per task and DDI the carriers are the DETs at
    the smallest depth of the element tree that carry the DDI: masses/volumes/counts are
    summed over them (one per product or bin), areas take their maximum (parallel
    functions cover the same ground). Distance is 117 + 118 (effective + ineffective
    total distance, mm), to compare with all records. A non-zero value that several
    tasks report identically for the same DET and DDI is a device counter, not a task
    total (the CNH bench test repeats 404,686,267 seeds in three tasks): it is left out
    and listed under ``"notTaskTotals"``.
    """
    depth = {e["id"]: e["depth"] for d in taskdata["devices"] for e in d["elements"]}
    out: dict[str, dict[str, Any]] = {}
    seen: dict[tuple, set[str]] = {}
    for task in taskdata["tasks"]:
        for row in _latest_per_det(task["timTotals"]):
            if row["raw"] and (
                row["ddi"] in TOTAL_DDIS or row["ddi"] in ("0075", "0076")
            ):
                seen.setdefault((row["ddi"], row["det"], row["raw"]), set()).add(
                    task["id"]
                )
    repeated = {k for k, v in seen.items() if len(v) > 1}
    for task in taskdata["tasks"]:
        if tasks is not None and task["id"] not in tasks:
            continue
        if tasks is None and not task["logs"]:
            continue
        latest = []
        for row in _latest_per_det(task["timTotals"]):
            if (row["ddi"], row["det"], row["raw"]) in repeated:
                out.setdefault(
                    "notTaskTotals", {"value": 0, "unit": "", "sources": []}
                )["sources"].append(
                    f"{task['id']}: DDI {int(row['ddi'], 16)} on {row['det']} = {row['raw']} in {len(seen[(row['ddi'], row['det'], row['raw'])])} tasks"
                )
                continue
            latest.append(row)
        by_ddi: dict[str, list[dict[str, Any]]] = {}
        for row in latest:
            by_ddi.setdefault(row["ddi"], []).append(row)
        for ddi, rows in by_ddi.items():
            if ddi not in TOTAL_DDIS:
                continue
            key, unit, factor, how = TOTAL_DDIS[ddi]
            per_det = {r["det"]: r["value"] * factor for r in rows}
            top = min(depth.get(d, math.inf) for d in per_det)
            carriers = {
                d: v for d, v in per_det.items() if depth.get(d, math.inf) == top
            }
            value = sum(carriers.values()) if how == "sum" else max(carriers.values())
            entry = out.setdefault(key, {"value": 0.0, "unit": unit, "sources": []})
            entry["value"] += value
            entry["sources"].append(
                f"{task['id']}: TIM DDI {int(ddi, 16)} ({ddi}) on {', '.join(sorted(carriers))}"
            )
        dist: dict[str, dict[str, float]] = {}
        for row in latest:
            if row["ddi"] in ("0075", "0076"):
                dist.setdefault(row["det"], {})[row["ddi"]] = row["value"]
        full = {d: v for d, v in dist.items() if "0075" in v and "0076" in v}
        if full:
            top = min(depth.get(d, math.inf) for d in full)
            d = sorted(x for x in full if depth.get(x, math.inf) == top)[0]
            entry = out.setdefault(
                "totalDistance", {"value": 0.0, "unit": "m", "sources": []}
            )
            entry["value"] += (full[d]["0075"] + full[d]["0076"]) / 1000
            path = sum(log["positions"]["pathKm"] for log in task["logs"]) * 1000
            entry["sources"].append(
                f"{task['id']}: TIM DDI 117+118 on {d} (117 effective alone: {full[d]['0075'] / 1000:,.0f} m; "
                f"isoxml-js path between positions: {path:,.0f} m)"
            )
    for entry in out.values():
        entry["source"] = "; ".join(entry.pop("sources"))
    if "notTaskTotals" in out:
        out["notTaskTotals"] = {
            "value": None,
            "unit": None,
            "source": out["notTaskTotals"]["source"],
        }
    return out


def _latest_per_det(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (DDI, DET): the row of the latest effective TIM (by start time, then order)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["start"] or "", r["tim"])):
        if row["type"] in (None, "4"):
            latest[(row["ddi"], row["det"])] = row
    return list(latest.values())
