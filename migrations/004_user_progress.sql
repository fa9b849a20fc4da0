-- 004: per-user progress through lessons, plus a per-user summary view.

CREATE TABLE public.user_progress (
    user_id      uuid        NOT NULL,
    lesson_id    text        NOT NULL,
    percent      smallint    NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_progress_pkey PRIMARY KEY (user_id, lesson_id),
    CONSTRAINT user_progress_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES public.users (id) ON DELETE CASCADE,
    CONSTRAINT user_progress_lesson_id_check CHECK (lesson_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT user_progress_percent_check CHECK (percent BETWEEN 0 AND 100),
    CONSTRAINT user_progress_completed_check
        CHECK ((completed_at IS NOT NULL) = (percent = 100)),
    CONSTRAINT user_progress_completed_after_started_check
        CHECK (completed_at IS NULL OR completed_at >= started_at)
);

COMMENT ON TABLE public.user_progress IS 'How far each user has got in each lesson.';
COMMENT ON COLUMN public.user_progress.percent IS 'Completion percentage, 0..100; 100 means completed.';

-- Everyone who signed up before progress was tracked starts at the welcome
-- lesson (tests/data/004/ checks this backfill on users of the old shape).
INSERT INTO public.user_progress (user_id, lesson_id)
SELECT id, 'welcome' FROM public.users;

-- "Who finished lesson X, most recent first" and per-lesson statistics.
CREATE INDEX user_progress_lesson_completed_idx
    ON public.user_progress (lesson_id, completed_at DESC);

-- Keeps completed_at consistent with percent so callers only write percent.
CREATE FUNCTION app.user_progress_sync_completion()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    IF NEW.percent = 100 THEN
        IF TG_OP = 'INSERT' OR OLD.percent IS DISTINCT FROM 100 OR NEW.completed_at IS NULL THEN
            NEW.completed_at := pg_catalog.now();
        END IF;
    ELSE
        NEW.completed_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION app.user_progress_sync_completion() FROM PUBLIC;

CREATE TRIGGER user_progress_sync_completion
    BEFORE INSERT OR UPDATE ON public.user_progress
    FOR EACH ROW EXECUTE FUNCTION app.user_progress_sync_completion();

CREATE TRIGGER user_progress_set_updated_at
    BEFORE UPDATE ON public.user_progress
    FOR EACH ROW EXECUTE FUNCTION app.set_updated_at();

ALTER TABLE public.user_progress ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_progress_select_own ON public.user_progress
    FOR SELECT TO app_user
    USING (user_id = (SELECT app.current_user_id()));
CREATE POLICY user_progress_insert_own ON public.user_progress
    FOR INSERT TO app_user
    WITH CHECK (user_id = (SELECT app.current_user_id()));
CREATE POLICY user_progress_update_own ON public.user_progress
    FOR UPDATE TO app_user
    USING (user_id = (SELECT app.current_user_id()))
    WITH CHECK (user_id = (SELECT app.current_user_id()));
CREATE POLICY user_progress_delete_own ON public.user_progress
    FOR DELETE TO app_user
    USING (user_id = (SELECT app.current_user_id()));

-- security_invoker: the view runs with the caller's rights, so the RLS
-- policies above still restrict app_user to their own rows.
CREATE VIEW public.user_progress_summary
    WITH (security_invoker = true)
AS
SELECT p.user_id,
       count(*)                                          AS lessons_started,
       count(*) FILTER (WHERE p.completed_at IS NOT NULL) AS lessons_completed,
       round(avg(p.percent), 1)                          AS average_percent,
       max(p.updated_at)                                 AS last_activity_at
FROM public.user_progress AS p
GROUP BY p.user_id;

COMMENT ON VIEW public.user_progress_summary IS 'Per-user totals over user_progress.';

-- The default privileges from 001 granted write access too; the view is
-- read-only, so keep only SELECT.
REVOKE INSERT, UPDATE, DELETE ON public.user_progress_summary FROM app_user;
