-- Review: every human annotation waits for a reviewer's verdict.
--
-- review_queue holds one row per annotation that entered review (a human
-- submission, or a rework's resubmission): its state (0 pending,
-- 1 accepted, 2 rejected, 3 fixed) and the review lease (reviewer_id,
-- lease_until) that GET .../review/next hands out, so that two reviewers
-- asking at once never get the same annotation. The partial index
-- review_open is the pending set: review/next never scans reviewed rows.
-- Annotations themselves stay append-only.
--
-- reviews is the log of verdicts: accept | reject | fix. A fix stores the
-- reviewer's result as a new annotation version (source 'review'),
-- fixed_annotation_id.
CREATE TABLE review_queue (
    annotation_id BIGINT PRIMARY KEY REFERENCES annotations(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    task_id BIGINT NOT NULL,
    author_id BIGINT,
    state INTEGER NOT NULL DEFAULT 0,
    reviewer_id BIGINT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX review_open ON review_queue(project_id, annotation_id) WHERE state = 0;
CREATE INDEX review_held ON review_queue(reviewer_id, project_id) WHERE state = 0;

CREATE TABLE reviews (
    id {{ID}},
    annotation_id BIGINT NOT NULL REFERENCES annotations(id),
    task_id BIGINT NOT NULL,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    reviewer_id BIGINT NOT NULL REFERENCES users(id),
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    result TEXT,
    fixed_annotation_id BIGINT REFERENCES annotations(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX reviews_annotation ON reviews(annotation_id, id);

-- Review progress in the project's count shards (see 0001): annotations
-- waiting for review, reviewed, accepted (a fix counts as accepted), rejected.
ALTER TABLE project_counts ADD COLUMN n_to_review BIGINT NOT NULL DEFAULT 0;
ALTER TABLE project_counts ADD COLUMN n_reviewed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE project_counts ADD COLUMN n_accepted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE project_counts ADD COLUMN n_rejected BIGINT NOT NULL DEFAULT 0;

-- Annotations made before review existed wait for review like new ones.
INSERT INTO review_queue (annotation_id, project_id, task_id, author_id, updated_at)
    SELECT id, project_id, task_id, user_id, created_at FROM annotations WHERE source = 'human';
INSERT INTO project_counts (project_id, shard, n_to_review)
    SELECT project_id, task_id % 16, COUNT(*) FROM annotations WHERE source = 'human'
    GROUP BY project_id, task_id % 16
    ON CONFLICT (project_id, shard) DO UPDATE SET n_to_review = excluded.n_to_review;
