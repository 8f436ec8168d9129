// `npm run fuzz -- --requests N [--base-url URL] [--seed S] [--concurrency C]`
//
// The project's own fuzz suite. It reads the API document (/api/openapi.json) and sends N requests built from it —
// valid ones and mutated ones: strings with NUL, lone surrogates, C0/C1 controls, bidi overrides, over-long and
// full-width text; numbers out of range, negative, 1e3 or 01; impossible dates; wrong types, missing and unknown
// fields, prototype keys; paths with bad percent-encoding; bodies that are not JSON, not gzip, too large, of the
// wrong type; broken multipart uploads and zip bombs; forged, expired and garbage tokens — as every role and
// unauthenticated. It fails on any 5xx, on any 4xx that is not application/problem+json, on a request that gets no
// answer, and on any operation whose handler was reached fewer than --min-reached (50) times: a run that was locked
// out or rate-limited must not pass. Last line: `N passed, M failed`; exit code 1 on any failure.
//
// Without --base-url it runs a throwaway stack of its own (embedded Postgres, Temporal dev server in memory, the
// worker and the API in this process) and removes it afterwards. Against --base-url it needs the administrator's
// password (--admin-password, default demo-password): it creates its own users, disables and locks accounts, and
// imports data — run it against a throwaway stack only. Login requests carry a random X-Forwarded-For, so the
// per-address login limit of an API behind one trusted proxy hop on loopback does not stop the run.
// FUZZ_DEBUG='POST /api/students' prints the answers of that operation that did not reach its handler (with
// FUZZ_TRACE=1: all its answers).

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { idCheckChar } from '../domain/id-number';

// ── Options ────────────────────────────────────────────────────────────────────────────────────────────────────

export interface FuzzOptions {
  requests: number;
  baseUrl?: string;
  seed: number;
  concurrency: number;
  minReached: number;
  adminUser: string;
  adminPassword: string;
  log: (line: string) => void;
}

export function parseArgs(argv: string[]): FuzzOptions {
  const o: FuzzOptions = {
    requests: 2000,
    seed: Date.now() % 1_000_000,
    concurrency: 4,
    minReached: 50,
    adminUser: 'admin',
    adminPassword: 'demo-password',
    log: (l) => console.log(l),
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--requests':
        o.requests = Number(value());
        break;
      case '--base-url':
        o.baseUrl = value().replace(/\/$/, '');
        break;
      case '--seed':
        o.seed = Number(value());
        break;
      case '--concurrency':
        o.concurrency = Number(value());
        break;
      case '--min-reached':
        o.minReached = Number(value());
        break;
      case '--admin-user':
        o.adminUser = value();
        break;
      case '--admin-password':
        o.adminPassword = value();
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (use --requests N [--base-url URL] [--seed S] [--concurrency C])`);
    }
  }
  if (!Number.isInteger(o.requests) || o.requests < 1) throw new Error('--requests must be a positive integer');
  return o;
}

// ── Randomness (seeded: a failing run can be repeated with its --seed) ───────────────────────────────────────────

class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ── HTTP ───────────────────────────────────────────────────────────────────────────────────────────────────────

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}
interface Answer {
  status: number;
  type: string;
  body: string;
  json?: { detail?: string; errors?: { path: string }[] } & Record<string, unknown>;
}

function send(base: URL, r: Sent, timeoutMs = 60_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method: r.method, path: r.path, headers: r.headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: Answer['json'];
          try {
            json = JSON.parse(body) as Answer['json'];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

async function json(base: URL, method: string, p: string, body: unknown, token?: string, xff?: string) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (xff) headers['X-Forwarded-For'] = xff;
  return send(base, {
    method,
    path: p,
    headers,
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  });
}

// ── The API document ─────────────────────────────────────────────────────────────────────────────────────────

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  additionalProperties?: boolean | Schema;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  key: string;
  method: string;
  path: string;
  parameters: Parameter[];
  body?: { type: 'json' | 'multipart'; schema: Schema };
  secured: boolean;
}

function operationsOf(doc: {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; security?: unknown[] }
    >
  >;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [p, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const content = op.requestBody?.content ?? {};
      const body = content['application/json']
        ? { type: 'json' as const, schema: content['application/json'].schema }
        : content['multipart/form-data']
          ? { type: 'multipart' as const, schema: content['multipart/form-data'].schema }
          : undefined;
      ops.push({
        key: `${method.toUpperCase()} ${p}`,
        method: method.toUpperCase(),
        path: p,
        parameters: op.parameters ?? [],
        body,
        secured: (op.security ?? []).length > 0,
      });
    }
  }
  return ops.sort((a, b) => a.key.localeCompare(b.key));
}

// ── What the fuzzer knows about the system under test ──────────────────────────────────────────────────────────

const DEMO_STUDENT_NOS = ['G520302201505050014', 'G520302201508120022', 'G511922201403010035', 'G520302201601010047'];
const SCHOOLS = ['5203020001', '5203020002', '5119220001', '5119220002'];
const COUNTIES = ['520302', '511922'];
const NAMES = ['张小明', '李华', '王芳', '赵磊', '张小鸣', '刘子涵'];
const DEMO_USERNAMES = ['admin', 'hhg.edu', 'nj.edu', 'hhg.s1', 'hhg.s2', 'nj.s1', 'nj.s2'];
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a50000000049454e44ae426082',
  'hex',
);

type Role = 'admin' | 'officer' | 'clerk' | 'clerk2';
const ROLES: Role[] = ['admin', 'officer', 'clerk', 'clerk2'];

interface World {
  tokens: Record<Role, string>;
  /** Ids of the fuzzer's own users: never disabled, reset or logged into by mutations. */
  ownUserIds: Set<number>;
  ownUsernames: Set<string>;
  caseIds: number[];
  /** The stage each case was last seen at, so decisions often name the right one and reach the workflow. */
  caseStage: Map<number, string>;
  /** The case the request being built is about. */
  current?: number;
  attachmentIds: number[];
  userIds: number[];
  studentNos: string[];
  bomb: Buffer;
}

// ── Values ───────────────────────────────────────────────────────────────────────────────────────────────────

const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
const DAY = 86_400_000;

function validId(rng: Rng): string {
  const first17 = `110105${iso(Date.UTC(2010, 0, 1) + rng.int(0, 4000) * DAY).replace(/-/g, '')}${String(rng.int(0, 999)).padStart(3, '0')}`;
  return first17 + idCheckChar(first17);
}

/** Values that make sense for a field of this name (so that requests get past the checks and into the logic). */
function hint(name: string, rng: Rng, w: World, op: Operation): unknown {
  const now = Date.now();
  switch (name) {
    case 'stage': {
      const stage = w.current !== undefined ? w.caseStage.get(w.current) : undefined;
      return stage && rng.chance(0.7) ? stage : undefined;
    }
    case 'studentNo':
      return rng.pick(w.studentNos);
    case 'schoolCode':
    case 'toSchoolCode':
      return rng.pick(SCHOOLS);
    case 'orgCode':
    case 'org':
      return rng.pick([...SCHOOLS, ...COUNTIES]);
    case 'effectiveDate':
      return iso(now + rng.int(-20, 40) * DAY);
    case 'dueDate':
    case 'expectedReturnDate':
      return iso(now + rng.int(1, 300) * DAY);
    case 'deathDate':
    case 'lastAttendanceDate':
      return iso(now - rng.int(0, 30) * DAY);
    case 'birthDate':
      return iso(Date.UTC(2014, 0, 1) + rng.int(0, 2000) * DAY);
    case 'from':
    case 'to':
      return iso(now + rng.int(-60, 1) * DAY);
    case 'reason':
    case 'comment':
      return rng.pick(['随父母工作调动', '材料不全，请补充', '学校账号被锁定，代为审核', '家长改变主意']);
    case 'destination':
      return rng.pick(['新加坡', '加拿大']);
    case 'name':
      return op.path.includes('calendar') ? '元旦' : rng.pick(NAMES);
    case 'username':
      return op.path === '/api/auth/login'
        ? rng.pick([...DEMO_USERNAMES, 'nobody', 'x'])
        : `fz.${randomBytes(3).toString('hex')}`;
    case 'password':
    case 'newPassword':
    case 'currentPassword':
      return rng.pick(['not-the-password-1', 'demo-password', 'short']);
    case 'refreshToken':
      return randomBytes(32).toString('base64url');
    case 'idNumber':
    case 'fatherIdNumber':
    case 'motherIdNumber':
    case 'guardianIdNumber':
      return validId(rng);
    case 'grade':
      return rng.int(1, 12);
    case 'className':
      return `${rng.int(1, 6)}年级${rng.int(1, 4)}班`;
    case 'displayName':
      return '测试用户';
    case 'email':
      return 'fuzz@demo.xueji.local';
    case 'source':
      return '国务院办公厅通知';
    case 'holidays':
      return [{ name: '元旦', dates: ['2027-01-01', '2027-01-02'] }];
    case 'workdays':
      return [];
    case 'dates':
      return ['2027-01-01'];
    case 'actor':
      return rng.pick(['admin', '1', 'nj.s1']);
    case 'action':
      return rng.pick(['application.*', 'auth.login', 'student.match_failed']);
    case 'applicationId':
    case 'cursor':
      return rng.pick(w.caseIds);
    case 'details':
      return rng.pick([
        {},
        { destination: '新加坡' },
        { expectedReturnDate: iso(now + 200 * DAY) },
        { deathDate: iso(now) },
      ]);
    default:
      return undefined;
  }
}

function resolve(doc: { components?: { schemas?: Record<string, Schema> } }, s: Schema): Schema {
  for (let i = 0; s.$ref && i < 10; i++) s = doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {};
  return s;
}

function valid(
  doc: Parameters<typeof resolve>[0],
  schema: Schema,
  name: string,
  rng: Rng,
  w: World,
  op: Operation,
  depth = 0,
): unknown {
  const s = resolve(doc, schema);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const nonNull = alternatives.filter((a) => resolve(doc, a).type !== 'null');
    return valid(doc, rng.pick(nonNull.length ? nonNull : alternatives), name, rng, w, op, depth);
  }
  if (s.allOf?.length) return valid(doc, s.allOf[0], name, rng, w, op, depth);
  const hinted = hint(name, rng, w, op);
  if (hinted !== undefined) return hinted;
  if (s.enum) return rng.pick(s.enum);
  if (s.const !== undefined) return s.const;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth > 4) return out;
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        if ((s.required ?? []).includes(k) || rng.chance(0.5)) out[k] = valid(doc, v, k, rng, w, op, depth + 1);
      }
      return out;
    }
    case 'array':
      return depth > 4 || !s.items ? [] : [valid(doc, s.items, name, rng, w, op, depth + 1)];
    case 'integer':
    case 'number': {
      const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      const hi = Math.min(s.maximum ?? lo + 100, lo + 100);
      return rng.int(lo, hi);
    }
    case 'boolean':
      return rng.chance(0.5);
    default:
      return s.format === 'email' ? 'fuzz@demo.xueji.local' : '测试文字';
  }
}

/** Strings that have broken systems like this one. */
const BAD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\u0007',
  '\u0085',
  '\u202e反向',
  '\u2066x\u2069',
  '\ufeff',
  '\r\n',
  'x'.repeat(10_001),
  '字'.repeat(3000),
  '１２３４５６',
  "' or 1=1 --",
  '"; drop table "Student"; --',
  '../../../etc/passwd',
  '%00',
  '%ZZ',
  '${7*7}{{7*7}}',
  '<script>alert(1)</script>',
  '😀'.repeat(50),
  '1e3',
  '01',
  '-1',
  '0',
  '2147483648',
  '99999999999999999999',
  '1.5',
  'NaN',
  'Infinity',
  '2026-13-45',
  '2026-02-30',
  '0000-00-00',
  '9999-12-31',
  'true',
  'null',
  '__proto__',
  'G520302201505050014',
  'g５２０３０２２０１５０５０５００１４',
  '=HYPERLINK("http://x","y")',
];
const BAD_NUMBERS = [-1, 0, 1.5, 2147483648, Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308];

function badValue(rng: Rng): unknown {
  const r = rng.next();
  if (r < 0.6) return rng.pick(BAD_STRINGS);
  if (r < 0.75) return rng.pick(BAD_NUMBERS);
  return rng.pick([null, true, false, [], {}, [1, 2], { $ne: 1 }, { __proto__: { admin: true } }, ['\u0000']]);
}

/** Changes one thing inside a JSON value: a leaf replaced, a key removed, a key added. */
function mutate(value: unknown, rng: Rng, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 5) return badValue(rng);
  if (Array.isArray(value)) {
    if (value.length === 0 || rng.chance(0.3)) return rng.chance(0.5) ? [...value, badValue(rng)] : badValue(rng);
    const copy = [...value];
    const i = rng.int(0, copy.length - 1);
    copy[i] = mutate(copy[i], rng, depth + 1);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const r = rng.next();
  if (keys.length === 0 || r < 0.15) {
    // An unknown field, or a prototype key as own property (JSON.parse makes it so on the server).
    const key = rng.pick(['__proto__', 'constructor', 'extra', '\u0000', 'x'.repeat(300), 'details']);
    return JSON.parse(
      JSON.stringify(copy).replace(
        /^\{/,
        `{${JSON.stringify(key)}:${JSON.stringify(badValue(rng))}${keys.length ? ',' : ''}`,
      ),
    );
  }
  const k = rng.pick(keys);
  if (r < 0.3) delete copy[k];
  else copy[k] = mutate(copy[k], rng, depth + 1);
  return copy;
}

// ── Building requests ────────────────────────────────────────────────────────────────────────────────────────

/** Percent-encoding that also carries a lone surrogate (as the CESU-8 bytes a careless client would send). */
const enc = (v: unknown) =>
  String(v)
    .split(/([\ud800-\udfff])/)
    .map((part) => {
      if (!/^[\ud800-\udfff]$/.test(part)) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return `%ED%${(0xa0 + ((c >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 + (c & 0x3f)).toString(16).toUpperCase()}`;
    })
    .join('');

function pathParam(name: string, op: Operation, rng: Rng, w: World): string {
  if (name === 'id' && op.path.startsWith('/api/admin/users')) {
    const ids = w.userIds.filter((i) => !w.ownUserIds.has(i));
    return String(rng.pick(ids.length ? ids : [999_999]));
  }
  if (name === 'id') {
    // Mostly the newest cases: the older ones are closed by now.
    const recent = w.caseIds.slice(-6);
    w.current = rng.chance(0.7) ? rng.pick(recent) : rng.pick(w.caseIds);
    return String(w.current);
  }
  if (name === 'attachmentId') return String(rng.pick(w.attachmentIds));
  if (name === 'studentNo') return rng.pick(w.studentNos);
  if (name === 'year') return String(rng.pick([2027, 2028, 2026]));
  return '1';
}

const RAW_BAD_PATH = [
  '%ZZ',
  '%E0%A4%A',
  '%',
  '%00',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '1;select',
  'x'.repeat(5000),
  '%C0%AF',
  '%ED%A0%80',
];

interface Built extends Sent {
  op: Operation;
  role: Role | 'anonymous' | 'forged';
  /** Sent with our own intact token and a well-formed body: the kind of request that should reach its handler. */
  aimed: boolean;
  note: string;
}

function multipart(
  parts: { name: string; filename?: string; type?: string; data: Buffer }[],
  boundary: string,
): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`,
      ),
    );
    chunks.push(p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function uploadFile(
  op: Operation,
  rng: Rng,
  w: World,
  mutated: boolean,
): { data: Buffer; filename: string; type: string } {
  const isImport = op.path.includes('/imports/');
  if (!mutated) {
    if (!isImport) return { data: PNG, filename: '证明.png', type: 'image/png' };
    const csv = op.path.endsWith('organisations')
      ? `代码,名称,类型,上级代码\n${rng.int(100000, 999999)},测试教育局,教育局,\n`
      : `姓名,身份证号,学校代码,年级,班级\n王小红,${validId(rng)},5119220001,1,1班\n`;
    return { data: Buffer.from(csv), filename: 'a.csv', type: 'text/csv' };
  }
  const choices: (() => { data: Buffer; filename: string; type: string })[] = [
    () => ({ data: Buffer.alloc(0), filename: 'empty.pdf', type: 'application/pdf' }),
    () => ({ data: Buffer.from('MZ\x90\x00 not a pdf'), filename: '证明\u202efdp.exe', type: 'application/pdf' }),
    () => ({ data: Buffer.from('%PDF-1.4 tiny'), filename: '../../etc/passwd', type: 'application/pdf' }),
    () => ({ data: PNG, filename: 'x'.repeat(1000) + '.png', type: 'image/png' }),
    () => ({ data: Buffer.from('PK\x03\x04 garbage that is no zip'), filename: 'a.xlsx', type: 'application/zip' }),
    () => ({ data: w.bomb, filename: 'bomb.xlsx', type: 'application/zip' }),
    () => ({ data: Buffer.from('姓名,身份证号\n\u0000,1\n'), filename: 'nul.csv', type: 'text/csv' }),
    () => ({
      data: Buffer.from(`姓名,身份证号,学校代码,年级,班级\n王\u0007,${validId(rng)},5119220001,1,1班\n`),
      filename: 'bel.csv',
      type: 'text/csv',
    }),
    () => ({ data: Buffer.from('"unclosed,quote\n'), filename: 'q.csv', type: 'text/csv' }),
    () => ({
      data: Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
      filename: 'old.xls',
      type: 'application/vnd.ms-excel',
    }),
  ];
  if (rng.chance(0.01))
    return { data: Buffer.alloc(11 * 1024 * 1024, 0x25), filename: 'big.pdf', type: 'application/pdf' };
  return rng.pick(choices)();
}

function build(
  doc: Parameters<typeof resolve>[0],
  op: Operation,
  role: Built['role'],
  aimed: boolean,
  rng: Rng,
  w: World,
): Built {
  const notes: string[] = [];
  w.current = undefined;
  // A mutation per request at most in one place, so a failure points at it.
  const where = aimed
    ? rng.pick(['none', 'none', 'body', 'body', 'query', 'path'])
    : rng.pick(['headers', 'body-bytes', 'path', 'auth']);
  let p = op.path;
  for (const param of op.parameters.filter((x) => x.in === 'path')) {
    let v = enc(pathParam(param.name, op, rng, w));
    if (where === 'path' && rng.chance(0.7)) {
      v = rng.chance(0.5) ? enc(badValue(rng)) : rng.pick(RAW_BAD_PATH);
      notes.push(`path ${param.name}=${v.slice(0, 40)}`);
    }
    p = p.replace(`{${param.name}}`, v.length ? v : '%20');
  }
  const query: string[] = [];
  for (const param of op.parameters.filter((x) => x.in === 'query')) {
    if (!param.required && rng.chance(0.5)) continue;
    let v: unknown = valid(doc, param.schema, param.name, rng, w, op);
    if (where === 'query' && rng.chance(0.5)) {
      v = badValue(rng);
      notes.push(`query ${param.name}=${String(v).slice(0, 40)}`);
    }
    if (Array.isArray(v) || (v && typeof v === 'object')) query.push(`${param.name}[]=${enc(JSON.stringify(v))}`);
    else query.push(`${param.name}=${enc(v)}`);
    if (where === 'query' && rng.chance(0.1)) query.push(`${param.name}=${enc(v)}`); // given twice
  }
  if (where === 'query' && rng.chance(0.2)) query.push(`${enc(rng.pick(['unknown', '__proto__', 'a[b]']))}=1`);
  const headers: Record<string, string> = {};
  if (role !== 'anonymous' && role !== 'forged') headers.Authorization = `Bearer ${w.tokens[role]}`;
  if (role === 'forged') {
    const forged = rng.pick([
      'Bearer ' + randomBytes(20).toString('hex'),
      'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoieCJ9.',
      'Bearer ' + w.tokens.clerk.slice(0, -4) + 'AAAA',
      'Basic YWRtaW46ZGVtby1wYXNzd29yZA==',
      'Bearer',
      'Bearer ' + 'a'.repeat(8000),
    ]);
    headers.Authorization = forged;
    notes.push(`auth ${forged.slice(0, 20)}…`);
  }
  if (op.path === '/api/auth/login')
    headers['X-Forwarded-For'] = `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  // Logout with our own token would end the fuzzer's session: it is sent with a refresh token alone.
  if (op.path === '/api/auth/logout') delete headers.Authorization;

  let body: Buffer | undefined;
  if (op.body?.type === 'json') {
    let value = valid(doc, op.body.schema, '', rng, w, op);
    if (where === 'body') {
      value = mutate(value, rng);
      notes.push(`body ${JSON.stringify(value)?.slice(0, 60)}`);
    }
    body = Buffer.from(JSON.stringify(value) ?? 'null');
    headers['Content-Type'] = 'application/json';
  } else if (op.body?.type === 'multipart') {
    const boundary = `----fuzz${randomBytes(8).toString('hex')}`;
    const file = uploadFile(op, rng, w, where === 'body');
    if (where === 'body') notes.push(`file ${file.filename.slice(0, 30)} (${file.data.length} bytes)`);
    const parts = [
      {
        name: where === 'body' && rng.chance(0.15) ? 'other' : 'file',
        filename: file.filename,
        type: file.type,
        data: file.data,
      },
    ];
    if (where === 'body' && rng.chance(0.15)) parts.push({ ...parts[0], name: 'file' });
    body = multipart(parts, boundary);
    if (where === 'body' && rng.chance(0.1)) body = body.subarray(0, Math.floor(body.length / 2)); // cut short
    headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
  }

  if (where === 'body-bytes' || where === 'headers') {
    const kind = rng.int(0, 11);
    const raw = body ?? Buffer.from('{"a":1}');
    switch (kind) {
      case 0:
        body = Buffer.from(rng.pick(['{', '[', 'nul', '{"a":}', '\ufeff{"a":1}', '{"a":"\\ud800"}', '{"a":1}{"b":2}']));
        headers['Content-Type'] = 'application/json';
        break;
      case 1:
        body = raw;
        headers['Content-Encoding'] = 'gzip'; // not gzip
        break;
      case 2:
        body = zlib.gzipSync(Buffer.from(JSON.stringify({ reason: ' '.repeat(3_000_000) })));
        headers['Content-Type'] = 'application/json';
        headers['Content-Encoding'] = 'gzip'; // inflates past the limit
        break;
      case 3:
        body = raw;
        headers['Content-Encoding'] = rng.pick(['compress', 'br', 'deflate, gzip', 'x-unknown']);
        break;
      case 4:
        body = raw;
        headers['Content-Type'] = rng.pick([
          'text/plain',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
        ]);
        break;
      case 5:
        body = Buffer.from(JSON.stringify({ reason: 'x'.repeat(150_000) }));
        headers['Content-Type'] = 'application/json';
        break;
      case 6:
        body = Buffer.from('['.repeat(40_000) + ']'.repeat(40_000));
        headers['Content-Type'] = 'application/json';
        break;
      case 7:
        headers['X-Request-Id'] = rng.pick(['a b c', 'x'.repeat(500), '520302201505050014', '\t']);
        headers['Idempotency-Key'] = rng.pick(['x'.repeat(500), 'a b', '']);
        break;
      case 8:
        headers['X-Forwarded-For'] = rng.pick(['not-an-ip', '999.1.1.1', '::1, ::1, ::1', ',,,', 'x'.repeat(2000)]);
        break;
      case 9:
        headers.Range = rng.pick(['bytes=999999999-', 'bytes=-1', 'bytes=a-b', 'bytes=0-0,1-1,2-2']);
        headers['If-None-Match'] = '*';
        break;
      case 10:
        headers.Accept = rng.pick(['text/html', 'application/xml', '*/*;q=abc']);
        headers['Accept-Encoding'] = 'gzip;q=2, br';
        break;
      default:
        headers['Content-Type'] = 'application/json';
        body = Buffer.from(JSON.stringify(badValue(rng)));
    }
    notes.push(`${where} #${kind}`);
  }
  if (body) headers['Content-Length'] = String(body.length);
  const fullPath = query.length ? `${p}?${query.join('&')}` : p;
  return {
    op,
    role,
    aimed: aimed && where !== 'path',
    method: op.method,
    path: fullPath,
    headers,
    body,
    note: notes.join('; ') || 'valid',
  };
}

// ── Did the request reach its handler? ──────────────────────────────────────────────────────────────────────────

/**
 * The answers given before a route's handler runs: no or a bad token (401, except the auth routes, which answer 401
 * themselves), the role check and a pending password change (403), the per-address login limit (429), no such
 * route (404), and the refusals of the body parsers and the path decoder (their messages are api/errors.ts's and
 * api/hygiene.ts's). Everything else was answered by the handler.
 */
const DOOR_MESSAGES = [
  '您的账号没有此项操作的权限',
  '请先修改密码',
  '此网络地址的登录尝试过多',
  '没有这个接口',
  '请求体不是合法的 JSON',
  '请求体超过大小限制',
  '请使用 UTF-8 编码',
  '请求体长度与 Content-Length 不符',
  '请求地址中含有无法解码的字符',
  '请求体无法解压或读取',
  '请求体应为 application/json',
];
function reachedHandler(b: Built, a: Answer): boolean {
  if (a.status === 401 && !b.op.path.startsWith('/api/auth/')) return false;
  if (a.status === 401 && b.op.path === '/api/auth/change-password') return false;
  const detail = String(a.json?.detail ?? '');
  return !DOOR_MESSAGES.some((m) => detail.startsWith(m) || detail.includes(m));
}

// ── Setup: the fuzzer's own users and a few cases ───────────────────────────────────────────────────────────────

async function setUp(base: URL, o: FuzzOptions, rng: Rng): Promise<World> {
  const must = async (what: string, p: Promise<Answer>, ok = [200, 201]) => {
    const a = await p;
    if (!ok.includes(a.status)) throw new Error(`setup: ${what} answered ${a.status} ${a.body.slice(0, 300)}`);
    return a;
  };
  const adminLogin = await must(
    `login as ${o.adminUser}`,
    json(
      base,
      'POST',
      '/api/auth/login',
      { username: o.adminUser, password: o.adminPassword },
      undefined,
      '10.255.0.1',
    ),
  );
  const adminToken = String(adminLogin.json!.token);
  const suffix = randomBytes(3).toString('hex');
  const password = `fz-${randomBytes(12).toString('hex')}`;
  const plan: [Role, string, string | undefined][] = [
    ['admin', 'ADMIN', undefined],
    ['officer', 'COUNTY_OFFICER', '511922'],
    ['clerk', 'SCHOOL_CLERK', '5119220001'],
    ['clerk2', 'SCHOOL_CLERK', '5203020002'],
  ];
  const tokens = {} as Record<Role, string>;
  const ownUserIds = new Set<number>();
  const ownUsernames = new Set<string>();
  for (const [role, kind, orgCode] of plan) {
    const username = `fuzz.${role}.${suffix}`;
    const created = await must(
      `create ${username}`,
      json(
        base,
        'POST',
        '/api/admin/users',
        { username, displayName: `模糊测试${role}`, role: kind, orgCode, password: `${password}-0` },
        adminToken,
      ),
    );
    ownUserIds.add(Number(created.json!.id));
    ownUsernames.add(username);
    const first = await must(
      `login ${username}`,
      json(base, 'POST', '/api/auth/login', { username, password: `${password}-0` }, undefined, '10.255.0.2'),
    );
    await must(
      `change password of ${username}`,
      json(
        base,
        'POST',
        '/api/auth/change-password',
        { currentPassword: `${password}-0`, newPassword: password },
        String(first.json!.token),
      ),
      [204],
    );
    const login = await must(
      `login ${username}`,
      json(base, 'POST', '/api/auth/login', { username, password }, undefined, '10.255.0.3'),
    );
    tokens[role] = String(login.json!.token);
  }
  const users = await must('list users', json(base, 'GET', '/api/admin/users', undefined, tokens.admin));
  const userIds = (users.json!.items as { id: number }[]).map((u) => u.id);

  // Cases to act on: transfers into the fuzzer's school of pupils found by lookup (the 学籍号 matched first).
  const caseIds: number[] = [];
  const attachmentIds: number[] = [];
  const studentNos = [...DEMO_STUDENT_NOS];
  for (const studentNo of DEMO_STUDENT_NOS.slice(0, 3)) {
    const filed = await json(
      base,
      'POST',
      '/api/applications',
      {
        type: 'TRANSFER',
        studentNo,
        reason: '模糊测试：随父母工作调动',
        effectiveDate: iso(Date.now() + 7 * DAY),
      },
      tokens.clerk,
    );
    if (filed.status !== 201) continue; // already at this school, or an open case: fine
    const id = Number(filed.json!.id);
    caseIds.push(id);
    const boundary = `----fuzz${randomBytes(8).toString('hex')}`;
    const up = await send(base, {
      method: 'POST',
      path: `/api/applications/${id}/attachments`,
      headers: { Authorization: `Bearer ${tokens.clerk}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body: multipart([{ name: 'file', filename: 'proof.png', type: 'image/png', data: PNG }], boundary),
    });
    if (up.status === 201 || up.status === 200) attachmentIds.push(Number(up.json!.id));
  }
  const listed = await json(base, 'GET', '/api/applications?limit=50', undefined, tokens.admin);
  for (const a of (listed.json?.items as { id: number }[] | undefined) ?? [])
    if (!caseIds.includes(a.id)) caseIds.push(a.id);
  if (caseIds.length === 0) caseIds.push(1);
  if (attachmentIds.length === 0) attachmentIds.push(1);
  // A zip bomb for the imports: 100 MB of zeros in about 100 kB, claiming 1 kB.
  const bomb = zipBomb(100 * 1024 * 1024);
  void rng;
  return { tokens, ownUserIds, ownUsernames, caseIds, caseStage: new Map(), attachmentIds, userIds, studentNos, bomb };
}

/**
 * New open cases now and then (fuzzed decisions, withdrawals and cancellations close them): transfers into the
 * fuzzer's school, and a resumption for the suspended pupil at its second school.
 */
async function replenish(base: URL, w: World, rng: Rng) {
  const soon = iso(Date.now() + 7 * DAY);
  const filings: [Role, unknown][] = [
    [
      'clerk',
      {
        type: 'TRANSFER',
        studentNo: rng.pick(DEMO_STUDENT_NOS.filter((n) => !n.startsWith('G5119'))),
        reason: '模糊测试：随父母工作调动',
        effectiveDate: soon,
      },
    ],
    ['clerk2', { type: 'RESUME', studentNo: DEMO_STUDENT_NOS[3], reason: '模糊测试：病愈复学', effectiveDate: soon }],
  ];
  for (const [role, body] of filings) {
    const a = await json(base, 'POST', '/api/applications', body, w.tokens[role]).catch(() => null);
    if (a?.status === 201 && typeof a.json?.id === 'number') {
      w.caseIds.push(a.json.id);
      w.caseStage.set(a.json.id, String(a.json.currentStage));
    }
  }
}

function zipBomb(size: number): Buffer {
  const deflated = zlib.deflateRawSync(Buffer.alloc(size), { level: 9 });
  const name = Buffer.from('xl/worksheets/sheet1.xml');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(deflated.length, 18);
  local.writeUInt32LE(1024, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(deflated.length, 20);
  central.writeUInt32LE(1024, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + deflated.length, 16);
  return Buffer.concat([local, name, deflated, central, name, end]);
}

// ── The run ──────────────────────────────────────────────────────────────────────────────────────────────────

interface Stats {
  sent: number;
  reached: number;
  byClass: Record<string, number>;
}

export interface FuzzResult {
  passed: number;
  failed: number;
  failures: string[];
  perOperation: Map<string, Stats>;
}

export async function runFuzz(o: FuzzOptions & { baseUrl: string }): Promise<FuzzResult> {
  const base = new URL(o.baseUrl);
  const rng = new Rng(o.seed);
  const docAnswer = await send(base, { method: 'GET', path: '/api/openapi.json', headers: {} });
  if (docAnswer.status !== 200 || !docAnswer.json)
    throw new Error(`GET /api/openapi.json answered ${docAnswer.status}`);
  const doc = docAnswer.json as unknown as Parameters<typeof operationsOf>[0] & Parameters<typeof resolve>[0];
  const ops = operationsOf(doc);
  const w = await setUp(base, o, rng);
  o.log(
    `[fuzz] ${o.baseUrl}: ${ops.length} operations, ${o.requests} requests, seed ${o.seed}, concurrency ${o.concurrency}`,
  );

  const stats = new Map<string, Stats>(ops.map((op) => [op.key, { sent: 0, reached: 0, byClass: {} }]));
  /** Roles whose requests to an operation were stopped at the door (wrong role): not aimed there again. */
  const refusedRoles = new Map<string, Set<Role>>();
  const failures: string[] = [];
  let passed = 0;
  let failed = 0;
  let issued = 0;

  const next = (): Built | null => {
    if (issued >= o.requests) return null;
    issued += 1;
    // One in eight is a door test (no token, a forged one, broken bytes or headers) spread evenly over operations;
    // the rest go, with an intact token of a role that may call it, to the operation reached least so far.
    if (rng.chance(0.125)) {
      const op = rng.pick(ops);
      const role = rng.pick<Built['role']>(['anonymous', 'forged', ...ROLES]);
      return build(doc, op, role, false, rng, w);
    }
    let least = Infinity;
    let choices: Operation[] = [];
    for (const op of ops) {
      const s = stats.get(op.key)!;
      const score = s.reached + s.sent * 0.01;
      if (score < least - 1e-9) {
        least = score;
        choices = [op];
      } else if (Math.abs(score - least) < 1e-9) choices.push(op);
    }
    const op = rng.pick(choices);
    const refused = refusedRoles.get(op.key) ?? new Set<Role>();
    const roles = op.secured || op.path === '/api/auth/change-password' ? ROLES.filter((r) => !refused.has(r)) : [];
    const role: Built['role'] = roles.length ? rng.pick(roles) : op.secured ? rng.pick(ROLES) : 'anonymous';
    return build(doc, op, role, true, rng, w);
  };

  const worker = async () => {
    for (let b = next(); b; b = next()) {
      const s = stats.get(b.op.key)!;
      s.sent += 1;
      let a: Answer;
      try {
        a = await send(base, b);
      } catch (e) {
        failed += 1;
        failures.push(
          `${b.method} ${b.path.slice(0, 120)} as ${b.role} [${b.note}]: no answer (${(e as Error).message})`,
        );
        continue;
      }
      const cls = `${Math.floor(a.status / 100)}xx`;
      s.byClass[cls] = (s.byClass[cls] ?? 0) + 1;
      const reached = reachedHandler(b, a);
      if (reached) s.reached += 1;
      else if (b.aimed && b.role !== 'anonymous' && b.role !== 'forged' && a.status === 403) {
        // This role may not call the operation at all: aim other roles at it from now on.
        const set = refusedRoles.get(b.op.key) ?? new Set<Role>();
        set.add(b.role);
        refusedRoles.set(b.op.key, set);
      }
      if ((!reached || process.env.FUZZ_TRACE) && process.env.FUZZ_DEBUG === b.op.key) {
        o.log(`[not reached] ${b.role} ${b.note} → ${a.status} ${a.body.slice(0, 160)}`);
      }
      // Cases the answers show: new ones to act on, and the stage each is at.
      for (const item of [a.json, ...(((a.json?.items as unknown[]) ?? []) as (typeof a.json)[])]) {
        const c = item as { id?: unknown; currentStage?: unknown; type?: unknown } | undefined;
        if (typeof c?.id !== 'number' || typeof c.type !== 'string' || a.status >= 300) continue;
        if (!w.caseIds.includes(c.id)) w.caseIds.push(c.id);
        if (typeof c.currentStage === 'string') w.caseStage.set(c.id, c.currentStage);
      }
      if (s.sent % 50 === 0) await replenish(base, w, rng);
      const problem = /^application\/problem\+json/.test(a.type);
      if (a.status >= 500 || (a.status >= 400 && !problem)) {
        failed += 1;
        failures.push(
          `${b.method} ${b.path.slice(0, 120)} as ${b.role} [${b.note.slice(0, 160)}] → ${a.status} ${a.type} ${a.body.slice(0, 200)}`,
        );
      } else passed += 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));

  // The report: per operation, then what failed.
  const width = Math.max(...ops.map((op) => op.key.length));
  o.log(`${'operation'.padEnd(width)}  sent  reached  2xx  4xx  5xx`);
  let short = 0;
  for (const op of ops) {
    const s = stats.get(op.key)!;
    const low = s.reached < o.minReached;
    if (low) short += 1;
    o.log(
      `${op.key.padEnd(width)} ${String(s.sent).padStart(5)} ${String(s.reached).padStart(8)} ${String(s.byClass['2xx'] ?? 0).padStart(4)} ${String(s.byClass['4xx'] ?? 0).padStart(4)} ${String(s.byClass['5xx'] ?? 0).padStart(4)}${low ? `  ← fewer than ${o.minReached} reached the handler` : ''}`,
    );
  }
  for (const f of failures.slice(0, 40)) o.log(`FAIL ${f}`);
  if (failures.length > 40) o.log(`… and ${failures.length - 40} more failures`);
  if (short)
    o.log(
      `${short} operation(s) reached fewer than ${o.minReached} times: the run does not count (locked out, rate-limited or too short?)`,
    );
  return { passed, failed: failed + short, failures, perOperation: stats };
}

// ── A throwaway stack ────────────────────────────────────────────────────────────────────────────────────────

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Its own embedded Postgres (migrated, demo data), a Temporal dev server in memory, the worker and the API in this
 * process on free ports, all under a temporary directory that is removed on stop.
 */
export async function startThrowawayStack(
  log: (l: string) => void,
): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const started = Date.now();
  const { startEmbeddedPostgres } = await import('../infra/postgres');
  const { migrateDatabase } = await import('../infra/migrations');
  const { createPrisma } = await import('../infra/db');
  const { seedDemoData } = await import('../infra/seed');
  const { resolveTemporalCli, startDevServer } = await import('../infra/temporal');
  const { createLogger } = await import('../infra/logger');
  const { createMailer } = await import('../infra/mailer');
  const { createActivities } = await import('../activities');
  const { createWorker } = await import('../worker');
  const { buildApp } = await import('../api/app');
  const { TokenService } = await import('../api/auth');
  const { answerClientErrors } = await import('../api/hygiene');
  const { DEFAULT_RULES } = await import('../domain/rules');
  const { NativeConnection, Runtime, DefaultLogger } = await import('@temporalio/worker');
  const { startMailDispatcher } = await import('../infra/mail-dispatcher');
  const { Client, Connection } = await import('@temporalio/client');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-fuzz-'));
  fs.chmodSync(work, 0o755); // Postgres runs as the postgres user when we are root
  const stops: (() => Promise<unknown>)[] = [async () => fs.rmSync(work, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => log(`[fuzz] stopping: ${String(e)}`));
  };
  try {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(work, 'pg'), port: await freePort() });
    stops.push(() => pg.stop());
    await migrateDatabase(pg.adminUrl);
    const prisma = createPrisma(pg.adminUrl, 10);
    stops.push(() => prisma.$disconnect());
    await seedDemoData(prisma, { pupilsPerSchool: 20 });
    const temporal = await startDevServer(resolveTemporalCli({ log }), { port: await freePort() });
    stops.push(() => temporal.stop());
    const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    } catch {
      // installed already
    }
    const taskQueue = 'fuzz';
    const native = await NativeConnection.connect({ address: temporal.address });
    const worker = await createWorker({
      connection: native,
      namespace: 'default',
      taskQueue,
      activities: createActivities({ prisma, logger }),
      failures: { prisma, logger },
    });
    const running = worker.run();
    const dispatcher = startMailDispatcher({
      databaseUrl: pg.adminUrl,
      mailer: createMailer({ DATA_DIR: work, MAIL_FROM: '学籍异动系统 <noreply@xueji.local>', SMTP_URL: undefined }),
      logger,
    });
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await dispatcher.stop();
      await native.close();
    });
    const connection = Connection.lazy({ address: temporal.address });
    stops.push(() => connection.close());
    const app = buildApp({
      prisma,
      temporal: new Client({ connection }),
      tokens: new TokenService(randomBytes(32).toString('hex'), '1h'),
      logger,
      rules: DEFAULT_RULES,
      config: {
        TEMPORAL_TASK_QUEUE: taskQueue,
        UPDATE_TIMEOUT_MS: 5000,
        attachmentsDir: path.join(work, 'attachments'),
      },
      // One client address for every login of the run: the per-address limit would otherwise stop it.
      security: { loginIpLimit: 100_000 },
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    answerClientErrors(server);
    stops.push(() => new Promise((r) => server.close(r)));
    const { port } = server.address() as net.AddressInfo;
    log(
      `[fuzz] throwaway stack up in ${Math.round((Date.now() - started) / 1000)} s (Postgres ${pg.adminUrl.replace(/:[^:@/]+@/, ':***@')}, Temporal ${temporal.address})`,
    );
    return { baseUrl: `http://127.0.0.1:${port}`, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let stack: Awaited<ReturnType<typeof startThrowawayStack>> | null = null;
  let code = 1;
  try {
    if (!o.baseUrl) stack = await startThrowawayStack(o.log);
    const started = Date.now();
    const r = await runFuzz({ ...o, baseUrl: o.baseUrl ?? stack!.baseUrl });
    o.log(`[fuzz] ${o.requests} requests in ${Math.round((Date.now() - started) / 1000)} s`);
    o.log(`${r.passed} passed, ${r.failed} failed`);
    code = r.failed === 0 ? 0 : 1;
  } catch (e) {
    o.log(`[fuzz] could not run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    o.log('0 passed, 1 failed');
  } finally {
    await stack?.stop();
  }
  process.exit(code);
}

if (require.main === module) void main();
