-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "reversesId" INTEGER;

-- AlterTable
ALTER TABLE "StudentHistory" ADD COLUMN     "reversesApplicationId" INTEGER;

-- CreateIndex
CREATE INDEX "Application_reversesId_idx" ON "Application"("reversesId");

-- AddForeignKey
ALTER TABLE "Application" ADD CONSTRAINT "Application_reversesId_fkey" FOREIGN KEY ("reversesId") REFERENCES "Application"("id") ON DELETE SET NULL ON UPDATE CASCADE;

