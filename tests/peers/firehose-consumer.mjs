// A real firehose consumer: `@atproto/sync`'s Firehose follows a skyhold node's PDS stream and its
// relay stream at once while this script writes through `@atproto/api` (accounts, creates, updates,
// deletes, applyWrites, a handle change). The Firehose checks every #commit the way an App View does: the lexicon
// shape, the commit signature against the key that `@atproto/identity` resolves from the PLC
// directory, and an MST proof for every op (verifyProofs).
//
//   node firehose-consumer.mjs <pds url> <relay url> [plc directory url, default <pds>/plc]
//
// Fails (exit 1, `FAIL <step>: <reason>`) on any onError call (a validation, parse, subscription or
// handler error), on a commit whose verified ops differ from what was written, on seqs that go
// backwards, or when a stream misses a write within the timeout. Success prints one line of JSON:
// events per type for each stream. Run by tests/it/e2e/relay_consumer.rs.

import { randomBytes } from 'node:crypto'

import { AtpAgent } from '@atproto/api'
import { IdResolver } from '@atproto/identity'
import { Firehose } from '@atproto/sync'

const [pdsUrl, relayUrl] = process.argv.slice(2)
if (!/^https?:\/\//.test(pdsUrl ?? '') || !/^https?:\/\//.test(relayUrl ?? '')) {
  console.error('usage: node firehose-consumer.mjs <pds url> <relay url> [plc directory url]')
  process.exit(2)
}
const plcUrl = process.argv[4] ?? `${pdsUrl}/plc`
const wsUrl = (url) => url.replace(/^http/, 'ws')

let current = 'start'
const started = Date.now()
// The server must answer and the streams must deliver well within this; a hang fails the test.
const TIMEOUT_MS = 120_000
setTimeout(() => fail(`no progress within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS).unref()

function fail(reason) {
  console.error(`FAIL ${current}: ${reason}`)
  process.exit(1)
}

function check(condition, message) {
  if (!condition) fail(message)
}

function describeError(err) {
  if (err && typeof err === 'object' && 'status' in err && 'error' in err) {
    return `XRPC ${err.status} ${err.error}: ${err.message}`
  }
  const cause = err?.cause ? `\n  caused by: ${describeError(err.cause)}` : ''
  return `${err?.stack ?? String(err)}${cause}`
}

const opKey = (action, path, cid) => `${action} ${path} ${cid ?? 'null'}`

// What was written: commit CID → { did, rev, ops: sorted op keys }.
const written = new Map()
const accounts = new Map() // did → handle

function wrote(did, commit, ops) {
  check(commit?.cid && commit?.rev, `a write answered without its commit: ${JSON.stringify(commit)}`)
  written.set(commit.cid, { did, rev: commit.rev, ops: ops.map((o) => opKey(...o)).sort() })
}

/** One stream's view: events per type and every commit's verified ops. */
class StreamView {
  constructor(name, service, idResolver) {
    this.name = name
    this.counts = { create: 0, update: 0, delete: 0, identity: 0, account: 0, sync: 0 }
    this.commits = new Map() // commit CID → { did, rev, seq, ops }
    this.identities = new Map() // did → didDocument of the last #identity
    this.lastSeq = 0
    this.lastCommit = null
    this.firehose = new Firehose({
      service,
      idResolver,
      // From the start of the window: nothing written before the socket opened is missed. A
      // reconnect is reported through onError first, so it cannot replay silently.
      getCursor: () => 0,
      // Commits are authenticated (signature + MST proofs); handles are not resolved over DNS.
      unauthenticatedCommits: false,
      unauthenticatedHandles: true,
      handleEvent: (evt) => this.handle(evt),
      onError: (err) => fail(`${this.name} stream onError: ${describeError(err)}`),
    })
  }

  handle(evt) {
    this.counts[evt.event] = (this.counts[evt.event] ?? 0) + 1
    // seq never goes backwards; several events of one commit share its seq.
    const commit = evt.commit?.toString() ?? null
    check(
      evt.seq > this.lastSeq || (evt.seq === this.lastSeq && commit !== null && commit === this.lastCommit),
      `${this.name}: seq ${evt.seq} (${evt.event}) after ${this.lastSeq}`,
    )
    this.lastSeq = evt.seq
    this.lastCommit = commit
    if (evt.event === 'identity') {
      this.identities.set(evt.did, evt.didDocument)
      return
    }
    if (!['create', 'update', 'delete'].includes(evt.event)) return
    let seen = this.commits.get(commit)
    if (!seen) {
      seen = { did: evt.did, rev: evt.rev, seq: evt.seq, ops: [] }
      this.commits.set(commit, seen)
    }
    check(seen.seq === evt.seq, `${this.name}: commit ${commit} under seqs ${seen.seq} and ${evt.seq}`)
    seen.ops.push(opKey(evt.event, `${evt.collection}/${evt.rkey}`, evt.cid?.toString()))
  }

  missing() {
    return [...written.keys()].filter((cid) => !this.commits.has(cid))
  }

  /** Every written commit arrived with exactly its ops (Firehose drops ops whose proof fails). */
  verify() {
    for (const [cid, want] of written) {
      const got = this.commits.get(cid)
      check(got, `${this.name}: commit ${cid} (${want.did} rev ${want.rev}) never arrived`)
      check(got.did === want.did && got.rev === want.rev, `${this.name}: commit ${cid} is ${got.did} rev ${got.rev}`)
      const ops = [...got.ops].sort()
      check(
        JSON.stringify(ops) === JSON.stringify(want.ops),
        `${this.name}: commit ${cid} carried verified ops ${JSON.stringify(ops)}, wrote ${JSON.stringify(want.ops)}`,
      )
    }
    for (const [cid, got] of this.commits) {
      check(written.has(cid) || !accounts.has(got.did), `${this.name}: commit ${cid} of ${got.did} was never written`)
    }
    // Within a repo, commits arrive in the order they were written (revs only grow).
    const byDid = new Map()
    for (const got of [...this.commits.values()].sort((a, b) => a.seq - b.seq)) {
      const last = byDid.get(got.did)
      check(!last || got.rev > last, `${this.name}: ${got.did} rev ${got.rev} after ${last}`)
      byDid.set(got.did, got.rev)
    }
    for (const [did, handle] of accounts) {
      const doc = this.identities.get(did)
      check(doc, `${this.name}: no #identity event for ${did}`)
      check(
        doc.alsoKnownAs?.includes(`at://${handle}`),
        `${this.name}: the DID document of ${did} says ${JSON.stringify(doc.alsoKnownAs)}, not ${handle}`,
      )
    }
  }

  summary() {
    return { ...this.counts, commits: this.commits.size, lastSeq: this.lastSeq }
  }
}

async function main() {
  const idResolver = new IdResolver({ plcUrl, fetch: globalThis.fetch })
  const streams = [
    new StreamView('pds', wsUrl(pdsUrl), idResolver),
    new StreamView('relay', wsUrl(relayUrl), idResolver),
  ]
  for (const stream of streams) stream.firehose.start()

  current = 'createAccount'
  const agent = new AtpAgent({ service: pdsUrl })
  const { data: server } = await agent.com.atproto.server.describeServer()
  const domain = server.availableUserDomains[0].replace(/^\.?/, '.')
  const suffix = randomBytes(3).toString('hex')
  const agents = {}
  for (const name of ['alice', 'bob']) {
    const a = new AtpAgent({ service: pdsUrl })
    const handle = `${name}-${suffix}${domain}`
    await a.createAccount({ handle, email: `${handle}@example.com`, password: `${name}-pw-${suffix}-long` })
    accounts.set(a.session.did, handle)
    agents[name] = a
  }
  const { alice, bob } = agents
  const aliceDid = alice.session.did
  const bobDid = bob.session.did
  const now = () => new Date().toISOString()
  const repo = alice.com.atproto.repo
  const pathOf = (uri) => uri.split('/').slice(-2).join('/')

  current = 'createRecord'
  const posts = []
  for (let i = 0; i < 3; i++) {
    const { data } = await repo.createRecord({
      repo: aliceDid,
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text: `post ${i}`, createdAt: now() },
    })
    wrote(aliceDid, data.commit, [['create', pathOf(data.uri), data.cid]])
    posts.push(data)
  }
  const bobPost = await bob.com.atproto.repo.createRecord({
    repo: bobDid,
    collection: 'app.bsky.feed.post',
    record: { $type: 'app.bsky.feed.post', text: 'bob was here', createdAt: now() },
  })
  wrote(bobDid, bobPost.data.commit, [['create', pathOf(bobPost.data.uri), bobPost.data.cid]])
  const follow = await bob.com.atproto.repo.createRecord({
    repo: bobDid,
    collection: 'app.bsky.graph.follow',
    record: { $type: 'app.bsky.graph.follow', subject: aliceDid, createdAt: now() },
  })
  wrote(bobDid, follow.data.commit, [['create', pathOf(follow.data.uri), follow.data.cid]])

  current = 'putRecord (create, then update)'
  const profilePath = 'app.bsky.actor.profile/self'
  for (const [action, displayName] of [
    ['create', 'Alice'],
    ['update', 'Alice, edited'],
  ]) {
    const { data } = await repo.putRecord({
      repo: aliceDid,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName },
    })
    wrote(aliceDid, data.commit, [[action, profilePath, data.cid]])
  }

  current = 'deleteRecord'
  const like = await repo.createRecord({
    repo: aliceDid,
    collection: 'app.bsky.feed.like',
    record: {
      $type: 'app.bsky.feed.like',
      subject: { uri: bobPost.data.uri, cid: bobPost.data.cid },
      createdAt: now(),
    },
  })
  wrote(aliceDid, like.data.commit, [['create', pathOf(like.data.uri), like.data.cid]])
  const deleted = await repo.deleteRecord({
    repo: aliceDid,
    collection: 'app.bsky.feed.like',
    rkey: like.data.uri.split('/').pop(),
  })
  wrote(aliceDid, deleted.data.commit, [['delete', pathOf(like.data.uri), null]])

  current = 'applyWrites'
  const batch = await repo.applyWrites({
    repo: aliceDid,
    writes: [
      {
        $type: 'com.atproto.repo.applyWrites#create',
        collection: 'app.bsky.feed.post',
        value: { $type: 'app.bsky.feed.post', text: 'from applyWrites', createdAt: now() },
      },
      {
        $type: 'com.atproto.repo.applyWrites#update',
        collection: 'app.bsky.actor.profile',
        rkey: 'self',
        value: { $type: 'app.bsky.actor.profile', displayName: 'Alice, batched' },
      },
      {
        $type: 'com.atproto.repo.applyWrites#delete',
        collection: 'app.bsky.feed.post',
        rkey: posts[0].uri.split('/').pop(),
      },
    ],
  })
  const [created, updated] = batch.data.results ?? []
  check(created?.uri && updated?.cid, `applyWrites results ${JSON.stringify(batch.data.results)}`)
  wrote(aliceDid, batch.data.commit, [
    ['create', pathOf(created.uri), created.cid],
    ['update', profilePath, updated.cid],
    ['delete', pathOf(posts[0].uri), null],
  ])
  // A batch of creates in another repo, interleaved with the rest.
  const bobBatch = await bob.com.atproto.repo.applyWrites({
    repo: bobDid,
    writes: [1, 2].map((i) => ({
      $type: 'com.atproto.repo.applyWrites#create',
      collection: 'app.bsky.feed.post',
      value: { $type: 'app.bsky.feed.post', text: `batched ${i}`, createdAt: now() },
    })),
  })
  wrote(
    bobDid,
    bobBatch.data.commit,
    bobBatch.data.results.map((r) => ['create', pathOf(r.uri), r.cid]),
  )

  current = 'updateHandle'
  // An #identity event; the commit after it shows when both streams have passed it.
  const renamed = `alice2-${suffix}${domain}`
  await alice.com.atproto.identity.updateHandle({ handle: renamed })
  accounts.set(aliceDid, renamed)
  const after = await bob.com.atproto.repo.createRecord({
    repo: bobDid,
    collection: 'app.bsky.feed.post',
    record: { $type: 'app.bsky.feed.post', text: 'after the rename', createdAt: now() },
  })
  wrote(bobDid, after.data.commit, [['create', pathOf(after.data.uri), after.data.cid]])

  current = 'waiting for both streams'
  const writesDone = Date.now()
  for (;;) {
    const missing = streams.flatMap((s) => s.missing().map((cid) => `${s.name}:${cid}`))
    if (missing.length === 0) break
    if (Date.now() - writesDone > 60_000) fail(`still missing after 60 s: ${missing.join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const caughtUpMs = Date.now() - writesDone
  await Promise.all(streams.map((s) => s.firehose.destroy()))

  current = 'checking what arrived'
  for (const stream of streams) stream.verify()
  const [pds, relay] = streams.map((s) => s.summary())
  for (const type of ['create', 'update', 'delete', 'identity', 'account']) {
    check(pds[type] === relay[type], `${type} events: pds stream ${pds[type]}, relay stream ${relay[type]}`)
  }
  console.log(
    JSON.stringify({
      ok: true,
      commitsWritten: written.size,
      opsWritten: [...written.values()].reduce((n, c) => n + c.ops.length, 0),
      pds,
      relay,
      caughtUpMs,
      ms: Date.now() - started,
    }),
  )
  process.exit(0)
}

main().catch((err) => fail(describeError(err)))
