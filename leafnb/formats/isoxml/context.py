"""Task context for the file resource: provider, machinery, operators, products, crop, field.

* **Provider**: a known manufacturer in ``TaskControllerManufacturer`` (else
  ``ManagementSoftwareManufacturer``) of the root element.
* **Machinery**: the task's devices (allocated by ``DAN`` or written by its logs); device
  classes 0, 1, 7, 8 and 9 (non-specific, tractor, harvesters) are machines, the others
  implements. The brand is not derivable: ISO NAME manufacturer codes need the SAE J1939
  code table, which leafnb does not ship.
* **Operators**: workers of the task's ``WAN`` allocations.
* **Products**: ``PAN`` products, then ``PDV`` products of treatment zones, with the first
  prescribed rate found for each.
* **Crop / variety**: the crop of a ``CVT`` that names a task product; else the only
  ``CTP`` (with its only ``CVT``).
* **Farm / field / customer** and the task designator become Leaf's
  ``originalOperation*`` data; the task's partfield boundary (``PLN A=1``) a feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leafnb.formats.isoxml import ddi as D

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element as XmlElement

    from leafnb.formats.isoxml.devices import Device
    from leafnb.formats.isoxml.taskdata import Taskdata

__all__ = ["provider", "task_context"]

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
_MACHINE_CLASSES = (0, 1, 7, 8, 9)


def _float(s: str | None) -> float | None:
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


def provider(td: Taskdata) -> str | None:
    """Leaf provider of the task controller or management software, when known."""
    for key in ("TaskControllerManufacturer", "ManagementSoftwareManufacturer"):
        val = (td.attrib.get(key) or "").lower()
        for needle, name in _PROVIDERS:
            if needle in val:
                return name
    return None


def task_context(
    td: Taskdata, task: XmlElement, devices: list[Device], meta: dict[str, Any]
) -> None:
    """Add machinery, operators, products, crop, original operation data and partfields."""
    machinery = []
    for device in devices:
        item = {
            "name": (device.designator or device.id).strip(),
            "type": "machine"
            if device.device_class in _MACHINE_CLASSES
            else "implement",
            "brand": "unknown",
        }
        if device.serial:
            item["serialNumber"] = device.serial
        machinery.append(item)
    if machinery:
        meta["machinery"] = machinery
    ops = []
    for wan in task.iter("WAN"):
        wkr = td.get(wan.get("E"))
        if wkr is not None:
            name = " ".join(x for x in (wkr.get("C"), wkr.get("B")) if x).strip()
            ops.append({"id": wkr.get("A"), "name": name or wkr.get("A")})
    if ops:
        meta["operators"] = ops
    pdt_ids = [pan.get("A") for pan in task.iter("PAN") if pan.get("A")]
    for pdv in task.iter("PDV"):
        if pdv.get("C") and pdv.get("C") not in pdt_ids:
            pdt_ids.append(pdv.get("C"))
    products = []
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
                try:
                    entry = D.ddi_entry(int(pdv.get("A") or "", 16))
                    prod["rate"] = {
                        "value": int(pdv.get("B") or "") * entry.resolution,
                        "unit": entry.unit,
                    }
                except ValueError:
                    continue
                break
        products.append(prod)
    if products:
        meta["products"] = products
    _crop(td, task, pdt_ids, meta)
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
    feature = _partfield_feature(pfd) if pfd is not None else None
    if feature:
        meta["partfields"] = [feature]


def _crop(td: Taskdata, task: XmlElement, pdt_ids: list, meta: dict[str, Any]) -> None:
    ctp = td.get(task.get("P094_Crop_Type")) if task.get("P094_Crop_Type") else None
    ctps = td.all("CTP")
    if ctp is None:
        for owner in ctps:
            for cvt in owner.findall("CVT"):
                if cvt.get("C") and cvt.get("C") in pdt_ids:
                    ctp = owner
                    meta["variety"] = cvt.get("B")
    if ctp is None and len(ctps) == 1:
        ctp = ctps[0]
        cvts = ctp.findall("CVT")
        if len(cvts) == 1 and cvts[0].get("B"):
            meta.setdefault("variety", cvts[0].get("B"))
    if ctp is not None and ctp.get("B"):
        meta["crop"] = ctp.get("B")


def _partfield_feature(pfd: XmlElement) -> dict | None:
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
    return {
        "type": "Feature",
        "geometry": geom,
        "properties": {
            "id": pfd.get("A"),
            "name": pfd.get("C"),
            "area": _float(pfd.get("D")),
        },
    }
