/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // jose 6 ships ES modules only; jest (on Node 20) needs them compiled to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/domain/**/*.test.ts'],
  // dist/ holds a copy of package.json (npm run build): not a second module root for jest.
  modulePathIgnorePatterns: ['<rootDir>/data/', '<rootDir>/.tools/', '<rootDir>/dist/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: each file runs its own worker against the shared dev server.
  maxWorkers: 2,
  // The Temporal core bridge keeps a native handle open after teardown (sdk-typescript#928).
  forceExit: true,
};
