-- 006: changes to earlier tables.
--
-- * users gains a NOT NULL `locale` with a default (existing rows get 'en').
-- * new exports default to JSON instead of CSV.
-- * the users table comment is reworded.
--
-- The rollback has to restore each of these exactly: drop the column (its
-- check constraint and comment go with it), set the old default expression
-- back, and put back the old comment text.

ALTER TABLE public.users
    ADD COLUMN locale text NOT NULL DEFAULT 'en'
        CONSTRAINT users_locale_check CHECK (locale ~ '^[a-z]{2}(-[A-Z]{2})?$');
COMMENT ON COLUMN public.users.locale IS 'BCP 47 language tag used for e-mails and exports, e.g. en or pt-BR.';

ALTER TABLE public.export_history ALTER COLUMN format SET DEFAULT 'json';

COMMENT ON TABLE public.users IS 'Application accounts, one per person.';
