-- Custom field definitions of a location (spec: locations.json `CustomFieldSchema`). Contacts
-- keep their values in contacts.custom_fields as [{id, value}], by the definition's id.
-- Option lists are JSON arrays: picklist_options of strings, text_box_list_options of
-- {id, label, prefillValue} rows whose ids key TEXTBOX_LIST values, accepted_format of strings.
-- Kept aligned with migrations/sqlite/0004_custom_fields.sql (a test compares the two).
CREATE TABLE custom_fields (
    id                    TEXT PRIMARY KEY,
    location_id           TEXT NOT NULL REFERENCES locations(id),
    model                 TEXT NOT NULL,
    name                  TEXT NOT NULL,
    field_key             TEXT NOT NULL,
    data_type             TEXT NOT NULL,
    placeholder           TEXT,
    position              BIGINT NOT NULL,
    picklist_options      TEXT NOT NULL,
    text_box_list_options TEXT NOT NULL,
    accepted_format       TEXT,
    is_multiple_file      BIGINT NOT NULL,
    max_number_of_files   BIGINT,
    description           TEXT,
    parent_id             TEXT,
    date_added            BIGINT NOT NULL,
    date_updated          BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_fields_field_key_per_location ON custom_fields(location_id, field_key);
CREATE INDEX custom_fields_location_model ON custom_fields(location_id, model, position, date_added);
