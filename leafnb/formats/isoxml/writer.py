"""Write small ISOXML TASKDATA sets (TASKDATA.XML + TLG header/binary) from arrays.

Used for tests, the demo sample and benchmarks. The binary is built with numpy
(structured records grouped by DLV count), so multi-million-record logs are quick to
write. Output is readable by isoxml-js. Device descriptions are written as trees of
device elements (:class:`DeviceSpec`, :class:`ElementSpec`: DET types, parent ids, DPDs
and DPTs linked by DORs), and :func:`split_parallel` splits one log into parallel logs
written at the same instants, so every ISOXML rule of the reader can be built in a test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from leafnb.formats.isoxml.tlg import EPOCH_1980_MS, MS_PER_DAY, PTN_FIELDS

__all__ = [
    "DeviceSpec",
    "DlvSpec",
    "ElementSpec",
    "TimeLogSpec",
    "encode_records",
    "iso_name",
    "split_parallel",
    "write_taskdata",
    "write_tlg",
]


@dataclass
class DlvSpec:
    """One logged value: DDI, device element, raw int values (NaN/None mask = not logged)."""

    ddi: int
    det: str = "DET-1"
    values: np.ndarray | None = None  # raw integers per record
    present: np.ndarray | None = None  # bool per record (default: all)
    #: the header's value (``DLV B``): what holds before the first record writes one
    header: int | None = None


@dataclass
class TimeLogSpec:
    """One time log to write: its name, record times, positions and logged values."""

    name: str
    time_ms: np.ndarray  # Unix ms per record
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None
    dlvs: list[DlvSpec] = field(default_factory=list)
    #: PTN attributes written per record (subset of "ABCDEFGHI")
    logged: str = "ABD"
    #: PTN attributes given as header constants
    constants: Mapping[str, float] = field(default_factory=dict)
    #: per-record raw values for logged PTN fields other than A/B (default zeros)
    ptn_values: Mapping[str, np.ndarray] = field(default_factory=dict)


def encode_records(spec: TimeLogSpec) -> bytes:
    """Encode the records of *spec* as TLG binary bytes (vectorised)."""
    n = len(spec.time_ms)
    t = np.asarray(spec.time_ms, dtype=np.int64) - EPOCH_1980_MS
    days = (t // MS_PER_DAY).astype(np.uint16)
    ms = (t % MS_PER_DAY).astype(np.uint32)
    k = len(spec.dlvs)
    present = np.zeros((n, k), bool)
    values = np.zeros((n, k), np.int32)
    for j, d in enumerate(spec.dlvs):
        present[:, j] = True if d.present is None else np.asarray(d.present, bool)
        if d.values is not None:
            values[:, j] = np.asarray(d.values, dtype=np.int64).astype(np.int32)
    counts = present.sum(axis=1)
    fixed = [("ms", "<u4"), ("days", "<u2")]
    for a in spec.logged:
        fixed.append((a, PTN_FIELDS[a][1]))
    fixed.append(("count", "u1"))
    fixed_dt = np.dtype(fixed)
    rec_len = fixed_dt.itemsize + 5 * counts
    offsets = np.concatenate([[0], np.cumsum(rec_len)[:-1]]).astype(np.int64)
    out = np.zeros(int(rec_len.sum()), dtype=np.uint8)
    head = np.zeros(n, dtype=fixed_dt)
    head["ms"], head["days"], head["count"] = ms, days, counts
    for a in spec.logged:
        if a == "A":
            head[a] = np.round(np.asarray(spec.lat) * 1e7).astype(np.int64)
        elif a == "B":
            head[a] = np.round(np.asarray(spec.lon) * 1e7).astype(np.int64)
        elif a in spec.ptn_values:
            head[a] = np.asarray(spec.ptn_values[a])
    hb = head.view(np.uint8).reshape(n, fixed_dt.itemsize)
    cols = offsets[:, None] + np.arange(fixed_dt.itemsize)
    out[cols] = hb
    if k:
        pair_dt = np.dtype([("i", "u1"), ("v", "<i4")])
        r, j = np.nonzero(present)  # row-major: record order, then DLV order
        slot = np.cumsum(present, axis=1)[r, j] - 1
        start = offsets[r] + fixed_dt.itemsize + 5 * slot
        pairs = np.zeros(len(r), dtype=pair_dt)
        pairs["i"] = j
        pairs["v"] = values[r, j]
        pb = pairs.view(np.uint8).reshape(len(r), 5)
        out[start[:, None] + np.arange(5)] = pb
    return out.tobytes()


def write_tlg(folder: Path, spec: TimeLogSpec) -> tuple[Path, Path]:
    """Write ``<name>.xml`` and ``<name>.bin`` into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    attrs = []
    for a in "ABCDEFGHI":
        if a in spec.logged:
            attrs.append(f'{a}=""')
        elif a in spec.constants:
            attrs.append(f'{a}="{spec.constants[a]}"')
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<TIM A="" D="4">',
        f"    <PTN {' '.join(attrs)}/>",
    ]
    for d in spec.dlvs:
        b = "" if d.header is None else str(d.header)
        lines.append(f'    <DLV A="{d.ddi:04X}" B="{b}" C={quoteattr(d.det)}/>')
    lines.append("</TIM>")
    xml = folder / f"{spec.name}.xml"
    xml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    binp = folder / f"{spec.name}.bin"
    binp.write_bytes(encode_records(spec))
    return xml, binp


@dataclass
class ElementSpec:
    """One device element (``DET``) of a :class:`DeviceSpec`.

    *type*: 1 device, 2 function, 3 bin, 4 section, 5 unit, 6 connector, 7 navigation.
    *properties* become DPTs (DDI -> value), *process_data* DPDs (DDIs the element can
    log); both are linked to the element by ``DOR``.
    """

    id: str
    type: int = 1
    parent: str | None = None
    designator: str = ""
    number: int | None = None
    properties: Mapping[int, int] = field(default_factory=dict)
    process_data: Sequence[int] = ()


@dataclass
class DeviceSpec:
    """One device (``DVC``) with its element tree; *device_class* goes into its ISO NAME."""

    id: str = "DVC1"
    designator: str = "Combine"
    device_class: int = 7
    elements: Sequence[ElementSpec] = ()
    serial: str = "SN-0001"


def iso_name(device_class: int, serial: int = 0x42) -> str:
    """A 64-bit ISO NAME (16 hex digits) with *device_class* in bits 49-55."""
    return f"{(0xA0 << 56) | (device_class << 49) | (0x1234 << 21) | serial:016X}"


def split_parallel(
    spec: TimeLogSpec, per_log: int, first: int = 1
) -> list[TimeLogSpec]:
    """Split *spec*'s DLVs over logs of at most *per_log* DLVs written at the same instants.

    As a controller with more than 255 DLVs does (``TLG{first:05d}``, ...).
    """
    out = []
    for i, start in enumerate(range(0, max(len(spec.dlvs), 1), per_log)):
        out.append(
            TimeLogSpec(
                f"TLG{first + i:05d}",
                spec.time_ms,
                spec.lat,
                spec.lon,
                dlvs=list(spec.dlvs[start : start + per_log]),
                logged=spec.logged,
                constants=spec.constants,
                ptn_values=spec.ptn_values,
            )
        )
    return out


def _device_xml(dev: DeviceSpec, name_hex: str) -> list[str]:
    q = quoteattr
    out = [
        f'  <DVC A={q(dev.id)} B={q(dev.designator)} C="1.0" D="{name_hex}" '
        f'E={q(dev.serial)} F="00000000000000" G="FF000000406564">'
    ]
    object_ids = {e.id: i + 1 for i, e in enumerate(dev.elements)}
    objects: list[str] = []
    next_object = 1000
    for i, e in enumerate(dev.elements):
        parent = object_ids.get(e.parent or "", 0)
        number = e.number if e.number is not None else i
        out.append(
            f'    <DET A={q(e.id)} B="{object_ids[e.id]}" C="{e.type}" '
            f'D={q(e.designator or e.id)} E="{number}" F="{parent}">'
        )
        for ddi in e.process_data:
            out.append(f'      <DOR A="{next_object}"/>')
            objects.append(
                f'    <DPD A="{next_object}" B="{ddi:04X}" C="1" D="8" E="DDI {ddi}"/>'
            )
            next_object += 1
        for ddi, value in e.properties.items():
            out.append(f'      <DOR A="{next_object}"/>')
            objects.append(
                f'    <DPT A="{next_object}" B="{ddi:04X}" C="{int(value)}" D="DDI {ddi}"/>'
            )
            next_object += 1
        out.append("    </DET>")
    out.extend(objects)
    out.append("  </DVC>")
    return out


def write_taskdata(
    folder: Path,
    logs: Sequence[TimeLogSpec],
    *,
    task_name: str = "Harvest",
    device_name: str = "Combine",
    device_class: int = 7,
    det_ids: Sequence[str] = ("DET-1",),
    section_dets: Sequence[str] = (),
    devices: Sequence[DeviceSpec] | None = None,
    crop: str | None = "Corn",
    variety: str | None = "P1197",
    product: str | None = None,
    product_attrs: Mapping[str, str] | None = None,
    field_polygon: Sequence[tuple[float, float]] | None = None,
    totals: Mapping[int, int] | None = None,
    tim: Sequence[tuple[int, str, int]] = (),
    farm: str = "Demo farm",
    field_name: str = "North field",
    customer: str = "Demo grower",
    operator: str | None = "Demo operator",
    tc_manufacturer: str = "leafnb",
) -> Path:
    """Write a TASKDATA folder with one task referencing *logs*; return TASKDATA.XML.

    Without *devices*, one device ``DVC1`` whose ISO NAME has *device_class* (7
    harvester, 4 planter, 6 sprayer...) with the elements *det_ids* (the first the
    device element, the others functions below it) and *section_dets* (sections below
    the first). With *devices*, those device trees (each allocated to the task).
    *totals* are TIM DLV values (raw ints) on the first element; *tim* adds
    ``(DDI, element id, value)`` triples. *product_attrs* are extra attributes of the
    product (e.g. CNH's ``P094_Product_Usage``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for spec in logs:
        write_tlg(folder, spec)
    if devices is None:
        elements = [
            ElementSpec(det, 1 if i == 0 else 2, None if i == 0 else det_ids[0])
            for i, det in enumerate(det_ids)
        ] + [
            ElementSpec(det, 4, det_ids[0], number=100 + i)
            for i, det in enumerate(section_dets)
        ]
        devices = [DeviceSpec("DVC1", device_name, device_class, elements)]
    q = quoteattr
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ISO11783_TaskData VersionMajor="4" VersionMinor="3" ManagementSoftwareManufacturer="leafnb" '
        f'ManagementSoftwareVersion="1" TaskControllerManufacturer={q(tc_manufacturer)} '
        'TaskControllerVersion="1" DataTransferOrigin="1">',
        f'  <CTR A="CTR1" B={q(customer)}/>',
        f'  <FRM A="FRM1" B={q(farm)} I="CTR1"/>',
    ]
    if crop:
        out.append(f'  <CTP A="CTP1" B={q(crop)}>')
        if variety:
            out.append(
                f'    <CVT A="CVT1" B={q(variety)}{" C=" + q("PDT1") if product is None and variety else ""}/>'
            )
        out.append("  </CTP>")
    if product or (crop and variety):
        attrs = "".join(f" {k}={q(v)}" for k, v in (product_attrs or {}).items())
        out.append(f'  <PDT A="PDT1" B={q(product or variety)} F="1"{attrs}/>')
    if operator:
        out.append(f'  <WKR A="WKR1" B={q(operator)}/>')
    out.append(f'  <PFD A="PFD1" C={q(field_name)} D="0" E="CTR1" F="FRM1">')
    if field_polygon:
        out.append('    <PLN A="1"><LSG A="1">')
        for lon, lat in field_polygon:
            out.append(f'      <PNT A="2" C="{lat:.9f}" D="{lon:.9f}"/>')
        out.append("    </LSG></PLN>")
    out.append("  </PFD>")
    names = {}
    for i, dev in enumerate(devices):
        names[dev.id] = iso_name(dev.device_class, 0x42 + i)
        out.extend(_device_xml(dev, names[dev.id]))
    out.append(f'  <TSK A="TSK1" B={q(task_name)} C="CTR1" D="FRM1" E="PFD1" G="4">')
    first = devices[0].elements[0].id if devices and devices[0].elements else "DET-1"
    rows = [(ddi, first, val) for ddi, val in (totals or {}).items()] + list(tim)
    if rows:
        out.append('    <TIM A="2024-01-01T00:00:00" D="4">')
        for ddi, det, val in rows:
            out.append(f'      <DLV A="{ddi:04X}" B="{int(val)}" C={q(det)}/>')
        out.append("    </TIM>")
    if operator:
        out.append('    <WAN A="2024-01-01T00:00:00" E="WKR1"/>')
    if product:
        out.append('    <PAN A="PDT1"/>')
    for dev in devices:
        out.append(f'    <DAN A="{names[dev.id]}" C={q(dev.id)}/>')
    for spec in logs:
        out.append(f'    <TLG A="{spec.name}" C="1"/>')
    out.append("  </TSK>")
    out.append("</ISO11783_TaskData>")
    path = folder / "TASKDATA.XML"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def write_demo_harvest(
    folder: Path, *, seed: int = 7, passes: int = 12, pass_len_m: float = 400.0
) -> Path:
    """Write the demo TASKDATA (a combine harvesting corn in serpentine passes, Iowa).

    1 Hz records; yield logged per record, moisture/width/work state only on change,
    running totals (DDI 90 yield mass, 116 area, 117 distance) as a task controller does.
    Used for ``sample_data/isoxml``; deterministic for a given *seed*.
    """
    rng = np.random.default_rng(seed)
    width_m, speed = 9.144, 2.2  # 30 ft header, m/s
    lat0, lon0 = 41.9850, -93.6500
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * np.cos(np.radians(lat0))
    per_pass = int(pass_len_m / speed)
    xs, ys, working = [], [], []
    for k in range(passes):
        along = np.arange(per_pass) * speed
        if k % 2:
            along = along[::-1]
        xs.append(np.full(per_pass, k * width_m))
        ys.append(along)
        working.append(np.ones(per_pass, bool))
        # headland turn: 8 records, header up
        turn = np.linspace(0, np.pi, 8)
        xs.append(k * width_m + width_m / 2 - np.cos(turn) * width_m / 2)
        ys.append(np.full(8, along[-1] + (4.0 if k % 2 == 0 else -4.0)))
        working.append(np.zeros(8, bool))
    x = np.concatenate(xs) + rng.normal(0, 0.05, sum(map(len, xs)))
    y = np.concatenate(ys) + rng.normal(0, 0.05, len(x))
    on = np.concatenate(working)
    n = len(x)
    lat = lat0 + y / m_per_deg_lat
    lon = lon0 + x / m_per_deg_lon
    t = 1_696_150_800_000 + np.arange(n, dtype=np.int64) * 1000  # 2023-10-01T09:00Z
    yield_t_ha = np.clip(
        11.0 + 2.0 * np.sin(x / 40.0) + 1.5 * np.cos(y / 70.0) + rng.normal(0, 0.6, n),
        4,
        17,
    )
    mass_per_area = np.where(on, yield_t_ha * 100_000, 0)  # t/ha -> mg/m2
    flow = mass_per_area * width_m * speed  # mg/s
    # running totals start at 0 with the first record (what was done before it)
    total_mass = np.concatenate([[0.0], np.cumsum(flow)[:-1]]) / 1e6  # kg
    area = np.concatenate([[0.0], np.cumsum(np.where(on, width_m * speed, 0))[:-1]])
    dist = np.arange(n) * speed * 1000.0
    moist = (
        np.round(np.clip(18 + rng.normal(0, 0.8, n), 14, 24), 1) * 10_000
    )  # ppm, 0.1 % steps
    changed = lambda v: np.concatenate([[True], v[1:] != v[:-1]])  # noqa: E731
    every = np.ones(n, bool)
    dlvs = [
        DlvSpec(84, "DET-1", mass_per_area, every),
        DlvSpec(87, "DET-1", flow, every),
        DlvSpec(90, "DET-1", np.floor(total_mass), changed(np.floor(total_mass))),
        DlvSpec(99, "DET-1", moist, changed(moist)),
        DlvSpec(67, "DET-1", np.full(n, int(width_m * 1000)), changed(np.full(n, 1))),
        DlvSpec(141, "DET-1", on.astype(int), changed(on.astype(int))),
        DlvSpec(116, "DET-1", np.floor(area), changed(np.floor(area))),
        DlvSpec(117, "DET-1", dist, every),
        DlvSpec(397, "DET-1", np.full(n, int(speed * 1000)), changed(np.full(n, 1))),
    ]
    spec = TimeLogSpec(
        "TLG00001",
        t,
        lat,
        lon,
        dlvs=dlvs,
        logged="ABCD",
        ptn_values={
            "C": np.round(285_000 + x * 10).astype(np.int64),
            "D": np.full(n, 4),
        },
    )
    pad = 15.0
    poly = [
        (lon0 - pad / m_per_deg_lon, lat0 - pad / m_per_deg_lat),
        (lon0 + (passes * width_m + pad) / m_per_deg_lon, lat0 - pad / m_per_deg_lat),
        (
            lon0 + (passes * width_m + pad) / m_per_deg_lon,
            lat0 + (pass_len_m + pad) / m_per_deg_lat,
        ),
        (lon0 - pad / m_per_deg_lon, lat0 + (pass_len_m + pad) / m_per_deg_lat),
    ]
    totals = {
        90: int(np.floor(total_mass[-1])),
        116: int(np.floor(area[-1])),
        117: int(dist[-1]),
    }
    return write_taskdata(
        folder,
        [spec],
        task_name="Corn harvest 2023",
        device_name="Demo combine",
        device_class=7,
        crop="Corn",
        variety="P1197",
        field_polygon=poly,
        totals=totals,
    )
