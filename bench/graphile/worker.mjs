// graphile-worker running no-op jobs, the peer of Workstream's job worker in
// bench/src/jobs.rs. The Rust side creates the jobs (the same way for both queues) and
// reads what this prints.
//
//   node worker.mjs <postgres-url> migrate
//       installs graphile-worker's schema and exits.
//   node worker.mjs <postgres-url> work <jobs> <concurrency>
//       prints "ready" once the runner listens, works `noop` jobs until <jobs> of them
//       ran, stops the runner, and prints one JSON line: for every job, when its task
//       started (epoch microseconds) and how long after its enqueue time `t` (from the
//       payload, epoch microseconds) that was.
import { performance } from "node:perf_hooks";
import { Logger, run, runMigrations } from "graphile-worker";

const [url, mode, jobsArg, concurrencyArg] = process.argv.slice(2);
// Warnings and errors only: per-job info lines would cost the peer time we measure.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile ${level}] ${message}`);
});
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

if (mode === "migrate") {
  await runMigrations({ connectionString: url, logger });
  process.exit(0);
}
if (mode !== "work") {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

const expected = Number(jobsArg);
const starts = [];
const latencies = [];
let allRan;
const finished = new Promise((resolve) => (allRan = resolve));
const runner = await run({
  connectionString: url,
  concurrency: Number(concurrencyArg),
  // Its pool must hold every slot plus the listener, as Workstream's does.
  maxPoolSize: Number(concurrencyArg) + 2,
  noHandleSignals: true,
  // graphile-worker's default; new jobs wake it through LISTEN/NOTIFY, as ours.
  pollInterval: 2000,
  logger,
  taskList: {
    noop: async (payload) => {
      const start = nowUs();
      starts.push(start);
      latencies.push(start - payload.t);
      if (starts.length === expected) allRan();
    },
  },
});
console.log("ready");
await finished;
await runner.stop();
// A write to a pipe is asynchronous: exit only once the whole line is out.
process.stdout.write(JSON.stringify({ starts_us: starts, latencies_us: latencies }) + "\n", () =>
  process.exit(0),
);
