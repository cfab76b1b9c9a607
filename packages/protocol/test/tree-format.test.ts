import { TreeFormatError, TreeReader, type TreeEntryKind } from "../src/tree-format";

/** Reads `bytes` split into pieces of `step` bytes; returns the entries as path -> content (links as "-> target"). */
function read(bytes: string, step = 3, limits = { maxEntries: 100, maxEntryBytes: 1000 }): Record<string, string> {
  const out: Record<string, string> = {};
  let current: { kind: TreeEntryKind; path: string; chunks: Buffer[] } | undefined;
  const reader = new TreeReader(
    {
      entry: (kind, path) => (current = { kind, path, chunks: [] }),
      data: (chunk) => current!.chunks.push(Buffer.from(chunk)),
      entryEnd: () => (out[current!.path] = `${current!.kind === "l" ? "-> " : ""}${Buffer.concat(current!.chunks).toString()}`),
    },
    limits,
  );
  const buffer = Buffer.from(bytes);
  for (let i = 0; i < buffer.length; i += step) reader.push(buffer.subarray(i, i + step));
  reader.end();
  return out;
}

const MAGIC = "stubrun-tree 1\n";

describe("the tree format", () => {
  test("reads files, executables and links, in pieces of any size", () => {
    const tree = `${MAGIC}f 2 1\nahil 3 6\nb/linkrunx 0 5\nb/runend\n`;
    for (const step of [1, 2, 7, 1000]) expect(read(tree, step)).toEqual({ a: "hi", "b/link": "-> run", "b/run": "" });
  });

  test("refuses paths that leave the tree, are out of order or repeat, and entries inside a link", () => {
    expect(() => read(`${MAGIC}f 1 4\n../xaend\n`)).toThrow(/must be relative and stay inside/);
    expect(() => read(`${MAGIC}f 1 2\n/xaend\n`)).toThrow(/must be relative/);
    expect(() => read(`${MAGIC}f 1 1\nbaf 1 1\naaend\n`)).toThrow(/out of order/);
    expect(() => read(`${MAGIC}f 1 1\naaf 1 1\naaend\n`)).toThrow(/out of order/);
    expect(() => read(`${MAGIC}l 1 1\nd.f 1 3\nd/xaend\n`)).toThrow(/inside a link/);
  });

  test("refuses links that go up or are absolute", () => {
    expect(() => read(`${MAGIC}l 2 1\na..end\n`)).toThrow(/leaves the tree/);
    expect(() => read(`${MAGIC}l 4 1\na/etcend\n`)).toThrow(/leaves the tree/);
  });

  test("refuses a truncated tree, bytes after its end, a bad header and what is over the limits", () => {
    expect(() => read(`${MAGIC}f 5 1\nahi`)).toThrow(/ended early/);
    expect(() => read(`${MAGIC}end\nmore`)).toThrow(/after the tree's end/);
    expect(() => read(`${MAGIC}q 1 1\naaend\n`)).toThrow(/bad entry header/);
    expect(() => read(`stubrun-tree 2\nend\n`)).toThrow(/not a stubrun tree/);
    expect(() => read(`${MAGIC}f 1 1\naaf 1 1\nbbend\n`, 3, { maxEntries: 1, maxEntryBytes: 10 })).toThrow(/more than 1 entries/);
    expect(() => read(`${MAGIC}f 11 1\na01234567890end\n`, 3, { maxEntries: 5, maxEntryBytes: 10 })).toThrow(TreeFormatError);
  });
});
