-- Novel -> storyboard (issue 5): a storyboard project's novel, its
-- chapters and scenes, the roster, machine drafts (predictions) and the
-- flags a sync raises on human work whose source text changed.
--
-- novels: one per storyboard project; revision counts imports (a sync
-- checks it to refuse a concurrent one, and drafted shot ids carry it, so
-- an id is never reused).
CREATE TABLE novels (
    id {{ID}},
    project_id BIGINT NOT NULL UNIQUE REFERENCES projects(id),
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    title TEXT,
    encoding TEXT NOT NULL,
    converted TEXT,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per chapter, in the novel's order (idx, 1-based). ckey is what
-- matches a re-imported chapter to this one besides its content hash
-- (the volume and the heading's number, or the title). body is the
-- chapter's normalised text (scenes are code-point ranges of it).
CREATE TABLE novel_chapters (
    novel_id BIGINT NOT NULL REFERENCES novels(id),
    idx INTEGER NOT NULL,
    ckey TEXT NOT NULL,
    title TEXT NOT NULL,
    volume TEXT,
    hash TEXT NOT NULL,
    chars INTEGER NOT NULL,
    utterances INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    revision INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (novel_id, idx)
);

-- A scene is one task of the project. ord orders a chapter's scenes;
-- removed = 1 when a sync found no place for it in the new text (its task
-- and any human work stay; it is flagged, not deleted).
CREATE TABLE novel_scenes (
    task_id BIGINT PRIMARY KEY REFERENCES tasks(id),
    novel_id BIGINT NOT NULL REFERENCES novels(id),
    chapter_idx INTEGER NOT NULL,
    scene INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    hash TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX novel_scenes_chapter ON novel_scenes(novel_id, chapter_idx, ord);

-- Machine results for a task (append-only: every draft stays in history).
-- A claim starts its draft from the latest one.
CREATE TABLE predictions (
    id {{ID}},
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    model TEXT NOT NULL,
    model_version TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX predictions_task ON predictions(task_id, id);

-- The roster. The API names a character "c<id>"; merged_into points to the
-- character an alias was merged into.
CREATE TABLE characters (
    id {{ID}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '[]',
    sheet TEXT NOT NULL DEFAULT '{}',
    lines INTEGER NOT NULL DEFAULT 0,
    mentions INTEGER NOT NULL DEFAULT 0,
    merged_into BIGINT,
    source TEXT NOT NULL DEFAULT 'machine',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX characters_project ON characters(project_id, id);

-- A human shot kept through a sync although its source text changed.
CREATE TABLE story_flags (
    id {{ID}},
    project_id BIGINT NOT NULL REFERENCES projects(id),
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    shot_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    old_text TEXT NOT NULL,
    new_text TEXT NOT NULL,
    diff TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by BIGINT
);
CREATE INDEX story_flags_project ON story_flags(project_id, id);
CREATE INDEX story_flags_task ON story_flags(task_id, id);
