import { files, fn, manifest, T0, withAppWorld, type AppWorld } from "./app-fixtures";

/** The Deployer and serve's reloader on a temp SQLite and a fake dispatcher: versions, what changed, rollback. */

let world: AppWorld;
withAppWorld((w) => (world = w));

describe("Deployer", () => {
  test("the first deploy creates the app at version 1; a redeploy with no change keeps it", () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "shop"), files());
    expect(first).toMatchObject({ name: "shop", version: 1, created: true, changed: true, changes: "first deploy" });
    jest.setSystemTime(T0 + 60_000);
    const same = world.deployer.deploy({ ...manifest([fn("A.f")], "shop"), projectRoot: "/elsewhere" }, files());
    expect(same).toMatchObject({ appId: first.appId, version: 1, created: false, changed: false, changes: "no change" });
    expect(world.versionsRepo.list(first.appId).map((v) => v.version)).toEqual([1]);
  });

  test("a changed deploy is the next version, says what changed, and is in the history with its time", () => {
    const first = world.deployer.deploy(manifest([fn("A.f"), fn("A.g")], "shop"), files("1"));
    jest.setSystemTime(T0 + 60_000);
    const next = world.deployer.deploy(manifest([fn("A.f", { timeout: 5 }), fn("A.h")], "shop"), files("2"));
    expect(next).toMatchObject({ appId: first.appId, version: 2, created: false, changed: true, changes: "added A.h; removed A.g; changed A.f (options or parameters); code changed" });
    const { app, versions } = world.deployer.history("shop");
    expect(app).toMatchObject({ id: first.appId, version: 2 });
    expect(versions.map((v) => [v.version, v.createdAt, v.changes])).toEqual([
      [1, T0, "first deploy"],
      [2, T0 + 60_000, next.changes],
    ]);
  });

  test("rollback redeploys the version before (or the one named) as a new version", () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "shop"), files("1"));
    world.deployer.deploy(manifest([fn("A.f")], "shop"), files("2"));
    expect(world.deployer.rollback("shop")).toMatchObject({ version: 3, changed: true, changes: "rollback to version 1" });
    expect(world.appsRepo.get(first.appId)?.codeDir).toBe(world.versionsRepo.get(first.appId, 1)?.codeDir);
    expect(world.deployer.rollback(first.appId, 2)).toMatchObject({ version: 4, changes: "rollback to version 2" });
  });

  test("rollback says why it cannot: no earlier version, no such version, not deployed, unknown app", async () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "shop"), files());
    expect(() => world.deployer.rollback("shop")).toThrow("app shop has no version before version 1 to roll back to; its versions are 1");
    expect(() => world.deployer.rollback("shop", 9)).toThrow("app shop has no version 9; its versions are 1");
    await world.manager.stop(first.appId);
    expect(() => world.deployer.rollback("shop")).toThrow("app shop is stopped; only a deployed app has versions to roll back to");
    expect(() => world.deployer.rollback("nothing")).toThrow('no app with id or name "nothing"');
  });

  test("a name that looks like an app id is refused", () => {
    expect(() => world.deployer.deploy(manifest([fn("A.f")], "ap-0123456789"), files())).toThrow('app name "ap-0123456789" looks like an app id');
  });

  test("a deploy after a stop creates a new app of that name; APP then means the deployed one", async () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "shop"), files("1"));
    await world.manager.stop(first.appId);
    jest.setSystemTime(T0 + 1_000);
    const second = world.deployer.deploy(manifest([fn("A.f")], "shop"), files("1"));
    expect(second).toMatchObject({ created: true, version: 1 });
    expect(second.appId).not.toBe(first.appId);
    expect(world.resolver.resolve("shop")?.id).toBe(second.appId);
    expect(world.resolver.resolve(first.appId)?.id).toBe(first.appId);
  });
});

describe("AppReloader", () => {
  const owner = { appOutput: () => undefined };

  test("a changed upload becomes the app's next version; an unchanged one is no change", () => {
    const app = world.manager.create(manifest([fn("A.f")], "dev"), files("1"), { detach: false, owner });
    expect(world.reloader.reload(app.id, manifest([fn("A.f")], "dev"), files("1"))).toMatchObject({ version: 1, changed: false, changes: "no change" });
    expect(world.reloader.reload(app.id, manifest([fn("A.f"), fn("A.g")], "dev"), files("2"))).toMatchObject({ version: 2, changed: true, changes: "added A.g; code changed" });
    expect(world.appsRepo.get(app.id)).toMatchObject({ version: 2, state: "ephemeral" });
    expect(world.versionsRepo.list(app.id)).toEqual([]); // serve keeps no history
  });

  test("a stopped app cannot be reloaded", async () => {
    const app = world.manager.create(manifest([fn("A.f")]), files("1"), { detach: false, owner });
    await world.manager.stop(app.id);
    expect(() => world.reloader.reload(app.id, manifest([fn("A.f")]), files("2"))).toThrow(`app ${app.id} is stopped`);
  });
});
