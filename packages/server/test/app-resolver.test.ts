import { lookupFunction } from "../src/apps/lookup";
import { files, fn, manifest, T0, withAppWorld, type AppWorld } from "./app-fixtures";

/** The one rule for APP (SPEC §3), as the apps API, web endpoints and lookup() use it. */

let world: AppWorld;
withAppWorld((w) => (world = w));

const owner = { appOutput: () => undefined };

describe("AppResolver", () => {
  test("an id first, then the deployed app of that name, then the newest app of that name", async () => {
    const older = world.manager.create(manifest([fn("A.f")], "shop"), files("1"), { detach: false, owner });
    jest.setSystemTime(T0 + 1_000);
    const deployed = world.deployer.deploy(manifest([fn("A.f")], "shop"), files("2"));
    jest.setSystemTime(T0 + 2_000);
    const newer = world.manager.create(manifest([fn("A.f")], "shop"), files("3"), { detach: false, owner });
    expect(world.resolver.resolve(older.id)?.id).toBe(older.id);
    expect(world.resolver.resolve("shop")?.id).toBe(deployed.appId);
    await world.manager.stop(deployed.appId);
    expect(world.resolver.resolve("shop")?.id).toBe(newer.id);
    expect(world.resolver.resolve("nothing")).toBeUndefined();
    expect(() => world.resolver.require("nothing")).toThrow('no app with id or name "nothing"; see them with: npx stubrun app list');
  });
});

describe("lookupFunction", () => {
  test("finds a function of the app APP names, at its current version or a pinned one", () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "shop"), files("1"));
    world.deployer.deploy(manifest([fn("A.f"), fn("A.g")], "shop"), files("2"));
    expect(lookupFunction(world.resolver, world.manager, "shop", "A.g", undefined)).toMatchObject({ appId: first.appId, version: 2, function: { name: "A.g" } });
    expect(lookupFunction(world.resolver, world.manager, first.appId, "A.f", 1)).toMatchObject({ appId: first.appId, version: 1 });
    expect(() => lookupFunction(world.resolver, world.manager, "shop", "A.g", 1)).toThrow("has no function A.g");
  });

  test("serves running apps only: a stopped app, or none, is refused saying so", async () => {
    const app = world.deployer.deploy(manifest([fn("A.f")], "shop"), files());
    await world.manager.stop(app.appId);
    expect(() => lookupFunction(world.resolver, world.manager, "shop", "A.f", undefined)).toThrow(`app shop (${app.appId}) is stopped`);
    expect(() => lookupFunction(world.resolver, world.manager, "other", "A.f", undefined)).toThrow("no deployed app named other; deploy one with: npx stubrun deploy FILE");
  });
});
