// The calls a Bluesky-style client (skyhold's web UI) makes beyond the App View scenario, driven
// with the official client library, `@atproto/api`: private bookmarks, notification preferences and
// moderation reports. Every App View call runs twice: without `atproto-proxy`, and with
// `atproto-proxy: <node service DID>#bsky_appview` as the web UI sends it; reports go without the
// header and with `<node service DID>#atproto_labeler`. Every answer is validated with
// `@atproto/lexicon` against the official lexicons.
//
//   node client-extras.mjs <node url> <lexicons folder> <node service DID>
//
// Success prints one line of JSON (the reports filed, for the admin checks of the Rust test) and
// exits 0; the first failure prints `FAIL <step>: <reason>` and exits 1. Run by
// tests/it/e2e/client_extras.rs.

import { AtpAgent } from '@atproto/api'

import { check, expectXrpcError, loadLexicons, run, step } from './common.mjs'

const [nodeUrl, lexiconDir, serviceDid] = process.argv.slice(2)
if (!nodeUrl || !lexiconDir || !serviceDid) {
  console.error('usage: node client-extras.mjs <node url> <lexicons folder> <node service DID>')
  process.exit(2)
}

const { count: lexiconCount, valid, validated } = await loadLexicons(lexiconDir)

function eq(actual, expected, what) {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  check(a === e, `${what}: expected ${e}, got ${a}`)
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

const pause = () => new Promise((r) => setTimeout(r, 5))
const now = () => new Date().toISOString()
const REPO_REF = 'com.atproto.admin.defs#repoRef'
const STRONG_REF = 'com.atproto.repo.strongRef'
// A post nobody here has: its author is unknown to the node.
const STRANGER = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
const UNKNOWN_POST = `at://${STRANGER}/app.bsky.feed.post/3kzzzzzzzzz22`
const SOME_CID = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

async function main() {
  const users = {}
  await step('accounts', async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      const agent = new AtpAgent({ service: nodeUrl })
      await agent.createAccount({ handle: `${name}.test`, email: `${name}@example.com`, password: `${name}-password` })
      users[name] = {
        did: agent.session.did,
        // The same session, with and without the proxy header the web UI sends.
        plain: agent,
        proxied: agent.withProxy('bsky_appview', serviceDid),
        labeler: agent.withProxy('atproto_labeler', serviceDid),
      }
    }
  })
  const { alice, bob, carol } = users
  check(alice.proxied.proxy === `${serviceDid}#bsky_appview`, `the proxied agent sends ${alice.proxied.proxy}`)
  check(alice.plain.proxy === undefined, `the plain agent sends ${alice.plain.proxy}`)
  const modes = ['plain', 'proxied']

  const posts = {}
  await step('posts, follows, likes and a reply', async () => {
    posts.a1 = await alice.plain.post({ text: 'alice one', createdAt: now() })
    await pause()
    posts.a2 = await alice.plain.post({ text: 'alice two', createdAt: now() })
    await pause()
    posts.c1 = await carol.plain.post({ text: 'carol speaks', createdAt: now() })
    await pause()
    posts.gone = await carol.plain.post({ text: 'soon deleted', createdAt: now() })
    await alice.plain.follow(bob.did)
    await bob.plain.follow(alice.did)
    await carol.plain.follow(alice.did)
    await bob.plain.like(posts.a1.uri, posts.a1.cid)
    await carol.plain.like(posts.a1.uri, posts.a1.cid)
    const ref = { uri: posts.a1.uri, cid: posts.a1.cid }
    posts.reply = await bob.plain.post({ text: 'a reply', reply: { root: ref, parent: ref }, createdAt: now() })
    await eventually(async () => {
      const { data } = await bob.plain.app.bsky.feed.getPosts({ uris: [posts.reply.uri, posts.gone.uri] })
      check(data.posts.length === 2, 'posts not indexed yet')
    })
  })

  const bookmarks = async (agent, params = {}) =>
    valid('app.bsky.bookmark.getBookmarks', (await agent.app.bsky.bookmark.getBookmarks(params)).data)
  const postView = async (agent, uri) =>
    valid('app.bsky.feed.getPosts', (await agent.app.bsky.feed.getPosts({ uris: [uri] })).data).posts[0]

  for (const mode of modes) {
    await step(`bookmarks (${mode})`, async () => {
      const b = bob[mode]
      for (const p of [posts.a1, posts.a2, posts.c1]) {
        await b.app.bsky.bookmark.createBookmark({ uri: p.uri, cid: p.cid })
        await pause()
      }
      // Creating one twice changes nothing.
      await b.app.bsky.bookmark.createBookmark({ uri: posts.a1.uri, cid: posts.a1.cid })
      const all = await bookmarks(b)
      eq(all.bookmarks.map((x) => x.subject.uri), [posts.c1.uri, posts.a2.uri, posts.a1.uri], 'bookmarks, newest first')
      eq(all.bookmarks[2].subject.cid, posts.a1.cid, 'the bookmarked cid')
      check(all.bookmarks.every((x) => x.item.$type === 'app.bsky.feed.defs#postView'), 'bookmarked posts are post views')
      check(all.bookmarks.every((x) => x.item.viewer.bookmarked === true), 'viewer.bookmarked in the items')
      check(all.bookmarks.every((x) => typeof x.createdAt === 'string'), 'createdAt')
      eq(all.cursor, undefined, 'no cursor after the last page')
      const first = await bookmarks(b, { limit: 2 })
      eq(first.bookmarks.map((x) => x.subject.uri), [posts.c1.uri, posts.a2.uri], 'first page')
      check(typeof first.cursor === 'string', 'a full page has a cursor')
      const second = await bookmarks(b, { limit: 2, cursor: first.cursor })
      eq(second.bookmarks.map((x) => x.subject.uri), [posts.a1.uri], 'second page')

      // Counts and viewer state on post views.
      await alice[mode].app.bsky.bookmark.createBookmark({ uri: posts.a1.uri, cid: posts.a1.cid })
      const asBob = await postView(b, posts.a1.uri)
      eq([asBob.bookmarkCount, asBob.viewer.bookmarked], [2, true], "a1 as bob sees it")
      const asCarol = await postView(carol[mode], posts.a1.uri)
      eq([asCarol.bookmarkCount, asCarol.viewer.bookmarked], [2, false], 'a1 as carol sees it')
      const timeline = valid('app.bsky.feed.getTimeline', (await b.app.bsky.feed.getTimeline({})).data)
      const inTimeline = timeline.feed.find((i) => i.post.uri === posts.a2.uri)
      eq(inTimeline?.post.viewer.bookmarked, true, 'viewer.bookmarked in the timeline')

      await expectXrpcError(
        b.app.bsky.bookmark.createBookmark({ uri: posts.a1.uri.replace('app.bsky.feed.post', 'app.bsky.feed.like'), cid: posts.a1.cid }),
        400,
        'UnsupportedCollection',
        'bookmarking a like',
      )
      await b.app.bsky.bookmark.deleteBookmark({ uri: posts.a2.uri })
      await expectXrpcError(
        b.app.bsky.bookmark.deleteBookmark({ uri: posts.a2.uri }),
        400,
        'NotFound',
        'deleting a bookmark twice',
      )
      eq((await bookmarks(b)).bookmarks.map((x) => x.subject.uri), [posts.c1.uri, posts.a1.uri], 'after deleting one')
      eq((await postView(carol[mode], posts.a2.uri)).bookmarkCount, 0, 'a2 bookmarkCount after the delete')

      // Clean up for the next mode.
      for (const p of [posts.a1, posts.c1]) await b.app.bsky.bookmark.deleteBookmark({ uri: p.uri })
      await alice[mode].app.bsky.bookmark.deleteBookmark({ uri: posts.a1.uri })
      eq((await bookmarks(b)).bookmarks, [], 'no bookmarks left')
      eq((await postView(b, posts.a1.uri)).bookmarkCount, 0, 'a1 bookmarkCount back to 0')
    })
  }

  await step('bookmarks of unknown, deleted and blocked posts', async () => {
    await bob.proxied.app.bsky.bookmark.createBookmark({ uri: UNKNOWN_POST, cid: SOME_CID })
    await bob.proxied.app.bsky.bookmark.createBookmark({ uri: posts.gone.uri, cid: posts.gone.cid })
    await bob.proxied.app.bsky.bookmark.createBookmark({ uri: posts.c1.uri, cid: posts.c1.cid })
    await carol.plain.deletePost(posts.gone.uri)
    await carol.plain.app.bsky.graph.block.create({ repo: carol.did }, { subject: bob.did, createdAt: now() })
    await eventually(async () => {
      const items = (await bookmarks(bob.proxied)).bookmarks.map((x) => [x.subject.uri, x.item.$type])
      eq(
        items,
        [
          [posts.c1.uri, 'app.bsky.feed.defs#blockedPost'],
          [posts.gone.uri, 'app.bsky.feed.defs#notFoundPost'],
          [UNKNOWN_POST, 'app.bsky.feed.defs#notFoundPost'],
        ],
        'bookmarks of a blocking account, a deleted post and an unknown post',
      )
    })
  })

  const reasons = (n) => n.notifications.map((x) => `${x.reason}:${x.author.handle}`).sort()
  const notifications = async (agent, params = {}) =>
    valid('app.bsky.notification.listNotifications', (await agent.app.bsky.notification.listNotifications(params)).data)
  const everything = ['follow:bob.test', 'follow:carol.test', 'like:bob.test', 'like:carol.test', 'reply:bob.test']

  for (const mode of modes) {
    await step(`notification preferences (${mode})`, async () => {
      const a = alice[mode]
      const { data: defaults } = await a.app.bsky.notification.getPreferences({})
      valid('app.bsky.notification.getPreferences', defaults)
      eq(defaults.preferences.like, { include: 'all', list: true, push: true }, 'default like preference')
      eq(defaults.preferences.verified, { list: true, push: true }, 'default verified preference')
      await eventually(async () => eq(reasons(await notifications(a)), everything, "alice's notifications"))

      // Likes hidden from the list; follows only from accounts alice follows (bob).
      const { data: put } = await a.app.bsky.notification.putPreferencesV2({
        like: { include: 'all', list: false, push: true },
      })
      valid('app.bsky.notification.putPreferencesV2', put)
      eq(put.preferences.like.list, false, 'putPreferencesV2 answers with the new preferences')
      await a.app.bsky.notification.putPreferencesV2({ follow: { include: 'follows', list: true, push: false } })
      const { data: merged } = await a.app.bsky.notification.getPreferences({})
      valid('app.bsky.notification.getPreferences', merged)
      eq(merged.preferences.like, { include: 'all', list: false, push: true }, 'like kept after the second put')
      eq(merged.preferences.follow, { include: 'follows', list: true, push: false }, 'follow')
      eq(merged.preferences.reply, { include: 'all', list: true, push: true }, 'reply untouched')
      eq(reasons(await notifications(a)), ['follow:bob.test', 'reply:bob.test'], 'filtered by the preferences')
      const { data: unread } = await a.app.bsky.notification.getUnreadCount({})
      valid('app.bsky.notification.getUnreadCount', unread)
      eq(unread.count, 2, 'the unread count follows the preferences')

      // The legacy priority switch is the default of `priority`.
      await a.app.bsky.notification.putPreferencesV2({
        like: { include: 'all', list: true, push: true },
        follow: { include: 'all', list: true, push: true },
      })
      await a.app.bsky.notification.putPreferences({ priority: true })
      const priority = await notifications(a)
      eq(priority.priority, true, 'priority from the stored preference')
      eq(reasons(priority), ['follow:bob.test', 'like:bob.test', 'reply:bob.test'], 'priority: only accounts alice follows')
      eq((await notifications(a, { priority: false })).notifications.length, 5, 'an explicit priority=false wins')
      await a.app.bsky.notification.putPreferences({ priority: false })
      eq(reasons(await notifications(a)), everything, 'everything again')

      await expectXrpcError(
        a.app.bsky.notification.putPreferencesV2({ like: { include: 'all', list: true } }),
        400,
        'InvalidRequest',
        'a preference without push',
      )
    })
  }

  await step('muted words and hidden posts in the account preferences', async () => {
    await alice.plain.addMutedWord({ value: 'rust', targets: ['content', 'tag'], actorTarget: 'all' })
    await alice.proxied.addMutedWord({ value: 'spoilers', targets: ['content'], actorTarget: 'exclude-following' })
    await alice.proxied.hidePost(posts.c1.uri)
    const { data } = await alice.plain.app.bsky.actor.getPreferences({})
    valid('app.bsky.actor.getPreferences', data)
    const prefs = await alice.proxied.getPreferences()
    eq(
      prefs.moderationPrefs.mutedWords.map((w) => [w.value, w.actorTarget]),
      [
        ['rust', 'all'],
        ['spoilers', 'exclude-following'],
      ],
      'muted words',
    )
    eq(prefs.moderationPrefs.hiddenPosts, [posts.c1.uri], 'hidden posts')
  })

  const reports = []
  await step('reports', async () => {
    const filed = async (agent, input) => {
      const { data } = await agent.createModerationReport(input)
      valid('com.atproto.moderation.createReport', data)
      reports.push(data)
      return data
    }
    const r1 = await filed(bob.plain, {
      reasonType: 'com.atproto.moderation.defs#reasonSpam',
      reason: 'posts the same link everywhere',
      subject: { $type: REPO_REF, did: carol.did },
    })
    eq([r1.reportedBy, r1.subject.did, r1.reason], [bob.did, carol.did, 'posts the same link everywhere'], 'report of an account')
    check(Number.isInteger(r1.id) && r1.id > 0, `report id ${r1.id}`)
    const r2 = await filed(bob.labeler, {
      reasonType: 'tools.ozone.report.defs#reasonHarassmentTroll',
      subject: { $type: STRONG_REF, uri: posts.a2.uri, cid: posts.a2.cid },
      modTool: { name: 'skyhold-web/test' },
    })
    eq([r2.subject.uri, r2.subject.cid, r2.reason], [posts.a2.uri, posts.a2.cid, undefined], 'report of a post, through the labeler proxy header')
    check(r2.id > r1.id, 'ids grow')
    const r3 = await filed(alice.proxied, {
      reasonType: 'com.atproto.moderation.defs#reasonOther',
      reason: 'a stranger',
      subject: { $type: REPO_REF, did: STRANGER },
    })
    eq(r3.subject.did, STRANGER, 'a report about an account this node does not know is kept')
    await expectXrpcError(
      bob.plain.createModerationReport({
        reasonType: 'com.atproto.moderation.defs#reasonAppeal',
        subject: { $type: REPO_REF, did: carol.did },
      }),
      403,
      'Forbidden',
      "appealing for someone else's account",
    )
    await expectXrpcError(
      bob.plain.createModerationReport({ reasonType: 'spam', subject: { $type: REPO_REF, did: carol.did } }),
      400,
      'InvalidRequest',
      'a reason type that is not a token reference',
    )
    await expectXrpcError(
      bob.plain.createModerationReport({
        reasonType: 'com.atproto.moderation.defs#reasonSpam',
        subject: { $type: STRONG_REF, uri: posts.a2.uri },
      }),
      400,
      'InvalidRequest',
      'a strong ref without a cid',
    )
  })

  return { ok: true, lexicons: lexiconCount, validated, reports, users: { alice: alice.did, bob: bob.did, carol: carol.did } }
}

run(async () => {
  const summary = await main()
  console.log(JSON.stringify(summary))
}, 150_000)
