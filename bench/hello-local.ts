// The code of examples/hello.ts without stubrun: what `tsx` runs as the local baseline.
class Example {
  f() {
    console.log("Hello world!");
  }

  g() {
    console.log("Goodbye world!");
  }

  async main() {
    this.f();
  }
}

void new Example().main();
