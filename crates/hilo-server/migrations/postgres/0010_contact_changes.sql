-- Which contacts changed, for the search index each server process keeps in memory
-- (src/contact_index.rs): one row a contact, whose `seq` is the id of the last transaction that
-- changed the contact or its tags, followers or workflow enrolments, in whatever process. Ids
-- are handed out before commits, so a process reads the rows from the oldest transaction still
-- running at its last read (`pg_snapshot_xmin`) on. Rows are never deleted: a deleted contact's
-- row is how other processes learn of the deletion.
CREATE TABLE contact_changes (
    contact_id  TEXT PRIMARY KEY,
    location_id TEXT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX contact_changes_location_seq ON contact_changes(location_id, seq);

-- The changed row's contact: its column named by the trigger's argument (`id` in contacts,
-- `contact_id` under them).
CREATE FUNCTION contact_changes_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    INSERT INTO contact_changes (contact_id, location_id, seq)
    VALUES (changed ->> TG_ARGV[0], changed ->> 'location_id', pg_current_xact_id()::text::bigint)
    ON CONFLICT (contact_id) DO UPDATE SET seq = excluded.seq;
    RETURN NULL;
END;
$$;

CREATE TRIGGER contact_changes_contact AFTER INSERT OR UPDATE OR DELETE ON contacts
FOR EACH ROW EXECUTE FUNCTION contact_changes_note('id');
CREATE TRIGGER contact_changes_tags AFTER INSERT OR UPDATE OR DELETE ON contact_tags
FOR EACH ROW EXECUTE FUNCTION contact_changes_note('contact_id');
CREATE TRIGGER contact_changes_followers AFTER INSERT OR UPDATE OR DELETE ON contact_followers
FOR EACH ROW EXECUTE FUNCTION contact_changes_note('contact_id');
CREATE TRIGGER contact_changes_workflows AFTER INSERT OR UPDATE OR DELETE ON contact_workflows
FOR EACH ROW EXECUTE FUNCTION contact_changes_note('contact_id');
