import { clientToken, RequestRefusedError, ServerUnavailableError, tokenRefusedMessage } from "@stubrun/protocol";

/**
 * One request to the server's HTTP API (`/api/...`) with this process's credential (see
 * `clientToken`): the response when it is 2xx, else an error that says what was wrong (an
 * unknown id is a RequestRefusedError with the server's message).
 */
export async function apiFetch(serverUrl: string, path: string, init: { method?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const credential = clientToken(serverUrl);
  let res: Response;
  try {
    res = await fetch(`${serverUrl}${path}`, {
      method: init.method ?? "GET",
      headers: credential ? { authorization: `Bearer ${credential.token}` } : {},
      signal: init.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ServerUnavailableError(`cannot reach the stubrun server at ${serverUrl} (${cause?.code ?? cause?.message ?? (error as Error).message}): check that it runs and STUBRUN_SERVER_URL is right`, { cause: error });
  }
  if (res.ok) return res;
  if (res.status === 401) throw new ServerUnavailableError(tokenRefusedMessage(serverUrl, credential));
  const why = ((await res.json().catch(() => ({}))) as { error?: unknown }).error;
  const message = typeof why === "string" ? why : `the server at ${serverUrl} answered ${path} with HTTP ${res.status}`;
  throw res.status === 404 ? new RequestRefusedError(message) : new ServerUnavailableError(message);
}

/** Server-sent events from a response body, as `{ event, data }` pairs (data parsed as JSON). */
export async function* serverSentEvents(res: Response): AsyncGenerator<{ event: string; data: unknown }> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join("\n")) as unknown };
    }
  }
}
