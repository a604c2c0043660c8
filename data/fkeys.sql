-- Foreign keys: see keys.sql.
ALTER TABLE photos ADD CONSTRAINT photos_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE tags ADD CONSTRAINT tags_photo_fk FOREIGN KEY (photo_id) REFERENCES photos (id) NOT VALID;
ALTER TABLE comments ADD CONSTRAINT comments_photo_fk FOREIGN KEY (photo_id) REFERENCES photos (id) NOT VALID;
ALTER TABLE comments ADD CONSTRAINT comments_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE sessions ADD CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
SELECT setval(pg_get_serial_sequence('comments', 'id'), GREATEST((SELECT max(id) FROM comments), 1));
