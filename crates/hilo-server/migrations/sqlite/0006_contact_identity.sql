-- Which contact fields identify a contact in a location, in priority order (HighLevel's
-- settings.contactUniqueIdentifiers): the duplicate rule, the duplicate lookup and upsert use it.
-- Space-separated, each "email" or "phone".
-- Kept aligned with migrations/postgres/0006_contact_identity.sql (a test compares the two).
ALTER TABLE locations ADD COLUMN contact_unique_identifiers TEXT NOT NULL DEFAULT 'email phone';
