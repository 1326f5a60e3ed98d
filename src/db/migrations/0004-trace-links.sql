-- Trace-driven links: a training may name bandwidth traces (beside or instead of constant limits);
-- each of its sessions then plays either a limit or one trace from a seeded offset. A trace session's
-- bw_limitation holds the trace's mean offered rate over the session (warm-up + recording).
ALTER TABLE training ADD COLUMN traces text[] NOT NULL DEFAULT '{}';
ALTER TABLE session ADD COLUMN trace text;
ALTER TABLE session ADD COLUMN trace_offset_s double precision;
