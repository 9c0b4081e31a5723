// Signs in to a skyhold node with the official `@atproto/oauth-client-node` as a loopback public
// client, the way a desktop or CLI app does: handle → DID → PDS → authorization server metadata,
// PAR with DPoP, the node's sign-in and consent page (driven here as a browser with JavaScript
// off would: GET the page, POST its form with the cookie it set, follow the redirect to the
// callback), the callback, then posts through the official `Agent`, refreshes, signs out
// (revocation), and checks that the revoked tokens stop working on the node.
//
//   node oauth-client.mjs http://localhost:PORT alice.test 'correct horse battery'
//
// Every step is asserted. The first failure prints `FAIL <step>: <reason>` and exits 1; success
// prints one line of JSON and exits 0. Run by tests/it/e2e/oauth.rs.

import { Agent } from '@atproto/api'
import { requestLocalLock } from '@atproto/oauth-client'
import { NodeOAuthClient } from '@atproto/oauth-client-node'

import { check, run, started, step, stepMs } from './common.mjs'

const [pdsUrl, handle, password] = process.argv.slice(2)
const redirect = 'http://127.0.0.1/callback'
const scope = 'atproto transition:generic'
const clientId = `http://localhost?redirect_uri=${encodeURIComponent(redirect)}&scope=${encodeURIComponent(scope)}`

const memory = () => {
  const map = new Map()
  return {
    map,
    async get(key) {
      return map.get(key)
    },
    async set(key, value) {
      map.set(key, value)
    },
    async del(key) {
      map.delete(key)
    },
  }
}

/** What a browser does with the node's page: load it, fill the form, submit, read the redirect. */
async function signInThroughPage(authorizeUrl) {
  let requests = 0
  const page = await fetch(authorizeUrl, { redirect: 'manual' })
  requests++
  check(page.status === 200, `the sign-in page answered ${page.status}`)
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]
  check(cookie.includes('='), 'the page set no CSRF cookie')
  const html = await page.text()
  check(!html.includes('<script'), 'the page carries script')
  const hidden = (name) => {
    const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`))
    check(match, `the form has no ${name} field`)
    return match[1].replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'")
  }
  const form = new URLSearchParams({
    csrf: hidden('csrf'),
    client_id: hidden('client_id'),
    request_uri: hidden('request_uri'),
    identifier: handle,
    password,
    decision: 'allow',
  })
  const origin = new URL(authorizeUrl).origin
  const submitted = await fetch(`${origin}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin },
    body: form,
  })
  requests++
  check(submitted.status === 303, `the form answered ${submitted.status}: ${await submitted.text()}`)
  const location = new URL(submitted.headers.get('location'))
  check(location.origin + location.pathname === redirect, `redirected to ${location}`)
  return { params: location.searchParams, requests }
}

async function main() {
  const sessions = memory()
  const client = new NodeOAuthClient({
    clientMetadata: {
      client_id: clientId,
      redirect_uris: [redirect],
      scope,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      dpop_bound_access_tokens: true,
    },
    stateStore: memory(),
    sessionStore: sessions,
    handleResolver: pdsUrl,
    plcDirectoryUrl: `${pdsUrl}/plc`,
    allowHttp: true,
    requestLock: requestLocalLock,
  })

  const signInStarted = Date.now()
  const authorizeUrl = await step('authorize (resolve, metadata, PAR)', () =>
    client.authorize(handle, { scope }),
  )
  check(authorizeUrl.origin === new URL(pdsUrl).origin, `authorize URL ${authorizeUrl}`)
  const { params, requests } = await step('sign in and consent on the page', () =>
    signInThroughPage(authorizeUrl),
  )
  const { session } = await step('callback (code exchange)', () => client.callback(params))
  const signInMs = Date.now() - signInStarted
  check(session.did.startsWith('did:'), `session DID ${session.did}`)

  const agent = new Agent(session)
  const posted = await step('post with DPoP through Agent', () =>
    agent.post({ text: 'posted by @atproto/oauth-client-node', createdAt: new Date().toISOString() }),
  )
  check(posted.uri.startsWith(`at://${session.did}/app.bsky.feed.post/`), `post URI ${posted.uri}`)
  const before = (await session.getTokenInfo(false)).expiresAt
  const refreshed = await step('refresh', () => session.getTokenInfo(true))
  check(refreshed.scope.split(' ').includes('atproto'), `scope after refresh: ${refreshed.scope}`)
  check(refreshed.sub === session.did, `sub after refresh: ${refreshed.sub}`)
  await step('post after refresh', () =>
    agent.post({ text: 'and again after a refresh', createdAt: new Date().toISOString() }),
  )
  const record = await step('read it back', () =>
    agent.com.atproto.repo.getRecord({
      repo: session.did,
      collection: 'app.bsky.feed.post',
      rkey: posted.uri.split('/').pop(),
    }),
  )
  check(record.data.value.text === 'posted by @atproto/oauth-client-node', 'the record reads back')

  // Keep a copy of the stored session (tokens and DPoP key), sign out (revocation), put the copy
  // back and use it: the node must refuse the revoked tokens, access and refresh alike.
  const saved = structuredClone(sessions.map.get(session.did))
  await step('sign out (revoke)', () => session.signOut())
  check(!sessions.map.has(session.did), 'the session is gone from the client')
  sessions.map.set(session.did, saved)
  const revived = await client.restore(session.did, false)
  const refused = await step('revoked tokens are refused', async () => {
    try {
      await new Agent(revived).com.atproto.repo.createRecord({
        repo: session.did,
        collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 'must not land', createdAt: new Date().toISOString() },
      })
    } catch (err) {
      return String(err?.message ?? err)
    }
    throw new Error('a revoked session could still post')
  })

  console.log(
    JSON.stringify({
      ok: true,
      did: session.did,
      scope: refreshed.scope,
      expiresBefore: before,
      pageRequests: requests,
      signInMs,
      refused,
      ms: Date.now() - started,
      stepMs,
    }),
  )
}

run(main)
