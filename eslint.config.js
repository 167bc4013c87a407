// ESLint (flat config) with typescript-eslint's recommended rules, no type information needed (fast on
// 2 cores). Formatting is Prettier's; this only checks code. `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Any CJK ideograph or CJK punctuation: UI text must come from a zh-CN catalogue. */
const CJK = '[\\u3000-\\u303f\\u4e00-\\u9fff\\uff00-\\uffef]';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      // A variable read by a closure before its one assignment (a callback wired before the thing it calls) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Solid assigns `let ref!: HTMLElement` through its compiler (ref={ref}).
    files: ['**/*.tsx'],
    rules: { 'no-unassigned-vars': 'off' },
  },
  {
    // Tests, their support code and declaration files for untyped modules may cast freely.
    files: [
      '**/*.test.ts',
      '**/*.test.tsx',
      '**/*.d.ts',
      '**/e2e/**',
      '**/testing/**',
      '**/test/**',
      'proof/src/bad-input/**',
      '**/*-harness.ts',
      '**/test-app.ts',
    ],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Chinese UI text lives only in the i18n catalogues (portal/web/**/zh-CN.ts).
    files: ['portal/web/**/*.{ts,tsx}'],
    ignores: ['portal/web/**/zh-CN.ts', 'portal/web/**/*.test.ts', 'portal/web/**/e2e/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=/${CJK}/]`, message: 'Chinese UI text belongs in a zh-CN catalogue.' },
        { selector: `TemplateElement[value.raw=/${CJK}/]`, message: 'Chinese UI text belongs in a zh-CN catalogue.' },
        { selector: `JSXText[value=/${CJK}/]`, message: 'Chinese UI text belongs in a zh-CN catalogue.' },
      ],
    },
  },
);
