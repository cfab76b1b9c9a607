/** Where a worker's output outside calls (enter and exit hooks) goes: the AppManager. */
export interface WorkerOutputSink {
  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void;
}

/**
 * The dispatcher is built before the AppManager that uses it, yet reports its workers' output
 * to it: this relay is handed to the dispatcher and pointed at the AppManager once, so neither
 * needs a closure over a variable declared later.
 */
export class WorkerOutputRelay implements WorkerOutputSink {
  private sink: WorkerOutputSink | undefined;

  /** Sets where output goes; once. */
  attach(sink: WorkerOutputSink): void {
    if (this.sink) throw new Error("WorkerOutputRelay is already attached");
    this.sink = sink;
  }

  workerOutput(appId: string, functionName: string, stream: "stdout" | "stderr", data: string): void {
    this.sink?.workerOutput(appId, functionName, stream, data);
  }
}
