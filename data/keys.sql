-- Keys, applied after the load. Primary keys are built by sorting, which is
-- faster than maintaining them row by row during COPY. Foreign keys are
-- NOT VALID: the generator guarantees them (data's tests check it) and new
-- rows are checked; validating 4 million loaded rows would only cost time.
-- Each statement is one step; steps on different tables run in parallel.
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE photos ADD PRIMARY KEY (id);
ALTER TABLE tags ADD PRIMARY KEY (photo_id, tag);
ALTER TABLE comments ADD PRIMARY KEY (id);
ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name);
