'use strict';
// ESLint (flat config): `npm run lint`, i.e. `eslint .` over index.js, src/, test/ and bench/.
// The recommended rules, plus a few that catch real bugs in CommonJS code like this.

const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  { ignores: ['node_modules/', 'coverage/'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // An unused binding is dead code or a typo'd name; unused leading parameters are kept
      // when a later one is used (callbacks such as (request, ...rest)).
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'all' }],
      // `==` converts types. `x == null` is kept: it means "null or undefined" on purpose
      // (API Gateway sends either for a missing body or header).
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Every file is a CommonJS module, whose top level is the module's own scope, so
      // no-implicit-globals would never fire here; an undeclared assignment is caught by
      // no-undef (recommended) and, at run time, by the 'use strict' this rule requires.
      strict: ['error', 'global'],
      'prefer-const': 'error',
      'no-var': 'error',
      // A const/let/class read before its declaration throws (TDZ); hoisted functions are fine.
      'no-use-before-define': ['error', { functions: false }],
      // map/filter/find callbacks that forget to return.
      'array-callback-return': 'error',
      // '${x}' in a plain string: a template literal was meant.
      'no-template-curly-in-string': 'error',
    },
  },
  {
    // What is deployed: the package also runs on nodejs14.x (SDK v2 fallback), where syntax
    // newer than ES2020 (??=, ||=, static blocks, #x in y) is a SyntaxError at cold start.
    files: ['index.js', 'src/**/*.js'],
    languageOptions: { ecmaVersion: 2020 },
  },
];
