import { bwrapArgs } from "../src/sandbox/bwrap-args";

/** What a sandbox started ahead is given (sandboxes-ahead.ts): no code yet, empty slots where code and images live. */
describe("bwrapArgs for a sandbox started ahead", () => {
  const args = bwrapArgs({ runtimeDirs: ["/opt/stubrun"], network: true, home: "/root", slots: [{ hostDir: "/h/sandboxes-ahead/slots/1/0", path: "/h/code" }, { hostDir: "/h/sandboxes-ahead/slots/1/1", path: "/h/images" }] });

  test("each slot is bound read-only at its root, after the private /tmp and HOME", () => {
    const at = args.indexOf("/h/sandboxes-ahead/slots/1/0");
    expect(args.slice(at - 1, at + 2)).toEqual(["--ro-bind", "/h/sandboxes-ahead/slots/1/0", "/h/code"]);
    expect(args.slice(at + 2, at + 5)).toEqual(["--ro-bind", "/h/sandboxes-ahead/slots/1/1", "/h/images"]);
    expect(at).toBeGreaterThan(args.lastIndexOf("--tmpfs"));
  });

  test("it works in / until told its code, and keeps the isolation of any sandbox", () => {
    expect(args.slice(args.indexOf("--chdir"), args.indexOf("--chdir") + 2)).toEqual(["--chdir", "/"]);
    expect(args).toEqual(expect.arrayContaining(["--unshare-pid", "--die-with-parent", "--cap-drop", "ALL"]));
    expect(args).not.toContain("--bind");
  });
});
