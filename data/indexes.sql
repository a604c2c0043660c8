-- The secondary indexes: the ones the talk's last lesson is about. Without
-- photos_user_created every user page scans all photos. "scalelab seed
-- --no-index" and "scalelab index drop" leave them out. One per line.
CREATE INDEX photos_user_created ON photos (user_id, created_at DESC, id DESC);
CREATE INDEX photos_created ON photos (created_at DESC, id DESC);
CREATE INDEX comments_photo ON comments (photo_id, created_at, id);
CREATE INDEX comments_created ON comments (created_at DESC, id DESC);
CREATE INDEX tags_tag ON tags (tag, photo_id DESC);
