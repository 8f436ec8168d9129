import { loadConfig } from '../config';

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
});
