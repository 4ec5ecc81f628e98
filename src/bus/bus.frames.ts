/** A `/ws/bus` frame in either direction (Cloudillo's BusMessage): all three fields required. */
export interface BusFrame {
  id: string;
  cmd: string;
  data: unknown;
}

export type BusFrameParse =
  | { ok: true; frame: BusFrame }
  | { ok: false; id: string | null; message: string };

/** Well-known server cmds (Cloudillo). Any other cmd a publisher sends is delivered as is. */
export const BUS_SERVER_CMDS = ['ACTION', 'notification', 'FILE_ID_GENERATED', 'DB_MAINTENANCE_DONE', 'SEARCH_REINDEX_DONE'] as const;

/** Sent before the newest messages when a lagging reader's outbox skipped some. */
export const BUS_LAGGED_CMD = 'LAGGED';
