-- Project administration: active annotators and review release.
--
-- assignments_project_live: the live leases of one project, so that the
-- project's "active annotators" (distinct users holding a lease that has
-- not run out) is counted in O(live leases of the project), never over
-- the project's finished assignments.
CREATE INDEX assignments_project_live ON assignments(project_id, lease_until, user_id)
    WHERE state = 'leased';

-- review_queue.released_by: the reviewer who last handed the annotation's
-- review lease back (POST /annotations/{id}/review/release). review/next
-- offers that reviewer other annotations first, so "skip" moves on.
ALTER TABLE review_queue ADD COLUMN released_by BIGINT;
