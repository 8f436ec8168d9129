import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no Prisma, no I/O libraries.
const forbiddenInWorkflows = [
  ...builtinModules.flatMap((m) => [m, `node:${m}`]),
  '@prisma/*',
  '**/generated/**',
  'pg',
  'nodemailer',
  'express',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

const routesMessage = 'Routes parse, authorise and answer: database work belongs in api/services/.';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'generated/',
      'data/',
      '.tools/',
      'dist/',
      'coverage/',
      'web/dist/',
      'web/src/generated/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The web console (web/src, its own tsconfig): browser code, React's rules of hooks.
  {
    files: ['web/src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.filter((m) => !m.includes('*')),
          patterns: forbiddenInWorkflows.filter((m) => m.includes('*')),
        },
      ],
    },
  },
  // A change type is what its spec in domain/change-types/ says: code elsewhere asks the spec (specOf(type).applicant,
  // movesPupil(type) …) and never compares a type with a code, so a new type needs no edit outside domain/.
  {
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['domain/**', '**/*.test.ts', 'test/**', 'scripts/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'BinaryExpression[operator=/^[!=]==?$/]:matches([left.name=/^type$/i], [left.property.name=/^type$/i])[right.value=/^[A-Z][A-Z_]+$/]',
          message: 'Ask the change type’s spec (domain/change-types/) instead of comparing the type with a code.',
        },
      ],
    },
  },
  // Layers (README "Code layout"): infra/ is below the HTTP edge and never reaches up into api/.
  {
    files: ['infra/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+api(/|$)',
              message: 'infra/ imports nothing from api/: move the shared part to infra/ or domain/.',
            },
          ],
        },
      ],
    },
  },
  // Thin edges: a route parses, authorises and answers; the database work (queries, transactions, audit writes) is in
  // api/services/. Routes may import model types to shape answers, nothing that talks to Postgres, and may not reach
  // into a Prisma client they were handed.
  {
    files: ['api/routes/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'pg', message: routesMessage }],
          patterns: [
            { group: ['@prisma/*'], message: routesMessage, allowTypeImports: true },
            { regex: '(^|/)generated/prisma(/|$)', message: routesMessage, allowTypeImports: true },
            { regex: '^(\\.\\./)+infra/(db|audit)$', message: routesMessage, allowTypeImports: true },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'MemberExpression[property.name=/^\\$(queryRaw|executeRaw|queryRawUnsafe|executeRawUnsafe|transaction)$/]',
          message: routesMessage,
        },
        { selector: 'MemberExpression[object.name=/^(prisma|tx)$/]', message: routesMessage },
        { selector: "MemberExpression[object.property.name='prisma']", message: routesMessage },
        // The change-type rule above, again: this block's no-restricted-syntax replaces it for routes.
        {
          selector:
            'BinaryExpression[operator=/^[!=]==?$/]:matches([left.name=/^type$/i], [left.property.name=/^type$/i])[right.value=/^[A-Z][A-Z_]+$/]',
          message: 'Ask the change type’s spec (domain/change-types/) instead of comparing the type with a code.',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        module: 'writable',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
