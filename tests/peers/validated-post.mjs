// Posts through `@atproto/api` to a node started with no flags, the way an app does, and checks
// that records are validated against the official lexicons by default: a well-formed post is
// accepted with `validationStatus: "valid"` (with and without `validate: true`), a malformed one is
// refused with 400 InvalidRequest naming the record type and the field.
//
//   node validated-post.mjs http://localhost:2583 HANDLE PASSWORD
//
// Prints one line of JSON (the URIs it created) on success; `FAIL <step>: <reason>` and exit 1 on
// the first failure. Run by tests/it/e2e/lexicon_validation.rs.

import { AtpAgent } from '@atproto/api'

import { check, expectXrpcError, run, step } from './common.mjs'

const [pdsUrl, handle, password] = process.argv.slice(2)
if (!pdsUrl || !handle || !password) {
  console.error('usage: node validated-post.mjs <pds url> <handle> <password>')
  process.exit(2)
}

async function main() {
  const agent = new AtpAgent({ service: pdsUrl })
  await step('login', () => agent.login({ identifier: handle, password }))
  const repo = agent.session.did
  const createdAt = new Date().toISOString()

  const posted = await step('agent.post', () => agent.post({ text: 'hello from @atproto/api', createdAt }))
  const strict = await step('createRecord validate: true', async () => {
    const { data } = await agent.com.atproto.repo.createRecord({
      repo,
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text: 'validated on purpose', createdAt },
      validate: true,
    })
    check(data.validationStatus === 'valid', `validationStatus is ${data.validationStatus}`)
    return data
  })
  await step('malformed post refused', async () => {
    const err = await expectXrpcError(
      agent.com.atproto.repo.createRecord({
        repo,
        collection: 'app.bsky.feed.post',
        record: { $type: 'app.bsky.feed.post', text: 12 },
      }),
      400,
      'InvalidRequest',
      'a post whose text is a number',
    )
    check(
      /app\.bsky\.feed\.post/.test(err.message) && /text/.test(err.message),
      `the message names neither the type nor the field: ${err.message}`,
    )
  })
  console.log(JSON.stringify({ uris: [posted.uri, strict.uri] }))
}

run(main)
