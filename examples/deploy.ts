import { Cron, Period, Stub } from "stubrun";

const stub = new Stub("deploy-example");

class Greeter {
  /** Served at SERVER_URL/web/deploy-example/Greeter.greet?name=you */
  @stub.webEndpoint({ method: "GET" })
  greet(name = "world", excited = false) {
    return { greeting: `hello ${name}${excited ? "!" : ""}` };
  }

  /** Takes a JSON body: {"a": 1, "b": 2} */
  @stub.webEndpoint({ method: "POST" })
  add(a: number, b: number): number {
    return a + b;
  }

  @stub.function()
  square(x: number): number {
    return x * x;
  }

  @stub.function({ schedule: new Period({ minutes: 5 }) })
  heartbeat() {
    console.log(`heartbeat at ${new Date().toISOString()}`);
  }

  @stub.function({ schedule: new Cron("0 9 * * MON-FRI", { timezone: "Europe/Paris" }) })
  morningReport() {
    console.log("good morning");
  }
}
