-- Hand-written: server-side functions of the workflow's writes, each saving round trips on every decision
-- (README "Where a transfer's time goes"; test/migrations.test.ts lists them as known differences).

-- The audit append (infra/audit.ts appendAudits) in one statement: takes the chain's lock (the key infra/audit.ts
-- CHAIN_LOCK, 0x61756469 'audi', held until the transaction ends), reads the head with a snapshot taken after the lock
-- is held (each statement of a VOLATILE function takes its own), and inserts the entries in order, each linked to the
-- one before. The caller gives each entry's canonical JSON (`body`); the hash is sha256(prevHash || '\n' || body) in
-- hex, exactly infra/audit.ts auditHash, which the verification (npm run audit:verify) recomputes from the row.
CREATE OR REPLACE FUNCTION xueji_append_audit(entries jsonb) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  e jsonb;
  prev text;
  h text;
  n integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(1635083369);
  SELECT hash INTO prev FROM "AuditEvent" ORDER BY seq DESC LIMIT 1;
  prev := coalesce(prev, repeat('0', 64));
  FOR e IN SELECT value FROM jsonb_array_elements(entries) LOOP
    h := encode(sha256(convert_to(prev || E'\n' || (e ->> 'body'), 'UTF8')), 'hex');
    INSERT INTO "AuditEvent" (at, "actorId", "actorName", "orgCode", action, "entityType", "entityId", "applicationId",
                              details, "prevHash", hash)
    VALUES ((e ->> 'at')::timestamp(3), (e ->> 'actorId')::integer, e ->> 'actorName', e ->> 'orgCode', e ->> 'action',
            e ->> 'entityType', e ->> 'entityId', (e ->> 'applicationId')::integer, e -> 'details', prev, h);
    prev := h;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;

-- A case locked for the rest of the transaction, read with its steps of one round (the case's own when p_round is
-- null) and the working calendar's version, in one statement (activities/cases.ts lockCase). The row lock is taken
-- first and everything is read after it, with a snapshot of its own: a transaction that waited for the lock sees
-- what the one before it committed, steps included.
CREATE OR REPLACE FUNCTION xueji_lock_case(p_id integer, p_round integer)
RETURNS TABLE (id integer, type text, status text, round integer, "studentNo" text, "pupilName" text,
               "toSchoolCode" text, "applicantOrgCode" text, "currentStage" text, "currentOrgCode" text,
               "effectiveDate" date, reason text, details jsonb, version integer, "reversesId" integer, steps json,
               "calendarVersion" text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  PERFORM 1 FROM "Application" a WHERE a.id = p_id FOR UPDATE;
  RETURN QUERY
  SELECT a.id, a.type, a.status::text, a.round, a."studentNo", s.name, a."toSchoolCode", a."applicantOrgCode",
         a."currentStage"::text, a."currentOrgCode", a."effectiveDate"::date, a.reason, a.details::jsonb, a.version,
         a."reversesId",
         (SELECT coalesce(json_agg(json_build_object(
                    'id', st.id, 'seq', st.seq, 'stage', st.stage, 'orgCode', st."orgCode",
                    'orgKind', o.kind, 'orgParentCode', o."parentCode",
                    'openedAt', extract(epoch FROM st."openedAt") * 1000,
                    'dueAt', extract(epoch FROM st."dueAt") * 1000, 'dueProvisional', st."dueProvisional",
                    'overdueAt', extract(epoch FROM st."overdueAt") * 1000, 'remindersSent', st."remindersSent",
                    'lastRemindedAt', extract(epoch FROM st."lastRemindedAt") * 1000,
                    'escalatedAt', extract(epoch FROM st."escalatedAt") * 1000, 'escalatedTo', st."escalatedTo",
                    'decision', st.decision) ORDER BY st.seq), '[]'::json)
            FROM "ApplicationStep" st JOIN "Organisation" o ON o.code = st."orgCode"
           WHERE st."applicationId" = a.id AND st.round = coalesce(p_round, a.round)),
         (SELECT count(*)::text || ':' || coalesce(max(c."loadedAt")::text, '-') FROM "CalendarYear" c)
    FROM "Application" a JOIN "Student" s ON s."studentNo" = a."studentNo"
   WHERE a.id = p_id;
END
$$;
