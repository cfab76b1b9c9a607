import type { AppRecord } from "../state/apps.repository";

/** "name (id)", or the id of an app without a name. */
export function describeApp(record: AppRecord): string {
  return record.name ? `${record.name} (${record.id})` : record.id;
}
