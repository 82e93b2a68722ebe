-- Background jobs (LLM drafting, media generation): a durable queue that
-- any node's workers take from. state: queued | running | done | failed |
-- cancelled. A running job's worker writes heartbeat_at with each step;
-- one whose heartbeat is older than a minute (its node died) is queued
-- again, and resumes at progress_done (job kinds commit each step with its
-- progress). cancel = 1 asks a running job to stop at its next step.
CREATE TABLE jobs (
    id {{ID}},
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    project_id BIGINT REFERENCES projects(id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT,
    error TEXT,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT NOT NULL DEFAULT 0,
    cancel INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    node TEXT,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    heartbeat_at BIGINT
);
CREATE INDEX jobs_queued ON jobs(id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs(heartbeat_at) WHERE state = 'running';
CREATE INDEX jobs_project ON jobs(project_id, id);
