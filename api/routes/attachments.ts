import { Router } from 'express';
import type { AppDeps } from '../app';
import type { OpenAPIRegistry } from '../openapi-helpers';

/** Proof documents of a case (转学证明 …): upload, list, download. */
export function attachmentRoutes(_deps: AppDeps): Router {
  return Router();
}

/** The OpenAPI paths of this router. */
export function registerAttachmentPaths(_reg: OpenAPIRegistry) {}
