-- Media: content-addressed files (the bytes live in the media dir as
-- ab/cd/<sha256>, never in the database). id is the sha256 hex of the
-- bytes; width and height are NULL for media that are not images.
-- org_media says which org uploaded what: the same bytes uploaded by two
-- orgs are one media row and one file, but each org sees only the media
-- it uploaded itself.

CREATE TABLE media (
    id TEXT PRIMARY KEY,
    mime TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    width INTEGER,
    height INTEGER,
    created_at BIGINT NOT NULL
);
-- store_copy pages by created_at (the copy needs an integer key)
CREATE INDEX media_created ON media(created_at);

CREATE TABLE org_media (
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    media_id TEXT NOT NULL REFERENCES media(id),
    uploaded_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, media_id)
);
CREATE INDEX org_media_created ON org_media(created_at);
