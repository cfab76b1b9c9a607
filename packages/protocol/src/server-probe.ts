/** Whether a stubrun server answers at `url`. */
export async function pingServer(url: string, timeoutMs = 1_000): Promise<boolean> {
  return (await probeServer(url, timeoutMs)) === "stubrun";
}

/** What answers at `url`: a stubrun server (its `/health` says so), something else, or nothing at all. */
export async function probeServer(url: string, timeoutMs = 1_000): Promise<"stubrun" | "other" | "nothing"> {
  let res: Response;
  try {
    res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return "nothing";
  }
  try {
    const body = (await res.json()) as { service?: string };
    return res.ok && body.service === "stubrun" ? "stubrun" : "other";
  } catch {
    return "other";
  }
}
