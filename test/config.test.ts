import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDeadlinePolicy } from '../infra/deadlines';
import { environment, loadConfig } from '../config';

describe('configuration', () => {
  test('embedded defaults need no environment at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3000, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'xueji-applications' });
    expect(c.DATABASE_URL).toBeUndefined();
  });

  test('a bad value stops start-up with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
  });

  test('production requires a token secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toHaveLength(32);
  });

  test('.env in the project directory is read, and the environment wins over it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-env-'));
    fs.writeFileSync(path.join(dir, '.env'), 'PORT=5000\nLOG_LEVEL=debug\n# a comment\n');
    const c = loadConfig(environment(dir, { NODE_ENV: 'development', PORT: '4000' }));
    expect(c).toMatchObject({ PORT: 4000, LOG_LEVEL: 'debug' });
    // Tests never read a developer's .env.
    expect(loadConfig(environment(dir, { NODE_ENV: 'test' })).LOG_LEVEL).toBe('info');
    // No .env: the environment as it is.
    expect(environment(os.tmpdir(), { NODE_ENV: 'development', PORT: '1' })).toEqual({
      NODE_ENV: 'development',
      PORT: '1',
    });
  });

  test('TRUST_PROXY: the proxy hop by address, loopback by default, none to trust nobody', () => {
    expect(loadConfig({}).TRUST_PROXY).toEqual(['loopback']);
    expect(loadConfig({ TRUST_PROXY: 'none' }).TRUST_PROXY).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 172.16.0.0/12' }).TRUST_PROXY).toEqual(['10.0.0.5', '172.16.0.0/12']);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' })).toThrow(/TRUST_PROXY/);
  });
});

describe('the time-limits file', () => {
  const write = (content: unknown) => {
    const file = path.join(os.tmpdir(), `deadlines-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  };
  test('the shipped file loads: 10 working days per stage', () => {
    expect(loadDeadlinePolicy()).toMatchObject({
      stageWorkingDays: 10,
      reminderEveryWorkingDays: 2,
      escalateAfterWorkingDays: 5,
    });
  });
  test('per-type overrides and demonstration durations are read', () => {
    const p = loadDeadlinePolicy(
      write({ overrides: { TRANSFER: { RECEIVING_SCHOOL: 5 } }, stageDue: '2m', reminderInterval: '30s' }),
    );
    expect(p.overrides.TRANSFER?.RECEIVING_SCHOOL).toBe(5);
    expect(p).toMatchObject({ stageDueMs: 120_000, reminderIntervalMs: 30_000 });
    expect(p.escalateAfterMs).toBeUndefined();
  });
  test('a bad file stops start-up naming the key', () => {
    expect(() => loadDeadlinePolicy(write({ stageWorkingDays: 0 }))).toThrow(/stageWorkingDays/);
    expect(() => loadDeadlinePolicy(write({ overrides: { TRANSFER: { NOWHERE: 3 } } }))).toThrow(/overrides\.TRANSFER/);
    expect(() => loadDeadlinePolicy(write({ reminderEvery: 2 }))).toThrow(/reminderEvery/);
  });
});
