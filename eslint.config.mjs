// One lint configuration for the whole repository: typescript-eslint's strict type-checked rules (every
// TypeScript file belongs to a tsconfig, the same set `npm run typecheck` compiles), with the exceptions below.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/node_modules/', '**/lib/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void send()` style shorthands read well; the promise rules catch what matters.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Without noUncheckedIndexedAccess, `list[i]` and `record[key]` type as always present, so this rule would
      // ask to delete guards that are needed at run time.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // An async function that does not await still turns a throw into a rejection, which callers of
      // promise-returning interfaces rely on.
      '@typescript-eslint/require-await': 'off',
      // protobuf.js types some wire fields as string or number where the decoded value may be either (or a
      // Long): the String()/Number() calls the rule calls unnecessary normalize them.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Copy then delete a computed key is how these maps drop an entry.
      '@typescript-eslint/no-dynamic-delete': 'off',
      // A return-only type parameter is how a checked cast (`fromProtoJson<T>('type', json)`) is spelled here.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      '@typescript-eslint/no-require-imports': ['error', { allow: ['\\.json$'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // The rules engine throws these plain classes on purpose: an evaluation error is a value of the rules
    // language (no stack trace needed, and cheap on the hot path). Its values narrow by checks TypeScript
    // understands (values.ts), so it asserts no type: a cast at a library boundary is disabled where it stands.
    files: ['packages/firestore-emulator/src/rules/**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-assertions': ['error', { assertionStyle: 'never' }],
      '@typescript-eslint/only-throw-error': [
        'error',
        { allow: [{ from: 'file', name: ['EvalError', 'LimitError'], path: 'packages/firestore-emulator/src/rules/values.ts' }] },
      ],
    },
  },
  {
    // In tests, values the libraries type as `any` (DocumentSnapshot.get, JSON.parse, vitest's asymmetric
    // matchers such as expect.objectContaining) flow into expect(); `any` written by hand is still refused.
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
