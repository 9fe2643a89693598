/**
 * `workbus/bridge`: a pool, bus, tracker and store hosted in one place (a utility
 * process, a worker thread, a server) and seen and steered from another (a renderer, a
 * page) over a port, with a small versioned protocol of plain data.
 */
export {
  ProtocolError,
  ForbiddenError,
  DisconnectedError,
  RemoteError,
  type ProtocolFailure,
} from '../errors.js';
export {
  PROTOCOL_VERSION,
  RESYNC_TOPIC,
  DEFAULT_LIMITS,
  type BridgeAllow,
  type BridgeLimits,
  type ClientFrame,
  type ConnectionStats,
  type FailureList,
  type HostFrame,
  type HostSubscriptionStats,
  type Permissions,
  type RemoteCloseReason,
  type RemoteJobOptions,
  type Resync,
  type Welcome,
  type WireError,
  type WorkbusSnapshot,
} from './protocol.js';
export {
  browserPort,
  webSocketPort,
  type FramePort,
  type MessagePortLike,
  type WebSocketLike,
} from './port.js';
export {
  nodePort,
  electronPort,
  wsPort,
  type ElectronPortLike,
  type WsSocketLike,
} from './node-port.js';
export {
  serveWorkbus,
  type BridgeBus,
  type BridgeConnection,
  type RemoteTask,
  type ServeOptions,
} from './host.js';
export {
  connectWorkbus,
  WorkbusClient,
  type ConnectOptions,
  type PortSource,
  type RemoteJob,
  type RemoteSubmitOptions,
  type RemoteSubscribeOptions,
} from './client.js';
export {
  RemoteSubscription,
  type RemoteSubscriptionStats,
  type ResyncEnvelope,
} from './remote-subscription.js';
