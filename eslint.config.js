import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.reports/',
      'coverage/',
      // Does not parse, on purpose: a worker module with a syntax error.
      'test/pool/fixtures/broken-syntax.worker.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A forgotten promise is the commonest concurrency bug in TypeScript.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Node fires any single delay of 2^31 ms or more at once: every timer in the library
    // goes through internal/timer.ts, which chains steps, so durations mean what they say.
    files: ['src/**/*.ts'],
    ignores: ['src/internal/timer.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: "Use after() from 'src/internal/timer.ts'." },
        { name: 'setInterval', message: "Use after() from 'src/internal/timer.ts'." },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'globalThis', property: 'setTimeout', message: 'Use after().' },
      ],
    },
  },
  {
    // The dashboard page runs in a browser, with its own timers: its delays are constants
    // under a second, which browsers honour as given.
    files: ['src/bridge/dashboard/page/**/*.ts'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
