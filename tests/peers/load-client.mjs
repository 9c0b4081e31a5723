// The official client's side of the load bench (benches/load.rs): the same createRecord phases as
// the bench's own light client, driven through `@atproto/api`'s `AtpAgent.post`, the way an app
// writes a post (client-side record building and lexicon validation, Node's fetch, keep-alive).
//
//   node load-client.mjs <pds url> <warm-up writes> <sequential writes> <clients> <accounts> <writes per client>
//
// A line protocol on stdin/stdout lets the bench read the server's CPU and commit counters around
// each phase and nothing else: the script creates its accounts (sign-ups are not part of a
// phase), prints `ready`, then for each line `sequential` or `concurrent` read from stdin runs that
// phase and prints one line of JSON: {"count", "elapsedMs", "latenciesMs": [...], "clientCpuMs"}.
// It exits when stdin closes. Any failed request prints `FAIL <reason>` on stderr and exits 1.

import { createInterface } from 'node:readline'

import { AtpAgent } from '@atproto/api'

const [pdsUrl, ...numbers] = process.argv.slice(2)
const [warmup, sequentialWrites, clients, accounts, writesPerClient] = numbers.map(Number)
if (!/^https?:\/\//.test(pdsUrl ?? '') || numbers.length !== 5 || numbers.some((n) => !(Number(n) >= 0))) {
  console.error(
    'usage: node load-client.mjs <pds url> <warm-up writes> <sequential writes> <clients> <accounts> <writes per client>',
  )
  process.exit(2)
}

const password = 'official-load-client-password'
// Unique per run, so one server can be driven twice; short, as the reference PDS limits handles.
const suffix = Date.now().toString(36).slice(-6)

async function signUp(name) {
  const agent = new AtpAgent({ service: pdsUrl })
  await agent.createAccount({
    handle: `${name}${suffix}.test`,
    email: `${name}${suffix}@example.com`,
    password,
  })
  return agent
}

// The light client's record, through the official client's post helper.
const post = (agent, n) =>
  agent.post({
    text: `load test post number ${n}: a short message of ordinary length`,
    createdAt: '2026-01-01T00:00:00.000Z',
    langs: ['en'],
  })

async function timed(agent, n, latencies) {
  const one = performance.now()
  await post(agent, n)
  latencies.push(performance.now() - one)
}

async function sequential(agent) {
  for (let n = 0; n < warmup; n++) await post(agent, n)
  const latencies = []
  const started = performance.now()
  const cpu = process.cpuUsage()
  for (let n = 0; n < sequentialWrites; n++) await timed(agent, n, latencies)
  return answer(latencies, started, cpu)
}

async function concurrent(agents) {
  const latencies = []
  const started = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const agent = agents[c % agents.length]
      for (let n = 0; n < writesPerClient; n++) await timed(agent, c * writesPerClient + n, latencies)
    }),
  )
  return answer(latencies, started, cpu)
}

// A phase's answer: its writes, its wall time, each write's latency, and the CPU this process spent
// on them (the client's own cost: on 2 cores it competes with the server's).
function answer(latencies, started, cpu) {
  const spent = process.cpuUsage(cpu)
  return {
    count: latencies.length,
    elapsedMs: performance.now() - started,
    latenciesMs: latencies,
    clientCpuMs: (spent.user + spent.system) / 1000,
  }
}

async function main() {
  // One at a time, as the light client signs up: a burst of sign-ups is not what this measures.
  const single = await signUp('os')
  const many = []
  for (let a = 0; a < accounts; a++) many.push(await signUp(`oc${a}`))
  console.log('ready')
  for await (const line of createInterface({ input: process.stdin })) {
    const phase = line.trim()
    if (phase === 'sequential') console.log(JSON.stringify(await sequential(single)))
    else if (phase === 'concurrent') console.log(JSON.stringify(await concurrent(many)))
    else throw new Error(`unknown phase ${JSON.stringify(phase)}`)
  }
}

main().catch((err) => {
  const detail = err && typeof err === 'object' && 'status' in err ? `XRPC ${err.status} ${err.error}: ${err.message}` : err?.stack
  console.error(`FAIL ${detail ?? err}`)
  process.exit(1)
})
