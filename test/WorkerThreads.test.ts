/**
 * The worker-thread executor: the shared contract, then what only real workers can show — crashes, out-of-memory,
 * load errors, initializers, terminating stuck tasks, recycling and leaks.
 */
import { Executor } from "../src/index.ts"
import { contractSuite } from "./contract.ts"
import { workerSuite } from "./workerContract.ts"

contractSuite("layerWorkerThreads", (options) =>
  Executor.layerWorkerThreads({
    maxWorkers: options.workers,
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
  })
)

workerSuite("layerWorkerThreads", (options) => Executor.layerWorkerThreads(options))
