import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import pinoHttp from 'pino-http';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { ProvinceRules } from '../domain/rules';
import type { ReasonCodes } from '../domain/reason-codes';
import { loadReasonCodes } from '../infra/reason-codes';
import { loadReviewLevels } from '../infra/review-levels';
import type { ReviewLevelSettings } from '../domain/review-levels';
import type { PrismaClient } from '../infra/db';
import { authenticate, TokenService } from './auth';
import { errorHandler, notFoundHandler } from './errors';
import { apiHygiene } from './hygiene';
import { buildOpenApiDocument } from './openapi';
import { adminRoutes } from './routes/admin';
import { consoleRoutes, DEFAULT_CONSOLE, serveConsole, type ConsoleSettings } from './routes/console';
import { applicationRoutes } from './routes/applications';
import { attachmentRoutes } from './routes/attachments';
import { authRoutes } from './routes/auth';
import { importRoutes } from './routes/imports';
import { userRoutes } from './routes/users';
import { createApiMetrics } from './metrics';
import { healthRoutes } from './routes/health';
import { DEFAULT_SECURITY, trustOneProxyHop, type SecuritySettings } from './security';
import { studentRoutes } from './routes/students';
import { pupilRoutes } from './routes/pupils';
import { statsRoutes } from './routes/stats';
import { documentAdminRoutes, documentRoutes } from './routes/documents';
import { publicRoutes } from './routes/public';
import { taskRoutes } from './routes/tasks';
import { OrgDirectory } from './services/applications';
import { PredictionService } from './services/prediction';
import { sendJsonAsBytes } from './json-body';

export interface AppDeps {
  prisma: PrismaClient;
  temporal: Client;
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'UPDATE_TIMEOUT_MS'> & { attachmentsDir: string };
  rules: ProvinceRules;
  /** Coded reasons per change type (settings/reason-codes.json). */
  reasonCodes: ReasonCodes;
  /** Review levels above the county (settings/review-levels.json): applied when a case is filed. */
  reviewLevels: ReviewLevelSettings;
  /** The console's public address: printed documents' QR codes point at its verification page. */
  appUrl: string;
  tokens: TokenService;
  logger: Logger;
  orgs: OrgDirectory;
  /** Predicted completion of open cases (durations of the last 12 months, kept a minute). */
  predictions: PredictionService;
  security: SecuritySettings;
  /** The web console: where its built files are and what it links to. */
  console: ConsoleSettings;
}

/**
 * Builds the Express app; `server.ts` listens. Tests call this with their own database and Temporal.
 * `security` defaults to config.ts's defaults; server.ts passes the configured values.
 */
export function buildApp(
  deps: Omit<AppDeps, 'orgs' | 'predictions' | 'security' | 'console' | 'reasonCodes' | 'reviewLevels' | 'appUrl'> & {
    security?: Partial<SecuritySettings>;
    console?: Partial<ConsoleSettings>;
    reasonCodes?: ReasonCodes;
    reviewLevels?: ReviewLevelSettings;
    appUrl?: string;
  },
): Express {
  const security = { ...DEFAULT_SECURITY, ...deps.security };
  const consoleSettings = { ...DEFAULT_CONSOLE, ...deps.console };
  const full: AppDeps = {
    ...deps,
    security,
    console: consoleSettings,
    orgs: new OrgDirectory(deps.prisma),
    predictions: new PredictionService(deps.prisma),
    reasonCodes: deps.reasonCodes ?? loadReasonCodes(),
    reviewLevels: deps.reviewLevels ?? loadReviewLevels(),
    appUrl: (deps.appUrl ?? 'http://localhost:3000').replace(/\/$/, ''),
  };
  const app = express();
  app.disable('x-powered-by');
  // No ETag on the API's answers: they are `no-store` (nothing keeps them to revalidate), and Express would hash every
  // body to make one — a page of 待办 is tens of kilobytes. The console's files keep theirs (express.static); its
  // index.html, sent by res.sendFile, which follows this setting, revalidates by Last-Modified.
  app.disable('etag');
  // JSON answers encoded a list element at a time: no flat copy of a whole page's text (api/json-body.ts).
  sendJsonAsBytes(app);
  // DESIGN §5: behind nginx exactly one trusted hop sets the client address (the login limit counts real clients).
  app.set('trust proxy', trustOneProxyHop(security.trustProxy));
  const openapi = buildOpenApiDocument();
  const metrics = createApiMetrics({
    prisma: deps.prisma,
    routes: Object.keys(openapi.paths ?? {}),
    logger: deps.logger,
  });
  app.use(metrics.middleware);
  // nosniff, HSTS, no referrer … and a CSP that fits the console served from here: its own scripts, styles
  // and API only — no inline script or style, nothing from other origins, never framed. Blob and data
  // images are the console's previews of uploaded proof. upgrade-insecure-requests is left out: behind TLS
  // it changes nothing, and on a plain-http intranet address it would make browsers fetch the console's own
  // assets over https and fail.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          scriptSrcAttr: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );
  // CORS is closed unless origins are configured: no Access-Control-Allow-Origin at all by default.
  if (security.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: security.corsOrigins,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
        exposedHeaders: ['Retry-After', 'X-Request-Id', 'Content-Disposition'],
        maxAge: 600,
      }),
    );
  }
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        // A caller's own id is kept when it is a plain token; anything else (spaces, quotes, 1 kB) gets ours.
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Paths and status only: query strings (names, school codes) stay out of the logs.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use('/api', apiHygiene);
  app.use(express.json({ limit: '100kb' }));

  app.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use(healthRoutes(deps));
  // Prometheus scrapes each process directly; nginx does not pass /metrics on (deploy/nginx/xueji-locations.conf).
  app.get('/metrics', metrics.handler);

  app.use('/api/auth', authRoutes(full));
  // No login: DESIGN §5's public pages (document verification).
  app.use('/api/public', publicRoutes(full));
  const auth = authenticate(deps.prisma, deps.tokens);
  app.use('/api/admin/users', auth, userRoutes(full));
  app.use('/api/admin/imports', auth, importRoutes(full));
  app.use('/api/students', auth, studentRoutes(full));
  app.use('/api/pupils', auth, pupilRoutes(full));
  app.use('/api/applications', auth, applicationRoutes(full));
  app.use('/api/applications', auth, attachmentRoutes(full));
  app.use('/api/applications', auth, documentRoutes(full));
  app.use('/api/admin/documents', auth, documentAdminRoutes(full));
  app.use('/api/tasks', auth, taskRoutes(full));
  app.use('/api/admin', auth, adminRoutes(full));
  app.use('/api', statsRoutes(full, auth));
  app.use('/api', consoleRoutes(full, auth));

  serveConsole(app, consoleSettings.webDir);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger, deps.prisma));
  return app;
}
