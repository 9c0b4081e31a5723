// Drives a PDS with the official client library, `@atproto/api`, the way an app does: accounts,
// sessions, posts with images, likes, follows, profiles, app passwords. Then it exports the repo
// and verifies it with `@atproto/repo`, checking the commit signature against the key in the DID
// document that `@atproto/identity` resolves from the PLC directory at `<pds>/plc`.
//
//   node pds-client.mjs http://localhost:2583 [plc directory URL, default <pds>/plc]
//
// Every step is asserted. The first failure prints `FAIL <step>: <reason>` and exits 1; success
// prints one line of JSON and exits 0. Run by tests/it/e2e/atproto_api.rs.

import { randomBytes } from 'node:crypto'

import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { IdResolver } from '@atproto/identity'
import { cborToLexRecord, readCarWithRoot, verifyRepoCar } from '@atproto/repo'

import {
  bytesEqual,
  check,
  checkSameRecord,
  expectXrpcError,
  png,
  run,
  started,
  step,
  stepMs,
} from './common.mjs'

const pdsUrl = process.argv[2]
if (!pdsUrl || !/^https?:\/\//.test(pdsUrl)) {
  console.error('usage: node pds-client.mjs <pds url, e.g. http://localhost:2583> [plc directory url]')
  process.exit(2)
}
// skyhold embeds its PLC directory at <pds>/plc; the reference PDS (for checking this script) uses
// a separate one.
const plcUrl = process.argv[3] ?? `${pdsUrl}/plc`

const rkeyOf = (uri) => uri.split('/').pop()
const newAgent = () => new AtpAgent({ service: pdsUrl })

async function main() {
  const server = await step('describeServer', async () => {
    const { data } = await newAgent().com.atproto.server.describeServer()
    check(data.did?.startsWith('did:'), `describeServer.did is ${data.did}`)
    check(data.availableUserDomains?.length > 0, 'describeServer lists no availableUserDomains')
    check(!data.inviteCodeRequired, 'the node requires invite codes; start it in local mode')
    return data
  })
  const domain = server.availableUserDomains[0].replace(/^\.?/, '.')
  const suffix = randomBytes(3).toString('hex')
  const alice = { handle: `alice-${suffix}${domain}`, password: `alice-pw-${suffix}-long` }
  const bob = { handle: `bob-${suffix}${domain}`, password: `bob-pw-${suffix}-long` }

  await step('createAccount', async () => {
    for (const who of [alice, bob]) {
      const agent = newAgent()
      const { data } = await agent.createAccount({
        handle: who.handle,
        email: `${who.handle}@example.com`,
        password: who.password,
      })
      check(data.handle === who.handle, `createAccount returned handle ${data.handle}, asked for ${who.handle}`)
      check(data.did.startsWith('did:plc:'), `createAccount returned DID ${data.did}`)
      check(data.accessJwt && data.refreshJwt, 'createAccount returned no tokens')
      check(agent.session?.did === data.did, 'the agent did not take the new session')
      who.did = data.did
    }
  })

  const agent = newAgent()
  let sessionDidDoc
  await step('login', async () => {
    const { data } = await agent.login({ identifier: alice.handle, password: alice.password })
    check(data.did === alice.did, `login returned DID ${data.did}, expected ${alice.did}`)
    check(data.handle === alice.handle, `login returned handle ${data.handle}`)
    // didDoc is optional (the reference PDS omits it when it cannot resolve the DID). When it is
    // there, the agent sends later calls to the PDS it names, so that must be this node.
    sessionDidDoc = Boolean(data.didDoc)
    if (sessionDidDoc) {
      check(
        agent.pdsUrl?.origin === new URL(pdsUrl).origin,
        `the DID document names PDS ${agent.pdsUrl}, but the client talks to ${pdsUrl}`,
      )
    }
    const byDid = newAgent()
    const { data: again } = await byDid.login({ identifier: alice.did, password: alice.password })
    check(again.did === alice.did, 'login by DID returned another account')
    await expectXrpcError(
      newAgent().login({ identifier: alice.handle, password: 'wrong-password' }),
      401,
      'AuthenticationRequired',
      'login with a wrong password',
    )
  })

  await step('refreshSession', async () => {
    const before = agent.session
    const { data } = await agent.sessionManager.refreshSession()
    check(data.did === alice.did, `refreshSession returned DID ${data.did}`)
    check(data.refreshJwt !== before.refreshJwt, 'refreshSession returned the same refresh token')
    check(agent.session.refreshJwt === data.refreshJwt, 'the agent did not take the refreshed session')
    const { data: session } = await agent.com.atproto.server.getSession()
    check(session.did === alice.did && session.handle === alice.handle, 'getSession after a refresh')
  })

  const image = png(4, 3, [200, 30, 60])
  const avatarImage = png(2, 2, [10, 120, 240])
  const post = {}
  await step('post with an image', async () => {
    const { data: upload } = await agent.uploadBlob(image, { encoding: 'image/png' })
    check(upload.blob.mimeType === 'image/png', `uploadBlob mimeType ${upload.blob.mimeType}`)
    check(upload.blob.size === image.length, `uploadBlob size ${upload.blob.size}, sent ${image.length}`)
    post.blob = upload.blob
    post.record = {
      $type: 'app.bsky.feed.post',
      text: 'hello from @atproto/api 🦋',
      langs: ['en'],
      embed: {
        $type: 'app.bsky.embed.images',
        images: [{ image: upload.blob, alt: 'a red square', aspectRatio: { width: 4, height: 3 } }],
      },
      createdAt: new Date().toISOString(),
    }
    const { uri, cid } = await agent.post(post.record)
    check(uri.startsWith(`at://${alice.did}/app.bsky.feed.post/`), `post URI ${uri}`)
    Object.assign(post, { uri, cid })
  })

  const bobAgent = newAgent()
  const bobPost = {}
  const follow = {}
  const like = {}
  await step('follow and like', async () => {
    await bobAgent.login({ identifier: bob.handle, password: bob.password })
    bobPost.record = { $type: 'app.bsky.feed.post', text: 'bob was here', createdAt: new Date().toISOString() }
    Object.assign(bobPost, await bobAgent.post(bobPost.record))
    Object.assign(follow, await agent.follow(bob.did))
    check(follow.uri.startsWith(`at://${alice.did}/app.bsky.graph.follow/`), `follow URI ${follow.uri}`)
    Object.assign(like, await agent.like(bobPost.uri, bobPost.cid))
    check(like.uri.startsWith(`at://${alice.did}/app.bsky.feed.like/`), `like URI ${like.uri}`)
    const { data } = await agent.com.atproto.repo.getRecord({
      repo: alice.did,
      collection: 'app.bsky.feed.like',
      rkey: rkeyOf(like.uri),
    })
    check(data.value.subject?.uri === bobPost.uri, `the like's subject is ${JSON.stringify(data.value.subject)}`)
    check(data.value.subject?.cid === bobPost.cid, "the like's subject CID changed")
  })

  const profile = {}
  await step('edit profile', async () => {
    const { data: upload } = await agent.uploadBlob(avatarImage, { encoding: 'image/png' })
    profile.avatar = upload.blob
    const first = {
      $type: 'app.bsky.actor.profile',
      displayName: 'Alice',
      description: 'first words',
      avatar: upload.blob,
    }
    const put = await agent.com.atproto.repo.putRecord({
      repo: alice.did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: first,
    })
    check(put.data.uri === `at://${alice.did}/app.bsky.actor.profile/self`, `putRecord URI ${put.data.uri}`)
    // upsertProfile reads the record and writes it back with swapRecord set to the CID it read.
    await agent.upsertProfile((existing) => {
      check(existing, 'upsertProfile saw no existing profile')
      checkSameRecord(existing, first, 'the profile read back by upsertProfile')
      return { ...existing, description: 'edited with upsertProfile' }
    })
    const { data } = await agent.com.atproto.repo.getRecord({
      repo: alice.did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
    })
    profile.record = { ...first, description: 'edited with upsertProfile' }
    profile.cid = data.cid
    check(data.cid !== put.data.cid, 'the profile CID did not change after the edit')
    checkSameRecord(data.value, profile.record, 'the edited profile')
    await expectXrpcError(
      agent.com.atproto.repo.putRecord({
        repo: alice.did,
        collection: 'app.bsky.actor.profile',
        rkey: 'self',
        record: first,
        swapRecord: put.data.cid,
      }),
      400,
      'InvalidSwap',
      'putRecord with a stale swapRecord',
    )
  })

  await step('listRecords and getRecord', async () => {
    const { data } = await agent.com.atproto.repo.listRecords({ repo: alice.handle, collection: 'app.bsky.feed.post' })
    check(data.records.length === 1, `listRecords returned ${data.records.length} posts, expected 1`)
    const [listed] = data.records
    check(listed.uri === post.uri && listed.cid === post.cid, `listRecords returned ${listed.uri} ${listed.cid}`)
    checkSameRecord(listed.value, post.record, 'the post listed by listRecords')
    const blobRef = listed.value.embed.images[0].image
    check(blobRef.ref.toString() === post.blob.ref.toString(), 'the listed blob ref changed')
    const { data: got } = await agent.com.atproto.repo.getRecord({
      repo: alice.did,
      collection: 'app.bsky.feed.post',
      rkey: rkeyOf(post.uri),
    })
    check(got.uri === post.uri && got.cid === post.cid, `getRecord returned ${got.uri} ${got.cid}`)
    checkSameRecord(got.value, post.record, 'the post read by getRecord')
    const { data: follows } = await agent.com.atproto.repo.listRecords({
      repo: alice.did,
      collection: 'app.bsky.graph.follow',
    })
    check(follows.records.length === 1, `listRecords returned ${follows.records.length} follows`)
    check(follows.records[0].value.subject === bob.did, 'the follow names another subject')
    const { data: repo } = await agent.com.atproto.repo.describeRepo({ repo: alice.did })
    const expected = ['app.bsky.actor.profile', 'app.bsky.feed.like', 'app.bsky.feed.post', 'app.bsky.graph.follow']
    check(
      JSON.stringify([...repo.collections].sort()) === JSON.stringify(expected),
      `describeRepo collections ${JSON.stringify(repo.collections)}`,
    )
  })

  await step('deleteRecord', async () => {
    await agent.deleteLike(like.uri)
    await expectXrpcError(
      agent.com.atproto.repo.getRecord({ repo: alice.did, collection: 'app.bsky.feed.like', rkey: rkeyOf(like.uri) }),
      400,
      'RecordNotFound',
      'getRecord of the deleted like',
    )
    const { data } = await agent.com.atproto.repo.listRecords({ repo: alice.did, collection: 'app.bsky.feed.like' })
    check(data.records.length === 0, `listRecords still returns ${data.records.length} likes after the delete`)
  })

  const appPost = {}
  await step('app password', async () => {
    const { data: created } = await agent.com.atproto.server.createAppPassword({ name: 'peer test' })
    check(created.name === 'peer test', `createAppPassword returned name ${created.name}`)
    check(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(created.password), `app password ${created.password}`)
    const { data: list } = await agent.com.atproto.server.listAppPasswords()
    check(list.passwords.some((p) => p.name === 'peer test'), 'listAppPasswords does not list the new password')
    const appAgent = newAgent()
    const { data: session } = await appAgent.login({ identifier: alice.handle, password: created.password })
    check(session.did === alice.did, `the app password logged in as ${session.did}`)
    appPost.record = { $type: 'app.bsky.feed.post', text: 'posted with an app password', createdAt: new Date().toISOString() }
    Object.assign(appPost, await appAgent.post(appPost.record))
    check(appPost.uri.startsWith(`at://${alice.did}/app.bsky.feed.post/`), `app password post URI ${appPost.uri}`)
    await expectXrpcError(
      appAgent.com.atproto.server.createAppPassword({ name: 'not allowed' }),
      400,
      'InvalidToken',
      'createAppPassword with an app password session',
    )
  })

  await step('getBlob', async () => {
    for (const [blob, bytes, what] of [
      [post.blob, image, 'the post image'],
      [profile.avatar, avatarImage, 'the avatar'],
    ]) {
      const { data, headers } = await agent.com.atproto.sync.getBlob({ did: alice.did, cid: blob.ref.toString() })
      check(bytesEqual(new Uint8Array(data), bytes), `getBlob returned other bytes for ${what} (${data.length} bytes)`)
      check(headers['content-type']?.startsWith('image/png'), `getBlob content-type ${headers['content-type']}`)
    }
    const { data } = await agent.com.atproto.sync.listBlobs({ did: alice.did })
    const expected = [post.blob.ref.toString(), profile.avatar.ref.toString()].sort()
    check(
      JSON.stringify([...data.cids].sort()) === JSON.stringify(expected),
      `listBlobs returned ${JSON.stringify(data.cids)}, expected ${JSON.stringify(expected)}`,
    )
  })

  const verified = await step('export and verify the repo', async () => {
    // The resolvers refuse plain-http URLs unless given a fetch of our own.
    const resolver = new IdResolver({ plcUrl, fetch: globalThis.fetch })
    const atproto = await resolver.did.resolveAtprotoData(alice.did)
    check(atproto.handle === alice.handle, `the DID document says handle ${atproto.handle}`)
    check(new URL(atproto.pds).origin === new URL(pdsUrl).origin, `the DID document says PDS ${atproto.pds}`)
    check(atproto.signingKey.startsWith('did:key:z'), `signing key ${atproto.signingKey}`)

    const { data: car } = await agent.com.atproto.sync.getRepo({ did: alice.did })
    const carBytes = new Uint8Array(car)
    const repo = await verifyRepoCar(carBytes, alice.did, atproto.signingKey)
    const { data: latest } = await agent.com.atproto.sync.getLatestCommit({ did: alice.did })
    check(repo.commit.cid.toString() === latest.cid, `exported commit ${repo.commit.cid}, getLatestCommit ${latest.cid}`)
    check(repo.commit.rev === latest.rev, `exported rev ${repo.commit.rev}, getLatestCommit ${latest.rev}`)

    // The same CAR checked against another key must be refused.
    const stranger = await Secp256k1Keypair.create()
    let refused = false
    try {
      await verifyRepoCar(carBytes, alice.did, stranger.did())
    } catch {
      refused = true
    }
    check(refused, 'the export verified against a key that did not sign it')

    const expected = new Map([
      [`app.bsky.feed.post/${rkeyOf(post.uri)}`, { cid: post.cid, record: post.record }],
      [`app.bsky.feed.post/${rkeyOf(appPost.uri)}`, { cid: appPost.cid, record: appPost.record }],
      [`app.bsky.graph.follow/${rkeyOf(follow.uri)}`, { cid: follow.cid }],
      ['app.bsky.actor.profile/self', { cid: profile.cid, record: profile.record }],
    ])
    // Nothing else rides along: no deleted or replaced records, no stale tree nodes.
    const { blocks } = await readCarWithRoot(carBytes)
    check(
      blocks.size === repo.commit.newBlocks.size,
      `the export has ${blocks.size} blocks, the verified repo uses ${repo.commit.newBlocks.size}`,
    )
    const found = repo.creates.map((c) => `${c.collection}/${c.rkey}`).sort()
    check(
      JSON.stringify(found) === JSON.stringify([...expected.keys()].sort()),
      `the export holds ${JSON.stringify(found)}, expected ${JSON.stringify([...expected.keys()].sort())}`,
    )
    for (const create of repo.creates) {
      const key = `${create.collection}/${create.rkey}`
      const want = expected.get(key)
      check(create.cid.toString() === want.cid, `${key}: exported CID ${create.cid}, API said ${want.cid}`)
      const bytes = repo.commit.newBlocks.get(create.cid)
      check(bytes, `${key}: the export lacks the record block`)
      if (want.record) checkSameRecord(cborToLexRecord(bytes), want.record, `${key} in the export`)
    }
    return { rev: repo.commit.rev, records: repo.creates.length, carBytes: carBytes.length }
  })

  console.log(
    JSON.stringify({
      ok: true,
      pds: pdsUrl,
      did: alice.did,
      handle: alice.handle,
      rev: verified.rev,
      records: verified.records,
      carBytes: verified.carBytes,
      sessionDidDoc,
      ms: Date.now() - started,
      stepMs,
    }),
  )
}

run(main)
