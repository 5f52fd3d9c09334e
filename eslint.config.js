// The JavaScript linter of the pages and the site (make lint): ESLint's recommended rules.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "site/", "runs/", ".venv/", "build/"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.worker },
    },
  },
  {
    // The pages' scripts are inlined into a classic <script> element of a page that is
    // one self-contained file: scripts, not modules.
    files: ["autograd/pages/*.js", "nn/pages/*.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser } },
  },
];
