import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { parse } from '../schemas/common';
import { TasksQuerySchema } from '../schemas/applications';
import { listTasks } from '../services/case-lists';

export function taskRoutes({ prisma, orgs, predictions }: AppDeps): Router {
  const r = Router();
  /**
   * 待办: cases at one of the caller's stages, and returned cases waiting for the caller to correct them, longest
   * waiting first, paged (services/case-lists.ts).
   */
  r.get('/', requireRole('SCHOOL_CLERK', 'COUNTY_OFFICER'), async (req, res) => {
    const u = currentUser(req);
    const q = parse(TasksQuerySchema, req.query);
    res.json(await listTasks(prisma, u, q, { orgs, predictions }));
  });
  return r;
}
