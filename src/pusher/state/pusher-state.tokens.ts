/**
 * DI tokens of the Pusher state that must be cluster-wide. Each has an in-memory implementation
 * (single node, `memory-*.ts`); the cluster transports (issue 5) provide Redis/NATS-backed ones by
 * overriding these tokens in `PusherStateModule`.
 */
export const PRESENCE_STORE = Symbol('PresenceStore');
export const CHANNEL_OCCUPANCY = Symbol('ChannelOccupancy');
export const CONNECTION_COUNTER = Symbol('ConnectionCounter');
export const CHANNEL_CACHE = Symbol('ChannelCache');
export const ONLINE_USERS = Symbol('OnlineUsers');
