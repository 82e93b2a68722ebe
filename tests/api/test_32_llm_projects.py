"""
Projects of kind "llm" end to end: config validation per mode, task import
(bad task data reported per record), and results through the queue (claim
with next, submit; a result that fails the mode's rules answers 400
invalid_result with a path inside "result").

The exact rules and messages are unit-tested in tests/unit/test_schema_llm.c;
here we check that the server applies them at each boundary.
"""

import pytest

from conftest import expect, import_tasks, make_project

SFT = {"mode": "sft"}
PAIRWISE = {"mode": "pairwise", "require_reason": True}
RANKING = {"mode": "ranking"}
RUBRIC = {"mode": "rubric", "criteria": [{"name": "helpful", "min": 1, "max": 5},
                                         {"name": "harmless", "min": 0, "max": 1}]}

PAIR_DATA = {"prompt": "Say hi", "responses": [{"id": "a", "text": "Hello!"},
                                               {"id": "b", "text": "Hey"}]}
RANK_DATA = {"messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": "Say hi"}],
             "responses": [{"id": "a", "text": "Hello!"}, {"id": "b", "text": "Hey"},
                           {"id": "c", "text": "Greetings, human.", "model": "m-7b"}],
             "source": "arena-export.jsonl"}


@pytest.fixture
def owner(world):
    return world.a["owner"]


@pytest.fixture
def annotator(world):
    return world.a["annotator"]


def llm_project(owner, config, data):
    """An llm project with one task holding `data`; returns the project."""
    p = make_project(owner, kind="llm", config=config)
    assert p["kind"] == "llm" and p["config"] == config, p
    res = expect(import_tasks(owner, p["id"], [{"key": "t1", "data": data}]), 200)
    assert res == {"created": 1, "existing": 0, "errors": []}, res
    return p


def claim(client, pid):
    body = expect(client.post("/api/v1/projects/%d/next" % pid), 200)
    return body["assignment"]["id"], body["task"]


def submit(client, aid, result):
    return client.post("/api/v1/assignments/%d/submit" % aid, {"result": result})


def expect_invalid(client, aid, result, path, message=None):
    body = expect(submit(client, aid, result), 400, "invalid_result", path)
    if message is not None:
        assert body["error"]["message"] == message, (result, body)


def submit_ok(owner, client, aid, task, result):
    ann = expect(submit(client, aid, result), 201)
    assert ann["result"] == result, ann
    stored = owner.list_all("/api/v1/tasks/%d/annotations" % task["id"])
    assert [a["result"] for a in stored] == [result]


# -- config ------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    SFT, PAIRWISE, {"mode": "pairwise"}, RANKING, RUBRIC,
    {"mode": "sft", "require_reason": False},
])
def test_create_llm_project(owner, config):
    p = make_project(owner, kind="llm", config=config)
    assert p["kind"] == "llm" and p["config"] == config
    got = expect(owner.get("/api/v1/projects/%d" % p["id"]), 200)
    assert got["kind"] == "llm" and got["config"] == config


@pytest.mark.parametrize("config, path, message", [
    ({}, "config.mode", "is required"),
    ({"mode": "dpo"}, "config.mode", "must be one of: sft, pairwise, ranking, rubric"),
    ({"mode": "rubric"}, "config.criteria", "is required"),
    ({"mode": "rubric", "criteria": []}, "config.criteria", "must not be empty"),
    ({"mode": "rubric", "criteria": [{"name": "a", "min": 1, "max": 5},
                                     {"name": "a", "min": 1, "max": 3}]},
     "config.criteria[1].name", "duplicate criterion 'a'"),
    ({"mode": "rubric", "criteria": [{"name": "", "min": 1, "max": 5}]},
     "config.criteria[0].name", "must not be empty"),
    ({"mode": "rubric", "criteria": [{"name": "a", "min": 5, "max": 1}]},
     "config.criteria[0].max", "must be > min"),
    ({"mode": "rubric", "criteria": [{"name": "a", "min": 1.5, "max": 5}]},
     "config.criteria[0].min", "must be an integer"),
    ({"mode": "pairwise", "criteria": [{"name": "a", "min": 1, "max": 5}]},
     "config.criteria", "only applies to mode 'rubric'"),
    ({"mode": "pairwise", "require_reason": "yes"}, "config.require_reason", "must be a boolean"),
    ({"mode": "sft", "temperature": 0.7}, "config.temperature", "unknown key"),
])
def test_bad_llm_config(owner, config, path, message):
    r = owner.post("/api/v1/projects", {"name": "bad llm", "kind": "llm", "config": config})
    body = expect(r, 400, "invalid_request", path)
    assert body["error"]["message"] == message, body


# -- task import -------------------------------------------------------------------------


def test_import_reports_bad_records(owner):
    p = make_project(owner, kind="llm", config=PAIRWISE)
    two = [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}]
    records = [
        {"key": "ok1", "data": PAIR_DATA},                                            # 1
        {"key": "bad2", "data": {"prompt": "Hi", "responses": two + [{"id": "c", "text": "z"}]}},
        {"key": "bad3", "data": {"responses": two}},                                  # 3
        {"key": "bad4", "data": {"prompt": "Hi", "messages": [], "responses": two}},  # 4
        {"key": "bad5", "data": {"messages": [{"role": "tool", "content": "x"}], "responses": two}},
        {"key": "bad6", "data": {"prompt": "Hi", "responses": [two[0], two[0]]}},      # 6
        {"key": "bad7", "data": {"prompt": "Hi", "responses": [two[0], {"id": "tie", "text": "y"}]}},
        {"key": "bad8", "data": {"prompt": "Hi"}},                                     # 8
        {"key": "ok9", "data": {"messages": [{"role": "user", "content": "Hi"}], "responses": two,
                                "meta": {"source": "arena"}}},                         # 9
        {"key": "bad10", "data": {"prompt": "", "responses": two}},                    # 10
    ]
    res = expect(import_tasks(owner, p["id"], records), 200)
    assert res["created"] == 2 and res["existing"] == 0, res
    got = {e["at"]: e["message"] for e in res["errors"]}
    assert all(e["code"] == "invalid_request" for e in res["errors"]), res
    assert got == {
        "line 2": "data.responses: must have exactly 2 responses (has 3)",
        "line 3": "data: must have prompt or messages",
        "line 4": "data: must have either prompt or messages, not both",
        "line 5": "data.messages[0].role: must be one of: system, user, assistant",
        "line 6": "data.responses[1].id: duplicate id 'a'",
        "line 7": "data.responses[1].id: must not be 'tie' (reserved for a tie)",
        "line 8": "data.responses: is required",
        "line 10": "data.prompt: must not be empty",
    }, res
    keys = sorted(t["key"] for t in owner.list_all("/api/v1/projects/%d/tasks" % p["id"]))
    assert keys == ["ok1", "ok9"]


def test_import_ranking_needs_two_responses(owner):
    p = make_project(owner, kind="llm", config=RANKING)
    res = expect(import_tasks(owner, p["id"], [
        {"key": "one", "data": {"prompt": "Hi", "responses": [{"id": "a", "text": "x"}]}},
        {"key": "ok", "data": RANK_DATA},
    ]), 200)
    assert res["created"] == 1, res
    assert [(e["at"], e["message"]) for e in res["errors"]] == [
        ("line 1", "data.responses: must have at least 2 responses (has 1)")]


# -- results through the queue -----------------------------------------------------------


def test_sft_results(owner, annotator):
    p = llm_project(owner, SFT, {"prompt": "Write a haiku about rain.", "ref": 7})
    aid, task = claim(annotator, p["id"])
    assert task["data"] == {"prompt": "Write a haiku about rain.", "ref": 7}
    expect_invalid(annotator, aid, {}, "result.response", "is required")
    expect_invalid(annotator, aid, {"response": ""}, "result.response", "must not be empty")
    expect_invalid(annotator, aid, {"response": 3}, "result.response", "must be a string")
    expect_invalid(annotator, aid, {"response": "x", "choice": "a"}, "result.choice",
                   "unknown key")
    submit_ok(owner, annotator, aid, task,
              {"response": "Rain on the tin roof", "attrs": {"seconds": 40}})


def test_pairwise_results(owner, annotator):
    p = llm_project(owner, PAIRWISE, PAIR_DATA)
    aid, task = claim(annotator, p["id"])
    expect_invalid(annotator, aid, {"choice": "c", "strength": 1, "reason": "r"},
                   "result.choice", "must be 'a', 'b' or 'tie'")
    expect_invalid(annotator, aid, {"choice": "a", "reason": "r"}, "result.strength",
                   "is required")
    expect_invalid(annotator, aid, {"choice": "a", "strength": 4, "reason": "r"},
                   "result.strength", "must be 1, 2 or 3")
    expect_invalid(annotator, aid, {"choice": "tie", "strength": 2, "reason": "r"},
                   "result.strength", "must not be given with a tie")
    expect_invalid(annotator, aid, {"choice": "a", "strength": 2}, "result.reason", "is required")
    expect_invalid(annotator, aid, {"choice": "a", "strength": 2, "reason": ""}, "result.reason",
                   "must not be empty")
    expect_invalid(annotator, aid, {"choice": "a", "strength": 2, "reason": "r", "winner": "a"},
                   "result.winner", "unknown key")
    submit_ok(owner, annotator, aid, task, {"choice": "b", "strength": 3, "reason": "friendlier"})


def test_pairwise_tie_without_reason(owner, annotator):
    p = llm_project(owner, {"mode": "pairwise"}, PAIR_DATA)
    aid, task = claim(annotator, p["id"])
    submit_ok(owner, annotator, aid, task, {"choice": "tie"})


def test_ranking_results(owner, annotator):
    p = llm_project(owner, RANKING, RANK_DATA)
    aid, task = claim(annotator, p["id"])
    assert task["data"] == RANK_DATA  # importer metadata kept
    expect_invalid(annotator, aid, {"ranking": ["b", "a"]}, "result.ranking",
                   "must list every response once (missing 'c')")
    expect_invalid(annotator, aid, {"ranking": ["b", "a", "b"]}, "result.ranking[2]",
                   "duplicate response 'b'")
    expect_invalid(annotator, aid, {"ranking": ["b", "d", "c"]}, "result.ranking[1]",
                   "unknown response 'd'")
    expect_invalid(annotator, aid, {"ranking": "b,a,c"}, "result.ranking", "must be an array")
    expect_invalid(annotator, aid, {}, "result.ranking", "is required")
    submit_ok(owner, annotator, aid, task, {"ranking": ["b", "a", "c"]})


def test_rubric_results(owner, annotator):
    p = llm_project(owner, RUBRIC, {"prompt": "Explain DNS.", "responses": [
        {"id": "r1", "text": "DNS maps names to addresses."}]})
    aid, task = claim(annotator, p["id"])
    expect_invalid(annotator, aid, {"scores": {"helpful": 6, "harmless": 1}},
                   "result.scores.helpful", "must be between 1 and 5")
    expect_invalid(annotator, aid, {"scores": {"helpful": 4}}, "result.scores.harmless",
                   "is required")
    expect_invalid(annotator, aid, {"scores": {"helpful": 4, "harmless": 1, "funny": 2}},
                   "result.scores.funny", "unknown criterion 'funny'")
    expect_invalid(annotator, aid, {"scores": {"helpful": 4.5, "harmless": 1}},
                   "result.scores.helpful", "must be an integer")
    expect_invalid(annotator, aid, {"helpful": 4}, "result.helpful", "unknown key")
    submit_ok(owner, annotator, aid, task,
              {"scores": {"harmless": 1, "helpful": 4}, "comment": "clear", "attrs": {"v": 2}})
