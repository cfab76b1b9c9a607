import { BLOB_HASH_PATTERN, isSafeRelativePath, type CodeRecipe } from "@stubrun/protocol";
import { checkUploadFiles } from "../apps/upload-files";

/** A code folder's name: the first 32 hex digits of its content's hash (see CodeStore.put). */
export const CODE_HASH_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Checks a recipe that came over the wire (`GET /api/code/HASH`) before anything is written from
 * it: paths relative and inside the folder, each file once, layers naming blobs by hash. Throws
 * an Error that says what is wrong.
 */
export function parseCodeRecipe(value: unknown): CodeRecipe {
  const fail = (why: string): never => {
    throw new Error(`the code recipe is not valid: ${why}`);
  };
  if (typeof value !== "object" || value === null) return fail("it is not a JSON object");
  const { files, layers } = value as Record<string, unknown>;
  if (!Array.isArray(files) || !Array.isArray(layers)) return fail(`it needs "files" and "layers" arrays`);
  const recipe: CodeRecipe = { files: [], layers: [] };
  for (const file of files as unknown[]) {
    const { path, code } = (file ?? {}) as Record<string, unknown>;
    if (typeof path !== "string" || typeof code !== "string") return fail(`a file needs a "path" and a "code" string`);
    if (!isSafeRelativePath(path)) return fail(`the file path ${JSON.stringify(path)} must be relative and stay inside the folder`);
    recipe.files.push({ path, code });
  }
  for (const layer of layers as unknown[]) {
    const { path, blob } = (layer ?? {}) as Record<string, unknown>;
    if (typeof path !== "string" || typeof blob !== "string") return fail(`a layer needs a "path" and a "blob" string`);
    if (path !== "" && !isSafeRelativePath(path)) return fail(`the layer path ${JSON.stringify(path)} must be relative and stay inside the folder`);
    if (!BLOB_HASH_PATTERN.test(blob)) return fail(`the layer blob ${JSON.stringify(blob)} is not a blob hash (64 lowercase hex digits)`);
    recipe.layers.push({ path, blob });
  }
  try {
    checkUploadFiles(recipe.files);
  } catch (error) {
    fail((error as Error).message);
  }
  return recipe;
}
