/**
 * The child-process executor: the shared executor and worker contracts, then what only processes can show.
 */
import { Executor } from "../src/index.ts"
import { contractSuite } from "./contract.ts"
import { workerSuite } from "./workerContract.ts"

contractSuite("layerProcesses", (options) =>
  Executor.layerProcesses({
    maxWorkers: options.workers,
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.onFull !== undefined ? { onFull: options.onFull } : {})
  }))

workerSuite("layerProcesses", (options) => Executor.layerProcesses(options))
