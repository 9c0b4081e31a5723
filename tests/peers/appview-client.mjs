// Drives a node's built-in App View with the official client library, `@atproto/api`, as an app
// does: four accounts post (text, an image, a mention, a reply chain, a quote), like, repost,
// follow, block, mute, delete; then the timeline, a thread, profiles, notifications, likes,
// reposts, quotes, search and the graph views are asserted field by field. Every response is
// validated with `@atproto/lexicon` against the official lexicons (the folder given, normally
// ../shared/lexicons).
//
//   node appview-client.mjs <node url> <lexicons folder>
//
// The first failure prints `FAIL <step>: <reason>` and exits 1; success prints one line of JSON
// and exits 0. Run by tests/it/e2e/appview.rs.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'

import { AtpAgent, RichText } from '@atproto/api'
import { Lexicons } from '@atproto/lexicon'

const nodeUrl = process.argv[2]
const lexiconDir = process.argv[3]
if (!nodeUrl || !lexiconDir) {
  console.error('usage: node appview-client.mjs <node url> <lexicons folder>')
  process.exit(2)
}

let current = 'start'
const TIMEOUT_MS = 150_000
setTimeout(() => {
  console.error(`FAIL ${current}: no answer within ${TIMEOUT_MS / 1000} s`)
  process.exit(1)
}, TIMEOUT_MS).unref()

class CheckFailed extends Error {}
function check(condition, message) {
  if (!condition) throw new CheckFailed(message)
}
/** JSON with object keys sorted, so comparisons ignore key order. */
function canon(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort)
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort(v[k])]),
      )
    }
    return v
  }
  return JSON.stringify(sort(value))
}
function eq(actual, expected, what) {
  const a = canon(actual)
  const e = canon(expected)
  check(a === e, `${what}: expected ${e}, got ${a}`)
}
async function step(name, fn) {
  current = name
  return fn()
}
function describeError(err) {
  if (err instanceof CheckFailed) return err.message
  if (err && typeof err === 'object' && 'status' in err && 'error' in err) {
    return `XRPC ${err.status} ${err.error}: ${err.message}`
  }
  return err?.stack ?? String(err)
}

// The official lexicons, to validate every App View answer.
const lex = new Lexicons()
let lexiconCount = 0
function loadLexicons(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) loadLexicons(path)
    else if (name.endsWith('.json')) {
      try {
        lex.add(JSON.parse(readFileSync(path, 'utf8')))
        lexiconCount++
      } catch {
        // A schema this library version cannot parse is not one the App View answers with.
      }
    }
  }
}
loadLexicons(lexiconDir)

const validated = {}
function valid(nsid, data) {
  try {
    lex.assertValidXrpcOutput(nsid, data)
  } catch (err) {
    throw new CheckFailed(`${nsid} answer does not validate: ${err.message}\n${JSON.stringify(data).slice(0, 2000)}`)
  }
  validated[nsid] = (validated[nsid] ?? 0) + 1
  return data
}

/** Calls an App View query and validates the answer. */
async function q(agent, nsid, params = {}) {
  const { data } = await agent.call(nsid, params)
  return valid(nsid, data)
}

/** Retries `fn` until it stops throwing (indexing is asynchronous), for up to 20 s. */
async function eventually(fn) {
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

async function expectXrpcError(promise, status, error, what) {
  try {
    const result = await promise
    throw new CheckFailed(`${what}: expected ${status} ${error}, got ${JSON.stringify(result?.data).slice(0, 300)}`)
  } catch (err) {
    if (err instanceof CheckFailed) throw err
    check(err?.status === status && err?.error === error, `${what}: expected ${status} ${error}, got ${describeError(err)}`)
  }
}

function png(width, height, [r, g, b]) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(width).fill([r, g, b]).flat())])
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(Buffer.concat(Array(height).fill(row)))),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  )
}

const pause = () => new Promise((r) => setTimeout(r, 5))
const sortedReasons = (notifs) =>
  notifs.map((n) => `${n.reason}:${n.author.handle}:${n.reasonSubject ?? '-'}`).sort()

async function main() {
  const users = {}
  await step('accounts and profiles', async () => {
    for (const name of ['alice', 'bob', 'carol', 'dan']) {
      const agent = new AtpAgent({ service: nodeUrl })
      const handle = `${name}.test`
      await agent.createAccount({ handle, email: `${name}@example.com`, password: `${name}-password` })
      users[name] = { agent, did: agent.session.did, handle }
    }
    const avatar = png(2, 2, [10, 120, 240])
    const { data: upload } = await users.alice.agent.uploadBlob(avatar, { encoding: 'image/png' })
    users.alice.avatarCid = upload.blob.ref.toString()
    for (const [name, user] of Object.entries(users)) {
      await user.agent.upsertProfile(() => ({
        displayName: name[0].toUpperCase() + name.slice(1),
        description: `I am ${name}`,
        ...(name === 'alice' ? { avatar: upload.blob } : {}),
      }))
    }
  })
  const { alice, bob, carol, dan } = users

  const follows = {}
  await step('follows', async () => {
    for (const [who, whom] of [
      ['bob', 'alice'],
      ['carol', 'alice'],
      ['dan', 'alice'],
      ['alice', 'bob'],
      ['carol', 'bob'],
      ['bob', 'dan'],
      ['dan', 'carol'],
    ]) {
      follows[`${who}->${whom}`] = (await users[who].agent.follow(users[whom].did)).uri
      await pause()
    }
  })

  const posts = {}
  await step('posts, replies, a quote, likes and reposts', async () => {
    const image = png(4, 3, [200, 30, 60])
    const { data: upload } = await alice.agent.uploadBlob(image, { encoding: 'image/png' })
    posts.image = upload.blob.ref.toString()
    posts.p1 = await alice.agent.post({
      text: 'hello from alice, with a picture',
      embed: { $type: 'app.bsky.embed.images', images: [{ image: upload.blob, alt: 'a red square', aspectRatio: { width: 4, height: 3 } }] },
      createdAt: new Date().toISOString(),
    })
    await pause()
    const rt = new RichText({ text: 'second post for @bob.test #skyhold' })
    await rt.detectFacets(alice.agent)
    check(rt.facets?.length === 2, `expected a mention and a tag facet, got ${JSON.stringify(rt.facets)}`)
    posts.p2 = await alice.agent.post({ text: rt.text, facets: rt.facets, createdAt: new Date().toISOString() })
    await pause()
    posts.p3 = await alice.agent.post({ text: 'this one will be deleted', createdAt: new Date().toISOString() })
    await pause()
    const p1Ref = { uri: posts.p1.uri, cid: posts.p1.cid }
    posts.r1 = await bob.agent.post({ text: 'nice picture', reply: { root: p1Ref, parent: p1Ref }, createdAt: new Date().toISOString() })
    await pause()
    posts.r2 = await carol.agent.post({
      text: 'agreed',
      reply: { root: p1Ref, parent: { uri: posts.r1.uri, cid: posts.r1.cid } },
      createdAt: new Date().toISOString(),
    })
    await pause()
    posts.q1 = await carol.agent.post({
      text: 'look at this',
      embed: { $type: 'app.bsky.embed.record', record: p1Ref },
      createdAt: new Date().toISOString(),
    })
    await pause()
    posts.d1 = await dan.agent.post({ text: 'dan speaking', createdAt: new Date().toISOString() })
    await pause()
    posts.likes = {}
    for (const who of ['bob', 'carol', 'dan']) {
      posts.likes[who] = (await users[who].agent.like(posts.p1.uri, posts.p1.cid)).uri
      await pause()
    }
    posts.likeP3 = (await bob.agent.like(posts.p3.uri, posts.p3.cid)).uri
    await pause()
    posts.repostBob = (await bob.agent.repost(posts.p1.uri, posts.p1.cid)).uri
    await pause()
    posts.repostCarol = (await carol.agent.repost(posts.p2.uri, posts.p2.cid)).uri
  })

  await step('block, mute, delete', async () => {
    posts.block = (
      await dan.agent.app.bsky.graph.block.create({ repo: dan.did }, { subject: carol.did, createdAt: new Date().toISOString() })
    ).uri
    await alice.agent.deletePost(posts.p3.uri)
    await bob.agent.mute(dan.did)
  })

  await step('profile counts', async () => {
    await eventually(async () => {
      const p = await q(bob.agent, 'app.bsky.actor.getProfile', { actor: 'alice.test' })
      eq(p.did, alice.did, 'profile did')
      eq(p.handle, 'alice.test', 'profile handle')
      eq(p.displayName, 'Alice', 'profile displayName')
      eq(p.description, 'I am alice', 'profile description')
      eq(p.followersCount, 3, 'alice followersCount')
      eq(p.followsCount, 1, 'alice followsCount')
      eq(p.postsCount, 2, 'alice postsCount (the deleted post is gone)')
      check(p.avatar?.includes(alice.avatarCid), `avatar URL ${p.avatar} does not name the blob`)
      eq(p.viewer.following, follows['bob->alice'], 'viewer.following')
      eq(p.viewer.followedBy, follows['alice->bob'], 'viewer.followedBy')
      eq(p.viewer.muted, false, 'viewer.muted')
      eq(p.viewer.blockedBy, false, 'viewer.blockedBy')
      eq(p.viewer.knownFollowers?.count, 1, 'knownFollowers of alice for bob (dan)')
      eq(p.viewer.knownFollowers?.followers.map((f) => f.did), [dan.did], 'knownFollowers')
      const avatar = await fetch(p.avatar)
      check(avatar.ok, `the avatar URL answers ${avatar.status}`)
    })
    const { data } = await bob.agent.getProfiles({ actors: [alice.did, 'carol.test', 'nobody.test'] })
    valid('app.bsky.actor.getProfiles', data)
    eq(data.profiles.map((p) => p.handle), ['alice.test', 'carol.test'], 'getProfiles')
  })

  await step('timeline', async () => {
    await eventually(async () => {
      const t = await q(bob.agent, 'app.bsky.feed.getTimeline', { limit: 50 })
      // Bob follows alice and dan (muted); his own reply and repost are there too.
      const summary = t.feed.map((i) => [i.post.uri, i.reason?.$type ?? null, i.reason?.by?.did ?? null])
      eq(
        summary,
        [
          [posts.p1.uri, 'app.bsky.feed.defs#reasonRepost', bob.did],
          [posts.r1.uri, null, null],
          [posts.p2.uri, null, null],
          [posts.p1.uri, null, null],
        ],
        "bob's timeline (newest first, dan muted, alice's deleted post gone)",
      )
      const p1 = t.feed[3].post
      eq(p1.author.did, alice.did, 'p1 author')
      eq(p1.author.displayName, 'Alice', 'p1 author displayName')
      eq(p1.record.text, 'hello from alice, with a picture', 'p1 text')
      eq([p1.likeCount, p1.repostCount, p1.replyCount, p1.quoteCount], [3, 1, 1, 1], 'p1 likes/reposts/replies/quotes')
      eq(p1.viewer.like, posts.likes.bob, 'p1 viewer.like')
      eq(p1.viewer.repost, posts.repostBob, 'p1 viewer.repost')
      eq(p1.embed.$type, 'app.bsky.embed.images#view', 'p1 embed type')
      eq(p1.embed.images[0].alt, 'a red square', 'p1 image alt')
      eq(p1.embed.images[0].aspectRatio, { width: 4, height: 3 }, 'p1 image aspect ratio')
      check(p1.embed.images[0].fullsize.includes(posts.image), 'p1 image URL does not name the blob')
      const reply = t.feed[1]
      eq(reply.reply.parent.uri, posts.p1.uri, 'reply parent')
      eq(reply.reply.root.uri, posts.p1.uri, 'reply root')
      eq(reply.reply.parent.$type, 'app.bsky.feed.defs#postView', 'reply parent type')
      const p2 = t.feed[2].post
      eq(p2.repostCount, 1, 'p2 repostCount')
      eq(p2.record.facets[0].features[0].did, bob.did, 'p2 mention facet')
    })
    const image = await fetch(
      (await q(bob.agent, 'app.bsky.feed.getPosts', { uris: [posts.p1.uri] })).posts[0].embed.images[0].fullsize,
    )
    check(image.ok && image.headers.get('content-type') === 'image/png', `the image URL answers ${image.status}`)
    // Unmuting dan brings his post back.
    await bob.agent.unmute(dan.did)
    await eventually(async () => {
      const t = await q(bob.agent, 'app.bsky.feed.getTimeline', { limit: 2 })
      eq(t.feed.map((i) => i.post.uri), [posts.p1.uri, posts.d1.uri], 'dan is back after unmuting')
      check(typeof t.cursor === 'string', 'a full page has a cursor')
      const next = await q(bob.agent, 'app.bsky.feed.getTimeline', { limit: 50, cursor: t.cursor })
      eq(next.feed.length, 3, 'the second page holds the rest')
    })
    await bob.agent.mute(dan.did)
  })

  await step('thread', async () => {
    const { data } = await carol.agent.getPostThread({ uri: posts.p1.uri, depth: 10 })
    valid('app.bsky.feed.getPostThread', data)
    const t = data.thread
    eq(t.$type, 'app.bsky.feed.defs#threadViewPost', 'thread type')
    eq(t.post.uri, posts.p1.uri, 'thread anchor')
    eq(t.parent, undefined, 'a root has no parent')
    eq(t.replies.map((r) => r.post.uri), [posts.r1.uri], 'direct replies')
    eq(t.replies[0].replies.map((r) => r.post.uri), [posts.r2.uri], 'nested replies')
    eq(t.replies[0].post.replyCount, 1, 'r1 replyCount')
    // From the reply: the parent chain up to the root.
    const { data: up } = await carol.agent.getPostThread({ uri: posts.r2.uri })
    valid('app.bsky.feed.getPostThread', up)
    eq(up.thread.parent.post.uri, posts.r1.uri, 'parent of r2')
    eq(up.thread.parent.parent.post.uri, posts.p1.uri, 'grandparent of r2')
    // Dan blocks carol: carol's reply shows as blocked to dan.
    const { data: blocked } = await dan.agent.getPostThread({ uri: posts.p1.uri })
    valid('app.bsky.feed.getPostThread', blocked)
    eq(blocked.thread.replies[0].replies[0].$type, 'app.bsky.feed.defs#blockedPost', "carol's reply as dan sees it")
    eq(blocked.thread.replies[0].replies[0].author.did, carol.did, 'blocked author')
    await expectXrpcError(
      carol.agent.getPostThread({ uri: posts.p3.uri }),
      400,
      'NotFound',
      'thread of a deleted post',
    )
  })

  await step('quotes, likes, reposts, posts', async () => {
    const quotes = await q(alice.agent, 'app.bsky.feed.getQuotes', { uri: posts.p1.uri })
    eq(quotes.posts.map((p) => p.uri), [posts.q1.uri], 'getQuotes')
    const embed = quotes.posts[0].embed
    eq(embed.$type, 'app.bsky.embed.record#view', 'quote embed type')
    eq(embed.record.$type, 'app.bsky.embed.record#viewRecord', 'quoted record type')
    eq(embed.record.uri, posts.p1.uri, 'quoted uri')
    eq(embed.record.value.text, 'hello from alice, with a picture', 'quoted text')
    eq(embed.record.embeds[0].$type, 'app.bsky.embed.images#view', 'the quoted post keeps its image')
    const likes = await q(alice.agent, 'app.bsky.feed.getLikes', { uri: posts.p1.uri })
    eq(likes.likes.map((l) => l.actor.handle), ['dan.test', 'carol.test', 'bob.test'], 'getLikes (newest first)')
    const reposts = await q(alice.agent, 'app.bsky.feed.getRepostedBy', { uri: posts.p1.uri })
    eq(reposts.repostedBy.map((a) => a.did), [bob.did], 'getRepostedBy')
    const got = await q(alice.agent, 'app.bsky.feed.getPosts', { uris: [posts.p2.uri, posts.p3.uri, posts.p1.uri] })
    eq(got.posts.map((p) => p.uri), [posts.p2.uri, posts.p1.uri], 'getPosts leaves the deleted post out')
    const own = await q(bob.agent, 'app.bsky.feed.getActorLikes', { actor: bob.did })
    eq(own.feed.map((i) => i.post.uri), [posts.p1.uri], "bob's likes (the deleted post's like shows nothing)")
  })

  await step('author feeds and blocks', async () => {
    const feed = await q(carol.agent, 'app.bsky.feed.getAuthorFeed', { actor: 'alice.test' })
    eq(feed.feed.map((i) => i.post.uri), [posts.p2.uri, posts.p1.uri], "alice's author feed")
    const withReposts = await q(alice.agent, 'app.bsky.feed.getAuthorFeed', { actor: carol.did })
    eq(
      withReposts.feed.map((i) => [i.post.uri, i.reason?.$type ?? null]),
      [
        [posts.p2.uri, 'app.bsky.feed.defs#reasonRepost'],
        [posts.q1.uri, null],
        [posts.r2.uri, null],
      ],
      "carol's author feed with her repost",
    )
    const noReplies = await q(alice.agent, 'app.bsky.feed.getAuthorFeed', { actor: carol.did, filter: 'posts_no_replies' })
    eq(noReplies.feed.length, 2, 'posts_no_replies')
    const media = await q(alice.agent, 'app.bsky.feed.getAuthorFeed', { actor: alice.did, filter: 'posts_with_media' })
    eq(media.feed.map((i) => i.post.uri), [posts.p1.uri], 'posts_with_media')
    await expectXrpcError(
      dan.agent.getAuthorFeed({ actor: carol.did }),
      400,
      'BlockedActor',
      'the feed of an account dan blocks',
    )
    await expectXrpcError(
      carol.agent.getAuthorFeed({ actor: dan.did }),
      400,
      'BlockedByActor',
      'the feed of an account that blocks carol',
    )
    const profile = await q(dan.agent, 'app.bsky.actor.getProfile', { actor: carol.did })
    eq(profile.viewer.blocking, posts.block, 'viewer.blocking')
    eq(profile.viewer.following, undefined, 'following is hidden under a block')
    const blocks = await q(dan.agent, 'app.bsky.graph.getBlocks')
    eq(blocks.blocks.map((b) => b.did), [carol.did], 'getBlocks')
    const mutes = await q(bob.agent, 'app.bsky.graph.getMutes')
    eq(mutes.mutes.map((m) => m.did), [dan.did], 'getMutes')
    const rel = await q(bob.agent, 'app.bsky.graph.getRelationships', { actor: dan.did, others: [carol.did, alice.did] })
    eq(rel.relationships[0].blocking, posts.block, 'getRelationships blocking')
    eq(rel.relationships[1].following, follows['dan->alice'], 'getRelationships following')
  })

  await step('graph', async () => {
    const followers = await q(bob.agent, 'app.bsky.graph.getFollowers', { actor: alice.did })
    eq(followers.subject.did, alice.did, 'getFollowers subject')
    eq(followers.followers.map((f) => f.handle), ['dan.test', 'carol.test', 'bob.test'], 'getFollowers')
    const asCarol = await q(carol.agent, 'app.bsky.graph.getFollowers', { actor: alice.did })
    eq(asCarol.followers.map((f) => f.handle), ['carol.test', 'bob.test'], 'getFollowers leaves out dan, who blocks carol')
    const followsOf = await q(carol.agent, 'app.bsky.graph.getFollows', { actor: carol.did })
    eq(followsOf.follows.map((f) => f.handle), ['bob.test', 'alice.test'], 'getFollows')
    const known = await q(bob.agent, 'app.bsky.graph.getKnownFollowers', { actor: alice.did })
    eq(known.followers.map((f) => f.did), [dan.did], 'getKnownFollowers')
  })

  await step('notifications', async () => {
    const expected = [
      `follow:bob.test:-`,
      `follow:carol.test:-`,
      `follow:dan.test:-`,
      `like:bob.test:${posts.p1.uri}`,
      `like:carol.test:${posts.p1.uri}`,
      `like:dan.test:${posts.p1.uri}`,
      `quote:carol.test:${posts.p1.uri}`,
      `reply:bob.test:${posts.p1.uri}`,
      `reply:carol.test:${posts.p1.uri}`,
      `repost:bob.test:${posts.p1.uri}`,
      `repost:carol.test:${posts.p2.uri}`,
    ].sort()
    await eventually(async () => {
      const n = await q(alice.agent, 'app.bsky.notification.listNotifications', { limit: 50 })
      eq(sortedReasons(n.notifications), expected, "alice's notifications (the deleted post's like is gone)")
      check(n.notifications.every((x) => x.isRead === false), 'nothing is read yet')
      const reply = n.notifications.find((x) => x.reason === 'reply' && x.author.did === bob.did)
      eq(reply.uri, posts.r1.uri, 'reply notification uri')
      eq(reply.record.text, 'nice picture', 'reply notification record')
      const like = n.notifications.find((x) => x.reason === 'like' && x.author.did === carol.did)
      eq(like.uri, posts.likes.carol, 'like notification uri')
      eq(like.record.subject.uri, posts.p1.uri, 'like notification record')
    })
    const unread = await q(alice.agent, 'app.bsky.notification.getUnreadCount')
    eq(unread.count, expected.length, 'unread count')
    await alice.agent.updateSeenNotifications()
    const after = await q(alice.agent, 'app.bsky.notification.getUnreadCount')
    eq(after.count, 0, 'unread count after updateSeen')
    const seen = await q(alice.agent, 'app.bsky.notification.listNotifications')
    check(seen.notifications.every((x) => x.isRead), 'all read after updateSeen')
    check(typeof seen.seenAt === 'string', 'seenAt is returned')
    const bobs = await q(bob.agent, 'app.bsky.notification.listNotifications')
    eq(
      sortedReasons(bobs.notifications),
      [`follow:alice.test:-`, `follow:carol.test:-`, `mention:alice.test:-`, `reply:carol.test:${posts.r1.uri}`].sort(),
      "bob's notifications",
    )
    const mentions = await q(bob.agent, 'app.bsky.notification.listNotifications', { reasons: ['mention'] })
    eq(mentions.notifications.map((x) => x.uri), [posts.p2.uri], 'reasons filter')
  })

  await step('search', async () => {
    const found = await q(bob.agent, 'app.bsky.feed.searchPosts', { q: 'Picture' })
    eq(found.posts.map((p) => p.uri).sort(), [posts.p1.uri, posts.r1.uri].sort(), 'searchPosts')
    const both = await q(bob.agent, 'app.bsky.feed.searchPosts', { q: 'hello picture' })
    eq(both.posts.map((p) => p.uri), [posts.p1.uri], 'searchPosts with two words')
    const byAuthor = await q(bob.agent, 'app.bsky.feed.searchPosts', { q: 'picture from:bob.test' })
    eq(byAuthor.posts.map((p) => p.uri), [posts.r1.uri], 'searchPosts from:')
    const gone = await q(bob.agent, 'app.bsky.feed.searchPosts', { q: 'deleted' })
    eq(gone.posts.length, 0, 'the deleted post is not found')
    const actors = await q(bob.agent, 'app.bsky.actor.searchActors', { q: 'carol' })
    eq(actors.actors.map((a) => a.did), [carol.did], 'searchActors')
    const typeahead = await q(bob.agent, 'app.bsky.actor.searchActorsTypeahead', { q: 'al' })
    eq(typeahead.actors.map((a) => a.did), [alice.did], 'typeahead')
    const suggestions = await q(alice.agent, 'app.bsky.actor.getSuggestions')
    check(!suggestions.actors.some((a) => a.did === bob.did || a.did === alice.did), 'suggestions skip self and follows')
  })

  return { ok: true, lexicons: lexiconCount, validated }
}

main()
  .then((summary) => {
    console.log(JSON.stringify(summary))
    process.exit(0)
  })
  .catch((err) => {
    console.error(`FAIL ${current}: ${describeError(err)}`)
    process.exit(1)
  })
