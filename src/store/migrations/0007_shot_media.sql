-- Generated media per shot (issue 5, part 9): first and last frames and
-- clips of a storyboard shot, uploaded by people or generated through an
-- OpenAI-compatible images endpoint, each reviewed (accepted or sent back
-- with a note). The bytes are media rows (0002, by sha256); a shot is
-- named by its stable id inside the task's result (shots carry no rows of
-- their own), so an item outlives edits of the shot list.
--
-- kind: first_frame | last_frame | clip; source: upload | generated;
-- status: pending | accepted | rejected. At most one accepted item per
-- (task, shot, kind): accepting one rejects the one accepted before it
-- (note "superseded"); the exports show the accepted ones.
CREATE TABLE shot_media (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    shot_id TEXT NOT NULL,
    media TEXT NOT NULL REFERENCES media(id),
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    model TEXT,
    prompt TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    note TEXT,
    created_by BIGINT REFERENCES users(id),
    reviewed_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    reviewed_at BIGINT
);
CREATE INDEX shot_media_task ON shot_media(task_id, id);
CREATE INDEX shot_media_project ON shot_media(project_id, status, id);
-- the invariant "one accepted item per shot and kind", also against two
-- reviewers accepting at the same moment on PostgreSQL
CREATE UNIQUE INDEX shot_media_accepted ON shot_media(task_id, shot_id, kind)
    WHERE status = 'accepted';
