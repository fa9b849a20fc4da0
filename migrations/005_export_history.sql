-- 005: history of data exports requested by users.

CREATE TYPE public.export_status AS ENUM ('pending', 'running', 'succeeded', 'failed', 'expired');
COMMENT ON TYPE public.export_status IS 'Lifecycle of an export request.';

CREATE TABLE public.export_history (
    id              uuid                 NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid                 NOT NULL,
    format          text                 NOT NULL DEFAULT 'csv',
    status          public.export_status NOT NULL DEFAULT 'pending',
    file_size_bytes bigint,
    error_message   text,
    requested_at    timestamptz          NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz          NOT NULL DEFAULT now(),
    CONSTRAINT export_history_pkey PRIMARY KEY (id),
    CONSTRAINT export_history_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT export_history_format_check CHECK (format IN ('csv', 'json', 'ndjson')),
    CONSTRAINT export_history_file_size_check CHECK (file_size_bytes IS NULL OR file_size_bytes >= 0),
    CONSTRAINT export_history_succeeded_check
        CHECK (status <> 'succeeded' OR (finished_at IS NOT NULL AND file_size_bytes IS NOT NULL)),
    CONSTRAINT export_history_failed_check
        CHECK (status <> 'failed' OR error_message IS NOT NULL),
    CONSTRAINT export_history_timeline_check
        CHECK ((started_at IS NULL OR started_at >= requested_at)
           AND (finished_at IS NULL OR finished_at >= coalesce(started_at, requested_at)))
);

COMMENT ON TABLE public.export_history IS 'Data exports requested by users and their outcome.';
COMMENT ON COLUMN public.export_history.file_size_bytes IS 'Size of the produced file; set once the export succeeded.';

-- A user's history page, newest first.
CREATE INDEX export_history_user_requested_idx
    ON public.export_history (user_id, requested_at DESC);

-- The worker's queue: only unfinished exports, oldest first.
CREATE INDEX export_history_queue_idx
    ON public.export_history (requested_at)
    WHERE status IN ('pending', 'running');

-- Stamps started_at / finished_at when the status moves on.
CREATE FUNCTION app.export_history_track_status()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'running'::public.export_status AND NEW.started_at IS NULL THEN
            NEW.started_at := pg_catalog.now();
        ELSIF NEW.status IN ('succeeded'::public.export_status, 'failed'::public.export_status)
              AND NEW.finished_at IS NULL THEN
            NEW.finished_at := pg_catalog.now();
        END IF;
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION app.export_history_track_status() FROM PUBLIC;

CREATE TRIGGER export_history_track_status
    BEFORE UPDATE OF status ON public.export_history
    FOR EACH ROW EXECUTE FUNCTION app.export_history_track_status();

CREATE TRIGGER export_history_set_updated_at
    BEFORE UPDATE ON public.export_history
    FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

ALTER TABLE public.export_history ENABLE ROW LEVEL SECURITY;

CREATE POLICY export_history_select_own ON public.export_history
    FOR SELECT TO app_user
    USING (user_id = (SELECT app.current_user_id()));
-- Users can only request new exports; the worker (table owner) runs them.
CREATE POLICY export_history_insert_own ON public.export_history
    FOR INSERT TO app_user
    WITH CHECK (user_id = (SELECT app.current_user_id()) AND status = 'pending');
-- Users may cancel (expire) their own unfinished exports.
CREATE POLICY export_history_update_own ON public.export_history
    FOR UPDATE TO app_user
    USING (user_id = (SELECT app.current_user_id()) AND status IN ('pending', 'running'))
    WITH CHECK (user_id = (SELECT app.current_user_id()) AND status IN ('pending', 'expired'));
CREATE POLICY export_history_delete_own ON public.export_history
    FOR DELETE TO app_user
    USING (user_id = (SELECT app.current_user_id()));
