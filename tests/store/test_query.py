import pytest

from leafnb.errors import InvalidRequest
from tests.conftest import SMS_CSV, make_zip


@pytest.fixture
def populated(workspace, tmp_path):
    for i, user in enumerate(["a", "a", "b"]):
        z = make_zip(tmp_path / f"u{i}.zip", {f"f{i}.csv": SMS_CSV})
        workspace.upload_batch(z, user)
    bad = make_zip(
        tmp_path / "bad.zip", {"bad.csv": SMS_CSV.replace(b",18.5,", b",0,")}
    )
    workspace.upload_batch(bad, "a")
    return workspace


def test_filters(populated):
    ws = populated
    assert ws.get_files(leafUserId="a").total == 3
    assert ws.get_files(leafUserId="a", status="failed").total == 1
    assert ws.get_files(operationType="harvested").total == 4
    assert ws.get_files(operationType="planted").total == 0
    assert ws.get_files(minArea=1.0).total == 3  # the failed file has no area
    assert ws.get_files(startTime="2024-10-01T00:00:00Z").total == 3
    assert ws.get_files(endTime="2024-09-30T00:00:00Z").total == 0
    assert ws.get_files(fileFormat="CSV").total == 4
    one = ws.get_files()[0]
    assert [f["id"] for f in ws.get_files(fileId=one["id"])] == [one["id"]]


def test_paging_and_sort(populated):
    ws = populated
    page0 = ws.get_files(size=3)
    page1 = ws.get_files(page=1, size=3)
    assert (len(page0), len(page1), page0.total) == (3, 1, 4)
    names = [f["fileName"] for f in ws.get_files(sort="fileName,desc")]
    assert names == sorted(names, reverse=True)
    multi = ws.get_files(sort=["leafUserId,desc", "fileName"])
    assert [f["leafUserId"] for f in multi] == ["b", "a", "a", "a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 101}, "size must be between 1 and 100"),
        ({"page": -1}, "page must be >= 0"),
        ({"sort": "color"}, "cannot sort by 'color'"),
        ({"status": "done"}, "not a valid option for status"),
        ({"startTime": "yesterday"}, "ISO 8601"),
        ({"colour": "red"}, "not a filter"),
    ],
)
def test_invalid_queries(workspace, kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        workspace.get_files(**kwargs)


def test_config_layers(workspace):
    assert workspace.get_config()["operationsMergeRange"] == 5
    workspace.set_config({"operationsMergeRange": 7})
    workspace.set_config({"unitMeasurement": "METRIC"}, leaf_user_id="u")
    cfg = workspace.get_config("u")
    assert (cfg["operationsMergeRange"], cfg["unitMeasurement"], cfg["leafUserId"]) == (
        7,
        "METRIC",
        "u",
    )
    assert workspace.get_config()["unitMeasurement"] == "DEFAULT"
    workspace.delete_config("u")
    assert workspace.get_config("u")["unitMeasurement"] == "DEFAULT"
    with pytest.raises(InvalidRequest, match="not a valid option for unitMeasurement"):
        workspace.set_config({"unitMeasurement": "SI"})
    with pytest.raises(InvalidRequest, match="not a configuration key"):
        workspace.set_config({"nope": 1})
    with pytest.raises(InvalidRequest, match="not a valid event"):
        workspace.on("nope", print)
