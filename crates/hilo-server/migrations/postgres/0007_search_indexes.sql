-- What keeps contact search fast on large locations (measured by benches/search.rs).
-- contact_field_values is kept aligned with migrations/sqlite/0007_search_indexes.sql (a test
-- compares the two); the free-text index is each engine's own (here pg_trgm, there FTS5).

-- Each contact's numeric custom field values, one row a field, kept by a trigger from
-- contacts.custom_fields, so that a range or an equality reads an index instead of every
-- contact's JSON.
CREATE TABLE contact_field_values (
    location_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    field_id    TEXT NOT NULL,
    number      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (contact_id, field_id)
);
CREATE INDEX contact_field_values_number ON contact_field_values(location_id, field_id, number, contact_id);

CREATE FUNCTION contact_field_values_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM contact_field_values WHERE contact_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO contact_field_values (location_id, contact_id, field_id, number)
        SELECT NEW.location_id, NEW.id, j->>'id', (j->>'value')::double precision
        FROM jsonb_array_elements(NEW.custom_fields::jsonb) j
        WHERE jsonb_typeof(j->'value') = 'number'
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

INSERT INTO contact_field_values (location_id, contact_id, field_id, number)
SELECT c.location_id, c.id, j->>'id', (j->>'value')::double precision
FROM contacts c, jsonb_array_elements(c.custom_fields::jsonb) j
WHERE jsonb_typeof(j->'value') = 'number'
ON CONFLICT DO NOTHING;

CREATE TRIGGER contact_field_values_insert AFTER INSERT OR DELETE ON contacts
FOR EACH ROW EXECUTE FUNCTION contact_field_values_sync();
CREATE TRIGGER contact_field_values_update AFTER UPDATE OF custom_fields ON contacts
FOR EACH ROW WHEN (OLD.custom_fields IS DISTINCT FROM NEW.custom_fields)
EXECUTE FUNCTION contact_field_values_sync();

-- Substrings of the free-text fields (`query`): trigram indexes that LIKE '%…%' can use.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_text_name ON contacts USING gin (full_name_lower gin_trgm_ops);
CREATE INDEX contacts_text_email ON contacts USING gin (email_lower gin_trgm_ops);
CREATE INDEX contacts_text_company ON contacts USING gin (lower(company_name) gin_trgm_ops);
CREATE INDEX contacts_text_phone ON contacts USING gin (phone gin_trgm_ops);
