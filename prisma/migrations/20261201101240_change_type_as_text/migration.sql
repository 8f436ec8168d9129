-- The change type becomes text: the types are defined by domain/change-types/ alone (the registry validates every
-- code the API accepts), so adding one needs no migration. Converted in place, keeping every row's value (the
-- generated DROP/ADD COLUMN would have lost them).

-- AlterTable
ALTER TABLE "Application" ALTER COLUMN "type" TYPE TEXT USING "type"::text;

-- AlterTable
ALTER TABLE "StudentHistory" ALTER COLUMN "type" TYPE TEXT USING "type"::text;

-- DropEnum
DROP TYPE "ChangeType";
