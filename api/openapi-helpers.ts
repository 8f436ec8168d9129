import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z, ProblemSchema } from './schemas/common';

export type { OpenAPIRegistry };
export const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});
export const body = (schema: z.ZodType) => ({ body: { content: { 'application/json': { schema } } } });
export const secured = [{ bearer: [] }];
