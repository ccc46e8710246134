"""The shared connector toolkit: the pieces every vendor kit needs, written once.

`retry_after` (one `Retry-After` parser), `auth` (bearer and OAuth client-credentials
authenticators over a single-flight `TokenCache`), `fields` (readers of raw vendor values),
`chunks` (id lists cut to a vendor's batch limit). Kits compose them; nothing here names a vendor.
"""
