-- AlterTable
ALTER TABLE "Student" ADD COLUMN     "fatherIdNumber" TEXT,
ADD COLUMN     "guardianIdNumber" TEXT,
ADD COLUMN     "motherIdNumber" TEXT;

-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "details" JSONB;

-- CreateTable
CREATE TABLE "Attachment" (
    "id" SERIAL NOT NULL,
    "applicationId" INTEGER NOT NULL,
    "fileName" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "uploadedById" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Attachment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Attachment_applicationId_sha256_key" ON "Attachment"("applicationId", "sha256");

-- AddForeignKey
ALTER TABLE "Attachment" ADD CONSTRAINT "Attachment_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

