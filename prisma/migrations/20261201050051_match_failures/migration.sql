-- CreateTable
CREATE TABLE "MatchFailure" (
    "id" BIGSERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MatchFailure_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MatchFailure_userId_at_idx" ON "MatchFailure"("userId", "at");

