"""The cleaning report: what each filter removed, as a JSON dict that also displays in notebooks."""

from __future__ import annotations

import html
import json

from leafnb.resources import Resource

__all__ = ["CleaningReport"]


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}"
    return html.escape(str(v))


def _params(p: dict) -> str:
    shown = {k: v for k, v in p.items() if k != "coherence"}
    text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in shown.items())
    return html.escape(text)


class CleaningReport(Resource):
    """The cleaning report of one filter run: one entry per filter that applied, in order.

    ``{"profile", "total", "kept", "filters": [{name, parameters, removed, percentRemoved, percentMass}],
    "flowDelay"?: {seconds, automatic}, ...}``
    """

    kind = "cleaning report"

    def _repr_html_(self) -> str:
        total, kept = self.get("total", 0), self.get("kept", 0)
        head = (
            f"<b>leafnb cleaning</b> — profile <code>{html.escape(str(self.get('profile')))}</code>: "
            f"kept {kept} of {total} points ({100.0 * kept / total if total else 0:.1f} %)"
        )
        if "flowDelay" in self:
            fd = self["flowDelay"]
            head += f"; flow delay {fd['seconds']:g} s ({'automatic' if fd['automatic'] else 'fixed'})"
        if "moistureDelay" in self:
            md = self["moistureDelay"]
            head += f"; moisture delay {md['seconds']:g} s ({'automatic' if md['automatic'] else 'fixed'})"
        rows = "".join(
            f"<tr><td>{_fmt(f['name'])}</td><td style='text-align:right'>{f['removed']}</td>"
            f"<td style='text-align:right'>{_fmt(f['percentRemoved'])}</td>"
            f"<td style='text-align:right'>{_fmt(f.get('percentMass'))}</td>"
            f"<td style='text-align:left'><small>{_params(f.get('parameters', {}))}</small></td></tr>"
            for f in self.get("filters", [])
        )
        skipped = "".join(
            f"<li>{_fmt(s['name'])}: {_fmt(s['reason'])}</li>"
            for s in self.get("notApplied", [])
        )
        table = (
            "<table><tr><th>filter</th><th>removed</th><th>% points</th><th>% mass</th><th>parameters</th></tr>"
            f"{rows}</table>"
        )
        extra = (
            f"<details><summary>not applied</summary><ul>{skipped}</ul></details>"
            if skipped
            else ""
        )
        return f"<div>{head}{table}{extra}</div>"
