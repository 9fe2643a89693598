export {
  WorkbusError,
  AbortError,
  TimeoutError,
  ClosedError,
  QueueFullError,
  SubscriberLimitError,
  TaskError,
  NonRetryableError,
  LockOrderError,
  LockHeldWhileWaitingError,
  LifecycleError,
  WorkerError,
  FileLockedError,
  LockCompromisedError,
  NotFoundError,
  DuplicateFeedError,
  StoreError,
  StoreBusyError,
  StoreCorruptError,
  StoreLockedError,
  StoreSchemaError,
  JobSkippedError,
  type WorkbusErrorCode,
  type LockOrderEdge,
} from './errors.js';
export {
  isAbortError,
  abortErrorOf,
  throwIfAborted,
  LinkedSignal,
  waitForAbort,
  sleep,
  type AbortOptions,
  type LinkedSignalOptions,
} from './abort.js';
export { Semaphore, type SemaphoreRunOptions } from './sync/semaphore.js';
export { lockdep } from './sync/lockdep.js';
export { Mutex } from './sync/mutex.js';
export { RWLock } from './sync/rwlock.js';
export { KeyedMutex } from './sync/keyed-mutex.js';
export { KeyedSemaphore, type KeyedSemaphoreOptions } from './sync/keyed-semaphore.js';
export { SingleFlight } from './sync/singleflight.js';
export type { Permit } from './sync/permit.js';
export type { LockOptions } from './sync/lock-options.js';
export {
  Channel,
  type ChannelOptions,
  type ChannelStats,
  type ReceiveResult,
  type WhenFull,
} from './channel/channel.js';
export { RingBuffer } from './history/ring-buffer.js';
export {
  EventBus,
  type AllTopics,
  type EventBusOptions,
  type SubscribeOptions,
  type SubscriberView,
} from './bus/event-bus.js';
export type {
  Subscription,
  SubscriberWhenFull,
  SubscriptionCloseReason,
  SubscriptionPort,
  SubscriptionStats,
} from './bus/subscription.js';
export type { Envelope, EnvelopeOf, Topic } from './bus/envelope.js';
export { WorkPool } from './pool/work-pool.js';
export type {
  TaskType,
  TypeName,
  WorkerInput,
  WorkerInputOf,
  WorkerResultOf,
  WorkerType,
} from './pool/job-types.js';
export type { CloseOptions, PoolSnapshot, SnapshotOptions, TypeLoad } from './pool/snapshot.js';
export {
  workerModule,
  workerTask,
  type AnyWorkerModule,
  type WorkerModule,
  type WorkerTaskContext,
  type WorkerTaskFunction,
} from './pool/worker-task.js';
export type {
  Job,
  ErrorView,
  JobOptions,
  JobStatus,
  JobView,
  RetryOptions,
  Task,
  TaskContext,
} from './pool/job.js';
export type {
  AgingOptions,
  JobDefaults,
  JobTypeOptions,
  JobTypesOptions,
  QueueOptions,
  RateLimit,
  WorkPoolOptions,
} from './pool/options.js';
export type { CloseReport, PoolEvents, PoolEventSink } from './pool/events.js';
export type { KeyHold, KeyTracker, TrackedRun, TrackerCallOptions } from './pool/tracking.js';
export {
  Lifecycle,
  type AddOptions,
  type Component,
  type ComponentStopReport,
  type LifecycleOptions,
  type StartContext,
  type StopContext,
  type StopReport,
} from './lifecycle/lifecycle.js';
export { writeFileAtomic } from './fs/atomic-file.js';
export {
  withFileLock,
  tryWithFileLock,
  type FileLockOptions,
  type FileLockTask,
} from './fs/file-lock.js';
export { Database } from './store/database.js';
export {
  FailureTracker,
  type FailureRecord,
  type FailureTrackerOptions,
  type RecordFailureOptions,
} from './store/failure-tracker.js';
export type { CallOptions, DatabaseOptions } from './store/options.js';
export type { SlowCall, StoreHealth } from './store/health.js';
export type { DatabaseOwner } from './store/owner-lock.js';
export type {
  Migration,
  Row,
  RunResult,
  SqlParams,
  SqlValue,
  Statement,
} from './store/protocol.js';
