// Moves an account from one PDS to another and back with `@atproto/api` calls only, the way a
// migration tool does (the account-migration guide): service auth from the old host, createAccount
// with the existing DID, importRepo, the missing blobs, preferences, a PLC operation signed by the
// old host and submitted by the new one, activation, deactivation of the old copy. Each leg checks
// that the new host serves the same records and blobs, that the DID document names it, that the
// old host reports the account deactivated, and that the new host's export verifies with
// `@atproto/repo` against the key in the DID document.
//
//   node migrate.mjs <pds A url> <pds B url> <admin password> <plc directory url>
//
// Both nodes must use the same PLC directory and admin password. Email codes are read from each
// node's admin view (`GET /admin/codes`), as a member without mail would get them from the admin.
// The first failure prints `FAIL <step>: <reason>` and exits 1; success prints one line of JSON.

import { randomBytes } from 'node:crypto'

import { AtpAgent } from '@atproto/api'
import { IdResolver } from '@atproto/identity'
import { verifyRepoCar } from '@atproto/repo'

import { bytesEqual, check, png, run, started, step, stepMs } from './common.mjs'

const [urlA, urlB, adminPassword, plcUrl] = process.argv.slice(2)
if (![urlA, urlB, plcUrl].every((u) => /^https?:\/\//.test(u ?? '')) || !adminPassword) {
  console.error('usage: node migrate.mjs <pds A url> <pds B url> <admin password> <plc directory url>')
  process.exit(2)
}

const resolver = new IdResolver({ plcUrl, fetch: globalThis.fetch })

/** The one code of `purpose` waiting for `did` on the node at `url`. */
async function adminCode(url, did, purpose) {
  const response = await fetch(`${url}/admin/codes`, {
    headers: { authorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}` },
  })
  check(response.ok, `GET ${url}/admin/codes answered ${response.status}`)
  const { codes } = await response.json()
  const code = codes.find((c) => c.did === did && c.purpose === purpose)
  check(code, `no ${purpose} code for ${did} at ${url}: ${JSON.stringify(codes)}`)
  return code.token
}

/** Every record of the repo, as `collection/rkey → cid`. */
async function recordMap(agent, did) {
  const { data } = await agent.com.atproto.repo.describeRepo({ repo: did })
  const out = {}
  for (const collection of data.collections) {
    let cursor
    do {
      const page = await agent.com.atproto.repo.listRecords({ repo: did, collection, limit: 100, cursor })
      for (const r of page.data.records) out[r.uri.split('/').slice(3).join('/')] = r.cid
      cursor = page.data.cursor
    } while (cursor)
  }
  return out
}

async function repoStatus(agent, did) {
  return (await agent.com.atproto.sync.getRepoStatus({ did })).data
}

/** Moves `account` from `from` to `to`. `existing`: the account already exists (deactivated) there. */
async function migrate(label, account, from, to, existing) {
  const oldAgent = new AtpAgent({ service: from })
  const newAgent = new AtpAgent({ service: to })
  await step(`${label}: log in to the old host`, () =>
    oldAgent.login({ identifier: account.did, password: account.password }),
  )
  const before = await step(`${label}: records on the old host`, () => recordMap(oldAgent, account.did))

  if (existing) {
    await step(`${label}: log in to the new host (deactivated copy)`, async () => {
      const { data } = await newAgent.login({ identifier: account.did, password: account.password })
      check(data.active === false && data.status === 'deactivated', `session says ${JSON.stringify(data)}`)
    })
  } else {
    await step(`${label}: createAccount with the existing DID and service auth`, async () => {
      const { data: server } = await newAgent.com.atproto.server.describeServer()
      const { data: auth } = await oldAgent.com.atproto.server.getServiceAuth({
        aud: server.did,
        lxm: 'com.atproto.server.createAccount',
      })
      const { data } = await newAgent.com.atproto.server.createAccount(
        { handle: account.handle, email: account.email, password: account.password, did: account.did },
        { headers: { authorization: `Bearer ${auth.token}` }, encoding: 'application/json' },
      )
      check(data.did === account.did, `createAccount returned ${data.did}`)
      await newAgent.login({ identifier: account.did, password: account.password })
      const status = await repoStatus(newAgent, account.did)
      check(status.active === false && status.status === 'deactivated', `new copy: ${JSON.stringify(status)}`)
    })
  }

  await step(`${label}: import the repo`, async () => {
    const { data: car } = await oldAgent.com.atproto.sync.getRepo({ did: account.did })
    await newAgent.com.atproto.repo.importRepo(car, { encoding: 'application/vnd.ipld.car' })
  })

  const moved = await step(`${label}: upload the missing blobs`, async () => {
    let count = 0
    let cursor
    do {
      const { data } = await newAgent.com.atproto.repo.listMissingBlobs({ cursor, limit: 100 })
      for (const blob of data.blobs) {
        const { data: bytes, headers } = await oldAgent.com.atproto.sync.getBlob({ did: account.did, cid: blob.cid })
        await newAgent.com.atproto.repo.uploadBlob(bytes, { encoding: headers['content-type'] })
        count += 1
      }
      cursor = data.cursor
    } while (cursor)
    const { data } = await newAgent.com.atproto.repo.listMissingBlobs({})
    check(data.blobs.length === 0, `still missing: ${JSON.stringify(data.blobs)}`)
    return count
  })

  await step(`${label}: copy preferences`, async () => {
    const { data } = await oldAgent.app.bsky.actor.getPreferences()
    await newAgent.app.bsky.actor.putPreferences({ preferences: data.preferences })
  })

  await step(`${label}: point the DID at the new host`, async () => {
    const { data: creds } = await newAgent.com.atproto.identity.getRecommendedDidCredentials()
    await oldAgent.com.atproto.identity.requestPlcOperationSignature()
    const token = await adminCode(from, account.did, 'plc_operation')
    const { data } = await oldAgent.com.atproto.identity.signPlcOperation({ token, ...creds })
    await newAgent.com.atproto.identity.submitPlcOperation({ operation: data.operation })
  })

  await step(`${label}: check the account before activation`, async () => {
    const { data } = await newAgent.com.atproto.server.checkAccountStatus()
    check(data.validDid === true, `validDid is ${data.validDid}`)
    check(data.activated === false, 'activated before activateAccount')
    check(data.expectedBlobs === data.importedBlobs, `blobs ${data.importedBlobs}/${data.expectedBlobs}`)
    check(data.indexedRecords === Object.keys(before).length, `indexedRecords ${data.indexedRecords}`)
  })

  await step(`${label}: activate the new copy, deactivate the old`, async () => {
    await newAgent.com.atproto.server.activateAccount()
    await oldAgent.com.atproto.server.deactivateAccount({})
  })

  const checked = await step(`${label}: the new host serves the account`, async () => {
    const atproto = await resolver.did.resolveAtprotoData(account.did, true)
    check(atproto.pds === to, `DID document names ${atproto.pds}, not ${to}`)
    check(atproto.handle === account.handle, `DID document says handle ${atproto.handle}`)
    const newStatus = await repoStatus(newAgent, account.did)
    check(newStatus.active === true, `new host status ${JSON.stringify(newStatus)}`)
    const oldStatus = await repoStatus(oldAgent, account.did)
    check(oldStatus.active === false && oldStatus.status === 'deactivated', `old host status ${JSON.stringify(oldStatus)}`)
    const after = await recordMap(newAgent, account.did)
    check(JSON.stringify(after) === JSON.stringify(before), `records differ:\n  old ${JSON.stringify(before)}\n  new ${JSON.stringify(after)}`)
    for (const blob of account.blobs) {
      const { data } = await newAgent.com.atproto.sync.getBlob({ did: account.did, cid: blob.cid })
      check(bytesEqual(new Uint8Array(data), blob.bytes), `blob ${blob.cid} differs on the new host`)
    }
    let refused = false
    try {
      await oldAgent.com.atproto.repo.getRecord({ repo: account.did, collection: 'app.bsky.feed.post', rkey: account.firstPost })
    } catch (err) {
      refused = err?.status === 400
    }
    check(refused, 'the old host still serves records of the deactivated account')
    const { data: car } = await newAgent.com.atproto.sync.getRepo({ did: account.did })
    const repo = await verifyRepoCar(new Uint8Array(car), account.did, atproto.signingKey)
    check(repo.creates.length === Object.keys(before).length, `export holds ${repo.creates.length} records`)
    const session = await newAgent.com.atproto.server.getSession()
    check(session.data.active === true, 'session on the new host is not active')
    return { records: repo.creates.length, rev: repo.commit.rev }
  })
  return { moved, ...checked, agent: newAgent }
}

async function main() {
  const agentA = new AtpAgent({ service: urlA })
  const { data: server } = await agentA.com.atproto.server.describeServer()
  const domain = server.availableUserDomains[0].replace(/^\.?/, '.')
  const suffix = randomBytes(3).toString('hex')
  const alice = {
    handle: `alice-${suffix}${domain}`,
    email: `alice-${suffix}@example.com`,
    password: `alice-pw-${suffix}-long`,
    blobs: [],
  }
  const bob = { handle: `bob-${suffix}${domain}`, email: `bob-${suffix}@example.com`, password: `bob-pw-${suffix}-long` }

  await step('accounts on A', async () => {
    for (const who of [alice, bob]) {
      const { data } = await new AtpAgent({ service: urlA }).com.atproto.server.createAccount({
        handle: who.handle,
        email: who.email,
        password: who.password,
      })
      who.did = data.did
    }
    await agentA.login({ identifier: alice.handle, password: alice.password })
  })

  await step('posts, an image, a follow, a profile and preferences on A', async () => {
    const first = await agentA.post({ text: 'first post before moving', createdAt: new Date().toISOString() })
    alice.firstPost = first.uri.split('/').pop()
    const image = png(16, 16, [200, 40, 40])
    const { data: uploaded } = await agentA.uploadBlob(image, { encoding: 'image/png' })
    alice.blobs.push({ cid: uploaded.blob.ref.toString(), bytes: image })
    await agentA.post({
      text: 'a picture',
      embed: { $type: 'app.bsky.embed.images', images: [{ image: uploaded.blob, alt: 'red square' }] },
      createdAt: new Date().toISOString(),
    })
    const avatar = png(8, 8, [20, 20, 220])
    const { data: avatarBlob } = await agentA.uploadBlob(avatar, { encoding: 'image/png' })
    alice.blobs.push({ cid: avatarBlob.blob.ref.toString(), bytes: avatar })
    await agentA.upsertProfile(() => ({ displayName: 'Alice', avatar: avatarBlob.blob }))
    await agentA.follow(bob.did)
    await agentA.app.bsky.actor.putPreferences({
      preferences: [{ $type: 'app.bsky.actor.defs#adultContentPref', enabled: false }],
    })
  })

  const there = await migrate('A→B', alice, urlA, urlB, false)

  await step('post on B after the move', async () => {
    const post = await there.agent.post({ text: 'hello from the new host', createdAt: new Date().toISOString() })
    check(post.uri.startsWith(`at://${alice.did}/`), `post uri ${post.uri}`)
    const image = png(4, 4, [10, 200, 10])
    const { data } = await there.agent.uploadBlob(image, { encoding: 'image/png' })
    alice.blobs.push({ cid: data.blob.ref.toString(), bytes: image })
    await there.agent.post({
      text: 'a picture from B',
      embed: { $type: 'app.bsky.embed.images', images: [{ image: data.blob, alt: 'green square' }] },
      createdAt: new Date().toISOString(),
    })
  })

  const back = await migrate('B→A', alice, urlB, urlA, true)

  console.log(
    JSON.stringify({
      ok: true,
      did: alice.did,
      there: { records: there.records, blobsMoved: there.moved, rev: there.rev },
      back: { records: back.records, blobsMoved: back.moved, rev: back.rev },
      ms: Date.now() - started,
      stepMs,
    }),
  )
}

run(main, 180_000)
