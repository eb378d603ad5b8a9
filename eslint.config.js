import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { LAYERS } from './layers.js';

// One no-restricted-imports rule per folder of src/, from the layering table in layers.js.
const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => {
  const forbidden = Object.keys(LAYERS).filter((f) => f !== folder && !allowed.includes(f));
  return {
    files: folder === 'types' ? ['src/types.ts'] : [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((f) => ({
            regex: f === 'types' ? '^(\\.\\./)+types\\.js$' : `^(\\.\\.?/)+(.*/)?${f}/`,
            message: `src/${folder} may not import src/${f}: see the layering in layers.js and docs/architecture.md`,
          })),
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'dist-gpu/**', 'node_modules/**', 'models/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layerRules,
);
