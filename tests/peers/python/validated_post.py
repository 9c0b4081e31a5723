"""Posts through the Python AT Protocol SDK (`atproto`), whose `send_post` asks for validation
(`validate: true`), and checks that a malformed record is refused with 400 InvalidRequest.

usage: python validated_post.py http://localhost:2583 HANDLE PASSWORD

Prints one line of JSON (the URI it created) on success; `FAIL <step>: <reason>` and exit 1 on the
first failure. Run by tests/it/e2e/lexicon_validation.rs.
"""
import json
import sys

from atproto import Client
from atproto.exceptions import BadRequestError

step = "start"


def fail(reason):
    print(f"FAIL {step}: {reason}", file=sys.stderr)
    sys.exit(1)


def main(url, handle, password):
    global step
    client = Client(base_url=f"{url}/xrpc")
    step = "login"
    client.login(handle, password)

    step = "send_post"
    post = client.send_post("hello from the Python SDK")
    if not post.uri.startswith("at://"):
        fail(f"send_post answered {post}")

    step = "malformed record refused"
    try:
        client.com.atproto.repo.create_record(
            {"repo": client.me.did, "collection": "app.bsky.feed.post",
             "record": {"$type": "app.bsky.feed.post", "text": 12}}
        )
    except BadRequestError as error:
        content = error.response.content
        if error.response.status_code != 400 or content.error != "InvalidRequest":
            fail(f"expected 400 InvalidRequest, got {error.response.status_code} {content}")
    else:
        fail("a post whose text is a number was accepted")

    print(json.dumps({"uris": [post.uri]}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except SystemExit:
        raise
    except Exception as error:  # any other failure names its step
        fail(repr(error))
