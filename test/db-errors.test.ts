import { Prisma } from '../generated/prisma/client';
import { isDatabaseUnavailable, isUniqueViolation } from '../infra/db';
import { TransactionTimeoutError } from '../infra/sql';

// The shapes of "the database is not there" that a live outage does not always produce on cue (a connection dropped
// mid-query, a pool that waited too long, a server restarting), next to errors that are faults and must stay 500s.
// test/db-outage.test.ts stops a real Postgres; this covers the rest of the mapping case by case.

const known = (code: string, message = 'x') =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: '7' });
const adapter = (kind: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`adapter ${kind}`), { name: 'DriverAdapterError', cause: { kind, ...extra } });
const socket = (code: string) => Object.assign(new Error(`connect ${code}`), { code, syscall: 'connect', errno: -111 });

test.each([
  ['P1001 cannot reach', known('P1001')],
  ['P1002 timed out', known('P1002')],
  ['P1017 server closed the connection', known('P1017')],
  ['P2024 no connection from the pool in time', known('P2024')],
  ['P2028 transaction whose connection died', known('P2028')],
  ['adapter ConnectionClosed', adapter('ConnectionClosed')],
  ['adapter SocketTimeout', adapter('SocketTimeout')],
  ['adapter TooManyConnections', adapter('TooManyConnections')],
  ['adapter postgres 57P01 admin shutdown', adapter('postgres', { originalCode: '57P01' })],
  ['adapter postgres 57P03 starting up', adapter('postgres', { code: '57P03' })],
  [
    'wrapped in a known request error',
    Object.assign(known('P2010'), { meta: { driverAdapterError: adapter('DatabaseNotReachable') } }),
  ],
  ['ECONNREFUSED', socket('ECONNREFUSED')],
  ['ECONNRESET', socket('ECONNRESET')],
  ['pg: Connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
  ['pg: timeout exceeded when trying to connect', new Error('timeout exceeded when trying to connect')],
  ['initialisation', new Prisma.PrismaClientInitializationError("Can't reach database server", '7')],
  ['08006 connection failure', Object.assign(new Error('connection failure'), { code: '08006' })],
  ['a pg transaction past its time limit', new TransactionTimeoutError(5000)],
])('unavailable: %s', (_what, e) => {
  expect(isDatabaseUnavailable(e)).toBe(true);
});

test.each([
  ['P2002 unique violation', known('P2002')],
  ['P2025 record not found', known('P2025')],
  ['adapter UniqueConstraintViolation', adapter('UniqueConstraintViolation')],
  ['adapter postgres 22P05 bad text', adapter('postgres', { originalCode: '22P05' })],
  ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ['nothing', undefined],
])('a fault, not an outage: %s', (_what, e) => {
  expect(isDatabaseUnavailable(e)).toBe(false);
});

test.each([
  ['Prisma P2002', known('P2002'), true],
  [
    'pg 23505 (filing on pg: a second open case for the pupil)',
    Object.assign(new Error('duplicate key'), { code: '23505' }),
    true,
  ],
  ['pg 23503 foreign key', Object.assign(new Error('fk'), { code: '23503' }), false],
  ['Prisma P2003', known('P2003'), false],
])('unique violation or not: %s', (_what, e, expected) => {
  expect(isUniqueViolation(e)).toBe(expected);
});
