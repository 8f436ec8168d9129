-- CreateEnum
CREATE TYPE "DocumentKind" AS ENUM ('APPROVAL_FORM', 'TRANSFER_LETTER');

-- AlterTable
ALTER TABLE "Student" ADD COLUMN     "ref" UUID NOT NULL DEFAULT gen_random_uuid();

-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "reasonCode" TEXT;

-- CreateTable
CREATE TABLE "IssuedDocument" (
    "id" SERIAL NOT NULL,
    "ref" TEXT NOT NULL,
    "codeHash" TEXT NOT NULL,
    "kind" "DocumentKind" NOT NULL,
    "applicationId" INTEGER NOT NULL,
    "facts" JSONB NOT NULL,
    "issuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "issuedById" INTEGER NOT NULL,
    "revokedAt" TIMESTAMP(3),
    "revokedById" INTEGER,
    "revokeReason" TEXT,

    CONSTRAINT "IssuedDocument_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PublicAccessLog" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endpoint" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "ref" TEXT,
    "outcome" TEXT NOT NULL,
    "subjectId" INTEGER,

    CONSTRAINT "PublicAccessLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "IssuedDocument_ref_key" ON "IssuedDocument"("ref");

-- CreateIndex
CREATE INDEX "IssuedDocument_applicationId_idx" ON "IssuedDocument"("applicationId");

-- CreateIndex
CREATE INDEX "PublicAccessLog_endpoint_at_idx" ON "PublicAccessLog"("endpoint", "at");

-- CreateIndex
CREATE INDEX "PublicAccessLog_ip_at_idx" ON "PublicAccessLog"("ip", "at");

-- CreateIndex
CREATE UNIQUE INDEX "Student_ref_key" ON "Student"("ref");

-- AddForeignKey
ALTER TABLE "IssuedDocument" ADD CONSTRAINT "IssuedDocument_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

