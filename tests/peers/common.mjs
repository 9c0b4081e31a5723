// Helpers shared by the peer scripts: named steps with timings, checks that fail with a clear
// message, XRPC error expectations, canonical JSON of lex values, and a hand-made PNG.

import { crc32, deflateSync } from 'node:zlib'

import { lexToJson } from '@atproto/lexicon'

let current = 'start'
export const stepMs = {}
export const started = Date.now()

export class CheckFailed extends Error {}

export function check(condition, message) {
  if (!condition) throw new CheckFailed(message)
}

/** Runs one named step; the first failure ends the script. */
export async function step(name, fn) {
  current = name
  const t0 = Date.now()
  const result = await fn()
  stepMs[name] = Date.now() - t0
  return result
}

export function describeError(err) {
  if (err instanceof CheckFailed) return err.message
  // XRPCError from @atproto/xrpc: status, error name, message.
  if (err && typeof err === 'object' && 'status' in err && 'error' in err) {
    return `XRPC ${err.status} ${err.error}: ${err.message}`
  }
  return err?.stack ?? String(err)
}

/** Canonical JSON of a lex value (BlobRef, CID, bytes → their JSON forms; keys sorted). */
export function canon(value) {
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
  return JSON.stringify(sort(lexToJson(value)))
}

export function checkSameRecord(actual, expected, what) {
  const a = canon(actual)
  const e = canon(expected)
  check(a === e, `${what} did not round-trip:\n  sent     ${e}\n  received ${a}`)
}

/** Awaits `promise` and checks it fails with this XRPC status and error name. */
export async function expectXrpcError(promise, status, error, what) {
  let result
  try {
    result = await promise
  } catch (err) {
    check(
      err?.status === status && err?.error === error,
      `${what}: expected ${status} ${error}, got ${describeError(err)}`,
    )
    return err
  }
  throw new CheckFailed(`${what}: expected ${status} ${error}, but it succeeded: ${JSON.stringify(result?.data)}`)
}

/** A real PNG (8-bit RGB, one colour), built by hand so the test needs no image files. */
export function png(width, height, [r, g, b]) {
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
  header.set([8, 2, 0, 0, 0], 8) // bit depth 8, colour type RGB, deflate, no filter, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(width).fill([r, g, b]).flat())])
  const pixels = Buffer.concat(Array(height).fill(row))
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(pixels)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  )
}

export const bytesEqual = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])

/** Runs `main`; the first failure prints `FAIL <step>: <reason>` and exits 1. A server that stops
 * answering fails the script after `timeoutMs` instead of hanging it. */
export function run(main, timeoutMs = 120_000) {
  setTimeout(() => {
    console.error(`FAIL ${current}: no answer within ${timeoutMs / 1000} s`)
    process.exit(1)
  }, timeoutMs).unref()
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`FAIL ${current}: ${describeError(err)}`)
      process.exit(1)
    },
  )
}

/** The official lexicons in `dir` (recursively), to validate answers with `@atproto/lexicon`. */
export async function loadLexicons(dir) {
  const { readdirSync, readFileSync, statSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { Lexicons } = await import('@atproto/lexicon')
  const lex = new Lexicons()
  let count = 0
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.json')) {
        try {
          lex.add(JSON.parse(readFileSync(path, 'utf8')))
          count++
        } catch {
          // A schema this library version cannot parse is not one the node answers with.
        }
      }
    }
  }
  walk(dir)
  check(count > 300, `only ${count} lexicons loaded from ${dir}`)
  const validated = {}
  /** Asserts `data` is a valid output of `nsid` and returns it. */
  const valid = (nsid, data) => {
    try {
      lex.assertValidXrpcOutput(nsid, data)
    } catch (err) {
      throw new CheckFailed(`${nsid} answer does not validate: ${err.message}\n${JSON.stringify(data).slice(0, 2000)}`)
    }
    validated[nsid] = (validated[nsid] ?? 0) + 1
    return data
  }
  return { lex, count, valid, validated }
}
