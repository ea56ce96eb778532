// The worker module piscina and tinypool run: plain JavaScript, so the peers need no TypeScript support.
const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2))

export default function run(message) {
  switch (message.kind) {
    case "noop":
      return message.value
    case "fib":
      return fib(message.value)
    case "batch":
      return message.values.map((v) => v * 2)
    case "batchObjects":
      return message.values.map(({ name, x, y }) => ({ name, x: x + y, y }))
    case "spin": {
      // A CPU-bound task that never yields: only terminating the worker stops it.
      for (;;) Math.sqrt(message.value)
    }
    case "stamp":
      return performance.timeOrigin + performance.now()
  }
}
