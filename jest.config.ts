import type { Config } from "jest";

/** One jest run over every package's unit tests and the end-to-end tests in test/e2e. */
const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>/packages", "<rootDir>/test"],
  testMatch: ["**/test/**/*.test.ts"],
  modulePathIgnorePatterns: ["<rootDir>/packages/.*/dist/"],
  transform: {
    "^.+\\.tsx?$": [
      "@swc/jest",
      {
        jsc: {
          target: "es2022",
          parser: { syntax: "typescript", decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
      },
    ],
  },
  testTimeout: 60_000,
  maxWorkers: 2,
};

export default config;
