-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "publicRef" TEXT,
ADD COLUMN     "queryCodeHash" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Application_publicRef_key" ON "Application"("publicRef");

-- CreateIndex
CREATE INDEX "ApplicationStep_decidedAt_idx" ON "ApplicationStep"("decidedAt");

