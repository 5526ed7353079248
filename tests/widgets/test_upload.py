"""UploadPanel and its chunked browser transfer: Python state driven the way the front end drives it.

:class:`Browser` plays ``transfer.js``'s side of the protocol (start → ready, chunk → ack,
end / abort) against a real :class:`ChunkedUpload`; the browser tests in ``tests/ui`` run
the real front end in JupyterLab.
"""

from __future__ import annotations

import re
import zipfile

import pytest

from leafnb import Workspace
from leafnb.keys import FILE_STEPS, PROVIDERS
from leafnb.widgets import UploadPanel
from leafnb.widgets.transfer import ChunkedUpload
from leafnb.widgets.upload import eta_text, file_step
from tests.conftest import SMS_CSV, make_zip

LONG_NAME = "north-forty_combine-7_2024-10-01_harvest.csv"


class Browser:
    """The front end's half of the transfer protocol, with the kernel's replies recorded."""

    def __init__(self, sender: ChunkedUpload):
        self.sender = sender
        self.replies: list[dict] = []
        sender.send = lambda content, buffers=None: self.replies.append(content)

    def say(self, content: dict, buffers: list | None = None) -> dict | None:
        before = len(self.replies)
        self.sender._on_msg(self.sender, content, buffers or [])
        return self.replies[-1] if len(self.replies) > before else None

    def start(self, name: str, size: int) -> dict:
        return self.say({"kind": "start", "token": "t1", "name": name, "size": size})

    def send_file(self, name: str, data: bytes, chunk: int = 1000) -> list[dict]:
        ready = self.start(name, len(data))
        assert ready["kind"] == "ready", ready
        acks = []
        for offset in range(0, len(data), chunk):
            reply = self.say(
                {"kind": "chunk", "id": ready["id"], "offset": offset},
                [memoryview(data[offset : offset + chunk])],
            )
            acks.append(reply)
            if reply["kind"] != "ack":
                return acks
        self.say({"kind": "end", "id": ready["id"], "seconds": 2.0})
        return acks


@pytest.fixture
def inline_ws(tmp_path):
    return Workspace(tmp_path / "ws", executor="inline")


@pytest.fixture
def sender(tmp_path):
    widget = ChunkedUpload(directory=tmp_path / "incoming")
    (tmp_path / "incoming").mkdir()
    received = []
    widget.on_received(
        lambda path, name: received.append((path, name, path.read_bytes()))
    )
    widget.received = received
    return widget


# ---------------------------------------------------------------------------- transfer
def test_transfer_in_acknowledged_slices(sender, harvest_csv_zip, tmp_path):
    data = harvest_csv_zip.read_bytes()
    browser = Browser(sender)
    acks = browser.send_file("card.zip", data, chunk=100)
    assert [a["kind"] for a in acks] == ["ack"] * len(acks) and len(acks) > 3
    # each acknowledgement says how many bytes are stored: the front end's byte bar
    assert [a["received"] for a in acks] == [
        min(o + 100, len(data)) for o in range(0, len(data), 100)
    ]
    ((path, name, content),) = sender.received
    assert name == "card.zip" and content == data
    assert path.parent.parent == tmp_path / "incoming"
    assert sender.state == "received" and sender.received_bytes == len(data)
    assert sender.seconds == 2.0 and sender.mb_per_second == pytest.approx(
        len(data) / 1e6 / 2
    )
    assert re.match(r"Received card\.zip: .* in 2\.0 s", sender.message)


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        (
            "card.zip",
            4 * 1024**3,
            r"card\.zip is 4\.29 GB; uploads are limited to 3\.22 GB \(3 GiB, Leaf's limit\)",
        ),
        ("card.rar", 100, r"card\.rar is not a \.zip file"),
        ("card.zip", 0, r"card\.zip is empty"),
    ],
)
def test_transfer_refused_before_any_byte(sender, tmp_path, name, size, message):
    reply = Browser(sender).start(name, size)
    assert reply["kind"] == "failed" and reply["token"] == "t1"
    assert re.search(message, reply["message"]) and reply["message"] == sender.message
    assert sender.state == "failed" and sender.received == []
    assert list((tmp_path / "incoming").iterdir()) == []


def test_content_that_is_not_a_zip_stops_the_transfer(sender, tmp_path):
    acks = Browser(sender).send_file("card.zip", b"Rar!\x1a\x07" + b"x" * 5000)
    assert len(acks) == 1 and acks[0]["kind"] == "failed"
    assert "card.zip is not a zip archive" in acks[0]["message"]
    assert sender.state == "failed" and sender.received == []
    assert list((tmp_path / "incoming").iterdir()) == []  # the partial file is gone


def test_out_of_order_slice_stops_the_transfer(sender, harvest_csv_zip):
    data = harvest_csv_zip.read_bytes()
    browser = Browser(sender)
    ready = browser.start("card.zip", len(data))
    browser.say({"kind": "chunk", "id": ready["id"], "offset": 0}, [data[:100]])
    reply = browser.say(
        {"kind": "chunk", "id": ready["id"], "offset": 300}, [data[300:400]]
    )
    assert reply["kind"] == "failed" and "expected bytes from 100" in reply["message"]


def test_interrupted_transfer_is_reported_and_discarded(
    sender, harvest_csv_zip, tmp_path
):
    data = harvest_csv_zip.read_bytes()
    browser = Browser(sender)
    ready = browser.start("card.zip", len(data))
    browser.say({"kind": "chunk", "id": ready["id"], "offset": 0}, [data[:100]])
    now = sender._clock()
    assert not sender.check_stalled(now)
    assert sender.check_stalled(now + sender.stale_after + 1)
    assert sender.state == "failed"
    assert sender.message.startswith(
        "Transfer of card.zip interrupted after 100 bytes of"
    )
    assert "Choose the file again" in sender.message
    assert browser.replies[-1] == {
        "kind": "failed",
        "id": ready["id"],
        "message": sender.message,
    }
    assert list((tmp_path / "incoming").iterdir()) == []
    # a slice arriving after that is told to stop
    late = browser.say(
        {"kind": "chunk", "id": ready["id"], "offset": 100}, [data[100:200]]
    )
    assert late["kind"] == "failed"


def test_browser_abort_and_short_end(sender, harvest_csv_zip):
    data = harvest_csv_zip.read_bytes()
    browser = Browser(sender)
    ready = browser.start("card.zip", len(data))
    browser.say({"kind": "abort", "id": ready["id"], "reason": "Transfer cancelled."})
    assert sender.state == "failed" and sender.message == "Transfer cancelled."
    ready = browser.start("card.zip", len(data))
    browser.say({"kind": "chunk", "id": ready["id"], "offset": 0}, [data[:100]])
    browser.say({"kind": "end", "id": ready["id"], "seconds": 1})
    assert sender.state == "failed" and "ended after 100 bytes" in sender.message
    assert sender.received == []


def test_second_start_while_receiving_is_refused(sender):
    browser = Browser(sender)
    assert browser.start("a.zip", 10)["kind"] == "ready"
    reply = browser.start("b.zip", 10)
    assert (
        reply["kind"] == "failed"
        and "a.zip is still being received" in reply["message"]
    )


# ---------------------------------------------------------------------------- panel: browser upload
def test_browser_upload_converts_and_removes_the_copy(
    inline_ws, harvest_csv_zip, tmp_path
):
    panel = UploadPanel(inline_ws, leaf_user_id="grower-1", poll_seconds=0)
    # received on the workspace's disk (not /tmp, often in memory), then deleted
    assert panel.sender.directory == inline_ws.path
    Browser(panel.sender).send_file("h.zip", harvest_csv_zip.read_bytes(), chunk=256)
    panel.wait()
    assert panel.errors.messages == []
    batch = inline_ws.get_batch(panel.batch_id)
    assert batch["status"] == "PROCESSED" and batch["fileName"] == "h.zip"
    assert list(inline_ws.path.glob(".leafnb-upload-*")) == []
    assert (
        "PROCESSED" in panel.message.value
        and "1 of 1 files converted" in panel.message.value
    )
    assert not panel.sender.disabled and not panel.upload_button.disabled


def test_browser_upload_limit_follows_the_panel(inline_ws):
    panel = UploadPanel(inline_ws, max_bytes=1000)
    assert panel.sender.max_bytes == 1000
    reply = Browser(panel.sender).start("big.zip", 1001)
    assert (
        "big.zip is 1,001 bytes; uploads are limited to 1,000 bytes."
        in reply["message"]
    )
    assert panel.batch_id == ""


def test_bad_zip_from_the_browser_says_why(inline_ws):
    panel = UploadPanel(inline_ws, poll_seconds=0)
    Browser(panel.sender).send_file("x.zip", b"PK\x03\x04" + b"\0" * 50)
    panel.wait()
    assert len(panel.errors.messages) == 1
    assert panel.errors.messages[0].startswith("[UploadPanel] InvalidRequest: x.zip")
    assert "not a valid zip" in panel.errors.messages[0] and panel.batch_id == ""


# ---------------------------------------------------------------------------- panel: server path
def test_folder_browser_enters_sub_folders(inline_ws, tmp_path):
    root = tmp_path / "pick"
    (root / "card" / "TASKDATA").mkdir(parents=True)
    (root / "a.zip").write_bytes(b"")
    (root / "card" / "h.csv").write_bytes(SMS_CSV)
    panel = UploadPanel(inline_ws, folder=str(root))
    values = [v for _, v in panel.chooser.options]
    assert values == [str(tmp_path), str(root / "card"), str(root / "a.zip")]
    assert panel.chooser.value is None  # listing never navigates by itself
    panel.chooser.value = str(root / "card")  # open the sub-folder
    assert panel.folder == str(root / "card")
    assert panel.path_box.value == str(root / "card")
    assert [v for _, v in panel.chooser.options] == [
        str(root),
        str(root / "card" / "TASKDATA"),
        str(root / "card" / "h.csv"),
    ]
    assert "card" in panel.folder_label.value
    panel.chooser.value = str(root / "card" / "h.csv")  # a file: chosen, not opened
    assert panel.folder == str(root / "card")
    assert panel.path_box.value == str(root / "card" / "h.csv")
    panel.chooser.value = str(root)  # ⬆ ..
    assert panel.folder == str(root)


def test_panel_inputs(inline_ws):
    panel = UploadPanel(inline_ws, leaf_user_id="grower-9")
    assert (
        panel.provider_box.options == PROVIDERS and panel.provider_box.value == "Other"
    )
    assert panel.user_box.value == "grower-9"
    panel.provider_box.value = "AgLeader"
    assert panel.provider == "AgLeader"
    assert "up to 3 GB" in panel.note.value


def test_path_upload_runs_in_the_background_and_says_so_at_once(
    inline_ws, tmp_path, monkeypatch
):
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / LONG_NAME).write_bytes(SMS_CSV)
    make_zip(folder / "again.zip", {LONG_NAME: SMS_CSV})
    panel = UploadPanel(inline_ws, leaf_user_id="grower-1", poll_seconds=0)
    seen = []
    upload_batch = inline_ws.upload_batch

    def spy(*args, **kwargs):
        seen.append(panel.message.value)  # what the user sees while the zip is unpacked
        return upload_batch(*args, **kwargs)

    monkeypatch.setattr(inline_ws, "upload_batch", spy)
    panel.path_box.value = str(folder)
    panel.upload_button.click()
    panel.wait()
    assert panel.errors.messages == []
    assert seen and seen[0].startswith("Checking and unpacking card.zip")
    batch = inline_ws.get_batch(panel.batch_id)
    assert batch["status"] == "PROCESSED" and len(batch["leafFiles"]) == 1
    (row,) = panel.file_progress.children
    assert (
        row.bar.value == row.bar.max == len(FILE_STEPS)
        and row.bar.bar_style == "success"
    )
    assert LONG_NAME in row.label.value  # the whole name, never cut
    assert panel.batch_progress.value == panel.batch_progress.max == 1
    assert "1 of 1 files settled · 100%" in panel.batch_text.value
    assert LONG_NAME in panel.table.value and "PROCESSED" in panel.table.value
    # the folder was zipped in the workspace's folder, and that zip is gone
    assert list(inline_ws.path.glob(".leafnb-upload-*")) == []


def test_path_upload_left_out_message(inline_ws, tmp_path):
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "h.csv").write_bytes(SMS_CSV)
    make_zip(folder / "again.zip", {"h.csv": SMS_CSV})
    panel = UploadPanel(inline_ws, poll_seconds=0)
    seen = []
    panel.message.observe(lambda c: seen.append(c["new"]), "value")
    panel.upload(folder)
    inline_ws.wait()
    line = "left out: again.zip: every dataset in it is already in the upload"
    assert line in seen[-1] and "PROCESSED" in seen[-1]


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("", r"\[UploadPanel\] InvalidRequest: give the path"),
        ("/nonexistent/x.zip", r"\[UploadPanel\] InvalidRequest: .*does not exist"),
    ],
)
def test_rejected_upload_writes_error(inline_ws, source, match):
    panel = UploadPanel(inline_ws)
    panel.path_box.value = source
    panel.upload_button.click()
    panel.wait()
    assert len(panel.errors.messages) == 1
    assert re.match(match, panel.errors.messages[0]), panel.errors.messages
    assert panel.errors.outputs[0]["name"] == "stderr"


def test_unsafe_zip_message(inline_ws, tmp_path):
    evil = make_zip(tmp_path / "evil.zip", {"../../escape.csv": SMS_CSV})
    panel = UploadPanel(inline_ws)
    panel.start_upload(evil)
    panel.wait()
    assert panel.errors.messages[0].startswith("[UploadPanel] UnsafeArchive: ")
    assert inline_ws.get_batches().total == 0


# ---------------------------------------------------------------------------- step progress
def test_file_bars_move_by_step(inline_ws, harvest_csv_zip, monkeypatch):
    """The bar of a file being converted stands at the steps whose artifacts exist."""
    import leafnb.pipeline.steps as steps_mod

    panel = UploadPanel(inline_ws, poll_seconds=0)
    seen: list[tuple[str, int, str]] = []

    def after(write):
        def wrapper(path, *args, **kwargs):
            out = write(path, *args, **kwargs)
            panel.refresh()  # what a poll at this moment shows
            (row,) = panel.file_progress.children
            seen.append((path.name, row.bar.value, row.bar.bar_style))
            return out

        return wrapper

    monkeypatch.setattr(
        steps_mod, "write_geoparquet", after(steps_mod.write_geoparquet)
    )
    monkeypatch.setattr(steps_mod, "write_json", after(steps_mod.write_json))
    panel.upload(harvest_csv_zip)
    inline_ws.wait()
    assert seen == [
        ("raw.json", 2, "info"),  # how the raw table is read again (made on request)
        ("standard.parquet", 6, "info"),
        ("summary.json", 8, "info"),  # (the units map is in standard.parquet's footer)
    ]
    (row,) = panel.file_progress.children
    assert (row.bar.value, row.bar.bar_style) == (9, "success")


def test_failed_file_bar_stops_at_its_failed_step(failed_batch):
    ws, batch = failed_batch
    panel = UploadPanel(ws, poll_seconds=0)
    panel.batch_id = batch["id"]
    (row,) = panel.file_progress.children
    assert row.bar.bar_style == "danger"
    assert row.bar.value == list(ws.get_file_status(batch["leafFiles"][0])).index(
        "standardGeojson"
    )
    assert "failed at standardGeojson: no points passed the filter" in row.label.value
    assert "FAILED" in panel.message.value and "1 failed" in panel.message.value


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"status": "processing"}, (0, "originalFile…")),
        # the original is there: reading it is what goes on (raw.json comes after)
        (
            {"status": "processing", "downloadOriginalFile": "file:///o.csv"},
            (1, "rawGeojson…"),
        ),
        ({"status": "processing", "rawGeoparquet": "r"}, (2, "normalizedGeojson…")),
        (
            {"status": "processing", "rawGeoparquet": "r", "standardGeoparquet": "s"},
            (6, "filteredGeojson…"),
        ),
        (
            {
                "status": "processing",
                "filteredGeoparquet": "f",
                "standardGeoparquet": "s",
            },
            (7, "summary…"),
        ),
        ({"status": "processing", "summary": {"type": "Feature"}}, (8, "units…")),
        ({"status": "processed"}, (9, "processed")),
    ],
)
def test_file_step(resource, expected):
    assert file_step(resource) == expected


def test_eta_text():
    assert eta_text(10, 0.5) == "about 10 s left"
    assert eta_text(60, 0.25) == "about 3 min 00 s left"
    assert eta_text(5, 0) == "" and eta_text(5, 1) == ""


def test_batch_bar_shows_time_left_while_running(
    inline_ws, harvest_csv_zip, monkeypatch
):
    panel = UploadPanel(inline_ws, poll_seconds=0)
    batch = inline_ws.upload_batch(harvest_csv_zip, "g")
    clock = iter([100.0, 130.0])
    panel._clock = lambda: next(clock)
    panel.batch_id = batch["id"]  # started at t=100
    # pretend the file is half way: its standard points written, the rest not yet
    fake = dict(
        inline_ws.get_file(batch["leafFiles"][0]), status="processing", summary=None
    )
    fake.pop("filteredGeoparquet")
    monkeypatch.setattr("leafnb.widgets.upload.batch_files", lambda ws, bid: [fake])
    monkeypatch.setattr(
        inline_ws, "get_batch", lambda bid: dict(batch, status="PROCESSING")
    )
    panel.refresh()  # t=130: 6/9 of the bytes after 30 s -> 15 s left
    assert "0 of 1 files settled · 67%" in panel.batch_text.value
    assert "about 15 s left" in panel.batch_text.value


def test_zip_with_many_files_shows_every_file(inline_ws, tmp_path):
    entries = {
        f"f{i:03d}.csv": SMS_CSV.replace(b"Corn", f"Corn{i}".encode())
        for i in range(105)
    }
    batch = inline_ws.upload_batch(
        make_zip(tmp_path / "many.zip", entries), "g", wait=False
    )
    inline_ws.wait()
    panel = UploadPanel(inline_ws, poll_seconds=0)
    panel.batch_id = batch["id"]
    assert len(panel.file_progress.children) == 105  # more than one page of get_files
    with zipfile.ZipFile(tmp_path / "many.zip") as zf:
        assert len(zf.namelist()) == 105
