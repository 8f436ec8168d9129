-- DropIndex
DROP INDEX "Application_currentOrgCode_status_idx";

-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "waitingSince" TIMESTAMP(3),
ADD COLUMN     "workflowClosedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "MailOutbox" ADD COLUMN     "leaseUntil" TIMESTAMP(3),
ADD COLUMN     "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "ActivityFailure" (
    "id" SERIAL NOT NULL,
    "workflowId" TEXT NOT NULL,
    "applicationId" INTEGER,
    "activityType" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "lastError" TEXT NOT NULL,
    "firstFailedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastAttemptAt" TIMESTAMP(3) NOT NULL,
    "nextAttemptAt" TIMESTAMP(3),

    CONSTRAINT "ActivityFailure_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StageRollup" (
    "stage" "Stage" NOT NULL,
    "orgCode" TEXT NOT NULL,
    "open" INTEGER NOT NULL DEFAULT 0,
    "overdue" INTEGER NOT NULL DEFAULT 0,
    "decided" INTEGER NOT NULL DEFAULT 0,
    "histogram" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "StageRollup_pkey" PRIMARY KEY ("stage","orgCode")
);

-- CreateIndex
CREATE INDEX "ActivityFailure_applicationId_idx" ON "ActivityFailure"("applicationId");

-- CreateIndex
CREATE UNIQUE INDEX "ActivityFailure_workflowId_activityType_key" ON "ActivityFailure"("workflowId", "activityType");

-- CreateIndex
CREATE INDEX "Application_currentOrgCode_waitingSince_id_idx" ON "Application"("currentOrgCode", "waitingSince", "id");


-- Hand-written below: what schema.prisma cannot express (test/migrations.test.ts lists each as a known difference).

-- 待办's order for cases already open: since the current stage opened, or since the case came back.
UPDATE "Application" a SET "waitingSince" = s."openedAt"
  FROM "ApplicationStep" s
 WHERE a.status = 'IN_REVIEW' AND s."applicationId" = a.id AND s.round = a.round AND s.stage = a."currentStage";
UPDATE "Application" a SET "waitingSince" = (
    SELECT max(s."decidedAt") FROM "ApplicationStep" s WHERE s."applicationId" = a.id AND s.round = a.round)
 WHERE a.status = 'RETURNED';

-- The mail dispatcher's queue: unsent rows by when they may be tried.
CREATE INDEX "MailOutbox_pending" ON "MailOutbox"("nextAttemptAt", "id") WHERE "sentAt" IS NULL;

-- The reconciler's questions without reading every case: which cases have no workflow yet, and which closed cases
-- have a workflow that has not seen it.
CREATE INDEX "Application_workflow_not_started" ON "Application"("id") WHERE "workflowStartedAt" IS NULL;
CREATE INDEX "Application_workflow_not_closed" ON "Application"("closedAt")
  WHERE "workflowClosedAt" IS NULL AND status IN ('APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED');
-- Cases closed before this version: their workflows end by themselves.
UPDATE "Application" SET "workflowClosedAt" = "closedAt"
 WHERE status IN ('APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED');

-- domain/histogram.ts minuteBucket, in SQL (a test keeps the two equal).
CREATE OR REPLACE FUNCTION xueji_minute_bucket(m integer) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN m < 64 THEN greatest(m, 0)
              ELSE 64 + (least(floor(log(2, m::numeric))::int, 20) - 6) * 16
                      + least(floor((m::numeric / power(2::numeric, least(floor(log(2, m::numeric))::int, 20)) - 1) * 16)::int, 15)
         END
$$;

-- The statistics roll-up recomputed from the cases (also what `npm run read-model:rebuild` runs).
CREATE OR REPLACE FUNCTION xueji_rebuild_stage_rollup() RETURNS void LANGUAGE sql AS $$
  DELETE FROM "StageRollup";
  WITH decided AS (
         SELECT s.stage, s."orgCode" AS org,
                xueji_minute_bucket(round(extract(epoch FROM (s."decidedAt" - s."openedAt")) / 60)::int) AS bucket,
                count(*)::int AS n
           FROM "ApplicationStep" s
          WHERE s.decision IS NOT NULL AND s."decidedAt" IS NOT NULL AND s."openedAt" IS NOT NULL
          GROUP BY 1, 2, 3),
       hist AS (
         SELECT stage, org, sum(n)::int AS decided, jsonb_object_agg(bucket::text, n) AS histogram
           FROM decided GROUP BY 1, 2),
       waiting AS (
         SELECT s.stage, s."orgCode" AS org, count(*)::int AS open,
                (count(*) FILTER (WHERE s."overdueAt" IS NOT NULL))::int AS overdue
           FROM "Application" a
           JOIN "ApplicationStep" s ON s."applicationId" = a.id AND s.round = a.round AND s.stage = a."currentStage"
          WHERE a.status = 'IN_REVIEW'
          GROUP BY 1, 2)
  INSERT INTO "StageRollup" (stage, "orgCode", open, overdue, decided, histogram)
  SELECT coalesce(h.stage, w.stage), coalesce(h.org, w.org), coalesce(w.open, 0), coalesce(w.overdue, 0),
         coalesce(h.decided, 0), coalesce(h.histogram, '{}'::jsonb)
    FROM hist h FULL JOIN waiting w ON w.stage = h.stage AND w.org = h.org;
$$;

SELECT xueji_rebuild_stage_rollup();
