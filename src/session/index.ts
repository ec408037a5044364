/** The session layer: editor-agnostic, plain Node. */
export * from './code';
export * from './network';
export * from './session';
export type { PeerInfo, PeerTransport, TransportEvents } from './transport';
export { createStreamLogger, silentLogger, childLogger, type Logger, type LogLevel } from './log';
export { PROTOCOL_VERSION, PROTOCOL_NAME, MAX_DATA_FRAME } from './wire';
