"""Schemathesis hooks for Tanggap (loaded through SCHEMATHESIS_HOOKS by bench/schemathesis.py, from
this directory: bench/ itself holds schemathesis.py, which would shadow the package).

`POST /api/v1/channels/email/inbound` takes a raw RFC 5322 message (`message/rfc822`), a media
type schemathesis has no serializer for: send generated strings as UTF-8 bytes."""

import schemathesis


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
