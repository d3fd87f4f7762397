-- What keeps contact search fast on large locations (measured by benches/search.rs).
-- contact_field_values is kept aligned with migrations/postgres/0007_search_indexes.sql (a test
-- compares the two); the free-text index is each engine's own (here FTS5, there pg_trgm).

-- Each contact's numeric custom field values, one row a field, kept by triggers from
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

INSERT OR IGNORE INTO contact_field_values (location_id, contact_id, field_id, number)
SELECT c.location_id, c.id, json_extract(j.value, '$.id'), json_extract(j.value, '$.value')
FROM contacts c, json_each(c.custom_fields) j
WHERE json_type(j.value, '$.value') IN ('integer', 'real');

CREATE TRIGGER contact_field_values_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO contact_field_values (location_id, contact_id, field_id, number)
    SELECT NEW.location_id, NEW.id, json_extract(j.value, '$.id'), json_extract(j.value, '$.value')
    FROM json_each(NEW.custom_fields) j
    WHERE json_type(j.value, '$.value') IN ('integer', 'real');
END;

CREATE TRIGGER contact_field_values_update AFTER UPDATE OF custom_fields ON contacts
WHEN OLD.custom_fields IS NOT NEW.custom_fields BEGIN
    DELETE FROM contact_field_values WHERE contact_id = OLD.id;
    INSERT OR IGNORE INTO contact_field_values (location_id, contact_id, field_id, number)
    SELECT NEW.location_id, NEW.id, json_extract(j.value, '$.id'), json_extract(j.value, '$.value')
    FROM json_each(NEW.custom_fields) j
    WHERE json_type(j.value, '$.value') IN ('integer', 'real');
END;

CREATE TRIGGER contact_field_values_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contact_field_values WHERE contact_id = OLD.id;
END;

-- Substrings of the free-text fields (`query`): a trigram index over the contacts' own columns,
-- joined back by rowid. Nothing may VACUUM the database, which could renumber those rowids.
CREATE VIRTUAL TABLE contacts_text USING fts5(
    full_name_lower, email_lower, company_name, phone,
    content = 'contacts', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO contacts_text (contacts_text) VALUES ('rebuild');

CREATE TRIGGER contacts_text_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_text (rowid, full_name_lower, email_lower, company_name, phone)
    VALUES (NEW.rowid, NEW.full_name_lower, NEW.email_lower, NEW.company_name, NEW.phone);
END;

CREATE TRIGGER contacts_text_update AFTER UPDATE OF full_name_lower, email_lower, company_name, phone
ON contacts BEGIN
    INSERT INTO contacts_text (contacts_text, rowid, full_name_lower, email_lower, company_name, phone)
    VALUES ('delete', OLD.rowid, OLD.full_name_lower, OLD.email_lower, OLD.company_name, OLD.phone);
    INSERT INTO contacts_text (rowid, full_name_lower, email_lower, company_name, phone)
    VALUES (NEW.rowid, NEW.full_name_lower, NEW.email_lower, NEW.company_name, NEW.phone);
END;

CREATE TRIGGER contacts_text_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_text (contacts_text, rowid, full_name_lower, email_lower, company_name, phone)
    VALUES ('delete', OLD.rowid, OLD.full_name_lower, OLD.email_lower, OLD.company_name, OLD.phone);
END;
