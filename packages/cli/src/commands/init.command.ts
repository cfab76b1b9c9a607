import fs from "node:fs";
import path from "node:path";
import type { CommandModule } from "yargs";

interface InitArgs {
  dir: string;
}

/** What an editor needs to accept stubrun's decorators; stubrun compiles files itself, so nothing is emitted. */
const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "commonjs",
    moduleResolution: "node",
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
  },
};

/** The package the example imports (named apart, so the example's import is not read as this file's own). */
const PACKAGE = "stubrun";

const EXAMPLE = `import { fn, Stub } from ${JSON.stringify(PACKAGE)};

const stub = new Stub("hello");

class Hello {
  /** Runs remotely, in a worker. */
  @stub.function()
  square(x: number): number {
    console.log(\`squaring \${x}\`);
    return x * x;
  }

  /** Runs here; try: npx stubrun hello.ts --n 7 */
  @stub.localEntrypoint()
  async main(n = 3) {
    console.log(await fn(this.square).remote(n));
  }
}
`;

/**
 * `stubrun init [DIR]`: a `tsconfig.json` with decorators on (TypeScript's defaults mark every
 * decorator as an error in the editor) and an example, each only where there is none.
 */
export function initCommand(): CommandModule<object, InitArgs> {
  return {
    command: "init [dir]",
    describe: "Set up a folder for stubrun: a tsconfig.json for your editor and an example, where there are none",
    builder: (yargs) => yargs.positional("dir", { type: "string", default: ".", describe: "the project's folder" }) as never,
    handler: (args) => {
      const dir = path.resolve(args.dir);
      fs.mkdirSync(dir, { recursive: true });
      const lines: string[] = [];
      const tsconfig = path.join(dir, "tsconfig.json");
      if (!fs.existsSync(tsconfig)) {
        fs.writeFileSync(tsconfig, `${JSON.stringify(TSCONFIG, null, 2)}\n`);
        lines.push(`Wrote ${shown(tsconfig)}: experimentalDecorators and emitDecoratorMetadata on, for your editor`);
      } else {
        const missing = ["experimentalDecorators", "emitDecoratorMetadata"].filter((key) => !new RegExp(`"${key}"\\s*:\\s*true`).test(fs.readFileSync(tsconfig, "utf8")));
        lines.push(
          missing.length === 0
            ? `${shown(tsconfig)} is there and has decorators on: left as it is`
            : `${shown(tsconfig)} is there: left as it is, but add ${missing.map((k) => `"${k}": true`).join(" and ")} to its compilerOptions, or your editor marks stubrun's decorators as errors`,
        );
      }
      const example = path.join(dir, "hello.ts");
      if (!fs.existsSync(example)) {
        fs.writeFileSync(example, EXAMPLE);
        lines.push(`Wrote ${shown(example)}, an example; run it with: npx stubrun ${shown(example)}`);
      } else {
        lines.push(`${shown(example)} is there: left as it is`);
      }
      if (!hasStubrun(dir)) lines.push(`For your editor's types, install stubrun in the project: npm install --save-dev stubrun`);
      process.stdout.write(`${lines.join("\n")}\n`);
    },
  };
}

function shown(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

/** Whether `stubrun` resolves from the folder (its types are then there for the editor). */
function hasStubrun(dir: string): boolean {
  for (let at = dir; ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, "node_modules", "stubrun", "package.json"))) return true;
    if (path.dirname(at) === at) return false;
  }
}
