"""Projects: create, read, list, config validation per kind, field bounds."""

import copy

import pytest

from conftest import (IMAGE_CONFIG, TEXT_CONFIG, assert_id, assert_time, expect, make_project,
                      unique)

PROJECTS = "/api/v1/projects"


def project_body(kind="text", config=None, **over):
    body = {"name": unique("p"), "kind": kind,
            "config": copy.deepcopy(config if config is not None else
                                    (TEXT_CONFIG if kind == "text" else IMAGE_CONFIG))}
    body.update(over)
    return body


def names(client):
    return [p["name"] for p in client.list_all(PROJECTS)]


@pytest.mark.parametrize("kind", ["text", "image"])
def test_create_project(world, kind):
    body = project_body(kind, overlap=3, lease_seconds=600)
    p = expect(world.a["manager"].post(PROJECTS, body), 201)
    assert_id(p["id"])
    assert p["org"] == world.a.id
    assert p["name"] == body["name"]
    assert p["kind"] == kind
    assert p["config"] == body["config"]
    assert p["overlap"] == 3
    assert p["lease_seconds"] == 600
    assert_time(p["created_at"])
    assert p["counts"] == {"total": 0, "open": 0, "in_progress": 0, "done": 0,
                           "to_review": 0, "reviewed": 0, "accepted": 0, "rejected": 0}

    got = expect(world.a["viewer"].get("%s/%d" % (PROJECTS, p["id"])), 200)
    assert got == p


def test_project_defaults(world):
    body = project_body()
    p = expect(world.a["owner"].post(PROJECTS, body), 201)
    assert p["overlap"] == 1
    assert p["lease_seconds"] == 3600


@pytest.mark.parametrize("field,value", [
    ("overlap", 1), ("overlap", 100), ("lease_seconds", 1), ("lease_seconds", 86400),
])
def test_project_bounds_ok(world, field, value):
    p = expect(world.a["owner"].post(PROJECTS, project_body(**{field: value})), 201)
    assert p[field] == value


@pytest.mark.parametrize("field,value", [
    ("overlap", 0), ("overlap", 101), ("overlap", -1), ("overlap", 2 ** 70),
    ("overlap", 2 ** 63), ("overlap", -(2 ** 63) - 1), ("overlap", 1.5), ("overlap", 1e3),
    ("overlap", "2"), ("overlap", None), ("overlap", True),
    ("lease_seconds", 0), ("lease_seconds", 86401), ("lease_seconds", -5),
    ("lease_seconds", 2 ** 70), ("lease_seconds", "60"), ("lease_seconds", 2.5),
    ("name", ""), ("name", 5), ("name", None), ("name", ["x"]),
    ("kind", "video"), ("kind", ""), ("kind", 1), ("kind", "TEXT"),
    ("config", "{}"), ("config", []), ("config", None),
    ("colour", "red"),
])
def test_project_bad_field(world, field, value):
    client = world.a["owner"]
    body = project_body()
    body[field] = value
    expect(client.post(PROJECTS, body), 400, "invalid_request", field)
    assert body["name"] not in names(client)


@pytest.mark.parametrize("missing", ["name", "kind", "config"])
def test_project_missing_field(world, missing):
    body = project_body()
    del body[missing]
    expect(world.a["owner"].post(PROJECTS, body), 400, "invalid_request", missing)


def test_project_list_is_the_callers_org(world):
    a_ids = [p["id"] for p in world.a["viewer"].list_all(PROJECTS)]
    b_ids = [p["id"] for p in world.b["viewer"].list_all(PROJECTS)]
    assert world.a.project["id"] in a_ids and world.a.project["id"] not in b_ids
    assert world.b.project["id"] in b_ids and world.b.project["id"] not in a_ids
    assert not set(a_ids) & set(b_ids)
    assert a_ids == sorted(a_ids)


def test_project_list_items_and_pagination(world):
    client = world.b["manager"]
    for _ in range(3):
        make_project(client)
    everyone = client.list_all(PROJECTS)
    assert len(everyone) >= 4
    for p in everyone:
        assert p["org"] == world.b.id
        assert {"id", "name", "kind", "config", "overlap", "lease_seconds", "created_at"} <= set(p)
    page = expect(client.get(PROJECTS + "?limit=1"), 200)
    assert len(page["items"]) == 1 and page["next_after"] == page["items"][0]["id"]
    page2 = expect(client.get("%s?limit=2&after=%d" % (PROJECTS, page["next_after"])), 200)
    assert [p["id"] for p in page2["items"]] == [p["id"] for p in everyone[1:3]]
    for bad in ("0", "1001", "x"):
        expect(client.get(PROJECTS + "?limit=" + bad), 400, "invalid_request")


def test_project_counts_follow_import(world):
    got = expect(world.a["reviewer"].get("%s/%d" % (PROJECTS, world.a.project["id"])), 200)
    assert got["counts"]["total"] >= 3
    assert got["counts"]["total"] == (got["counts"]["open"] + got["counts"]["in_progress"]
                                      + got["counts"]["done"])


def test_project_not_found(world):
    for pid in (0, 2 ** 40, world.b.project["id"]):
        expect(world.a["owner"].get("%s/%d" % (PROJECTS, pid)), 404, "not_found")


# -- config validation ---------------------------------------------------------------------


TEXT_OK = [
    {"classes": {"choices": ["a"]}},
    {"classes": {"choices": ["a", "b"], "multiple": True}},
    {"spans": {"labels": ["PER"]}},
    {"spans": {"labels": ["PER", "LOC"], "overlap": True}},
    TEXT_CONFIG,
]

TEXT_BAD = [
    ({"classes": {"choices": []}}, "config.classes.choices"),
    ({"classes": {"choices": ["a", "a"]}}, "config.classes.choices[1]"),
    ({"classes": {"choices": ["a", ""]}}, "config.classes.choices[1]"),
    ({"classes": {"choices": ["a", 3]}}, "config.classes.choices[1]"),
    ({"classes": {"choices": ["x" * 257]}}, "config.classes.choices[0]"),
    ({"classes": {"choices": "a"}}, "config.classes.choices"),
    ({"classes": {}}, "config.classes.choices"),
    ({"classes": {"choices": ["a"], "multiple": "yes"}}, "config.classes.multiple"),
    ({"classes": {"choices": ["a"], "many": True}}, "config.classes.many"),
    ({"classes": ["a"]}, "config.classes"),
    ({"spans": {"labels": []}}, "config.spans.labels"),
    ({"spans": {"labels": ["PER", "PER"]}}, "config.spans.labels[1]"),
    ({"spans": {"labels": ["PER"], "overlap": 1}}, "config.spans.overlap"),
    ({"spans": {"labels": ["PER"], "colour": "red"}}, "config.spans.colour"),
    ({"tools": ["box"], "labels": [{"name": "car"}]}, None),  # image config for a text project
    ({"classes": {"choices": ["a"]}, "bogus": 1}, "config.bogus"),
]

IMAGE_OK = [
    {"tools": ["box"], "labels": [{"name": "car"}]},
    {"tools": ["polygon"], "labels": [{"name": "road"}, {"name": "sky"}]},
    IMAGE_CONFIG,
]

IMAGE_BAD = [
    ({"tools": ["circle"], "labels": [{"name": "car"}]}, "config.tools[0]"),
    ({"tools": [], "labels": [{"name": "car"}]}, "config.tools"),
    ({"tools": "box", "labels": [{"name": "car"}]}, "config.tools"),
    ({"tools": ["box"], "labels": [{"name": "car"}, {"name": "car"}]}, "config.labels[1]*"),
    ({"tools": ["box"], "labels": [{"nom": "car"}]}, "config.labels[0].nom"),
    ({"tools": ["box"], "labels": [{"name": ""}]}, "config.labels[0].name"),
    ({"tools": ["box"], "labels": ["car"]}, "config.labels[0]"),
    ({"tools": ["keypoints"],
      "labels": [{"name": "p", "keypoints": ["a", "b"], "skeleton": [[0, 2]]}]},
     "config.labels[0].skeleton*"),
    ({"tools": ["keypoints"],
      "labels": [{"name": "p", "keypoints": ["a", "b"], "skeleton": [[0, -1]]}]},
     "config.labels[0].skeleton*"),
    ({"tools": ["keypoints"],
      "labels": [{"name": "p", "keypoints": ["a", "a"]}]}, "config.labels[0].keypoints*"),
    ({"tools": ["box"], "labels": [{"name": "car"}], "classes": {"choices": []}},
     "config.classes.choices"),
    ({"tools": ["box"], "labels": [{"name": "car"}], "extra": True}, "config.extra"),
    ({"classes": {"choices": ["a"]}, "spans": {"labels": ["PER"]}}, None),  # text config
]


def assert_config_path(body, path):
    """path None: anywhere inside config; "x*": starts with x; else exact."""
    got = body["error"].get("path", "")
    if path is None:
        assert got == "config" or got.startswith("config."), body
    elif path.endswith("*"):
        assert got.startswith(path[:-1]), body
    else:
        assert got == path, body


@pytest.mark.parametrize("config", TEXT_OK)
def test_text_config_ok(world, config):
    p = expect(world.a["owner"].post(PROJECTS, project_body("text", config)), 201)
    assert p["config"] == config


@pytest.mark.parametrize("config,path", TEXT_BAD)
def test_text_config_bad(world, config, path):
    body = project_body("text", config)
    r = world.a["owner"].post(PROJECTS, body)
    b = expect(r, 400, "invalid_request")
    assert_config_path(b, path)
    assert body["name"] not in names(world.a["owner"])


@pytest.mark.parametrize("config", IMAGE_OK)
def test_image_config_ok(world, config):
    p = expect(world.a["owner"].post(PROJECTS, project_body("image", config)), 201)
    assert p["config"] == config


@pytest.mark.parametrize("config,path", IMAGE_BAD)
def test_image_config_bad(world, config, path):
    body = project_body("image", config)
    b = expect(world.a["owner"].post(PROJECTS, body), 400, "invalid_request")
    assert_config_path(b, path)
    assert body["name"] not in names(world.a["owner"])
