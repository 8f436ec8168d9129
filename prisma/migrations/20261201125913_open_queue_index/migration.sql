-- DropIndex
DROP INDEX "Application_currentOrgCode_waitingSince_id_idx";


-- Hand-written, not generated (Prisma's schema language cannot express a partial index): 待办's queue, the open
-- cases of each holder in the order they wait (closed cases are not in it at all); a page is a range scan of it.
CREATE INDEX "Application_open_queue_idx" ON "Application"("currentOrgCode", "waitingSince", "id") WHERE "status" IN ('IN_REVIEW', 'RETURNED');
-- 待办's total: the cases in review a holder has come from the statistics roll-up, the returned ones from this.
CREATE INDEX "Application_returned_idx" ON "Application"("currentOrgCode") WHERE "status" = 'RETURNED';
