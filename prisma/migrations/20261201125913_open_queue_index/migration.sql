-- DropIndex
DROP INDEX "Application_currentOrgCode_waitingSince_id_idx";


-- Hand-written, not generated (Prisma's schema language cannot express a partial index): 待办's queue, the open
-- cases of each holder in the order they wait. A page is a range scan of it; its total an index-only count of the
-- holder's entries (closed cases are not in it at all).
CREATE INDEX "Application_open_queue_idx" ON "Application"("currentOrgCode", "waitingSince", "id") WHERE "status" IN ('IN_REVIEW', 'RETURNED');
