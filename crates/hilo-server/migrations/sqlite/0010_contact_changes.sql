-- Which contacts changed, for the search index each server process keeps in memory
-- (src/contact_index.rs): one row a contact, whose `seq` rises with every change to the contact
-- or to its tags, followers or workflow enrolments, by whatever process made it. A process reads
-- the rows past the last `seq` it saw and reloads those contacts. Rows are never deleted: a
-- deleted contact's row is how other processes learn of the deletion.
CREATE TABLE contact_changes (
    contact_id  TEXT PRIMARY KEY,
    location_id TEXT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX contact_changes_location_seq ON contact_changes(location_id, seq);

-- One writer at a time: the location's highest seq plus one is a number no reader has seen.
CREATE TRIGGER contact_changes_contact_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                      WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_contact_update AFTER UPDATE ON contacts BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                      WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_contact_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (OLD.id, OLD.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                      WHERE location_id = OLD.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_tags_insert AFTER INSERT ON contact_tags BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_tags_update AFTER UPDATE ON contact_tags BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_tags_delete AFTER DELETE ON contact_tags BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (OLD.contact_id, OLD.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = OLD.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_followers_insert AFTER INSERT ON contact_followers BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_followers_update AFTER UPDATE ON contact_followers BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_followers_delete AFTER DELETE ON contact_followers BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (OLD.contact_id, OLD.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = OLD.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_workflows_insert AFTER INSERT ON contact_workflows BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_workflows_update AFTER UPDATE ON contact_workflows BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (NEW.contact_id, NEW.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = NEW.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER contact_changes_workflows_delete AFTER DELETE ON contact_workflows BEGIN
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (OLD.contact_id, OLD.location_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM contact_changes
                                                 WHERE location_id = OLD.location_id))
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
END;
